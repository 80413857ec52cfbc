// Package backup takes a node's backups while it serves, and restores one
// into a new folder (koto-ward:4 continuity, 7.2 prompt recovery;
// aomori-pref:2; docs/operations.md).
//
// A backup is one file, CODE-YYYYMMDDTHHMMSSZ.jkbackup (with .age at the end
// when encrypted to age recipients): a tar archive of
//
//	manifest.note  the manifest (JSON), signed with the node's key (a C2SP note)
//	register.db    every table of the node at one instant, as a SQLite database
//	files/NAME     the data folder's own files: jukinet.toml, the keys, the terminal CA
//
// The snapshot is a SQLite database whatever the node runs on: SQLite's own
// copy (VACUUM INTO, one read transaction, while the node serves), or for
// PostgreSQL every table read in one repeatable-read transaction and written
// into a migrated SQLite database. So one backup restores onto either.
//
// A backup is checked before it gets its name: the snapshot's audit log is
// verified against its signed checkpoints and its rows counted, then the
// archive is written, synced and read back against its digest. Only then is
// it logged (backup.take), entered in the forms register (帳票管理簿) with a
// control number and recorded in the backup table, in one transaction, and
// renamed from .partial to its name: no archive leaves unlogged. A failed
// backup is logged too, and shows on the dashboard.
package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/config"
	"jukinet/internal/db"
	"jukinet/internal/fileutil"
	"jukinet/internal/form"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// Format names the archive's layout, in its manifest.
const Format = "jukinet-backup/v1"

// Extension ends a backup's file name; EncryptedExtension follows it when
// the archive is encrypted with age.
const (
	Extension          = ".jkbackup"
	EncryptedExtension = ".age"
)

// Names inside the archive.
const (
	manifestName = "manifest.note"
	registerName = "register.db"
	filesPrefix  = "files/"
)

// Manifest says what a backup holds; it is signed with the node's key.
type Manifest struct {
	Format   string    `json:"format"`
	Node     string    `json:"node"` // the node's code (local government code, or national)
	NodeName string    `json:"node_name"`
	Level    string    `json:"level"`
	TakenAt  time.Time `json:"taken_at"`
	TakenBy  string    `json:"taken_by"`
	Version  string    `json:"version"` // the jukinet that took it
	Source   string    `json:"source"`  // the node's database: sqlite or postgres
	Schema   int64     `json:"schema"`  // the migration the database was at
	// Entries is the audit log's size in the snapshot; Checkpoint the
	// newest signed checkpoint in it (a signed note), of CheckpointSize.
	Entries        int64  `json:"entries"`
	Checkpoint     string `json:"checkpoint"`
	CheckpointSize int64  `json:"checkpoint_size"`
	// Tables counts each table's rows in the snapshot.
	Tables map[string]int64 `json:"tables"`
	// Files are the archive's other members, with their digests.
	Files []File `json:"files"`
}

// Rows is the number of rows in all tables.
func (m Manifest) Rows() int64 {
	var n int64
	for _, c := range m.Tables {
		n += c
	}
	return n
}

// File is one member of the archive.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Options are the choices of one backup.
type Options struct {
	// Folder is where the archive goes (created if missing).
	Folder string
	// Recipients are age public keys (age1…), separated by spaces or new
	// lines; empty: the archive is not encrypted.
	Recipients string
	// Who takes it: an OS user at the console, or the node's schedule.
	Who staff.Who
}

// Result is a backup taken.
type Result struct {
	Manifest Manifest
	Path     string // the archive
	Size     int64
	SHA256   string
	Form     form.Number
	Seq      int64 // its audit entry
	Took     time.Duration
}

// ParseRecipients reads age recipients separated by spaces or new lines.
func ParseRecipients(s string) ([]age.Recipient, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, nil
	}
	rs, err := age.ParseRecipients(strings.NewReader(strings.Join(fields, "\n")))
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "read the backup's age recipients (age1…)", "バックアップの暗号化の受信者鍵（age1…）を読み取れません")
	}
	return rs, nil
}

// Take backs the node up into opt.Folder while it serves. The policies
// decide whether opt.Who may (back-up); a refusal and a failure are logged,
// like the backup itself.
func Take(ctx context.Context, n *node.Node, opt Options) (Result, error) {
	start := time.Now()
	now := n.Now()
	res := staff.Resource{Kind: "node", ID: n.Code()}
	if v := n.Policy.MayAdminister(ctx, opt.Who, staff.ActBackUp, res); !v.Allow {
		e := entry(n, opt.Who)
		e.Decision, e.Policy, e.Why, e.WhyJapanese, e.Outcome = auditlog.Deny, v.Policy, v.Why, v.Japanese, auditlog.OutcomeDenied
		e.Detail = "backup to " + opt.Folder
		if _, err := n.Log.Append(ctx, e); err != nil {
			return Result{}, err
		}
		return Result{}, apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
	}
	recips, err := ParseRecipients(opt.Recipients)
	if err != nil {
		return Result{}, err
	}
	name := archiveName(opt.Folder, fmt.Sprintf("%s-%s", n.Code(), now.UTC().Format("20060102T150405Z")), len(recips) > 0)
	r, err := take(ctx, n, opt, recips, name, now)
	r.Took = time.Since(start)
	if err != nil {
		failed := fmt.Errorf("back the node up to %s: %w", filepath.Join(opt.Folder, name), err)
		if lerr := logFailure(context.WithoutCancel(ctx), n, opt, name, now, failed); lerr != nil {
			return Result{}, errors.Join(failed, lerr)
		}
		return Result{}, apperr.Wrap(apperr.Unavailable, failed, "back the node up", "バックアップを取得できませんでした: "+err.Error())
	}
	if err := record(ctx, n, opt, &r, name); err != nil {
		os.Remove(r.Path + ".partial")
		return Result{}, err
	}
	return r, nil
}

// archiveName is the file name of a new archive in folder: base, with a
// number after it if a file of that name is there already (two backups
// within a second).
func archiveName(folder, base string, encrypted bool) string {
	ext := Extension
	if encrypted {
		ext += EncryptedExtension
	}
	name := base + ext
	for i := 2; ; i++ {
		_, err1 := os.Stat(filepath.Join(folder, name))
		_, err2 := os.Stat(filepath.Join(folder, name+".partial"))
		if err1 != nil && err2 != nil {
			return name // not there (or no folder: writing it says why)
		}
		name = fmt.Sprintf("%s-%d%s", base, i, ext)
	}
}

// entry is the audit entry of a backup by who.
func entry(n *node.Node, who staff.Who) auditlog.Entry {
	return auditlog.Entry{Node: n.Code(), Actor: who.Actor, Origin: who.Origin, Action: "backup.take",
		Affair: "バックアップ", Reason: "継続性の確保（バックアップ）", Decision: auditlog.Allow, Outcome: auditlog.OutcomeOK}
}

// take writes and checks the archive as NAME.partial in the folder.
func take(ctx context.Context, n *node.Node, opt Options, recips []age.Recipient, name string, now time.Time) (Result, error) {
	if opt.Folder == "" {
		return Result{}, errors.New("no folder to write to")
	}
	if err := os.MkdirAll(opt.Folder, 0o700); err != nil {
		return Result{}, fmt.Errorf("create the backup folder: %w", err)
	}
	work, err := os.MkdirTemp(opt.Folder, ".jukinet-backup-")
	if err != nil {
		return Result{}, fmt.Errorf("make a working folder: %w", err)
	}
	defer os.RemoveAll(work)

	snap := filepath.Join(work, registerName)
	m, err := snapshot(ctx, n, snap)
	if err != nil {
		return Result{}, err
	}
	m.Format, m.Node, m.NodeName, m.Level = Format, n.Code(), n.Info.Name(), string(n.Info.Level)
	m.TakenAt, m.TakenBy, m.Version = now.UTC(), opt.Who.Actor.String(), node.Version
	m.Source = n.DB.Dialect().String()
	files, err := folderFiles(n)
	if err != nil {
		return Result{}, err
	}
	members := append([]string{snap}, files...)
	for i, p := range members {
		f, err := digestFile(p)
		if err != nil {
			return Result{}, err
		}
		f.Name = filesPrefix + filepath.Base(p)
		if i == 0 {
			f.Name = registerName
		}
		m.Files = append(m.Files, f)
	}
	text, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return Result{}, fmt.Errorf("write the manifest: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: string(text) + "\n"}, n.Signer)
	if err != nil {
		return Result{}, fmt.Errorf("sign the manifest: %w", err)
	}

	path := filepath.Join(opt.Folder, name)
	partial := path + ".partial"
	size, sum, err := writeArchive(partial, signed, m.Files, members, recips)
	if err != nil {
		os.Remove(partial)
		return Result{}, err
	}
	// Read it back: what is on the disk is what was written.
	back, err := digestFile(partial)
	if err != nil || back.SHA256 != sum || back.Size != size {
		os.Remove(partial)
		return Result{}, fmt.Errorf("the archive read back differs from what was written (%v)", err)
	}
	return Result{Manifest: m, Path: path, Size: size, SHA256: sum}, nil
}

// snapshot copies the node's database into a SQLite file at path, at one
// instant, and checks the copy: its audit log verifies against its signed
// checkpoints, and its rows are counted.
func snapshot(ctx context.Context, n *node.Node, path string) (Manifest, error) {
	var m Manifest
	// Every journaled entry has its rows in the copy (the journal itself is
	// not copied: a restored node starts a new one).
	if err := n.Log.Sync(ctx); err != nil {
		return m, fmt.Errorf("write the journaled audit entries' rows: %w", err)
	}
	switch n.DB.Dialect() {
	case db.SQLite:
		if _, err := n.DB.Exec(ctx, `VACUUM INTO ?`, path); err != nil {
			return m, fmt.Errorf("copy the database: %w", err)
		}
	default:
		if err := snapshotPostgres(ctx, n.DB, path); err != nil {
			return m, err
		}
	}
	snap, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		return m, fmt.Errorf("open the copy: %w", err)
	}
	defer snap.Close()
	if m.Schema, err = snap.SchemaVersion(ctx); err != nil {
		return m, err
	}
	rep, err := auditlog.Verify(ctx, snap, n.Verifier)
	if err != nil {
		return m, fmt.Errorf("the copy's audit log does not verify: %w", err)
	}
	m.Entries = rep.Entries
	cp, err := auditlog.LatestCheckpoint(ctx, snap)
	if err != nil {
		return m, err
	}
	if cp != nil {
		m.Checkpoint, m.CheckpointSize = string(cp.Note), cp.Size
	}
	tables, err := schemaTables(ctx, snap)
	if err != nil {
		return m, err
	}
	if m.Tables, err = countRows(ctx, snap, tables); err != nil {
		return m, err
	}
	// The copy's own journal settings: one file, nothing beside it.
	if _, err := snap.Exec(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return m, fmt.Errorf("close the copy: %w", err)
	}
	return m, nil
}

// snapshotPostgres reads every table of a PostgreSQL node in one
// repeatable-read transaction into a new SQLite database at path, migrated
// to the same version.
func snapshotPostgres(ctx context.Context, src *db.DB, path string) error {
	dst, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		return fmt.Errorf("create the copy: %w", err)
	}
	defer dst.Close()
	ver, err := src.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if err := dst.MigrateTo(ctx, ver); err != nil {
		return err
	}
	tables, err := schemaTables(ctx, dst)
	if err != nil {
		return err
	}
	rtx, err := src.BeginRead(ctx)
	if err != nil {
		return err
	}
	defer rtx.Close()
	return dst.TransactBulk(ctx, func(tx *db.Tx) error {
		_, err := copyTables(ctx, rtx, tx, tables, nil)
		return err
	})
}

// folderFiles are the data folder's own files to keep: every regular file
// at its top but the SQLite database and its journals (copied as the
// snapshot) and backups or work left there.
func folderFiles(n *node.Node) ([]string, error) {
	ents, err := os.ReadDir(n.Dir)
	if err != nil {
		return nil, fmt.Errorf("read the data folder: %w", err)
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || isDatabaseFile(name) ||
			strings.Contains(name, Extension) {
			continue
		}
		out = append(out, filepath.Join(n.Dir, name))
	}
	if !slices.ContainsFunc(out, func(p string) bool { return filepath.Base(p) == config.FileName }) {
		return nil, fmt.Errorf("no %s in %s", config.FileName, n.Dir)
	}
	return out, nil
}

// isDatabaseFile says whether a data folder's file is a SQLite database or
// one of its journals.
func isDatabaseFile(name string) bool {
	for _, suf := range []string{".db", ".db-wal", ".db-shm", ".db-journal", ".sqlite", ".sqlite-wal", ".sqlite-shm"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}

// digestFile reads a file's size and SHA-256.
func digestFile(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return File{Name: filepath.Base(path), Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// countingHash counts and hashes what is written through it.
type countingHash struct {
	w    io.Writer
	h    io.Writer
	size int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.size += int64(n)
	return n, err
}

// writeArchive writes the tar archive (encrypted when recipients are
// given) to path, synced, and returns its size and SHA-256.
func writeArchive(path string, manifest []byte, files []File, members []string, recips []age.Recipient) (int64, string, error) {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("create the archive: %w", err)
	}
	defer out.Close()
	h := sha256.New()
	ch := &countingHash{w: out, h: h}
	var w io.Writer = ch
	var enc io.WriteCloser
	if len(recips) > 0 {
		if enc, err = age.Encrypt(ch, recips...); err != nil {
			return 0, "", fmt.Errorf("encrypt the archive: %w", err)
		}
		w = enc
	}
	tw := tar.NewWriter(w)
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return fmt.Errorf("write %s into the archive: %w", name, err)
		}
		if _, err := io.CopyN(tw, r, size); err != nil {
			return fmt.Errorf("write %s into the archive: %w", name, err)
		}
		return nil
	}
	if err := add(manifestName, int64(len(manifest)), bytes.NewReader(manifest)); err != nil {
		return 0, "", err
	}
	for i, p := range members {
		f, err := os.Open(p)
		if err != nil {
			return 0, "", fmt.Errorf("read %s: %w", filepath.Base(p), err)
		}
		err = add(files[i].Name, files[i].Size, f)
		f.Close()
		if err != nil {
			return 0, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, "", fmt.Errorf("finish the archive: %w", err)
	}
	if enc != nil {
		if err := enc.Close(); err != nil {
			return 0, "", fmt.Errorf("finish the encryption: %w", err)
		}
	}
	if err := out.Sync(); err != nil {
		return 0, "", fmt.Errorf("sync the archive: %w", err)
	}
	return ch.size, hex.EncodeToString(h.Sum(nil)), out.Close()
}

// record logs a checked backup, enters it in the forms register and the
// backup table in the entry's transaction, and only then gives the
// archive its name.
func record(ctx context.Context, n *node.Node, opt Options, r *Result, name string) error {
	m := r.Manifest
	e := entry(n, opt.Who)
	e.Query = "backup:" + name
	enc := "not encrypted"
	if strings.TrimSpace(opt.Recipients) != "" {
		enc = "encrypted to " + strings.Join(strings.Fields(opt.Recipients), " ")
	}
	// The control number is reserved first, so that the entry names it.
	num, err := n.Forms.Reserve(ctx, opt.Who)
	if err != nil {
		return err
	}
	e.Detail = fmt.Sprintf("backup %s to %s: form %s, %d bytes, sha256 %s, %s; audit entries %d, checkpoint %d, %d rows, %s database, schema %d",
		name, opt.Folder, num, r.Size, r.SHA256, enc, m.Entries, m.CheckpointSize, m.Rows(), m.Source, m.Schema)
	e.Policy, e.Why = "jukinet:backup", "the node's backup (koto-ward:4, 7.2)"
	folder, _ := filepath.Abs(opt.Folder)
	out := form.Output{Kind: form.KindBackup, Format: "jkbackup", Title: "バックアップ " + name,
		Covers: fmt.Sprintf("監査ログ %d 件まで（%s 時点）", m.Entries, m.TakenAt.In(jst).Format("2006-01-02 15:04")), Destination: folder}
	seq, workErr, err := n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		f, err := n.Forms.Issue(ctx, tx, seq, e.Time, opt.Who, num, out, r.SHA256, r.Size)
		if err != nil {
			return err
		}
		r.Form = f.Number
		if err := form.RecordIn(ctx, tx, seq, e.Time, opt.Who, f.Number, form.Step{Kind: form.StepStore, Day: e.Time, Place: folder,
			Note: "ノードが取得し保管"}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO backup (name, folder, taken_at, taken_by, ok, size_bytes, digest, encrypted_to, entries,
			checkpoint_size, rows_total, millis, form_id, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			name, folder, m.TakenAt, m.TakenBy, true, r.Size, r.SHA256, strings.Join(strings.Fields(opt.Recipients), " "),
			m.Entries, m.CheckpointSize, m.Rows(), time.Since(m.TakenAt).Milliseconds(), f.ID, seq); err != nil {
			return fmt.Errorf("record backup %s: %w", name, err)
		}
		// The archive gets its name in the entry's transaction: if the
		// rename fails, nothing is recorded; if the commit then fails, the
		// archive is an unrecorded file, removed below.
		return os.Rename(r.Path+".partial", r.Path)
	})
	if err == nil {
		err = workErr
	}
	if err != nil {
		os.Remove(r.Path)
		n.Forms.Void(context.WithoutCancel(ctx), num, "backup not recorded: "+err.Error())
		return fmt.Errorf("record the backup: %w", err)
	}
	r.Seq = seq
	fileutil.SyncDir(filepath.Dir(r.Path))
	return nil
}

// logFailure logs and records a backup that failed, so the dashboard and
// the alerts show it.
func logFailure(ctx context.Context, n *node.Node, opt Options, name string, now time.Time, failure error) error {
	e := entry(n, opt.Who)
	e.Query = "backup:" + name
	e.Outcome = auditlog.OutcomeError
	e.Detail = failure.Error()
	e.Policy, e.Why = "jukinet:backup", "the node's backup (koto-ward:4, 7.2)"
	folder, _ := filepath.Abs(opt.Folder)
	_, workErr, err := n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `INSERT INTO backup (name, folder, taken_at, taken_by, ok, error, seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			name, folder, now.UTC(), opt.Who.Actor.String(), false, failure.Error(), seq)
		return err
	})
	if err == nil {
		err = workErr
	}
	if err != nil {
		return fmt.Errorf("log the failed backup: %w", err)
	}
	return nil
}

// jst is Japan's time zone, in which people read the times of backups.
var jst = time.FixedZone("JST", 9*60*60)
