package federation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/correspondence"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/terminalca"
)

// tlsNode is a node serving its federation endpoints over mutual TLS, as
// serve does with [http] tls on its peer address: a client certificate
// from its CA or a peer's is required at the handshake.
type tlsNode struct {
	*node.Node
	clock *clocktest.Clock
	srv   *httptest.Server
	url   string
	recv  *Receiver
}

func newTLSNode(t *testing.T, profileID, code string) *tlsNode {
	t.Helper()
	url := ""
	if onPostgres[t] {
		url = dbtest.MigratedPostgresURL(t)
	}
	n, clock := nodetest.Open(t, node.InitOptions{Dir: filepath.Join(t.TempDir(), code), Profile: profileID, LocalGovCode: code, DatabaseURL: url})
	tn := &tlsNode{Node: n, clock: clock, recv: NewReceiver(n, nil)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /federation/v1/correspondence", tn.recv.ServeCorrespondence)
	tn.srv = httptest.NewUnstartedServer(mux)
	tn.url = "https://" + tn.srv.Listener.Addr().String()
	t.Cleanup(tn.srv.Close)
	return tn
}

// start serves the node once its peers are registered.
func (tn *tlsNode) start(t *testing.T) {
	t.Helper()
	ca, err := terminalca.Open(tn.Dir, tn.Info.Name())
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ca.ServerTLS(tn.Dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tn.srv.Listener = PeerListener(tn.Node, tn.srv.Listener, PeerTLS(tn.Node, conf), nil)
	tn.srv.Start()
}

// client is an HTTPS client to tn presenting cert.
func (tn *tlsNode) client(t *testing.T, cert *tls.Certificate) *http.Client {
	t.Helper()
	ca, err := terminalca.Open(tn.Dir, tn.Info.Name())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	c := &tls.Config{RootCAs: roots}
	if cert != nil {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: c}}
}

// bodyPair is 青森市 and 青森県 as peers both ways, each with the other's
// address, over mutual TLS.
func bodyPair(t *testing.T) (muni, pref *tlsNode) {
	t.Helper()
	ctx := context.Background()
	muni, pref = newTLSNode(t, "koto-ward", "022012"), newTLSNode(t, "aomori-pref", "020001")
	mb, err := Export(muni.Node, muni.url)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Export(pref.Node, pref.url)
	if err != nil {
		t.Fatal(err)
	}
	if err := Add(ctx, pref.Node, console, Downstream, mb); err != nil {
		t.Fatal(err)
	}
	if err := Add(ctx, muni.Node, console, Upstream, pb); err != nil {
		t.Fatal(err)
	}
	muni.start(t)
	pref.start(t)
	return muni, pref
}

func actions(t *testing.T, n *node.Node, prefix string) []string {
	t.Helper()
	l, err := auditlog.List(context.Background(), n.DB, auditlog.Filter{After: -1, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range l {
		if strings.HasPrefix(e.Action, prefix) {
			out = append(out, e.Action+"/"+e.Entry.Outcome)
		}
	}
	return out
}

// nodeCert is the node certificate (CN node:CODE) n presents to its peers.
func nodeCert(t *testing.T, n *node.Node) *tls.Certificate {
	t.Helper()
	ca, err := terminalca.Open(n.Dir, n.Info.Name())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.NodeCertificate(n.Dir, Code(n))
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

func post(t *testing.T, c *http.Client, url string, msg []byte) (int, string) {
	t.Helper()
	resp, err := c.Post(url+"/federation/v1/correspondence", "text/plain", bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestReportDeliveredAndAcknowledged: a municipality's report travels to
// its prefecture over mutual TLS, signed; the prefecture records it once
// and answers with its signed acknowledgement, which the municipality
// verifies and keeps; both logs hold it. The sender's own retry of the
// same note over its connection gets the same acknowledgement.
func TestReportDeliveredAndAcknowledged(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		muni, pref := bodyPair(t)
		doc, err := muni.Correspondence.Send(ctx, console, correspondence.Draft{Recipient: "020001", Kind: correspondence.KindIncident,
			Subject: "不適正な閲覧の疑いについて（報告）", Body: "検知した閲覧について調査しています。", References: []string{"incident:1"}})
		if err != nil {
			t.Fatal(err)
		}
		c := NewCorrespondent(muni.Node, nil)
		if k, err := c.DeliverOnce(ctx); err != nil || k != 1 {
			t.Fatalf("deliver: %d %v", k, err)
		}
		sent, err := correspondence.Get(ctx, muni.DB, doc.ID)
		if err != nil || sent.State != correspondence.Acknowledged || sent.AckNote == "" {
			t.Fatalf("at the municipality: %+v %v", sent, err)
		}
		pv, _ := note.NewVerifier(pref.Info.PublicKey)
		if _, err := correspondence.OpenAck([]byte(sent.AckNote), sent, pv); err != nil {
			t.Errorf("the acknowledgement kept: %v", err)
		}
		got, err := correspondence.Get(ctx, pref.DB, doc.ID)
		if err != nil || got.Direction != correspondence.In || got.Subject != doc.Subject || got.Note != doc.Note {
			t.Fatalf("at the prefecture: %+v %v", got, err)
		}
		if a := actions(t, muni.Node, "correspondence."); !slices.Equal(a, []string{"correspondence.send/ok", "correspondence.acknowledged/ok"}) {
			t.Errorf("the municipality's log: %v", a)
		}
		if a := actions(t, pref.Node, "correspondence."); !slices.Equal(a, []string{"correspondence.receive/ok"}) {
			t.Errorf("the prefecture's log: %v", a)
		}
		if k, err := c.DeliverOnce(ctx); err != nil || k != 0 {
			t.Errorf("nothing left: %d %v", k, err)
		}
		// The sender's retry after a lost acknowledgement.
		status, body := post(t, pref.client(t, nodeCert(t, muni.Node)), pref.url, []byte(doc.Note))
		if status != http.StatusOK || body != sent.AckNote {
			t.Errorf("a retry over the sender's connection: %d %.200s", status, body)
		}
		if a := alerts(t, pref.Node); len(a) != 0 {
			t.Errorf("alerts on a clean delivery: %v", a)
		}
	})
}

// TestForgedAndReplayedDocumentsRefused: a document signed by another key
// in the municipality's name, one signed by it but claiming another
// sender, one sent without its node certificate, the same note again over
// plain HTTP, and an earlier number are each refused, alerted and logged
// at the prefecture; nothing of them is stored.
func TestForgedAndReplayedDocumentsRefused(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		muni, pref := bodyPair(t)
		doc, err := muni.Correspondence.Send(ctx, console, correspondence.Draft{Recipient: "020001", Kind: correspondence.KindAudit, Subject: "監査結果の報告", Body: "指摘事項 1件"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewCorrespondent(muni.Node, nil).DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
		skey, _, _ := note.GenerateKey(rand.Reader, "jukinet-022012") // the right name, another key
		forger, _ := note.NewSigner(skey)
		forged := doc
		forged.Seq, forged.ID, forged.Subject = 2, "022012-020001-2", "偽の報告"
		forgedMsg, _ := correspondence.Sign(forged, forger)
		claims := forged
		claims.Sender, claims.ID = "022039", "022039-020001-2"
		claimsMsg, _ := correspondence.Sign(claims, muni.Signer)
		earlier := doc
		earlier.Subject = "番号を使い回した報告"
		earlierMsg, _ := correspondence.Sign(earlier, muni.Signer)
		withCert := pref.client(t, nodeCert(t, muni.Node))
		// A certificate the handshake trusts (a terminal of the
		// prefecture's own CA) that is no peer's node certificate.
		pca, _ := terminalca.Open(pref.Dir, pref.Info.Name())
		term, _ := pca.IssueTerminal("T-KUMIN-01", time.Hour)
		terminal, _ := tls.X509KeyPair(term.CertPEM, term.KeyPEM)
		for _, c := range []struct {
			name   string
			client *http.Client
			msg    []byte
			status int
			alert  string
		}{
			{"another key", withCert, forgedMsg, http.StatusForbidden, AlertSignature},
			{"another sender claimed", withCert, claimsMsg, http.StatusForbidden, AlertSignature},
			{"no node certificate", pref.client(t, &terminal), []byte(doc.Note), http.StatusForbidden, AlertSignature},
			{"an earlier number", withCert, earlierMsg, http.StatusConflict, AlertReplay},
		} {
			if status, body := post(t, c.client, pref.url, c.msg); status != c.status || !strings.Contains(body, `"alert":"`+c.alert+`"`) {
				t.Errorf("%s: %d %s, want %d with alert %s", c.name, status, body, c.status, c.alert)
			}
		}
		// Over plain HTTP the same note again is a replay.
		if _, ref := pref.recv.ReceiveDocument(ctx, []byte(doc.Note), Conn{Addr: "192.0.2.1:1"}); ref == nil || ref.Alert != AlertReplay || ref.Status != http.StatusConflict {
			t.Errorf("the same note over plain HTTP: %+v", ref)
		}
		got := alerts(t, pref.Node)
		for _, want := range []string{"bad-signature", "no-node-certificate", AlertSignature, AlertReplay} {
			if !slices.Contains(got, want) {
				t.Errorf("the prefecture's alerts %v lack %s", got, want)
			}
		}
		if err := pref.Log.FlushRefusals(ctx, true); err != nil {
			t.Fatal(err)
		}
		if a := actions(t, pref.Node, "federation.alert"); len(a) < 3 {
			t.Errorf("alerts logged: %v", a)
		}
		held, err := correspondence.List(ctx, pref.DB, "")
		if err != nil || len(held) != 1 || held[0].ID != doc.ID || held[0].Subject != "監査結果の報告" {
			t.Errorf("the prefecture holds %+v (%v), want the one report", held, err)
		}
	})
}

// TestRequestTravelsDownAndIsAnswered: the prefecture's request to
// investigate an access reaches the municipality at the address its
// bundle gave; it is overdue there (and at the prefecture) once its due
// day is over, until the municipality's answer travels up and closes it
// on both sides.
func TestRequestTravelsDownAndIsAnswered(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		muni, pref := bodyPair(t)
		due := jptext.Midnight(pref.clock.Now()).AddDate(0, 0, 2)
		req, err := pref.Correspondence.Send(ctx, console, correspondence.Draft{Recipient: "022012", Kind: correspondence.KindInvestigate,
			Subject: "アクセスの調査の依頼", Body: "貴市の記録 4821 番の閲覧について調査し、回答願います。", References: []string{"audit-entry:4821"}, Due: due})
		if err != nil {
			t.Fatal(err)
		}
		if k, err := NewCorrespondent(pref.Node, nil).DeliverOnce(ctx); err != nil || k != 1 {
			t.Fatalf("deliver down: %d %v", k, err)
		}
		for _, tn := range []*tlsNode{muni, pref} {
			tn.clock.Set(due.AddDate(0, 0, 1).Add(9 * time.Hour))
			over, err := correspondence.Overdue(ctx, tn.DB, tn.clock.Now())
			if err != nil || len(over) != 1 || over[0].ID != req.ID {
				t.Errorf("%s: overdue %+v %v", Code(tn.Node), over, err)
			}
			// Offered to the system audit as the evidence of reports.
			today := jptext.Midnight(tn.clock.Now())
			ev, _, err := tn.SysAudits.CollectFeature(ctx, "reports", today.AddDate(0, 0, -30), today)
			if err != nil || !ev.Attention || !strings.Contains(ev.Text, "回答期限を過ぎた依頼 1件") {
				t.Errorf("%s: the audit's evidence %+v %v", Code(tn.Node), ev, err)
			}
		}
		ans, err := muni.Correspondence.Answer(ctx, console, req.ID, "調査結果の回答", "業務上の閲覧と確認しました。", []string{"audit-entry:4821"})
		if err != nil {
			t.Fatal(err)
		}
		if k, err := NewCorrespondent(muni.Node, nil).DeliverOnce(ctx); err != nil || k != 1 {
			t.Fatalf("deliver the answer: %d %v", k, err)
		}
		for _, tn := range []*tlsNode{muni, pref} {
			got, err := correspondence.Get(ctx, tn.DB, req.ID)
			if err != nil || got.AnsweredBy != ans.ID || got.RequestState(tn.clock.Now()) != "answered" {
				t.Errorf("%s: the request %+v %v", Code(tn.Node), got, err)
			}
			if over, _ := correspondence.Overdue(ctx, tn.DB, tn.clock.Now()); len(over) != 0 {
				t.Errorf("%s: still overdue %+v", Code(tn.Node), over)
			}
			today := jptext.Midnight(tn.clock.Now())
			if ev, _, err := tn.SysAudits.CollectFeature(ctx, "reports", today.AddDate(0, 0, -30), today); err != nil || ev.Attention || !strings.Contains(ev.Text, "受領確認のないもの 0件") {
				t.Errorf("%s: the audit's evidence after the answer %+v %v", Code(tn.Node), ev, err)
			}
		}
	})
}
