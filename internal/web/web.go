// Package web serves the node's HTML user interface: server-rendered,
// Japanese first with an English switch, every asset embedded, no external
// request. Handlers know nothing of SQL; they ask the domain packages.
package web

import (
	"bytes"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/text/language"

	"jukinet/internal/api"
	"jukinet/internal/auditlog"
	"jukinet/internal/auth"
	"jukinet/internal/federation"
	"jukinet/internal/incident"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/profile"
	"jukinet/internal/terminalca"
)

//go:embed templates static locales
var assets embed.FS

// Options configure a Server.
type Options struct {
	Version  string
	Logger   *slog.Logger
	DemoSeed uint64 // the seed of a demo node's synthetic residents
	// PublicURL is the address browsers use (scheme, host, port): the
	// WebAuthn relying party. Default http://localhost:8080.
	PublicURL string
	// SeparatePeers serves the machine-to-machine endpoints (federation,
	// provision) only on PeerHandler, for a listener of their own that
	// requires a client certificate at the handshake.
	SeparatePeers bool
}

// Server is the node's web interface.
type Server struct {
	node   *node.Node
	opt    Options
	bundle *i18n.Bundle
	pages  map[string]*template.Template // by language, then page: "ja/lookup"
	locs   map[string]*i18n.Localizer
	mux    *http.ServeMux
	peers  *http.ServeMux // federation and provision endpoints: PeerHandler
	auth   *auth.Service
	secure bool // cookies only over TLS
	// terminalCA is the node's own CA: a client certificate from it names a terminal.
	terminalCA *x509.Certificate
	// verification is the audit-log check started from the audit screen.
	verification verification
	// once remembers the look-up and history forms already sent.
	once onceSet
	// auditViews keep the audit screen's filters sent by POST.
	auditViews auditViews
	// handler is the mux behind the cross-origin protection, built once
	// (not for every request).
	handler http.Handler
}

// New returns the web interface of n.
func New(n *node.Node, opt Options) (*Server, error) {
	if n.Gate == nil || n.Log == nil {
		return nil, errors.New("web: open the node's gate (Node.OpenGate) before serving it")
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	bundle := i18n.NewBundle(language.Japanese)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, f := range []string{"locales/ja.toml", "locales/en.toml"} {
		if _, err := bundle.LoadMessageFileFS(assets, f); err != nil {
			return nil, fmt.Errorf("load %s: %w", f, err)
		}
	}
	if opt.PublicURL == "" {
		opt.PublicURL = "http://localhost:8080"
	}
	pub, err := url.Parse(opt.PublicURL)
	if err != nil || pub.Hostname() == "" {
		return nil, fmt.Errorf("web: public URL %q: give scheme, host and port, e.g. http://localhost:8080", opt.PublicURL)
	}
	svc, err := auth.New(n.DB, n.Log, n.Staff, n.Policy, string(n.Info.LocalGov.Code), auth.Config{
		RPID: pub.Hostname(), Origins: []string{strings.TrimSuffix(opt.PublicURL, "/")}, Demo: n.Info.Demo})
	if err != nil {
		return nil, err
	}
	svc.Now = n.Now
	s := &Server{node: n, opt: opt, bundle: bundle, pages: map[string]*template.Template{}, locs: map[string]*i18n.Localizer{},
		mux: http.NewServeMux(), auth: svc, secure: pub.Scheme == "https"}
	// One template set per language and page, parsed once: a page is not
	// cloned or escaped again per request. The layout, partials and charts
	// every page shares are parsed once per language and cloned for each
	// page, which then adds its own file.
	for _, l := range []string{"ja", "en"} {
		s.locs[l] = i18n.NewLocalizer(bundle, l)
		funcs := templateFuncs(words{en: l == "en", p: n.Profile, loc: s.locs[l]})
		funcs["once"] = s.once.issue
		base, err := template.New("").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html", "templates/charts.html")
		if err != nil {
			return nil, fmt.Errorf("parse the layout's templates: %w", err)
		}
		for _, page := range pageNames {
			t, err := base.Clone()
			if err != nil {
				return nil, fmt.Errorf("clone the layout for %s: %w", page, err)
			}
			if t, err = t.ParseFS(assets, "templates/"+page+".html"); err != nil {
				return nil, fmt.Errorf("parse template %s: %w", page, err)
			}
			s.pages[l+"/"+page] = t
		}
	}
	if ca, err := terminalca.Open(n.Dir, n.Info.Name()); err == nil {
		s.terminalCA = ca.Cert
	} else {
		opt.Logger.Warn("no terminal CA: terminals cannot be identified by certificate", "err", err)
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", noDirectories(http.FileServerFS(static))))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /status", s.status)
	s.routes()
	s.trainingRoutes()
	s.assetRoutes()
	s.backupRoutes()
	s.facilityRoutes()
	s.contractRoutes()
	s.approvalRoutes()
	s.disclosureRoutes()
	s.councilRoutes()
	s.sysauditRoutes()
	s.correspondenceRoutes()
	s.formRoutes()
	s.protectRoutes()
	s.mux.Handle("/api/", api.New(n, opt.Logger, s.apiCaller))
	s.peers = http.NewServeMux()
	recv := federation.NewReceiver(n, opt.Logger)
	s.peers.Handle("POST /federation/v1/batches", recv)
	s.peers.HandleFunc("POST /federation/v1/check", recv.ServeCheck)
	s.peers.HandleFunc("POST /federation/v1/witness", recv.ServeWitness)
	s.peers.HandleFunc("POST /federation/v1/entries", recv.ServeEntries)
	s.peers.HandleFunc("POST /federation/v1/recover", recv.ServeRecover)
	s.peers.HandleFunc("POST /federation/v1/correspondence", recv.ServeCorrespondence)
	s.peers.HandleFunc("GET /federation/v1/audit/checkpoint", recv.ServeTiles) // federation.TilesPrefix
	s.peers.HandleFunc("GET /federation/v1/audit/tile/", recv.ServeTiles)
	prov := federation.NewProvider(n, s.terminalCA, opt.Logger)
	s.peers.HandleFunc("GET /provision/v1/residents/{code}", prov.ServeLookup)
	s.peers.HandleFunc("POST /provision/v1/batch", prov.ServeBatch)
	if !opt.SeparatePeers {
		s.mux.Handle("/federation/", s.peers)
		s.mux.Handle("/provision/", s.peers)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(federation.NewCollector(n))
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	s.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		// For a monitoring agent on the server itself.
		if !isLoopback(r) {
			http.Error(w, "metrics are served to the server itself only", http.StatusForbidden)
			return
		}
		metrics.ServeHTTP(w, r)
	})
	s.handler = http.NewCrossOriginProtection().Handler(s.mux)
	return s, nil
}

// Auth is the server's sign-in service (for jukinet init's first link).
func (s *Server) Auth() *auth.Service { return s.auth }

// PeerHandler serves the machine-to-machine endpoints alone (federation
// between nodes, provision to recipient bodies), for the peer listener,
// which requires a client certificate at the handshake.
func (s *Server) PeerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		s.peers.ServeHTTP(w, r)
	})
}

// ServeHTTP serves a request through the security middleware.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No external request, no framing, no sniffing, no referrer leaving.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		// Browsers that once reached the node over TLS never try it in
		// clear text again (two years).
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	if !machineEndpoint(r.URL.Path) {
		// A screen's form is a few kilobytes: a larger body is refused
		// before anyone reads it (the public sign-in forms included). The
		// JSON API, federation and provision endpoints set their own.
		if r.ContentLength > MaxFormBody {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBody)
		}
	}
	// Where the request comes from, for the sign-in service to name a
	// device that is not an approved terminal.
	client := auth.Client{Addr: r.RemoteAddr}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		client.Cert = r.TLS.VerifiedChains[0][0]
	}
	r = r.WithContext(auth.WithClient(r.Context(), client))
	s.handler.ServeHTTP(w, r)
}

// MaxFormBody is the largest request body a screen accepts (a form post;
// screens take no file uploads).
const MaxFormBody = 1 << 20

// machineEndpoint says whether path is served to programs with limits of
// its own: the JSON API (64 KiB bodies, 8 MiB CSV imports), federation and
// provision (their batches).
func machineEndpoint(path string) bool {
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/federation/") || strings.HasPrefix(path, "/provision/")
}

// Timeouts bound how long a connection may take over each part of a
// request, so a slow or idle client cannot hold connections open.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// DefaultTimeouts are the node's listeners' timeouts: 10 s for the headers,
// 60 s for the whole request (a federation batch or CSV import included),
// 120 s for the answer (an audit export) and for an idle keep-alive.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 60 * time.Second, Write: 120 * time.Second, Idle: 120 * time.Second}

// MaxHeaderBytes is the largest request header block a listener reads.
const MaxHeaderBytes = 64 << 10

// NewHTTPServer returns the http.Server of a listener serving h, with the
// timeouts t and MaxHeaderBytes.
func NewHTTPServer(h http.Handler, logger *slog.Logger, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// noDirectories answers 404 for a directory (a path ending in /), so the
// embedded assets are served but never listed.
func noDirectories(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// healthz answers 200 only while the node can do its work: the database
// answers and the audit log can be written (its last append did not fail
// — on a full disk every audited request is refused, so the node is not
// healthy). It writes nothing.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.node.DB.QueryRow(r.Context(), "SELECT 1").Scan(new(int)); err != nil {
		s.opt.Logger.Error("health check: database", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	if err := s.node.Log.Healthy(); err != nil {
		s.opt.Logger.Error("health check: audit log", "err", err)
		http.Error(w, "the audit log cannot be written: every audited request is refused", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// lang picks the page language: ?lang= (remembered in a cookie), then the
// cookie, then Japanese.
func lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "ja" {
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: l, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 365 * 24 * 3600})
	}
	return langOf(r)
}

// langSwitchURL is the address of the page r shows, in language other:
// the same query (an audit view's token, a filter, a page) with ?lang=
// set, so switching the language keeps what the page shows. A resident
// code that came in the query is left out: it is never used from a URL
// nor written into a page again (issue 23 item 8).
func langSwitchURL(r *http.Request, other string) string {
	q := r.URL.Query()
	q.Del("resident")
	q.Set("lang", other)
	return "?" + q.Encode()
}

// words names, in one language, what the pages know by ID: the profile's
// roles, departments and affairs (an ID the profile does not know, such as
// another node's, is shown as it is), and the UI's messages.
type words struct {
	en  bool
	p   *profile.Profile
	loc *i18n.Localizer
}

// wordsFor returns the words in the request's language.
func (s *Server) wordsFor(r *http.Request) words {
	l := langOf(r)
	return words{en: l == "en", p: s.node.Profile, loc: s.locs[l]}
}

func (w words) pick(ja, en string) string {
	if w.en && en != "" {
		return en
	}
	return ja
}

func (w words) role(id profile.RoleID) string {
	if r, ok := w.p.Role(id); ok {
		return w.pick(r.Name, r.NameEN)
	}
	return string(id)
}

func (w words) dept(id string) string {
	if d, ok := w.p.Department(id); ok {
		return w.pick(d.Name, d.NameEN)
	}
	return id
}

func (w words) affair(id string) string {
	if a, ok := w.p.Affair(id); ok {
		return w.pick(a.Name, a.NameEN)
	}
	return id
}

// msg is the UI message id.
func (w words) msg(id string) string {
	return w.loc.MustLocalize(&i18n.LocalizeConfig{MessageID: id})
}

// shownInstant writes an instant for a person in lang: in Japanese as a
// 和暦 date with its 西暦 and the time of day in Japan; in English as the
// date and time with the zone.
func shownInstant(t time.Time, lang string) string {
	t = t.In(jptext.JST)
	if lang == "en" {
		return t.Format("2006-01-02 15:04:05 MST")
	}
	return jptext.FormatBoth(t) + " " + t.Format("15:04:05")
}

// shownDay writes a day kept as YYYY-MM-DD (an alert's day) for a person:
// 和暦 with 西暦 in Japanese; as it is in English or when it is no date.
func shownDay(day string, en bool) string {
	d, err := time.ParseInLocation(time.DateOnly, day, jptext.JST)
	if err != nil || en {
		return day
	}
	return jptext.FormatBoth(d)
}

// shownDate writes a day as a <time> element: in Japanese its 和暦 and its
// 西暦, each of which never breaks inside itself (a line may break between
// them); in English the ISO date. A zero time is a dash.
func shownDate(t time.Time, en bool) template.HTML {
	if t.IsZero() {
		return "—"
	}
	t = t.In(jptext.JST)
	iso := t.Format(time.DateOnly)
	if en {
		return template.HTML(`<time datetime="` + iso + `">` + iso + `</time>`)
	}
	w, ok := jptext.ToWareki(t)
	if !ok {
		return template.HTML(`<time datetime="` + iso + `">` + template.HTMLEscapeString(jptext.FormatSeireki(t)) + `</time>`)
	}
	return template.HTML(`<time datetime="` + iso + `"><span class="date">` + template.HTMLEscapeString(w.String()) +
		`</span><span class="date">（` + template.HTMLEscapeString(jptext.FormatSeireki(t)) + `）</span></time>`)
}

// dateInText finds the dates and times a sentence may hold: 和暦, 西暦,
// ISO dates and times of day.
var dateInText = regexp.MustCompile(`(明治|大正|昭和|平成|令和)(元|\d{1,2})年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}(:\d{2})?`)

// keepDates writes a sentence (a message built elsewhere) with each date
// and time in it kept on one line; the rest breaks as text does.
func keepDates(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range dateInText.FindAllStringIndex(s, -1) {
		b.WriteString(template.HTMLEscapeString(s[last:m[0]]))
		b.WriteString(`<span class="date">` + template.HTMLEscapeString(s[m[0]:m[1]]) + `</span>`)
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String())
}

// codeParts writes a code made of parts joined by "/" (a policy's ID,
// koto-ward:12.1/designated-operator) that breaks only after a "/", never
// inside a part.
func codeParts(code string) template.HTML {
	parts := strings.SplitAfter(code, "/")
	for i, p := range parts {
		parts[i] = `<span class="nowrap">` + template.HTMLEscapeString(p) + `</span>`
	}
	return template.HTML(strings.Join(parts, "<wbr>"))
}

// templateFuncs gives the templates their functions in w's language: the
// UI's messages (t, tdata), dates, and the names of departments (dept) and
// affairs (affair) by their IDs.
func templateFuncs(w words) template.FuncMap {
	loc := w.loc
	var cache sync.Map
	return template.FuncMap{
		"t": func(id string) string {
			if loc == nil {
				return id
			}
			// Messages without data never change: localize each once.
			if v, ok := cache.Load(id); ok {
				return v.(string)
			}
			v := loc.MustLocalize(&i18n.LocalizeConfig{MessageID: id})
			cache.Store(id, v)
			return v
		},
		"tdata": func(id string, data any) string {
			if loc == nil {
				return id
			}
			return loc.MustLocalize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
		},
		"incidentName": func(id string) string {
			if w.en {
				return incident.Name(id, "en")
			}
			return incident.Name(id, "ja")
		},
		"wareki":     func(t time.Time) template.HTML { return shownDate(t, w.en) },
		"dates":      keepDates,
		"codes":      codeParts,
		"clock":      func(t time.Time) string { return t.In(jptext.JST).Format("15:04:05") },
		"has":        func(items []string, item string) bool { return slices.Contains(items, item) },
		"dept":       w.dept,
		"affair":     w.affair,
		"day":        func(d string) string { return shownDay(d, w.en) },
		"action":     w.action,
		"query":      w.query,
		"entryError": w.entryError,
		"entryWhy":   w.entryWhy,
		"actions":    w.actionChoices,
		"n":          svgNum,
		"add":        func(a, b float64) float64 { return a + b },
		// input names an input of a refused form for "invalid" and "field-error".
		"input": func(t typedForm, form, name string) inputRef { return inputRef{T: t, F: form, In: name} },
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
	}
}

// render executes a page with the layout, in the request's language.
func (s *Server) render(w http.ResponseWriter, r *http.Request, page, title string, data map[string]any) {
	l := lang(w, r)
	other := map[string]string{"ja": "en", "en": "ja"}[l]
	loc := s.locs[l]
	t := s.pages[l+"/"+page]
	if data == nil {
		data = map[string]any{}
	}
	data["Lang"], data["OtherLang"], data["Node"], data["Version"] = l, other, s.node.Info, s.opt.Version
	data["OtherLangURL"] = langSwitchURL(r, other)
	data["Path"] = r.URL.Path
	data["Title"] = loc.MustLocalize(&i18n.LocalizeConfig{MessageID: title})
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.opt.Logger.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	buf.WriteTo(w)
}

// status shows the node's public facts to anyone (what it is, that it
// runs); its register, log, schema and key only to signed-in staff.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	c := s.signedInOrNot(r)
	if c == nil {
		s.render(w, r, "status", "NodeStatus", map[string]any{})
		return
	}
	ctx := r.Context()
	version, err := s.node.DB.SchemaVersion(ctx)
	var residents, entries int64
	var cp *auditlog.Checkpoint
	if err == nil {
		residents, err = s.node.Gate.Count(ctx)
	}
	if err == nil {
		entries, err = s.node.Log.Size(ctx)
	}
	if err == nil {
		cp, err = auditlog.LatestCheckpoint(ctx, s.node.DB)
	}
	if err != nil {
		s.opt.Logger.Error("status page", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	s.page(w, r, c, "status", "NodeStatus", map[string]any{
		"Full":          true,
		"Database":      s.node.DB.Dialect().String(),
		"SchemaVersion": version,
		"Residents":     residents,
		"AuditEntries":  entries,
		"Checkpoint":    cp,
		"DemoSeed":      s.opt.DemoSeed,
	})
}
