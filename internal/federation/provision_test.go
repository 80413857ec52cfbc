package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/node"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/terminalca"
)

// provisionServer serves a prefecture's provision endpoints over HTTPS.
func provisionServer(t testing.TB, pref *node.Node) (base string, ca *terminalca.CA) {
	t.Helper()
	ca, err := terminalca.Open(pref.Dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ca.ServerTLS(pref.Dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	p := NewProvider(pref, ca.Cert, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /provision/v1/residents/{code}", p.ServeLookup)
	mux.HandleFunc("POST /provision/v1/batch", p.ServeBatch)
	// As serve's peer address: a client certificate required at the handshake.
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := PeerListener(pref, tcp, PeerTLS(pref, conf), nil)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String(), ca
}

func recipientClient(t testing.TB, ca *terminalca.CA, id string) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	c := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	if id != "" {
		is, err := ca.IssueRecipient(id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: c}}
}

func postBatch(t testing.TB, c *http.Client, base, affair, body string) (int, [][]string) {
	t.Helper()
	u := base + "/provision/v1/batch?affair=" + affair + "&reason=" + url.QueryEscape("年金の支給確認")
	resp, err := c.Post(u, "text/csv", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, [][]string{{string(raw)}}
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, rows
}

func TestBatchProvision(t *testing.T) {
	ctx := context.Background()
	pref := newNode(t, "aomori-pref", "020001")
	recs := importN(t, pref, "022012", 20, 7)
	if err := pref.Staff.AddRecipient(ctx, console, staff.Recipient{ID: "nenkin", Name: "日本年金機構", Category: "別表第一", Affairs: []string{"pension"}}); err != nil {
		t.Fatal(err)
	}
	base, ca := provisionServer(t, pref)
	c := recipientClient(t, ca, "nenkin")

	var b strings.Builder
	b.WriteString("resident_code\n")
	for _, r := range recs[:5] {
		b.WriteString(string(r.ResidentCode) + "\n")
	}
	b.WriteString("12345678901\n")
	status, rows := postBatch(t, c, base, "pension", b.String())
	if status != 200 || len(rows) != 7 {
		t.Fatalf("batch by code: %d %v", status, rows)
	}
	for i, row := range rows[1:6] {
		if row[1] != "found" || row[3] != recs[i].FamilyName || row[2] != "" {
			t.Errorf("row %d = %v (found, with the name, without the code the affair does not need)", i+2, row)
		}
	}
	if rows[6][1] == "found" {
		t.Errorf("an unknown or invalid code was found: %v", rows[6])
	}
	// The four items.
	b.Reset()
	b.WriteString("name,date_of_birth,sex\n")
	for _, r := range recs[5:8] {
		fmt.Fprintf(&b, "%s%s,%s,%d\n", r.FamilyNameKana, r.GivenNameKana, r.DateOfBirth.Format(time.DateOnly), int(r.Sex))
	}
	status, rows = postBatch(t, c, base, "pension", b.String())
	if status != 200 {
		t.Fatalf("batch by four items: %d %v", status, rows)
	}
	for i, row := range rows[1:] {
		if row[1] != "found" || row[9] != recs[5+i].Address {
			t.Errorf("four-item row %d = %v", i+2, row)
		}
	}
	// One audit entry per batch, one provision record per resident provided.
	l, _ := auditlog.List(ctx, pref.DB, auditlog.Filter{Action: "provide", After: -1})
	if len(l) != 2 || l[0].Entry.SubjectCount != 5 || l[0].Entry.Provision == nil || l[0].Entry.Provision.Function != "batch" || l[0].Entry.Actor.String() != "recipient:nenkin" {
		t.Errorf("provision log: %+v", l)
	}
	// An affair the body is not registered for; no certificate.
	if status, _ := postBatch(t, c, base, "municipal-register", "resident_code\n"+string(recs[0].ResidentCode)+"\n"); status != 403 {
		t.Errorf("unregistered affair: %d", status)
	}
	// Without a certificate there is no connection (the handshake
	// requires one; TestMachineEndpointsRequireClientCertificates).
	if resp, err := recipientClient(t, ca, "").Post(base+"/provision/v1/batch?affair=pension&reason=x", "text/csv", strings.NewReader("resident_code\n")); err == nil {
		resp.Body.Close()
		t.Errorf("no certificate: answered %d, want no connection", resp.StatusCode)
	}
	// A certificate for a body that is not registered.
	if status, _ := postBatch(t, recipientClient(t, ca, "stranger"), base, "pension", "resident_code\n"+string(recs[0].ResidentCode)+"\n"); status != 403 {
		t.Errorf("unregistered body: %d", status)
	}
	_ = resident.SexMale
}
