package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"jukinet/internal/backup"
	"jukinet/internal/config"
	"jukinet/internal/db"
	"jukinet/internal/detect"
	"jukinet/internal/federation"
	"jukinet/internal/node"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
	"jukinet/internal/terminalca"
	"jukinet/internal/web"
)

// serverTLS is the node's HTTPS configuration: its certificate names the
// public URL's host and the node's configured addresses (serverHosts).
func serverTLS(n *node.Node, public string, addrs ...string) (*tls.Config, error) {
	var hosts []string
	for _, addr := range addrs {
		h, err := serverHosts(public, addr)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h...)
	}
	ca, err := terminalca.Open(n.Dir, n.Info.Name())
	if err != nil {
		return nil, err
	}
	// The browsers' address verifies a terminal's certificate when one is
	// offered (the sign-in pages must be reachable without one); peers and
	// recipients have the peer address (federation.PeerTLS).
	return ca.ServerTLS(n.Dir, hosts...)
}

// serverHosts are the names and addresses the node's server certificate
// must carry: the public URL's host, the host of the address it listens on (every
// address of the machine's interfaces when it listens on all of them), and
// the loopback names, so that peers and browsers may reach it by name or
// by IP address.
func serverHosts(public, addr string) ([]string, error) {
	u, err := url.Parse(public)
	if err != nil {
		return nil, fmt.Errorf("public URL: %w", err)
	}
	hosts := []string{u.Hostname(), "localhost", "127.0.0.1", "::1"}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return append(hosts, host), nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list the machine's addresses: %w", err)
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && !ipnet.IP.IsLinkLocalUnicast() {
			hosts = append(hosts, ipnet.IP.String())
		}
	}
	return hosts, nil
}

// InitCmd is `jukinet init`.
type InitCmd struct {
	Data      string `required:"" type:"path" help:"Data folder to create the node in (created if missing; must not hold a node)."`
	Profile   string `required:"" enum:"koto-ward,aomori-pref" help:"Regulation profile: koto-ward or aomori-pref."`
	LocalGov  string `name:"local-gov" help:"地方公共団体コード of the body the node serves, e.g. 131083 (江東区) or 020001 (青森県)."`
	Level     string `enum:",municipality,prefecture,national" default:"" help:"municipality, prefecture or national (default: the profile's)."`
	DB        string `name:"db" help:"Database URL: sqlite:PATH (default sqlite:jukinet.db in the data folder) or postgres://…"`
	AdminID   string `name:"admin-id" default:"ADMIN" help:"Verification id (照合ID) of the first system administrator."`
	AdminName string `name:"admin-name" default:"システム管理者" help:"Name of the first system administrator."`
}

// Run creates the node.
func (c InitCmd) Run(env *Env) error {
	created, err := node.Init(env.Ctx, node.InitOptions{Now: env.now, Dir: c.Data, Profile: c.Profile, LocalGovCode: c.LocalGov, Level: c.Level, DatabaseURL: c.DB,
		AdminID: c.AdminID, AdminName: c.AdminName})
	if err != nil {
		return err
	}
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	fmt.Fprintf(env.Stdout, "Created node %s (%s, %s, profile %s) in %s\n", n.Info.Name(), orDash(string(n.Info.LocalGov.Code)), n.Info.Level, n.Info.Profile.ID, n.Dir)
	fmt.Fprintf(env.Stdout, "Public key: %s\n", n.Info.PublicKey)
	public := n.Config.HTTP.PublicURL
	if public == "" {
		_, port, _ := net.SplitHostPort(n.Config.HTTP.Addr)
		public = "http://localhost:" + port
	}
	fmt.Fprintf(env.Stdout, "First system administrator: %s. Their one-time link to register their biometric credential (valid 24 hours):\n  %s/enrol/%s\n",
		created.AdminID, public, created.EnrolmentToken)
	fmt.Fprintf(env.Stdout, "Start it with: jukinet serve --data %s\n", c.Data)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ServeCmd is `jukinet serve`.
type ServeCmd struct {
	Data string `required:"" type:"path" help:"The node's data folder."`
	Addr string `help:"Listen address (overrides http.addr and JUKINET_ADDR)."`
}

// Run serves until the context is cancelled (SIGINT or SIGTERM).
func (c ServeCmd) Run(env *Env) error {
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	n.Serving = true
	if err := n.OpenGate(env.Ctx, newLogger(env, n.Config.Log)); err != nil {
		return err
	}
	// A node restored from a backup is recovered before it serves.
	if err := checkRecovered(env, n); err != nil {
		return err
	}
	return serve(env, n, c.Addr, web.Options{Version: Version})
}

// DemoCmd is `jukinet demo`.
type DemoCmd struct {
	Data      string `type:"path" help:"Data folder (default: jukinet/demo under the user's cache folder)."`
	Addr      string `default:"127.0.0.1:8080" help:"Listen address."`
	Residents int    `default:"10000" help:"How many synthetic residents to load, through the gate, into a new demo register."`
	DB        string `name:"db" help:"Database of a new demo node: postgres://… (an empty database) or sqlite:PATH (default: SQLite in the data folder)."`
}

// demoLocalGov is the body demo nodes serve: 江東区.
const demoLocalGov = "131083"

// demoSeed seeds the demo's synthetic residents.
const demoSeed = 1

// Run creates the demo node if the folder holds none, loads its synthetic
// residents through the gate the first time, then serves it.
func (c DemoCmd) Run(env *Env) error {
	dir := c.Data
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("find a folder for the demo (give --data DIR): %w", err)
		}
		dir = filepath.Join(cache, "jukinet", "demo")
	}
	if c.Residents < 0 {
		return fmt.Errorf("--residents %d: must be 0 or more", c.Residents)
	}
	if !node.Exists(dir) {
		fmt.Fprintf(env.Stdout, "Creating a demo node for 東京都江東区 (131083) in %s …\n", dir)
		if _, err := node.Init(env.Ctx, node.InitOptions{Now: env.now, Dir: dir, Profile: "koto-ward", LocalGovCode: demoLocalGov, Addr: c.Addr, Demo: true, DatabaseURL: c.DB}); err != nil {
			return err
		}
	} else {
		if c.DB != "" {
			return fmt.Errorf("--db %s: %s already holds a node, with its own database (give --data for another folder)", db.Redact(c.DB), dir)
		}
		fmt.Fprintf(env.Stdout, "Reusing the demo node in %s\n", dir)
	}
	n, err := openNode(env, dir)
	if err != nil {
		return err
	}
	defer n.Close()
	if !n.Info.Demo {
		return fmt.Errorf("%s holds a node that is not a demo node; demo will not put synthetic residents in it (give --data for another folder)", dir)
	}
	n.Serving = true
	if err := n.OpenGate(env.Ctx, newLogger(env, n.Config.Log)); err != nil {
		return err
	}
	count, err := n.Gate.Count(env.Ctx)
	if err != nil {
		return err
	}
	if count == 0 && c.Residents > 0 {
		if err := loadDemoResidents(env, n, c.Residents); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "The register holds %d residents.\n", count)
	}
	// The demo's people are deterministic: regenerate the first one (no
	// register read) to show a lookup that works.
	if g, err := synth.New(synth.Options{Seed: demoSeed, LocalGov: demoLocalGov}); err == nil && c.Residents > 0 {
		r := g.Next()
		fmt.Fprintf(env.Stdout, "Try a console lookup (it is logged; see it with jukinet audit show --data %s):\n  jukinet lookup --data %s --code %s --affair juminhyo-copy --reason 窓口での本人申請\n",
			n.Dir, n.Dir, r.ResidentCode)
		if c.Residents > 1 {
			// The second is under a support measure (支援措置): its look-up
			// needs a case reference and raises the immediate alert. She
			// has also asked who looked at her: a pending disclosure
			// request on the 開示請求 screen.
			p := g.Next()
			if marked, err := n.SeedDemoProtection(env.Ctx, string(p.ResidentCode)); err != nil {
				return err
			} else if marked {
				fmt.Fprintf(env.Stdout, "Resident %s is under a support measure (支援措置): a look-up needs --case, and raises an immediate alert.\n", p.ResidentCode)
			}
			if err := node.SeedDemoDisclosure(env.Ctx, n.Disclosures, string(p.ResidentCode), n.Now()); err != nil {
				return fmt.Errorf("seed the demo disclosure request: %w", err)
			}
		}
	}
	return serve(env, n, c.Addr, web.Options{Version: Version, DemoSeed: demoSeed})
}

// loadDemoResidents generates the demo's synthetic residents and imports
// them through the gate, logged like any import.
func loadDemoResidents(env *Env, n *node.Node, count int) error {
	g, err := synth.New(synth.Options{Seed: demoSeed, LocalGov: demoLocalGov})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	for i := 0; i < count; i++ {
		if err := w.Write(g.Next()); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	start := time.Now()
	rep, err := n.Gate.Import(env.Ctx, consoleRequest("juki", "デモ環境の初期データ（すべて架空の人物）", ""), &buf, resident.UTF8)
	if err != nil {
		return gateError(err)
	}
	fmt.Fprintf(env.Stdout, "Loaded %d synthetic residents (seed %d) through the gate in %s (audit entry %d).\n",
		rep.Added, demoSeed, time.Since(start).Round(time.Millisecond), rep.AuditSeq)
	return nil
}

// serve runs the web server of n until env.Ctx is done, then shuts down
// gracefully.
func serve(env *Env, n *node.Node, addr string, opt web.Options) error {
	logger := newLogger(env, n.Config.Log)
	opt.Logger = logger
	if addr == "" {
		addr = n.Config.HTTP.Addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && strings.Contains(err.Error(), "address already in use") {
			return fmt.Errorf("listen on %s: the address is in use; stop the other server or pass --addr with another port", addr)
		}
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	scheme := "http"
	if n.Config.HTTP.TLS {
		scheme = "https"
	}
	if opt.PublicURL = n.Config.HTTP.PublicURL; opt.PublicURL == "" {
		opt.PublicURL = fmt.Sprintf("%s://localhost:%d", scheme, ln.Addr().(*net.TCPAddr).Port)
	}
	var peerLn net.Listener // the peer listener ([http] peer_addr), with TLS
	if n.Config.HTTP.TLS {
		conf, err := serverTLS(n, opt.PublicURL, addr, n.Config.HTTP.PeerAddr)
		if err != nil {
			ln.Close()
			return err
		}
		ln = tls.NewListener(ln, conf)
		// Mutual TLS for the machine-to-machine endpoints: no handshake
		// completes without a client certificate from the node's CA or a
		// registered peer's, and none reaches a handler before it has.
		// config.Validate makes sure there is a peer address.
		pl, err := net.Listen("tcp", n.Config.HTTP.PeerAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for peers on %s ([http] peer_addr): %w", n.Config.HTTP.PeerAddr, err)
		}
		peerLn = federation.PeerListener(n, pl, federation.PeerTLS(n, conf), logger)
		opt.SeparatePeers = true
	}
	h, err := web.New(n, opt)
	if err != nil {
		ln.Close()
		if peerLn != nil {
			peerLn.Close()
		}
		return err
	}
	srv := web.NewHTTPServer(h, logger, web.DefaultTimeouts)
	var peerSrv *http.Server
	if peerLn != nil {
		peerSrv = web.NewHTTPServer(h.PeerHandler(), logger, web.DefaultTimeouts)
	}
	fmt.Fprintf(env.Stdout, "jukinet %s: node %s serving on %s/ (listening on %s)\n", Version, n.Info.Name(), opt.PublicURL, ln.Addr())
	if n.Info.Demo {
		fmt.Fprintf(env.Stdout, "Open %s/ in a browser on this machine. To look around without an authenticator, choose a demo staff member\n"+
			"under デモ用ワンクリックログイン (the demo operator %q looks residents up; %q, %q and %q hold the other roles).\n"+
			"Governance that binds, seen on the lookup screen:\n"+
			"  %-24s training (研修) expired: a lookup is refused, naming the course and the day it ran out\n"+
			"  %-24s a contractor (委託) whose contract holds the five clauses: looks residents up\n"+
			"  %-24s a contractor whose contract lacks 再委託の禁止: refused, naming the clause; record it on\n"+
			"  %-24s 委託 (/contracts, as %s) and the lookup goes through\n"+
			"  %-24s usage approvals (利用承認, /approvals): end the department's use of an affair and its\n"+
			"  %-24s operators are refused it; apply again, approve it as %s, and they may use it again\n"+
			"To sign in with a real or virtual authenticator, see README (Signing in).\n", opt.PublicURL, node.DemoOperator, node.DemoAdmin, node.DemoChief, node.DemoOfficer,
			node.DemoUntrained, node.DemoContractor, node.DemoContractorLacking, "", node.DemoAdmin, node.DemoOfficer, "", node.DemoAdmin)
	}
	fmt.Fprintln(env.Stdout, "Stop with Ctrl+C.")
	// Changes go upstream in the background (nothing to do without an
	// upstream peer).
	sender := federation.NewSender(n, logger)
	go sender.Run(env.Ctx, 500*time.Millisecond)
	// Reports and requests to other bodies leave the same way.
	go federation.NewCorrespondent(n, logger).Run(env.Ctx, 500*time.Millisecond)
	// The rules for improper use run over new audit entries.
	go runDetection(env.Ctx, n, logger, n.Config.Detection.Every.Duration)
	// The daily backup, when backup.folder is set (docs/operations.md).
	if n.Config.Backup.Folder != "" {
		if _, err := backup.ParseRecipients(n.Config.Backup.Recipients); err != nil {
			return fmt.Errorf("%s [backup] recipients: %w", filepath.Join(n.Dir, config.FileName), err)
		}
		fmt.Fprintf(env.Stdout, "Backups: daily at %s (JST) into %s, %d kept.\n", n.Config.Backup.At, n.Config.Backup.Folder, n.Config.Backup.Keep)
		go backup.Run(env.Ctx, n, logger)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if peerSrv != nil {
		fmt.Fprintf(env.Stdout, "Peers and recipient bodies: mutual TLS on %s\n", peerLn.Addr())
		go func() { errc <- peerSrv.Serve(peerLn) }()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-env.Ctx.Done():
	}
	logger.Info("shutting down", "timeout", n.Config.HTTP.ShutdownTimeout.Duration)
	ctx, cancel := context.WithTimeout(context.Background(), n.Config.HTTP.ShutdownTimeout.Duration)
	defer cancel()
	if peerSrv != nil {
		if err := peerSrv.Shutdown(ctx); err != nil {
			return fmt.Errorf("shut down the peer listener: %w", err)
		}
	}
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	fmt.Fprintln(env.Stdout, "Stopped.")
	return nil
}

// runDetection runs the detection rules at once and then every interval
// until ctx is done; a failed run is logged and tried again at the next
// tick.
func runDetection(ctx context.Context, n *node.Node, logger *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		rep, err := n.Detect.Run(ctx)
		switch {
		case errors.Is(err, detect.ErrOvertaken):
			logger.Info("detection run overtaken by another (jukinet detect run?)")
		case err != nil && ctx.Err() == nil:
			logger.Error("detection run", "err", err)
		case err == nil && rep.AuditSeq >= 0:
			logger.Info("detection run", "raised", rep.Raised, "updated", rep.Updated, "reopened", rep.Reopened, "through", rep.ScannedThrough)
		}
	}
}

func newLogger(env *Env, c config.Log) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[c.Level]
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(env.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.Stderr, opts))
}
