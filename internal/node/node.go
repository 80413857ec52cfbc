// Package node creates and opens a jukinet node: its data folder, holding
// jukinet.toml, the Ed25519 signing key and (by default) the SQLite
// database. The CLI, the web server and tests all start a node through here.
package node

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/approval"
	"jukinet/internal/asset"
	"jukinet/internal/auditlog"
	"jukinet/internal/config"
	"jukinet/internal/contract"
	"jukinet/internal/correspondence"
	"jukinet/internal/council"
	"jukinet/internal/db"
	"jukinet/internal/detect"
	"jukinet/internal/disclosure"
	"jukinet/internal/facility"
	"jukinet/internal/fileutil"
	"jukinet/internal/form"
	"jukinet/internal/gate"
	"jukinet/internal/ids"
	"jukinet/internal/incident"
	"jukinet/internal/jptext"
	"jukinet/internal/policy"
	"jukinet/internal/profile"
	"jukinet/internal/protect"
	"jukinet/internal/staff"
	"jukinet/internal/sysaudit"
	"jukinet/internal/training"
)

// PublicKeyFile holds the node's verifier key, for peers and auditors.
const PublicKeyFile = "node.pub"

// Info is what the database records about the node.
type Info struct {
	LocalGov  ids.LocalGov // zero for a national node
	Level     profile.Level
	Profile   profile.Info
	PublicKey string // note verifier key
	Demo      bool
	CreatedAt time.Time
}

// Name is the node's display name: the body's full name, or 全国サーバ.
func (i Info) Name() string {
	if i.Level == profile.National {
		return "全国サーバ"
	}
	return i.LocalGov.FullName()
}

// Node is an open node. Log and Gate are nil until OpenGate.
type Node struct {
	Dir      string
	Config   config.Config
	DB       *db.DB
	Signer   note.Signer
	Verifier note.Verifier
	Info     Info
	Log      *auditlog.Log
	Gate     *gate.Gate
	// Profile, Staff and Policy are set by OpenGate: the regulation
	// profile, the staff store and the policy engine deciding for both.
	Profile *profile.Profile
	Staff   *staff.Store
	Policy  *policy.Engine
	// Detect looks for improper use in the audit log, and Incidents keeps
	// the incidents and measures taken (set by OpenGate).
	Detect    *detect.Detector
	Incidents *incident.Register
	// Training is the record of training sessions (研修), whose facts the
	// policy engine enforces (set by OpenGate).
	Training *training.Register
	// Assets is the register of information assets (情報資産), decided by
	// the same policies (set by OpenGate).
	Assets *asset.Register
	// Contracts is the record of outsourcing (委託), whose facts the
	// policy engine enforces (set by OpenGate).
	Contracts *contract.Register
	// Approvals is the record of usage approvals (利用の承認), whose
	// approvals in force the policy engine enforces (set by OpenGate).
	Approvals *approval.Register
	// Facilities is the record of rooms, entries and terminal
	// installations (koto-ward:11, aomori-pref:6), whose installations the
	// policy engine reads.
	Facilities *facility.Register
	// Council is the security council's record (koto-ward:5, 6): meetings,
	// decisions, and the chief security officer's directives and requests.
	Council *council.Register
	// SysAudits is the record of system audits (koto-ward:9,
	// aomori-pref:11), whose evidence is read from the records above.
	SysAudits *sysaudit.Register
	// Disclosures is the register of residents' disclosure requests
	// (本人確認情報・提供状況の開示).
	Disclosures *disclosure.Register
	// Correspondence is the record of reports and requests between bodies
	// (koto-ward:15), signed with the node's key; the federation's
	// correspondent delivers what it queues.
	Correspondence *correspondence.Register
	// Forms is the forms register (帳票管理簿, koto-ward:14): every
	// document and file the node produces, and the program changes.
	Forms *form.Register
	// Program is the program the node runs, recorded by OpenGate in the
	// record of program changes; zero means this binary's (Version and the
	// profile's digest). Tests set it to start a changed program.
	Program form.ProgramState
	// Protect is the register of residents under support measures
	// (支援措置), whose protections in force the policy engine and the gate
	// enforce (set by OpenGate).
	Protect *protect.Register
	// Now is the node's clock: the time its audit entries, sessions and
	// date-bound decisions (today's counts, retention cutoffs) are read
	// from. Open sets it to time.Now; tests set a clocktest clock before
	// OpenGate so that no test depends on today's date.
	Now func() time.Time
	// Serving marks the process that serves the node (serve, demo): with
	// audit.journal on, it is the one that journals the log's entries.
	Serving bool
}

// JournalFolder is the audit journal's folder in the data folder.
const JournalFolder = "audit-journal"

// SyncJournal writes the rows of the entries the node's audit journal
// holds without them (a serving process journals look-ups and searches,
// their rows following up to a second later under load), so that a
// command reading the log's rows without opening the log sees every entry
// answered so far. A node without a journal has nothing to do.
func (n *Node) SyncJournal(ctx context.Context) error {
	dir := filepath.Join(n.Dir, JournalFolder)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := auditlog.SyncJournal(ctx, n.DB, dir); err != nil {
		return fmt.Errorf("write the rows of journaled audit entries: %w", err)
	}
	return nil
}

// Version is the node's version, as the record of program changes keeps
// it (the CLI sets it to the version it was built with).
var Version = "dev"

// Origin is the name the node's checkpoints carry.
func (n *Node) Origin() string { return "jukinet/" + n.Signer.Name() }

// OpenGate starts the audit log's committer and opens the gate. Commands
// that only read the log (audit verify, show, prove) do not open it, so
// they never sign a checkpoint.
func (n *Node) OpenGate(ctx context.Context, logger *slog.Logger) error {
	opt := auditlog.Options{
		Origin:          n.Origin(),
		CheckpointEvery: n.Config.Audit.CheckpointInterval.Duration,
		Logger:          logger,
		Now:             n.Now,
	}
	// Every process names the journal of a node that has one (what a
	// server journaled gets its rows before anything else is appended);
	// only the server journals.
	journal := filepath.Join(n.Dir, JournalFolder)
	if _, err := os.Stat(journal); err == nil || n.Config.Audit.Journal {
		opt.Journal = journal
		opt.JournalWrites = n.Config.Audit.Journal && n.Serving
	}
	l, err := auditlog.Open(ctx, n.DB, n.Signer, opt)
	if err != nil {
		return err
	}
	n.Log = l
	prof, err := profile.Load(n.Info.Profile.ID)
	if err != nil {
		l.Close()
		return err
	}
	eng, err := policy.New(ctx, n.DB, prof, n.Config.Console.Lookup)
	if err != nil {
		l.Close()
		return err
	}
	// Training expiry is decided on the node's clock, at each request.
	eng.Now = n.Now
	n.Profile, n.Policy = prof, eng
	n.Staff = staff.New(n.DB, l, prof, n.nodeCode(), eng)
	n.Staff.OnChange(eng.Invalidate)
	n.Training = training.New(n.DB, l, eng, prof, n.nodeCode())
	n.Training.Now = n.Now
	n.Training.OnChange(eng.Invalidate)
	n.Assets = asset.New(n.DB, l, eng, n.Staff, n.nodeCode())
	n.Assets.Now = n.Now
	n.Contracts = contract.New(n.DB, l, eng, n.nodeCode())
	n.Contracts.Now = n.Now
	n.Contracts.OnChange(eng.Invalidate)
	n.Approvals = approval.New(n.DB, l, eng, prof, n.nodeCode())
	n.Approvals.Now = n.Now
	n.Approvals.OnChange(eng.Invalidate)
	n.Approvals.Alerts = n.approvalAlerts
	n.Facilities = facility.New(n.DB, l, eng, n.nodeCode())
	n.Facilities.Now = n.Now
	n.Facilities.OnChange(eng.Invalidate)
	n.Council = council.New(n.DB, l, eng, prof, n.nodeCode())
	n.Council.Now = n.Now
	n.SysAudits = sysaudit.New(n.DB, l, eng, prof, n.nodeCode(), sysaudit.Sources{Staff: n.Staff, Facilities: n.Facilities, Assets: n.Assets,
		Verifier: n.Verifier, Alerts: AuditAlerts(n.DB), Incidents: AuditIncidents(n.DB), Meetings: AuditMeetings(n.DB), Directives: AuditDirectives(n.DB), Letters: AuditLetters(n.DB)})
	n.SysAudits.Now = n.Now
	n.Disclosures = disclosure.New(n.DB, l, eng, prof, n.nodeCode())
	n.Disclosures.Now = n.Now
	n.Correspondence = correspondence.New(n.DB, l, eng, prof, n.nodeCode(), n.Signer)
	n.Correspondence.Now = n.Now
	n.Forms = form.New(n.DB, l, eng, n.nodeCode(), prof.FormDays())
	n.Forms.Now = n.Now
	n.Approvals.Forms = n.Forms
	n.SysAudits.Forms = n.Forms
	n.Disclosures.Forms = n.Forms
	n.Disclosures.Alarm = detect.Alarm
	n.Protect = protect.New(n.DB, l, eng, prof, n.nodeCode())
	n.Protect.Now = n.Now
	n.Protect.OnChange(eng.Invalidate)
	n.Gate = gate.New(n.DB, l, eng, n.Info.LocalGov, n.Info.Level)
	n.Gate.Now = n.Now
	n.Gate.Alarm = detect.Alarm
	n.Gate.SearchRules = prof.Search
	if n.Detect, err = detect.New(n.DB, l, eng, n.nodeCode(), DetectionSettings(n.Config.Detection).WithProfile(prof)); err != nil {
		l.Close()
		return fmt.Errorf("%s [detection]: %w", filepath.Join(n.Dir, config.FileName), err)
	}
	n.Incidents = incident.New(n.DB, l, eng, n.nodeCode())
	if n.Program == (form.ProgramState{}) {
		n.Program = form.ProgramState{Version: form.BuildVersion(Version), ProfileID: prof.ID, ProfileDigest: prof.Digest}
	}
	if n.Info.Demo {
		if err := seedDemoProgram(ctx, n.Forms, n.Program); err != nil {
			l.Close()
			return fmt.Errorf("seed the demo's program record: %w", err)
		}
	}
	if ch, err := n.Forms.CheckProgram(ctx, n.Program); err != nil {
		l.Close()
		return fmt.Errorf("record the program the node runs: %w", err)
	} else if ch != nil && !ch.Baseline && logger != nil {
		logger.Warn("the program changed since the last start: to be approved (jukinet form approve-program-change)",
			"version", ch.Version, "profile_sha256", ch.ProfileDigest, "change", ch.ID)
	}
	if rekeyed, err := n.Gate.EnsureSearchKeys(ctx); err != nil {
		l.Close()
		return fmt.Errorf("search keys: %w", err)
	} else if rekeyed > 0 && logger != nil {
		logger.Info("search keys rebuilt for a changed folding", "residents", rekeyed, "folding", jptext.KeyVersion)
	}
	if n.Info.Demo {
		if err := SeedDemoStaff(ctx, n.Staff, n.Training, n.Approvals, n.Now()); err != nil {
			l.Close()
			return fmt.Errorf("seed the demo staff: %w", err)
		}
		if err := SeedDemoFacilities(ctx, n.Facilities, n.Now()); err != nil {
			l.Close()
			return fmt.Errorf("seed the demo rooms: %w", err)
		}
		if err := SeedDemoCouncil(ctx, n.DB, n.Staff, n.Council, n.Now()); err != nil {
			l.Close()
			return fmt.Errorf("seed the demo council: %w", err)
		}
		if err := SeedDemoContracts(ctx, n.DB, n.Staff, n.Training, n.Contracts, n.Now()); err != nil {
			l.Close()
			return fmt.Errorf("seed the demo contracts: %w", err)
		}
		if err := SeedDemoAssets(ctx, n.Assets, n.Now()); err != nil {
			l.Close()
			return fmt.Errorf("seed the demo assets: %w", err)
		}
		if err := SeedDemoAudit(ctx, n.Staff, n.SysAudits, n.Now()); err != nil {
			l.Close()
			return fmt.Errorf("seed the demo audit: %w", err)
		}
		if err := SeedDemoForms(ctx, n, n.Now()); err != nil {
			l.Close()
			return fmt.Errorf("seed the demo forms: %w", err)
		}
	}
	return nil
}

// DetectionSettings turns the [detection] section of a checked
// configuration into the rules' thresholds.
func DetectionSettings(c config.Detection) detect.Settings {
	start, _ := config.ClockTime(c.OfficeStart) // checked by config.Load
	end, _ := config.ClockTime(c.OfficeEnd)
	return detect.Settings{OfficeStart: start, OfficeEnd: end, DailyResidents: c.DailyResidents,
		ActorsPerResident: c.ActorsPerResident, DailyDenials: c.DailyDenials,
		NoCaseDaily: c.NoCaseDaily, RepeatPerDay: c.RepeatPerDay, RepeatDays: c.RepeatDays, RepeatWindowDays: c.RepeatWindowDays,
		KinDaily: c.KinDaily, ActorsPerHour: c.ActorsPerHour}
}

// Code is the code audit entries and peers name the node by: its local
// government code, or "national".
func (n *Node) Code() string { return n.nodeCode() }

// nodeCode is the code audit entries name the node by.
func (n *Node) nodeCode() string {
	if n.Info.Level == profile.National {
		return "national"
	}
	return string(n.Info.LocalGov.Code)
}

// InitOptions are the choices of `jukinet init`.
type InitOptions struct {
	Dir          string
	Profile      string
	LocalGovCode string
	Level        string // default: the profile's level
	DatabaseURL  string // default: sqlite:jukinet.db in Dir
	Addr         string // default: 127.0.0.1:8080
	Demo         bool
	// The first system administrator of a node that is not a demo:
	// verification id (default ADMIN) and name.
	AdminID   string
	AdminName string
	// Now is the clock that dates the node's record; nil means time.Now.
	Now func() time.Time
}

// Created is what Init made.
type Created struct {
	// AdminID is the first system administrator's verification id, and
	// EnrolmentToken the one-time token of the link (/enrol/TOKEN) with
	// which they register their credential. Empty for a demo node, whose
	// staff are seeded when it opens.
	AdminID        string
	EnrolmentToken string
}

// Init creates a node in opt.Dir: the configuration, the signing key (mode
// 0600) and a migrated database recording the node, and (unless a demo)
// registers the first system administrator with a one-time enrolment link.
// It refuses a folder that already holds a node, and on any failure removes
// what it created.
func Init(ctx context.Context, opt InitOptions) (created Created, err error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	err = initNode(ctx, opt)
	if err != nil || opt.Demo {
		return created, err
	}
	created.AdminID = opt.AdminID
	if created.AdminID == "" {
		created.AdminID = "ADMIN"
	}
	created.EnrolmentToken, err = bootstrapAdmin(ctx, opt.Dir, created.AdminID, opt.AdminName, opt.Now)
	if err != nil {
		removeNode(opt.Dir)
		return Created{}, fmt.Errorf("register the first system administrator: %w", err)
	}
	return created, nil
}

func initNode(ctx context.Context, opt InitOptions) (err error) {
	prof, err := profile.Lookup(opt.Profile)
	if err != nil {
		return err
	}
	level := prof.Level
	if opt.Level != "" {
		if level, err = profile.ParseLevel(opt.Level); err != nil {
			return err
		}
	}
	lg, err := checkLocalGov(opt.LocalGovCode, level)
	if err != nil {
		return err
	}
	c := config.Default()
	c.Node.LocalGovCode, c.Node.Level, c.Node.Profile, c.Node.Demo = string(lg.Code), string(level), prof.ID, opt.Demo
	if opt.DatabaseURL != "" {
		c.Database.URL = opt.DatabaseURL
		c.Audit.Journal = config.JournalDefault(c.Database.URL)
	}
	if opt.Addr != "" {
		c.HTTP.Addr = opt.Addr
	}
	if _, _, err := db.ParseURL(c.Database.URL); err != nil {
		return err
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return fmt.Errorf("data folder %q: %w", opt.Dir, err)
	}
	if err := refuseExisting(dir, c); err != nil {
		return err
	}

	// From here on, undo everything on failure.
	var created []string
	defer func() {
		if err != nil {
			for i := len(created) - 1; i >= 0; i-- {
				os.RemoveAll(created[i])
			}
		}
	}()
	if _, statErr := os.Stat(dir); errors.Is(statErr, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("create data folder: %w", err)
		}
		created = append(created, dir)
	}
	keyName := "jukinet-" + string(lg.Code)
	if level == profile.National {
		keyName = "jukinet-national"
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, keyName)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	keyPath := filepath.Join(dir, c.Node.SigningKey)
	created = append(created, keyPath)
	if err := fileutil.WriteNew(keyPath, []byte(skey+"\n"), 0o600); err != nil {
		return err
	}
	pubPath := filepath.Join(dir, PublicKeyFile)
	created = append(created, pubPath)
	if err := fileutil.WriteNew(pubPath, []byte(vkey+"\n"), 0o644); err != nil {
		return err
	}
	created = append(created, filepath.Join(dir, config.FileName))
	if err := config.Write(dir, c, profile.IDs()); err != nil {
		return err
	}
	url := resolveURL(dir, c.Database.URL)
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		created = append(created, p, p+"-wal", p+"-shm")
	}
	d, err := db.OpenWith(ctx, url, db.Options{WALLimit: c.Database.WALLimit()})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	return d.Transact(ctx, func(tx *db.Tx) error {
		var existing string
		err := tx.QueryRow(ctx, `SELECT local_gov_code FROM node WHERE id = 1`).Scan(&existing)
		if err == nil {
			return fmt.Errorf("database %s already holds node %s; give an empty database", d, existing)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("check database for a node: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO node (id, local_gov_code, level, profile, public_key, demo, created_at) VALUES (1, ?, ?, ?, ?, ?, ?)`,
			string(lg.Code), string(level), prof.ID, vkey, opt.Demo, opt.Now().UTC())
		if err != nil {
			return fmt.Errorf("record node: %w", err)
		}
		return nil
	})
}

// checkLocalGov checks that code names an existing body that fits level.
func checkLocalGov(code string, level profile.Level) (ids.LocalGov, error) {
	if code == "" {
		if level == profile.National {
			return ids.LocalGov{}, nil
		}
		return ids.LocalGov{}, fmt.Errorf("a %s node needs --local-gov CODE (its 地方公共団体コード)", level)
	}
	lg, err := ids.ParseExistingLocalGov(code)
	if err != nil {
		return ids.LocalGov{}, err
	}
	switch {
	case level == profile.Prefecture && lg.Kind != ids.LGPrefecture:
		return ids.LocalGov{}, fmt.Errorf("local government %s (%s) is not a prefecture; a prefecture node needs a prefecture's code, e.g. %s", lg.Code, lg.FullName(), lg.Code.Prefecture())
	case level == profile.Municipality && (lg.Kind == ids.LGPrefecture || lg.Kind == ids.LGDesignatedCity):
		return ids.LocalGov{}, fmt.Errorf("local government %s (%s) is a %s; a municipality node serves a city, ward, town or village", lg.Code, lg.FullName(), strings.ReplaceAll(string(lg.Kind), "_", " "))
	}
	return lg, nil
}

// refuseExisting fails if dir already holds any part of a node.
func refuseExisting(dir string, c config.Config) error {
	paths := []string{config.FileName, c.Node.SigningKey, PublicKeyFile}
	if p, ok := strings.CutPrefix(resolveURL(dir, c.Database.URL), "sqlite:"); ok {
		paths = append(paths, p)
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s already holds a node (%s exists); choose an empty folder", dir, filepath.Base(p))
		}
	}
	return nil
}

// resolveURL makes a relative SQLite path relative to the data folder.
func resolveURL(dir, url string) string {
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok && !filepath.IsAbs(p) {
		return "sqlite:" + filepath.Join(dir, p)
	}
	return url
}

// Exists reports whether dir holds a node's configuration.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, config.FileName))
	return err == nil
}

// Open loads the node in dir, migrates its database and checks that the
// configuration, the key and the database belong together.
func Open(ctx context.Context, dir string) (*Node, error) {
	c, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	keyPath := c.Node.SigningKey
	if !filepath.IsAbs(keyPath) {
		keyPath = filepath.Join(dir, keyPath)
	}
	skey, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	if st, err := os.Stat(keyPath); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s is readable by others (mode %v); run chmod 600 %s", keyPath, st.Mode().Perm(), keyPath)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", keyPath, err)
	}
	d, err := db.OpenWith(ctx, resolveURL(dir, c.Database.URL), db.Options{WALLimit: c.Database.WALLimit()})
	if err != nil {
		return nil, err
	}
	n, err := load(ctx, dir, c, d, signer)
	if err != nil {
		d.Close()
		return nil, err
	}
	return n, nil
}

func load(ctx context.Context, dir string, c config.Config, d *db.DB, signer note.Signer) (*Node, error) {
	if err := d.Migrate(ctx); err != nil {
		return nil, err
	}
	var code, level, prof, vkey string
	var demo bool
	var created time.Time
	err := d.QueryRow(ctx, `SELECT local_gov_code, level, profile, public_key, demo, created_at FROM node WHERE id = 1`).
		Scan(&code, &level, &prof, &vkey, &demo, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("database %s holds no node: was it created by jukinet init?", d)
	}
	if err != nil {
		return nil, fmt.Errorf("read node record: %w", err)
	}
	if code != c.Node.LocalGovCode || level != c.Node.Level || prof != c.Node.Profile {
		return nil, fmt.Errorf("database %s belongs to node %s/%s/%s, but %s says %s/%s/%s",
			d, code, level, prof, config.FileName, c.Node.LocalGovCode, c.Node.Level, c.Node.Profile)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("node public key: %w", err)
	}
	if verifier.KeyHash() != signer.KeyHash() || verifier.Name() != signer.Name() {
		return nil, fmt.Errorf("signing key %s does not match the node's public key in the database", c.Node.SigningKey)
	}
	info := Info{Level: profile.Level(level), PublicKey: vkey, Demo: demo, CreatedAt: created}
	if info.Profile, err = profile.Lookup(prof); err != nil {
		return nil, err
	}
	p, err := profile.Load(prof)
	if err != nil {
		return nil, err
	}
	if min := p.Retention.MinYears(); c.Audit.RetentionYears < min {
		return nil, fmt.Errorf("%s: [audit] retention_years = %d is below the %d years that profile %s keeps audit entries and provision records (提供状況の記録) by law; set retention_years = %d or more",
			filepath.Join(dir, config.FileName), c.Audit.RetentionYears, min, prof, min)
	}
	if code != "" {
		lg, ok := ids.LookupLocalGov(ids.LocalGovCode(code))
		if !ok {
			return nil, fmt.Errorf("node's local government code %s is unknown", code)
		}
		info.LocalGov = lg
	}
	return &Node{Dir: dir, Config: c, DB: d, Signer: signer, Verifier: verifier, Info: info, Now: time.Now}, nil
}

// Close stops the audit log (signing a final checkpoint) and closes the
// database.
func (n *Node) Close() error {
	if n.Log != nil {
		n.Log.Close()
	}
	return n.DB.Close()
}

// removeNode undoes initNode after a later step of Init failed: the files
// it wrote, the SQLite database, and the folder if it is left empty. (A
// PostgreSQL database keeps its tables and node row; give an empty one.)
func removeNode(dir string) {
	c, err := config.Load(dir)
	if err == nil {
		if p, ok := strings.CutPrefix(resolveURL(dir, c.Database.URL), "sqlite:"); ok {
			for _, f := range []string{p, p + "-wal", p + "-shm"} {
				os.Remove(f)
			}
		}
		os.Remove(filepath.Join(dir, c.Node.SigningKey))
	}
	os.Remove(filepath.Join(dir, PublicKeyFile))
	os.Remove(filepath.Join(dir, config.FileName))
	os.Remove(dir)
}

// approvalAlerts gives status reports of usage approvals the detection's
// alerts.
func (n *Node) approvalAlerts(ctx context.Context) ([]approval.Alert, error) {
	all, err := detect.List(ctx, n.DB, true)
	if err != nil {
		return nil, err
	}
	out := make([]approval.Alert, len(all))
	for i, a := range all {
		out[i] = approval.Alert{Rule: a.RuleName("ja"), Day: a.Day, Subject: a.Subject, Detail: a.DetailJA}
	}
	return out, nil
}
