package backup

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/config"
	"jukinet/internal/db"
	"jukinet/internal/fileutil"
	"jukinet/internal/node"
	"jukinet/internal/profile"
)

// RestoredFile is written into a restored node's folder: where it came
// from. jukinet recover reads it and the next entries say so.
const RestoredFile = "restored.json"

// RestoreOptions are the choices of a restore.
type RestoreOptions struct {
	// From is the backup archive.
	From string
	// Dir is the new data folder: missing or empty, never a node's.
	Dir string
	// DatabaseURL is a PostgreSQL database (or schema, by search_path) to
	// restore into, which must hold no tables; empty: SQLite in Dir.
	DatabaseURL string
	// Identity is a file of age identities (AGE-SECRET-KEY-1…) for an
	// encrypted backup.
	Identity string
	// ExpectKey, when set, is the node's public key (node.pub's contents)
	// the backup must be signed with: a forger who made a whole archive with
	// a key of their own is refused.
	ExpectKey string
	// Now is the clock of the restore record; nil: time.Now.
	Now func() time.Time
}

// Restored is what a restore put in the new folder.
type Restored struct {
	Manifest    Manifest
	Dir         string
	DatabaseURL string
	Report      auditlog.Report // the restored log, verified
}

// Restored record, written as RestoredFile.
type restoredRecord struct {
	From       string    `json:"from"`
	SHA256     string    `json:"sha256"`
	Node       string    `json:"node"`
	TakenAt    time.Time `json:"taken_at"`
	Entries    int64     `json:"entries"`
	Checkpoint int64     `json:"checkpoint_size"`
	RestoredAt time.Time `json:"restored_at"`
	RestoredBy string    `json:"restored_by"`
}

// damaged is the error of a backup that cannot be read as written.
func damaged(err error) error {
	return apperr.Wrap(apperr.Invalid, err, "the backup is damaged or truncated",
		"バックアップが破損しているか、途中で切れています。別の世代のバックアップを使ってください")
}

// Restore unpacks a backup into a new folder (and database), checking
// everything before the node can be opened: the archive's members against
// the signed manifest, the keys against each other, the snapshot's audit
// log against its signed checkpoints and its rows against the manifest. A
// failed restore leaves nothing behind it created.
func Restore(ctx context.Context, opt RestoreOptions) (r Restored, err error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	created, err := prepareFolder(opt.Dir)
	if err != nil {
		return r, err
	}
	var target *db.DB
	defer func() {
		if target != nil {
			target.Close()
		}
		if err != nil {
			cleanFolder(opt.Dir, created)
		}
	}()
	if opt.DatabaseURL != "" {
		if target, err = emptyPostgres(ctx, opt.DatabaseURL); err != nil {
			return r, err
		}
	}

	in, err := os.Open(opt.From)
	if err != nil {
		return r, apperr.Wrap(apperr.NotFound, err, "open the backup", "バックアップのファイルを開けません: "+opt.From)
	}
	defer in.Close()
	h := sha256.New()
	src, err := decrypted(io.TeeReader(bufio.NewReaderSize(in, 1<<20), h), opt.Identity)
	if err != nil {
		return r, err
	}
	signed, got, err := unpack(src, opt.Dir)
	if err != nil {
		return r, err
	}
	io.Copy(io.Discard, src) // the rest, into the digest
	m, verifier, err := checkManifest(signed, got, opt.Dir, opt.ExpectKey)
	if err != nil {
		return r, err
	}
	r.Manifest = m
	snap := filepath.Join(opt.Dir, registerName)
	rep, err := checkSnapshot(ctx, snap, verifier, m)
	if err != nil {
		return r, err
	}
	r.Report = rep

	c, err := config.Parse(config.FileName, mustRead(filepath.Join(opt.Dir, config.FileName)))
	if err != nil {
		return r, damaged(err)
	}
	if target == nil {
		c.Database.URL = "sqlite:jukinet.db"
		dbPath := filepath.Join(opt.Dir, "jukinet.db")
		if err := os.Rename(snap, dbPath); err != nil {
			return r, fmt.Errorf("put the database in place: %w", err)
		}
		d, err := db.Open(ctx, "sqlite:"+dbPath)
		if err != nil {
			return r, err
		}
		err = d.Migrate(ctx)
		d.Close()
		if err != nil {
			return r, err
		}
	} else {
		c.Database.URL = opt.DatabaseURL
		if err := intoPostgres(ctx, snap, target); err != nil {
			return r, err
		}
		if r.Report, err = auditlog.Verify(ctx, target, verifier); err != nil {
			return r, fmt.Errorf("the restored audit log does not verify in PostgreSQL: %w", err)
		}
		os.Remove(snap)
	}
	r.DatabaseURL = c.Database.URL
	os.Remove(filepath.Join(opt.Dir, config.FileName))
	if err := config.Write(opt.Dir, c, profile.IDs()); err != nil {
		return r, err
	}
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = "console:" + u.Username
	}
	rec, _ := json.MarshalIndent(restoredRecord{From: opt.From, SHA256: hex.EncodeToString(h.Sum(nil)), Node: m.Node, TakenAt: m.TakenAt,
		Entries: m.Entries, Checkpoint: m.CheckpointSize, RestoredAt: opt.Now().UTC(), RestoredBy: who}, "", " ")
	if err := fileutil.WriteNew(filepath.Join(opt.Dir, RestoredFile), append(rec, '\n'), 0o644); err != nil {
		return r, err
	}
	r.Dir = opt.Dir
	fileutil.SyncDir(opt.Dir)
	return r, nil
}

// prepareFolder makes sure dir is a new folder, creating it when missing;
// created says it did.
func prepareFolder(dir string) (created bool, err error) {
	if dir == "" {
		return false, apperr.New(apperr.Invalid, "no folder to restore into", "復元先のフォルダを指定してください")
	}
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return false, fmt.Errorf("create %s: %w", dir, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read %s: %w", dir, err)
	}
	if node.Exists(dir) {
		return false, apperr.New(apperr.Conflict, fmt.Sprintf("%s holds a node: a backup is restored into a new folder, never over a node", dir),
			fmt.Sprintf("%s には既にノードがあります。バックアップは新しいフォルダに復元します（稼働中のノードに上書きしません）", dir))
	}
	if len(ents) > 0 {
		return false, apperr.New(apperr.Conflict, fmt.Sprintf("%s is not empty: give a new or empty folder", dir),
			fmt.Sprintf("%s は空ではありません。新しいフォルダか空のフォルダを指定してください", dir))
	}
	return false, nil
}

// cleanFolder removes what a failed restore wrote.
func cleanFolder(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// emptyPostgres opens the PostgreSQL database to restore into, refusing
// one that holds tables.
func emptyPostgres(ctx context.Context, url string) (*db.DB, error) {
	d, err := db.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if d.Dialect() != db.Postgres {
		d.Close()
		return nil, apperr.New(apperr.Invalid, "--db takes a postgres:// URL (without it, the node is restored on SQLite in its folder)",
			"--db には postgres:// のURLを指定します（省略するとフォルダ内のSQLiteに復元します）")
	}
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil {
		d.Close()
		return nil, fmt.Errorf("look into %s: %w", d, err)
	}
	if n > 0 {
		d.Close()
		return nil, apperr.New(apperr.Conflict, fmt.Sprintf("%s holds %d tables: restore into an empty database or schema, never over a node", d, n),
			fmt.Sprintf("%s には既にテーブルがあります。空のデータベース（スキーマ）に復元してください", d))
	}
	return d, nil
}

// ageHeader starts every age file.
const ageHeader = "age-encryption.org/v1"

// decrypted returns the archive's tar stream, decrypting it with the
// identities in identityFile when it is encrypted.
func decrypted(r io.Reader, identityFile string) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(ageHeader))
	if string(head) != ageHeader {
		return br, nil
	}
	if identityFile == "" {
		return nil, apperr.New(apperr.Invalid, "the backup is encrypted: give the age identity file with --identity",
			"このバックアップは暗号化されています。復号の鍵（age の秘密鍵ファイル）を --identity で指定してください")
	}
	f, err := os.Open(identityFile)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "read the identity file", "復号の鍵のファイルを読めません: "+identityFile)
	}
	ids, err := age.ParseIdentities(f)
	f.Close()
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "read the identity file", "復号の鍵のファイルを読み取れません（AGE-SECRET-KEY-1… の形式）")
	}
	out, err := age.Decrypt(br, ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, apperr.Wrap(apperr.Forbidden, err, "decrypt the backup: it is encrypted to another key",
				"このバックアップは別の鍵あてに暗号化されています。取得時に指定した受信者の秘密鍵を使ってください")
		}
		return nil, damaged(err)
	}
	return out, nil
}

// maxManifest bounds the manifest read into memory.
const maxManifest = 1 << 20

// unpack writes the archive's members into dir, hashing them, and returns
// the signed manifest and what was found.
func unpack(r io.Reader, dir string) ([]byte, map[string]File, error) {
	tr := tar.NewReader(r)
	var signed []byte
	got := map[string]File{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, damaged(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, nil, damaged(fmt.Errorf("member %q is not a file", hdr.Name))
		}
		if hdr.Name == manifestName {
			if signed, err = io.ReadAll(io.LimitReader(tr, maxManifest)); err != nil {
				return nil, nil, damaged(err)
			}
			continue
		}
		base := strings.TrimPrefix(hdr.Name, filesPrefix)
		if hdr.Name != registerName && (base == hdr.Name || base == "" || strings.ContainsAny(base, `/\`) || base == "." || base == ".." ||
			base == RestoredFile || isDatabaseFile(base)) {
			return nil, nil, damaged(fmt.Errorf("unexpected member %q", hdr.Name))
		}
		if _, dup := got[hdr.Name]; dup {
			return nil, nil, damaged(fmt.Errorf("member %q twice", hdr.Name))
		}
		f, err := os.OpenFile(filepath.Join(dir, base), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("write %s: %w", base, err)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), tr)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, damaged(err)
		}
		got[hdr.Name] = File{Name: hdr.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	if signed == nil {
		return nil, nil, damaged(errors.New("no manifest"))
	}
	return signed, got, nil
}

// checkManifest checks the manifest's signature with the node's public key
// in the archive (or the one expected), that the node's private key is the
// public key's, and that every member is as the manifest says.
func checkManifest(signed []byte, got map[string]File, dir, expectKey string) (Manifest, note.Verifier, error) {
	var m Manifest
	pub, err := os.ReadFile(filepath.Join(dir, node.PublicKeyFile))
	if err != nil {
		return m, nil, damaged(fmt.Errorf("no %s in the backup", node.PublicKeyFile))
	}
	key := strings.TrimSpace(string(pub))
	if expectKey != "" && strings.TrimSpace(expectKey) != key {
		return m, nil, apperr.New(apperr.Forbidden, "the backup is not signed with the expected node key",
			"このバックアップは指定されたノードの鍵で署名されていません")
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return m, nil, damaged(fmt.Errorf("%s: %w", node.PublicKeyFile, err))
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return m, nil, apperr.Wrap(apperr.Forbidden, err, "the backup's manifest is not signed by the node's key: it was altered",
			"バックアップの内容目録の署名が検証できません（改ざんされています）")
	}
	if err := json.Unmarshal([]byte(n.Text), &m); err != nil || m.Format != Format {
		return m, nil, damaged(fmt.Errorf("manifest: format %q (%v)", m.Format, err))
	}
	want := map[string]File{}
	for _, f := range m.Files {
		want[f.Name] = f
	}
	for name, f := range want {
		g, ok := got[name]
		if !ok {
			return m, nil, damaged(fmt.Errorf("%s is missing", name))
		}
		if g.Size != f.Size || g.SHA256 != f.SHA256 {
			return m, nil, apperr.New(apperr.Forbidden, fmt.Sprintf("%s differs from the signed manifest: the backup was altered", name),
				fmt.Sprintf("バックアップの %s が内容目録と一致しません（改ざんまたは破損）", name))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			return m, nil, damaged(fmt.Errorf("%s is not in the manifest", name))
		}
	}
	c, err := config.Parse(config.FileName, mustRead(filepath.Join(dir, config.FileName)))
	if err != nil {
		return m, nil, damaged(err)
	}
	skey, err := os.ReadFile(filepath.Join(dir, filepath.Base(c.Node.SigningKey)))
	if err != nil {
		return m, nil, damaged(fmt.Errorf("no signing key %s in the backup", c.Node.SigningKey))
	}
	s, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil || s.Name() != v.Name() || s.KeyHash() != v.KeyHash() {
		return m, nil, damaged(fmt.Errorf("the signing key is not the node's public key's (%v)", err))
	}
	return m, v, nil
}

// checkSnapshot counts the snapshot's rows against the manifest, brings
// its schema up to this program's (a backup taken by an older version holds
// the tables as that version made them: the audit tree's hashes as one row
// each before migration 35), and verifies its audit log.
func checkSnapshot(ctx context.Context, path string, v note.Verifier, m Manifest) (auditlog.Report, error) {
	snap, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		return auditlog.Report{}, damaged(err)
	}
	defer snap.Close()
	tables, err := schemaTables(ctx, snap)
	if err != nil {
		return auditlog.Report{}, damaged(err)
	}
	counts, err := countRows(ctx, snap, tables)
	if err != nil {
		return auditlog.Report{}, damaged(err)
	}
	for name, want := range m.Tables {
		if counts[name] != want {
			return auditlog.Report{}, damaged(fmt.Errorf("table %s holds %d rows; the manifest says %d", name, counts[name], want))
		}
	}
	if err := snap.Migrate(ctx); err != nil {
		return auditlog.Report{}, apperr.Wrap(apperr.Forbidden, err, "the backup's database cannot be brought to this version's schema",
			"バックアップのデータベースをこのバージョンの形式に移行できません（破損のおそれ）: "+err.Error())
	}
	rep, err := auditlog.Verify(ctx, snap, v)
	if err != nil {
		return rep, apperr.Wrap(apperr.Forbidden, err, "the backup's audit log does not verify",
			"バックアップの監査ログの検証に失敗しました（改ざんまたは破損）: "+err.Error())
	}
	cp, err := auditlog.LatestCheckpoint(ctx, snap)
	if err != nil {
		return rep, damaged(err)
	}
	cpSize := int64(0)
	if cp != nil {
		cpSize = cp.Size
	}
	if rep.Entries != m.Entries || cpSize != m.CheckpointSize {
		return rep, damaged(fmt.Errorf("the snapshot holds %d entries up to checkpoint %d; the manifest says %d and %d", rep.Entries, cpSize, m.Entries, m.CheckpointSize))
	}
	return rep, nil
}

// intoPostgres copies the snapshot (brought to this program's schema by
// checkSnapshot) into the empty PostgreSQL database, migrated first to the
// snapshot's version.
func intoPostgres(ctx context.Context, snapPath string, target *db.DB) error {
	snap, err := db.Open(ctx, "sqlite:"+snapPath)
	if err != nil {
		return err
	}
	defer snap.Close()
	schema, err := snap.SchemaVersion(ctx)
	if err != nil {
		return damaged(err)
	}
	if err := target.MigrateTo(ctx, schema); err != nil {
		return err
	}
	tables, err := schemaTables(ctx, snap)
	if err != nil {
		return err
	}
	types, err := postgresTypes(ctx, target)
	if err != nil {
		return err
	}
	rtx, err := snap.BeginRead(ctx)
	if err != nil {
		return err
	}
	defer rtx.Close()
	if err := target.TransactBulk(ctx, func(tx *db.Tx) error {
		if _, err := copyTables(ctx, rtx, tx, tables, toPostgres(types)); err != nil {
			return err
		}
		return resetSequences(ctx, tx)
	}); err != nil {
		return fmt.Errorf("restore into %s: %w", target, err)
	}
	return target.Migrate(ctx)
}

// mustRead reads a file, or nothing (the caller's parse then fails).
func mustRead(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}
