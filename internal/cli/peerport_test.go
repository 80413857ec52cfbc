package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukinet/internal/config"
	"jukinet/internal/terminalca"
)

// TestPeerAddressIsMutualTLS: with [http] peer_addr, the machine-to-machine
// endpoints are served there alone, and no handshake completes without a
// client certificate; the browsers' address no longer serves them.
func TestPeerAddressIsMutualTLS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if code, _, errOut := run(t, "init", "--data", dir, "--profile", "aomori-pref", "--local-gov", "020001"); code != 0 {
		t.Fatal(errOut)
	}
	addr, peerAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, config.FileName)
	raw, _ := os.ReadFile(cfg)
	edited := strings.Replace(string(raw), "tls = false", "tls = true", 1)
	edited = strings.Replace(edited, `peer_addr = ""`, `peer_addr = "`+peerAddr+`"`, 1)
	if edited == string(raw) || !strings.Contains(edited, peerAddr) {
		t.Fatalf("jukinet.toml has no tls or peer_addr to set:\n%s", raw)
	}
	os.WriteFile(cfg, []byte(edited), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(&Env{Ctx: ctx, Stdout: &out, Stderr: &errOut, Now: testClock.Now}, []string{"serve", "--data", dir, "--addr", addr})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errOut.String())
		}
	}()

	caPEM, err := os.ReadFile(filepath.Join(dir, terminalca.CACertFile))
	// Up to 30 s, counted in waits rather than read from the clock.
	for tries := 0; (err != nil || !strings.Contains(out.String(), "mutual TLS on")) && tries < 600; tries++ {
		time.Sleep(50 * time.Millisecond)
		caPEM, err = os.ReadFile(filepath.Join(dir, terminalca.CACertFile))
	}
	if !strings.Contains(out.String(), "mutual TLS on") {
		t.Fatalf("serve did not open the peer address:\n%s\n%s", out.String(), errOut.String())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
	}
	post := func(c *http.Client, url string) (int, error) {
		resp, err := c.Post(url, "text/plain", strings.NewReader("not a batch"))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	// Without a client certificate: no handshake, nothing read.
	if code, err := post(client(), "https://"+peerAddr+"/federation/v1/check"); err == nil {
		t.Errorf("the peer address answered %d to a client without a certificate", code)
	}
	// With one from a CA it trusts (the node's own), the endpoint answers:
	// it is not a registered peer, and says so.
	ca, err := terminalca.Open(dir, "青森県")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.NodeCertificate(t.TempDir(), "020001")
	if err != nil {
		t.Fatal(err)
	}
	if code, err := post(client(cert), "https://"+peerAddr+"/federation/v1/check"); err != nil || code != http.StatusForbidden {
		t.Errorf("a certified client at the peer address: %d %v, want 403 (not a registered peer)", code, err)
	}
	// The browsers' address does not serve the peers' endpoints.
	if code, err := post(client(cert), "https://"+addr+"/federation/v1/check"); err != nil || code != http.StatusNotFound {
		t.Errorf("federation at the browsers' address: %d %v, want 404", code, err)
	}
	// …and the peer address serves nothing else.
	resp, err := client(cert).Get("https://" + peerAddr + "/login")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("sign-in page at the peer address: %v %v, want 404", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}
