package federation

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/correspondence"
	"jukinet/internal/node"
	"jukinet/internal/staff"
	"jukinet/internal/terminalca"
)

// signedBatch is the batch n's sender would send its upstream now.
func signedBatch(t *testing.T, n *node.Node, target string) ([]byte, int) {
	t.Helper()
	req := consoleReq(n)
	ns, err := n.Gate.Outbound(context.Background(), req, 0, BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{Source: Code(n), Target: target}
	for _, c := range ns {
		b.Changes = append(b.Changes, WireChange{Seq: c.Seq, PreviousCode: c.PreviousCode, Repair: c.Repair, Record: wireRecord(c.IdentityRecord)})
	}
	msg, err := sign(b, n.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg, len(b.Changes)
}

// TestMachineEndpointsRequireClientCertificates: on the peer address a
// correctly signed batch, a correctly signed report and a well-formed
// provision request are refused at the TLS handshake when sent without a
// client certificate or with one from a CA the node does not trust — no
// handler runs, the client gets no answer, and the node records its
// refusal (a fixed-size federation.connect entry and an alert row) — and
// accepted with the right certificate.
func TestMachineEndpointsRequireClientCertificates(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		muni, pref := nw.aomori, nw.pref
		mrecs := importN(t, muni, "022012", 3, 40)
		recs := importN(t, pref, "022039", 2, 41)
		if err := pref.Staff.AddRecipient(ctx, console, staff.Recipient{ID: "nenkin", Name: "日本年金機構", Category: "別表第一", Affairs: []string{"pension"}}); err != nil {
			t.Fatal(err)
		}
		batch, changes := signedBatch(t, muni, "020001")
		doc, err := muni.Correspondence.Send(ctx, console, correspondence.Draft{Recipient: "020001", Kind: correspondence.KindAudit, Subject: "監査結果の報告", Body: "指摘事項なし"})
		if err != nil {
			t.Fatal(err)
		}

		// The prefecture's peer address, as serve opens it.
		var handled atomic.Int64
		pca, err := terminalca.Open(pref.Dir, pref.Info.Name())
		if err != nil {
			t.Fatal(err)
		}
		recv, prov := NewReceiver(pref, nil), NewProvider(pref, pca.Cert, nil)
		mux := http.NewServeMux()
		mux.Handle("POST /federation/v1/batches", recv)
		mux.HandleFunc("POST /federation/v1/correspondence", recv.ServeCorrespondence)
		mux.HandleFunc("POST /provision/v1/batch", prov.ServeBatch)
		conf, err := pca.ServerTLS(pref.Dir, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		tcp, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln := PeerListener(pref, tcp, PeerTLS(pref, conf), nil)
		refused := make(chan string, 16)
		ln.(*peerListener).refused = func(why string) { refused <- why }
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handled.Add(1)
			mux.ServeHTTP(w, r)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		base := "https://" + tcp.Addr().String()

		roots := x509.NewCertPool()
		roots.AddCert(pca.Cert)
		client := func(cert *tls.Certificate) *http.Client {
			c := &tls.Config{RootCAs: roots}
			if cert != nil {
				// Sent whatever CAs the server asks for.
				c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
			}
			return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: c}}
		}
		pair := func(is terminalca.Issued, err error) *tls.Certificate {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			p, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			return &p
		}
		// The right certificates: the municipality's node certificate (its
		// own CA, registered with its bundle), the body's from the
		// prefecture's CA. The wrong ones: the same names from another CA.
		muniCert := nodeCert(t, muni)
		recipientCert := pair(pca.IssueRecipient("nenkin", time.Hour))
		forger, err := terminalca.Open(t.TempDir(), "偽の青森市")
		if err != nil {
			t.Fatal(err)
		}
		forgedNode, err := forger.NodeCertificate(t.TempDir(), "022012")
		if err != nil {
			t.Fatal(err)
		}
		forgedRecipient := pair(forger.IssueRecipient("nenkin", time.Hour))

		provisionURL := base + "/provision/v1/batch?affair=pension&reason=" + url.QueryEscape("年金の支給確認")
		endpoints := []struct {
			name        string
			url, ctype  string
			body        []byte
			right, fake *tls.Certificate
		}{
			{"batch", base + "/federation/v1/batches", "text/plain", batch, muniCert, &forgedNode},
			{"report", base + "/federation/v1/correspondence", "text/plain", []byte(doc.Note), muniCert, &forgedNode},
			{"provision", provisionURL, "text/csv", []byte("resident_code\n" + string(recs[0].ResidentCode) + "\n"), recipientCert, forgedRecipient},
		}
		post := func(c *http.Client, u, ctype string, body []byte) (int, string, error) {
			resp, err := c.Post(u, ctype, bytes.NewReader(body))
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), nil
		}
		wantRefused := func(name, want string) {
			t.Helper()
			select {
			case why := <-refused:
				if why != want {
					t.Errorf("%s: refused as %s, want %s", name, why, want)
				}
			case <-time.After(30 * time.Second): // a bound on a hang, not a measurement
				t.Fatalf("%s: no refusal recorded", name)
			}
		}
		for _, e := range endpoints {
			for _, c := range []struct {
				what string
				cert *tls.Certificate
				why  string
			}{{"without a certificate", nil, WhyNoClientCertificate}, {"with another CA's certificate", e.fake, WhyUntrustedCertificate}} {
				before := handled.Load()
				if status, body, err := post(client(c.cert), e.url, e.ctype, e.body); err == nil {
					t.Errorf("%s %s: answered %d %s, want no connection", e.name, c.what, status, body)
				}
				wantRefused(e.name+" "+c.what, c.why)
				if handled.Load() != before {
					t.Errorf("%s %s: a handler ran", e.name, c.what)
				}
			}
		}
		// Nothing of the refused requests arrived.
		if held(t, pref, string(mrecs[0].ResidentCode)) {
			t.Error("the batch was applied from a connection without a certificate")
		}
		if got, _ := correspondence.List(ctx, pref.DB, ""); len(got) != 0 {
			t.Errorf("the prefecture holds %d documents from refused connections", len(got))
		}

		// The node's refusals: one entry per kind and source, repeats
		// counted, each with an alert row; nothing of the bodies.
		if err := pref.Log.FlushRefusals(ctx, true); err != nil {
			t.Fatal(err)
		}
		listed, err := auditlog.List(ctx, pref.DB, auditlog.Filter{Action: actionConnect, After: -1})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, l := range listed {
			counts[l.Entry.Why] += l.Entry.Count
			if l.Entry.Actor.Kind != auditlog.ActorHost || l.Entry.Decision != auditlog.Deny {
				t.Errorf("refusal entry %d: actor %v, decision %v", l.Seq, l.Entry.Actor, l.Entry.Decision)
			}
		}
		if counts[WhyNoClientCertificate] != 3 || counts[WhyUntrustedCertificate] != 3 {
			t.Errorf("refusals logged %v, want 3 of each kind", counts)
		}
		for _, want := range []string{WhyNoClientCertificate, WhyUntrustedCertificate} {
			if !contains(alerts(t, pref), want) {
				t.Errorf("no %s alert among %v", want, alerts(t, pref))
			}
		}

		// With the right certificates all three are served.
		status, body, err := post(client(muniCert), endpoints[0].url, "text/plain", batch)
		var ack Ack
		if err != nil || status != http.StatusOK || json.Unmarshal([]byte(body), &ack) != nil || ack.Applied != changes {
			t.Errorf("batch with the node certificate: %d %s %v, want %d applied", status, body, err, changes)
		}
		if status, body, err := post(client(muniCert), endpoints[1].url, "text/plain", []byte(doc.Note)); err != nil || status != http.StatusOK {
			t.Errorf("report with the node certificate: %d %s %v", status, body, err)
		}
		if status, body, err := post(client(recipientCert), provisionURL, "text/csv", endpoints[2].body); err != nil || status != http.StatusOK || !strings.Contains(body, "found") {
			t.Errorf("provision with the recipient certificate: %d %s %v", status, body, err)
		}
		if !held(t, pref, string(mrecs[0].ResidentCode)) {
			t.Error("the batch sent with the node certificate was not applied")
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
