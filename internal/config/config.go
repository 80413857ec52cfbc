// Package config reads and writes a node's jukinet.toml. Reading is strict:
// an unknown key is an error that names the key, the file and the line, so a
// typo never silently falls back to a default. docs/configuration.md lists
// every setting.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/BurntSushi/toml"

	"jukinet/internal/fileutil"
)

// FileName is the configuration file in a node's data folder.
const FileName = "jukinet.toml"

// Environment variables that override the file.
const (
	EnvDatabaseURL = "JUKINET_DB_URL"
	EnvAddr        = "JUKINET_ADDR"
)

// Config is a node's configuration.
type Config struct {
	Node      Node      `toml:"node"`
	Database  Database  `toml:"database"`
	HTTP      HTTP      `toml:"http"`
	Audit     Audit     `toml:"audit"`
	Console   Console   `toml:"console"`
	Detection Detection `toml:"detection"`
	Backup    Backup    `toml:"backup"`
	Log       Log       `toml:"log"`
}

// Backup configures the backups serve takes on its own (internal/backup,
// docs/operations.md). jukinet backup takes one at any time.
type Backup struct {
	// Folder is where serve writes a backup every day at At: absolute, or
	// relative to the data folder; best on another disk or machine. Empty:
	// no scheduled backups.
	Folder string `toml:"folder"`
	// At is the time of day of the daily backup (HH:MM, Japan).
	At string `toml:"at"`
	// Keep is how many good backups stay in the folder; older ones are
	// erased by the node and recorded as disposed of.
	Keep int `toml:"keep"`
	// MaxAge: when the last good backup is older than this (or the last
	// one failed), the dashboard and /metrics say so.
	MaxAge Duration `toml:"max_age"`
	// Recipients are age public keys (age1…), separated by spaces: each
	// can decrypt the backups. Empty: backups are not encrypted.
	Recipients string `toml:"recipients"`
}

// Detection configures the rules that look for improper use in the audit
// log (internal/detect, docs/detection.md).
type Detection struct {
	// Every is how often serve runs the rules over new audit entries.
	Every Duration `toml:"every"`
	// OfficeStart and OfficeEnd bound office hours on office days (HH:MM,
	// Japan); look-ups outside them or on closed days are reported.
	OfficeStart string `toml:"office_start"`
	OfficeEnd   string `toml:"office_end"`
	// DailyResidents: more residents than this provided to one person in
	// a day is reported.
	DailyResidents int `toml:"daily_residents"`
	// ActorsPerResident: this many people or more looking one resident up
	// in a day is reported.
	ActorsPerResident int `toml:"actors_per_resident"`
	// DailyDenials: this many refused requests or more by one person in a
	// day is reported.
	DailyDenials int `toml:"daily_denials"`
	// NoCaseDaily: this many look-ups or more by one person in a day
	// without a case reference, for affairs whose profile requires one
	// (case_reference = "required"), are reported.
	NoCaseDaily int `toml:"no_case_daily"`
	// RepeatPerDay: this many reads or more of one resident by one person
	// in a day, without a case reference or with a reason that does not
	// fit the affair, are reported (the 高知 pattern); RepeatDays: such
	// reads on this many different days within RepeatWindowDays days too.
	RepeatPerDay     int `toml:"repeat_per_day"`
	RepeatDays       int `toml:"repeat_days"`
	RepeatWindowDays int `toml:"repeat_window_days"`
	// KinDaily: this many residents or more sharing the operator's
	// surname, read by the operator in a day without a case reference, are
	// reported (a weak signal of a relative).
	KinDaily int `toml:"kin_daily"`
	// ActorsPerHour: this many people or more reading one resident within
	// an hour are reported (faster than the per-day crowd rule).
	ActorsPerHour int `toml:"actors_per_hour"`
}

// Audit configures the tamper-evident audit log.
type Audit struct {
	// CheckpointInterval is how often the node signs a checkpoint of the
	// log while entries arrive (and always on shutdown).
	CheckpointInterval Duration `toml:"checkpoint_interval"`
	// RetentionYears is how long entries keep their content; older ones
	// may be pruned to their hashes (jukinet audit prune).
	RetentionYears int `toml:"retention_years"`
	// Journal makes the server append entries without work (look-ups,
	// searches) to the audit journal in the data folder — durable with one
	// write and one fdatasync per group — and write their rows shortly
	// after (docs/design/audit-storage.md). A file without the key takes
	// JournalDefault of its database: on for SQLite, where it makes audited
	// look-ups several times as fast (docs/benchmarks.md, "The journal by
	// default"); off for PostgreSQL, where an answered entry would
	// otherwise be durable only on the application server's disk until its
	// rows reach the database (and its standby).
	Journal bool `toml:"journal"`
}

// Console configures use of the register from the server itself.
type Console struct {
	// Lookup allows jukinet lookup (and import, export) by OS users on the
	// server, logged with the OS user as actor.
	Lookup bool `toml:"lookup"`
}

// Node says which node this is.
type Node struct {
	LocalGovCode string `toml:"local_gov_code"` // 地方公共団体コード; empty only for a national node
	Level        string `toml:"level"`          // municipality, prefecture or national
	Profile      string `toml:"profile"`        // regulation profile id
	Demo         bool   `toml:"demo"`           // a demo node: synthetic data, DEMO banner
	SigningKey   string `toml:"signing_key"`    // private key file, relative to the data folder
}

// Database says where the node's data lives.
type Database struct {
	// URL is sqlite:PATH (PATH relative to the data folder) or postgres://….
	URL string `toml:"url"`
	// WALLimitMiB bounds SQLite's write-ahead log file, in MiB: past a
	// quarter of it the node cuts the log back (see db.walKeeper).
	WALLimitMiB int `toml:"wal_limit_mib"`
}

// WALLimit returns the WAL bound in bytes.
func (d Database) WALLimit() int64 { return int64(d.WALLimitMiB) << 20 }

// HTTP configures the web server.
type HTTP struct {
	Addr            string   `toml:"addr"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// PublicURL is the address browsers use; empty means http://localhost
	// with the listen port. It is the WebAuthn relying party.
	PublicURL string `toml:"public_url"`
	// TLS serves HTTPS with a server certificate from the node's terminal
	// CA, and identifies terminals by their client certificates.
	TLS bool `toml:"tls"`
	// PeerAddr is, with TLS (where it is required), the second listen
	// address for the machine-to-machine endpoints alone (federation,
	// provision): mutual TLS, a client certificate required at the
	// handshake. The main address then serves browsers only.
	PeerAddr string `toml:"peer_addr"`
}

// Log configures operational logs (the audit log is separate).
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn or error
	Format string `toml:"format"` // text or json
}

// Duration is a time.Duration written as "15s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText reads a duration such as 15s or 2m.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: write it as 15s or 2m", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as 15s.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration every unset setting takes.
func Default() Config {
	return Config{
		Node:     Node{Level: "municipality", SigningKey: "node.key"},
		Database: Database{URL: "sqlite:jukinet.db", WALLimitMiB: 64},
		HTTP:     HTTP{Addr: "127.0.0.1:8080", ShutdownTimeout: Duration{15 * time.Second}},
		Audit:    Audit{CheckpointInterval: Duration{time.Minute}, RetentionYears: 7, Journal: JournalDefault("sqlite:jukinet.db")},
		Console:  Console{Lookup: true},
		Detection: Detection{Every: Duration{10 * time.Minute}, OfficeStart: "08:30", OfficeEnd: "17:15",
			DailyResidents: 200, ActorsPerResident: 5, DailyDenials: 5,
			NoCaseDaily: 1, RepeatPerDay: 3, RepeatDays: 3, RepeatWindowDays: 30, KinDaily: 1, ActorsPerHour: 3},
		Backup: Backup{At: "02:00", Keep: 7, MaxAge: Duration{26 * time.Hour}},
		Log:    Log{Level: "info", Format: "text"},
	}
}

// JournalDefault is audit.journal's value for a node on the database at
// url when its file does not set it: on for SQLite, off for PostgreSQL.
func JournalDefault(url string) bool {
	return !strings.HasPrefix(url, "postgres")
}

// Load reads DIR/jukinet.toml over the defaults, then applies the
// environment overrides.
func Load(dir string) (Config, error) {
	path := filepath.Join(dir, FileName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("%s: no node here (run jukinet init --data %s first)", path, dir)
	}
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, md, err := parse(path, raw)
	if err != nil {
		return Config{}, err
	}
	if v := os.Getenv(EnvDatabaseURL); v != "" {
		c.Database.URL = v
	}
	if !md.IsDefined("audit", "journal") {
		c.Audit.Journal = JournalDefault(c.Database.URL)
	}
	if v := os.Getenv(EnvAddr); v != "" {
		c.HTTP.Addr = v
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads a configuration file's contents over the defaults, without
// the environment's overrides; path names the file in errors.
func Parse(path string, raw []byte) (Config, error) {
	c, md, err := parse(path, raw)
	if err == nil && !md.IsDefined("audit", "journal") {
		c.Audit.Journal = JournalDefault(c.Database.URL)
	}
	return c, err
}

// parse is Parse, also returning which keys the file sets.
func parse(path string, raw []byte) (Config, toml.MetaData, error) {
	c := Default()
	md, err := toml.Decode(string(raw), &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return Config{}, md, fmt.Errorf("%s:%d: %s", path, perr.Position.Line, perr.Message)
		}
		return Config{}, md, fmt.Errorf("%s: %w", path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		k := keys[0].String()
		return Config{}, md, fmt.Errorf("%s:%d: unknown key %q (see docs/configuration.md for the settings)", path, lineOf(raw, keys[0]), k)
	}
	return c, md, nil
}

// Validate checks the settings that have a fixed set of values.
func (c Config) Validate() error {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log.format %q: use text or json", c.Log.Format)
	}
	if c.Database.WALLimitMiB < 4 || c.Database.WALLimitMiB > 1<<20 {
		return fmt.Errorf("database.wal_limit_mib = %d: give the SQLite WAL's bound in MiB, from 4 to 1048576 (the default is 64)", c.Database.WALLimitMiB)
	}
	if c.HTTP.Addr == "" {
		return errors.New("http.addr is empty: give host:port, e.g. 127.0.0.1:8080")
	}
	if c.HTTP.TLS && c.HTTP.PeerAddr == "" {
		return errors.New("http.tls = true needs http.peer_addr, e.g. \"0.0.0.0:8443\": peer nodes and recipient bodies are served there alone, " +
			"over mutual TLS (a client certificate required at the handshake), apart from the browsers' address")
	}
	if c.HTTP.PeerAddr != "" {
		if !c.HTTP.TLS {
			return errors.New("http.peer_addr needs http.tls = true: the peer address is mutual TLS only")
		}
		if _, _, err := net.SplitHostPort(c.HTTP.PeerAddr); err != nil {
			return fmt.Errorf("http.peer_addr %q: give host:port, e.g. 0.0.0.0:8443", c.HTTP.PeerAddr)
		}
		if c.HTTP.PeerAddr == c.HTTP.Addr {
			return fmt.Errorf("http.peer_addr %q is http.addr: give the peers another port", c.HTTP.PeerAddr)
		}
	}
	if c.HTTP.ShutdownTimeout.Duration <= 0 {
		return errors.New("http.shutdown_timeout must be positive, e.g. 15s")
	}
	if c.Audit.CheckpointInterval.Duration < time.Second {
		return errors.New("audit.checkpoint_interval must be at least 1s, e.g. 1m")
	}
	if c.Audit.RetentionYears < 1 {
		return errors.New("audit.retention_years must be 1 or more (the common retention is 7)")
	}
	if c.Node.SigningKey == "" {
		return errors.New("node.signing_key is empty")
	}
	if c.Detection.Every.Duration < time.Second {
		return errors.New("detection.every must be at least 1s, e.g. 10m")
	}
	for _, v := range [][2]string{{"office_start", c.Detection.OfficeStart}, {"office_end", c.Detection.OfficeEnd}} {
		if _, err := ClockTime(v[1]); err != nil {
			return fmt.Errorf("detection.%s %q: %w", v[0], v[1], err)
		}
	}
	if _, err := ClockTime(c.Backup.At); err != nil {
		return fmt.Errorf("backup.at %q: %w", c.Backup.At, err)
	}
	if c.Backup.Keep < 1 {
		return fmt.Errorf("backup.keep = %d: keep at least 1 backup (the default is 7)", c.Backup.Keep)
	}
	if c.Backup.MaxAge.Duration < time.Hour {
		return errors.New("backup.max_age must be at least 1h, e.g. 26h")
	}
	return nil
}

// ClockTime reads a time of day written HH:MM (00:00 to 24:00) as the
// time since midnight.
func ClockTime(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if s == "24:00" {
		return 24 * time.Hour, nil
	}
	if err != nil {
		return 0, errors.New("give a time of day as HH:MM, e.g. 08:30")
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// lineOf finds the line where key is set: under its table's header, the
// line that assigns its last part (or a table header naming it).
func lineOf(raw []byte, key toml.Key) int {
	last := regexp.QuoteMeta(key[len(key)-1])
	table := strings.Join(key[:len(key)-1], ".")
	assign := regexp.MustCompile(`^\s*"?` + last + `"?\s*=`)
	header := regexp.MustCompile(`^\s*\[+\s*` + regexp.QuoteMeta(key.String()) + `\s*\]+`)
	current := ""
	for i, line := range strings.Split(string(raw), "\n") {
		if header.MatchString(line) {
			return i + 1
		}
		if m := regexp.MustCompile(`^\s*\[+\s*([^\]]+?)\s*\]+`).FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		if current == table && assign.MatchString(line) {
			return i + 1
		}
	}
	return 0
}

var fileTemplate = template.Must(template.New("").Parse(`# jukinet node configuration. Every setting is described, with its
# default, in docs/configuration.md. Unknown keys are refused.

[node]
# 地方公共団体コード of the body this node serves (empty for a national node).
local_gov_code = "{{.Node.LocalGovCode}}"
# municipality (市町村CS), prefecture (都道府県サーバ) or national (全国サーバ).
level = "{{.Node.Level}}"
# Regulation profile: {{.Profiles}}.
profile = "{{.Node.Profile}}"
# A demo node holds synthetic residents only and shows a DEMO banner.
demo = {{.Node.Demo}}
# The node's Ed25519 signing key, relative to this folder (mode 0600).
signing_key = "{{.Node.SigningKey}}"

[database]
# sqlite:PATH (relative to this folder) or postgres://user@host:5432/db.
# Environment override: JUKINET_DB_URL.
url = "{{.Database.URL}}"
# SQLite only: the bound on the write-ahead log file, in MiB. Under load the
# node cuts the log back long before it reaches this size.
wal_limit_mib = {{.Database.WALLimitMiB}}

[http]
# Listen address. Environment override: JUKINET_ADDR.
addr = "{{.HTTP.Addr}}"
# How long a shutdown waits for requests in flight.
shutdown_timeout = "{{.HTTP.ShutdownTimeout}}"
# The address browsers use (operator sign-in is bound to it). Empty:
# http://localhost:PORT with the listen port.
public_url = "{{.HTTP.PublicURL}}"
# Serve HTTPS and identify terminals by client certificates from the node's
# terminal CA (jukinet terminal cert). Operators can sign in only from an
# identified, approved terminal (a demo node's own browser stands in).
tls = {{.HTTP.TLS}}
# Required with tls = true, e.g. "0.0.0.0:8443": the address for peer nodes
# and recipient bodies alone, mutual TLS (a client certificate required at
# the handshake); the address above then serves browsers only. Over plain
# HTTP (tls = false) both are served on the one address.
peer_addr = "{{.HTTP.PeerAddr}}"

[audit]
# How often a checkpoint of the audit log is signed while entries arrive
# (one is always signed on shutdown).
checkpoint_interval = "{{.Audit.CheckpointInterval}}"
# Years entries keep their content before they may be pruned to their hashes.
retention_years = {{.Audit.RetentionYears}}
# Append look-ups and searches to the audit journal (audit-journal/ in the
# data folder), durable with one fdatasync per group, their rows written
# shortly after: audited reads several times as fast on SQLite. false
# commits each group's rows on the request's path instead (the default on
# PostgreSQL, so that an answered entry is in the database and its standby).
journal = {{.Audit.Journal}}

[console]
# Allow jukinet lookup, import and export by OS users on this server,
# logged with the OS user as actor.
lookup = {{.Console.Lookup}}

[detection]
# How often the node looks for signs of improper use in new audit entries
# (jukinet detect run does it at once).
every = "{{.Detection.Every}}"
# Office hours, Japan time: look-ups outside them, or on days offices are
# closed (weekends, national holidays, 29 Dec–3 Jan), are reported.
office_start = "{{.Detection.OfficeStart}}"
office_end = "{{.Detection.OfficeEnd}}"
# Reported: more residents than this provided to one person in a day;
daily_residents = {{.Detection.DailyResidents}}
# this many people or more looking one resident up in a day;
actors_per_resident = {{.Detection.ActorsPerResident}}
# this many refused requests or more by one person in a day;
daily_denials = {{.Detection.DailyDenials}}
# this many look-ups or more by one person in a day without a case reference,
# for affairs whose profile requires one (case_reference = "required");
no_case_daily = {{.Detection.NoCaseDaily}}
# this many reads or more of one resident by one person in a day, without a
# case reference or with a reason that does not fit the affair, or such reads
# on repeat_days different days within repeat_window_days days;
repeat_per_day = {{.Detection.RepeatPerDay}}
repeat_days = {{.Detection.RepeatDays}}
repeat_window_days = {{.Detection.RepeatWindowDays}}
# this many residents or more sharing the operator's surname, read by the
# operator in a day without a case reference (a weak signal);
kin_daily = {{.Detection.KinDaily}}
# this many people or more reading one resident within an hour.
actors_per_hour = {{.Detection.ActorsPerHour}}

[backup]
# Where serve writes a backup every day (absolute, or relative to this
# folder; best on another disk). Empty: no scheduled backups (jukinet backup
# takes one at any time).
folder = "{{.Backup.Folder}}"
# The time of day of the daily backup (HH:MM, Japan).
at = "{{.Backup.At}}"
# How many good backups stay in the folder; older ones are erased and
# recorded as disposed of in the forms register.
keep = {{.Backup.Keep}}
# The dashboard and /metrics warn when the last good backup is older.
max_age = "{{.Backup.MaxAge}}"
# age public keys (age1…), separated by spaces, that can decrypt the backups.
# Empty: not encrypted (the backup then holds the node's keys in clear).
recipients = "{{.Backup.Recipients}}"

[log]
# Operational log: level debug, info, warn or error; format text or json.
level = "{{.Log.Level}}"
format = "{{.Log.Format}}"
`))

// Write writes c as a commented DIR/jukinet.toml, failing if one exists.
func Write(dir string, c Config, profiles []string) error {
	var buf bytes.Buffer
	if err := fileTemplate.Execute(&buf, struct {
		Config
		Profiles string
	}{c, strings.Join(profiles, " or ")}); err != nil {
		return fmt.Errorf("render config: %w", err)
	}
	// Check the rendered file reads back as c: the template and the struct
	// must not drift apart.
	var back Config
	if _, err := toml.Decode(buf.String(), &back); err != nil || back != c {
		return fmt.Errorf("render config: the written file does not read back (%v)", err)
	}
	return fileutil.WriteNew(filepath.Join(dir, FileName), buf.Bytes(), 0o644)
}
