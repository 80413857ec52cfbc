package terminalca

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestServerCertificateNamesEveryAddress: the server certificate names
// every configured host, IP addresses included, so a peer reaching the
// node at https://127.0.0.1:PORT completes the handshake; a host added
// later is added to the names the certificate had.
func TestServerCertificateNamesEveryAddress(t *testing.T) {
	dir := t.TempDir()
	ca, err := Open(dir, "テスト県")
	if err != nil {
		t.Fatal(err)
	}
	reissued, err := ca.EnsureServerCertificate(dir, "localhost", "127.0.0.1", "pref.example")
	if err != nil || !reissued {
		t.Fatalf("first certificate: %v %v", reissued, err)
	}
	if again, err := ca.EnsureServerCertificate(dir, "127.0.0.1", "localhost"); err != nil || again {
		t.Fatalf("a certificate that names the hosts was issued again: %v %v", again, err)
	}
	if again, err := ca.EnsureServerCertificate(dir, "192.0.2.10"); err != nil || !again {
		t.Fatalf("a new address: %v %v", again, err)
	}
	pair, err := tls.LoadX509KeyPair(dir+"/"+ServerCertFile, dir+"/"+ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "pref.example", "192.0.2.10"} {
		if err := pair.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("the certificate does not name %s: %v", h, err)
		}
	}

	// A handshake by IP address, as a peer configured with one makes it.
	conf, err := ca.ServerTLS(dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv.TLS = conf
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resp, err := client.Get("https://127.0.0.1:" + port + "/")
	if err != nil {
		t.Fatalf("HTTPS by IP address: %v", err)
	}
	resp.Body.Close()
}
