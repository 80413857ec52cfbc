// Package terminalca is the node's own certificate authority for terminal
// identity: a terminal (端末機) approved by the system administrator gets a
// client TLS certificate naming it, and the node's HTTPS server accepts
// those, so a request says which terminal it comes from (aomori-pref:6,
// koto-ward:12.2). The CA's key never leaves the node's data folder.
package terminalca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"jukinet/internal/fileutil"
)

// Files of the CA and the server certificate in the data folder.
const (
	CAKeyFile      = "terminal-ca.key"
	CACertFile     = "terminal-ca.pem"
	ServerKeyFile  = "server.key"
	ServerCertFile = "server.pem"
)

// CA is an open certificate authority.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte
}

// Open loads the CA in dir, creating it on first use.
func Open(dir, name string) (*CA, error) {
	keyPath, certPath := filepath.Join(dir, CAKeyFile), filepath.Join(dir, CACertFile)
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(), Subject: pkix.Name{CommonName: name + " terminal CA", Organization: []string{"jukinet"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(20, 0, 0),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, MaxPathLenZero: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, fmt.Errorf("create terminal CA: %w", err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		if err := fileutil.WriteNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
			return nil, err
		}
		if err := fileutil.WriteNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			os.Remove(keyPath)
			return nil, err
		}
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("read terminal CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read terminal CA key: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("terminal CA files are not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read terminal CA: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read terminal CA key: %w", err)
	}
	return &CA{Cert: cert, key: key, PEM: certPEM}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// Issued is a certificate and its key, as PEM.
type Issued struct {
	CertPEM, KeyPEM []byte
	Serial          string
	NotAfter        time.Time
}

func (ca *CA) issue(tmpl *x509.Certificate) (Issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return Issued{}, fmt.Errorf("issue certificate: %w", err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return Issued{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
		Serial:  tmpl.SerialNumber.Text(16), NotAfter: tmpl.NotAfter,
	}, nil
}

// IssueTerminal issues the client certificate of a terminal: its common
// name is the terminal id the node's policies know.
func (ca *CA) IssueTerminal(terminalID string, valid time.Duration) (Issued, error) {
	return ca.issue(&x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: terminalID, Organization: []string{"jukinet terminal"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(valid),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// ServerTLS returns the HTTPS configuration of the node: a server
// certificate naming every one of hosts (see EnsureServerCertificate) and
// client certificates verified against the CA when a terminal presents one.
func (ca *CA) ServerTLS(dir string, hosts ...string) (*tls.Config, error) {
	if _, err := ca.EnsureServerCertificate(dir, hosts...); err != nil {
		return nil, err
	}
	certPath, keyPath := filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool,
	}, nil
}

// EnsureServerCertificate makes sure the node's server certificate (kept
// in dir) names every one of hosts — names and IP addresses alike, so a
// peer may reach the node at https://192.0.2.10:8443 as well as by name.
// A certificate that lacks one, or does not match its key, is issued again
// for the names it had and the missing ones; it reports whether it was.
func (ca *CA) EnsureServerCertificate(dir string, hosts ...string) (reissued bool, err error) {
	certPath, keyPath := filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile)
	var dnsNames []string
	var ips []net.IP
	add := func(h string) {
		if h == "" {
			return
		}
		if ip := net.ParseIP(h); ip != nil {
			for _, have := range ips {
				if have.Equal(ip) {
					return
				}
			}
			ips = append(ips, ip)
			return
		}
		for _, have := range dnsNames {
			if have == h {
				return
			}
		}
		dnsNames = append(dnsNames, h)
	}
	missing := false
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil && pair.Leaf != nil {
		for _, h := range pair.Leaf.DNSNames {
			add(h)
		}
		for _, ip := range pair.Leaf.IPAddresses {
			add(ip.String())
		}
		for _, h := range hosts {
			if h != "" && pair.Leaf.VerifyHostname(h) != nil {
				missing = true
			}
		}
	} else {
		missing = true // none yet, or a damaged or mismatched pair: issue it (again)
	}
	if !missing {
		return false, nil
	}
	for _, h := range hosts {
		add(h)
	}
	if len(dnsNames) == 0 && len(ips) == 0 {
		return false, errors.New("server certificate: no host name or address to issue it for")
	}
	cn := ""
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	} else {
		cn = ips[0].String()
	}
	is, err := ca.issue(&x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(2, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: dnsNames, IPAddresses: ips,
	})
	if err != nil {
		return false, err
	}
	// The key first: until the certificate follows, the pair does not
	// match, and the next start issues it again.
	if err := fileutil.Replace(keyPath, is.KeyPEM, 0o600); err != nil {
		return false, err
	}
	if err := fileutil.Replace(certPath, is.CertPEM, 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// Node certificate files.
const (
	NodeKeyFile  = "node-tls.key"
	NodeCertFile = "node-tls.pem"
)

// NodeCertificate returns this node's client certificate for calling its
// upstream (CN node:CODE), issued once and kept in dir.
func (ca *CA) NodeCertificate(dir, code string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, NodeCertFile), filepath.Join(dir, NodeKeyFile)
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		is, err := ca.issue(&x509.Certificate{
			SerialNumber: serial(), Subject: pkix.Name{CommonName: "node:" + code, Organization: []string{"jukinet node"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(2, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return tls.Certificate{}, err
		}
		if err := fileutil.WriteNew(keyPath, is.KeyPEM, 0o600); err != nil {
			return tls.Certificate{}, err
		}
		if err := fileutil.WriteNew(certPath, is.CertPEM, 0o644); err != nil {
			return tls.Certificate{}, err
		}
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}

// IssueRecipient issues the client certificate of a recipient body (CN
// recipient:ID), with which it asks a prefecture or the national node for
// identity information.
func (ca *CA) IssueRecipient(id string, valid time.Duration) (Issued, error) {
	return ca.issue(&x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "recipient:" + id, Organization: []string{"jukinet recipient"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(valid),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}
