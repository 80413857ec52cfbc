package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"jukinet/internal/node"
)

// Why a connection to the peer listener was refused at the handshake.
const (
	// WhyNoClientCertificate: the client presented no certificate.
	WhyNoClientCertificate = "no-client-certificate"
	// WhyUntrustedCertificate: the client's certificate is not from the
	// node's CA nor from a registered peer's (or has expired).
	WhyUntrustedCertificate = "untrusted-client-certificate"
)

// actionConnect is the action of a connection refused at the handshake.
const actionConnect = "federation.connect"

// HandshakeTimeout bounds a peer connection's TLS handshake.
const HandshakeTimeout = 10 * time.Second

// PeerTLS returns the TLS configuration of the listener for peer nodes and
// recipient bodies (the machine-to-machine endpoints): base's server
// certificate and CA pool (the node's own CA: recipient bodies and the
// node itself), plus every registered peer's CA, read at each handshake so
// that a peer added while the server runs is accepted; and a client
// certificate required and verified at the handshake
// (tls.RequireAndVerifyClientCert) — no certificate, no connection.
func PeerTLS(n *node.Node, base *tls.Config) *tls.Config {
	conf := base.Clone()
	conf.ClientAuth = tls.RequireAndVerifyClientCert
	if conf.ClientCAs == nil {
		conf.ClientCAs = x509.NewCertPool()
	}
	if conf.MinVersion < tls.VersionTLS12 {
		conf.MinVersion = tls.VersionTLS12
	}
	conf.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c := conf.Clone()
		c.GetConfigForClient = nil
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = c.ClientCAs.Clone()
		ctx := context.Background()
		if hello != nil && hello.Context() != nil {
			ctx = hello.Context()
		}
		peers, err := Peers(ctx, n.DB)
		if err != nil {
			return nil, err
		}
		for _, p := range peers {
			c.ClientCAs.AppendCertsFromPEM([]byte(p.CAPEM))
		}
		return c, nil
	}
	return conf
}

// PeerListener serves TLS with conf (PeerTLS) on ln and completes each
// handshake before Accept returns the connection: a connection without a
// client certificate, or with one the node does not trust, never reaches
// an HTTP handler. Each such refusal is recorded as the node's refusal
// of an unauthenticated party — a fixed-size, rate-limited audit entry
// (action federation.connect, actor host:ADDRESS, auditlog.Refuse) with
// an alert row (WhyNoClientCertificate, WhyUntrustedCertificate) — and the
// client gets the TLS alert. Handshakes that fail otherwise (a port scan,
// plain HTTP, a timeout) are only logged at debug level.
func PeerListener(n *node.Node, ln net.Listener, conf *tls.Config, logger *slog.Logger) net.Listener {
	if logger == nil {
		logger = slog.Default()
	}
	l := &peerListener{Listener: ln, n: n, conf: conf, logger: logger,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

type peerListener struct {
	net.Listener
	n      *node.Node
	conf   *tls.Config
	logger *slog.Logger
	conns  chan net.Conn
	errs   chan error
	done   chan struct{}
	once   sync.Once
	// Refused, when set, is told of each refusal after it is recorded
	// (tests).
	refused func(why string)
}

func (l *peerListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go l.handshake(c)
	}
}

func (l *peerListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.conf)
	ctx, cancel := context.WithTimeout(context.Background(), HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		tc.Close()
		why := handshakeRefusal(err)
		if why == "" {
			l.logger.Debug("peer connection: TLS handshake failed", "from", c.RemoteAddr().String(), "err", err)
			return
		}
		conn := Conn{Addr: c.RemoteAddr().String(), TLS: true}
		if err := recordRefusal(context.Background(), l.n, conn, actionConnect, why, nil, 0); err != nil {
			l.logger.Error("record a refused peer connection", "why", why, "err", err)
		}
		l.logger.Debug("peer connection refused at the handshake", "why", why, "from", conn.Addr)
		if l.refused != nil {
			l.refused(why)
		}
		return
	}
	select {
	case l.conns <- tc:
	case <-l.done:
		tc.Close()
	}
}

// handshakeRefusal names a handshake that failed for the client's
// certificate, or returns "".
func handshakeRefusal(err error) string {
	var verr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &verr):
		return WhyUntrustedCertificate
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		return WhyNoClientCertificate
	}
	return ""
}

// Accept returns the next connection whose handshake completed.
func (l *peerListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; handshakes under way are dropped.
func (l *peerListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}
