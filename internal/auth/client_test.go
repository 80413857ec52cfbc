package auth_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/auth"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	. "jukinet/internal/policy/policytest"
)

// TestRefusalNamesClientCertificate: a sign-in refused on a device that is
// not an approved terminal is logged with the subject of the certificate
// the connection verified, which the server hands over as the certificate
// itself (its subject written out only for a refusal) or as text.
func TestRefusalNamesClientCertificate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		s := newService(t, f, false)
		cert := &x509.Certificate{Subject: pkix.Name{CommonName: "T-ROGUE", Organization: []string{"jukinet 131083"}}}
		for _, tt := range []struct {
			client auth.Client
			want   string
		}{
			{auth.Client{Addr: "198.51.100.7:50000", Cert: cert}, "CN=T-ROGUE,O=jukinet 131083"},
			{auth.Client{Addr: "198.51.100.8:50000", CertSubject: "CN=T-OTHER"}, "CN=T-OTHER"},
		} {
			ctx := auth.WithClient(context.Background(), tt.client)
			before, err := f.Log.Size(ctx)
			Must(t, err)
			if _, _, err := s.BeginLogin(ctx, Clerk, ""); err == nil {
				t.Fatal("sign-in begun on a device that is no terminal")
			}
			listed, err := auditlog.List(ctx, d, auditlog.Filter{After: before - 1, Limit: 10})
			Must(t, err)
			found := false
			for _, l := range listed {
				enc, _ := l.Entry.Encode()
				found = found || strings.Contains(string(enc), tt.want)
			}
			if !found {
				t.Errorf("no refusal naming %q among %d entries", tt.want, len(listed))
			}
		}
	})
}
