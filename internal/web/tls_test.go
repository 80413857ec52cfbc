package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"jukinet/internal/facility"
	"jukinet/internal/node"
	"jukinet/internal/staff"
	"jukinet/internal/terminalca"
)

// TestTerminalCertificate: over HTTPS, a client certificate from the node's
// terminal CA names the terminal; a request without one is no terminal.
func TestTerminalCertificate(t *testing.T) {
	s, _ := demoServer(t)
	ctx := context.Background()
	if err := s.node.Staff.ApproveTerminal(ctx, adminWho(), staff.Terminal{ID: "T-KUMIN-02", Name: "窓口2", Department: "kumin", Location: "2階"}); err != nil {
		t.Fatal(err)
	}
	// The demo records its rooms, so a terminal works once installed in one.
	if err := s.node.Facilities.Install(ctx, adminWho(), facility.Installation{Terminal: "T-KUMIN-02", Room: node.DemoCounterRoom, Manager: node.DemoOfficer}); err != nil {
		t.Fatal(err)
	}
	ca, err := terminalca.Open(s.node.Dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ca.ServerTLS(s.node.Dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	client := func(cert *tls.Certificate) *http.Client {
		c := &tls.Config{RootCAs: roots, ServerName: "localhost"}
		if cert != nil {
			// Present it whatever CAs the server names.
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: c}}
	}
	is, err := ca.IssueTerminal("T-KUMIN-02", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	begin := func(c *http.Client) string {
		resp, err := c.Post("https://127.0.0.1:"+port+"/login/begin", "application/json", strings.NewReader(`{"verification_id":"demo"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// With the certificate: terminal T-KUMIN-02, approved; the refusal is
	// about the id (the one answer for every id that cannot sign in: here,
	// no credential), not the terminal.
	if got := begin(client(&pair)); !strings.Contains(got, "この照合IDではログインできません") {
		t.Errorf("sign-in with a terminal certificate: %s", got)
	}
	// A certificate of a terminal that is not approved.
	other, _ := ca.IssueTerminal("T-ROGUE", time.Hour)
	rogue, _ := tls.X509KeyPair(other.CertPEM, other.KeyPEM)
	if got := begin(client(&rogue)); !strings.Contains(got, "T-ROGUE は設置の承認を受けていない") {
		t.Errorf("sign-in from an unapproved terminal: %s", got)
	}
	// A certificate from another CA is refused in the handshake.
	foreign, err := terminalca.Open(t.TempDir(), "foreign")
	if err != nil {
		t.Fatal(err)
	}
	fis, _ := foreign.IssueTerminal("T-KUMIN-02", time.Hour)
	fpair, _ := tls.X509KeyPair(fis.CertPEM, fis.KeyPEM)
	if resp, err := client(&fpair).Get("https://127.0.0.1:" + port + "/login"); err == nil {
		resp.Body.Close()
		t.Error("a certificate from another CA was accepted")
	}
}
