package backup_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/backup"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/form"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/policy"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
)

// console is an OS user at the server's console, as the CLI runs.
var console = gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "operator"}, Origin: "host:test", Affair: "juki", Reason: "バックアップ試験"}

// newNode is a node with 150 residents (more than PostgreSQL's COPY path
// takes) and a few look-ups on dbURL (empty:
// SQLite), with a signed checkpoint.
func newNode(t *testing.T, dbURL string) (*node.Node, *clocktest.Clock, []resident.IdentityRecord) {
	t.Helper()
	ctx := context.Background()
	n, clock := nodetest.Open(t, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", DatabaseURL: dbURL})
	g, _ := synth.New(synth.Options{Seed: 25, LocalGov: "131083"})
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	var recs []resident.IdentityRecord
	for i := 0; i < 150; i++ {
		recs = append(recs, g.Next())
		w.Write(recs[i])
	}
	w.Close()
	if _, err := n.Gate.Import(ctx, console, &buf, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[:5] {
		if _, err := n.Gate.Lookup(ctx, console, gate.Key{ResidentCode: string(r.ResidentCode)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	return n, clock, recs
}

// who is a backup's options with the console user as who takes it.
func who() backup.Options {
	return backup.Options{Who: staff.Who{Actor: console.Actor, Origin: console.Origin}}
}

// TestBackupAndRestore backs a node up while it is open, restores the
// backup into a new folder on SQLite and into an empty PostgreSQL schema,
// and opens both: the register, the audit log and the records of the
// backup are all there.
func TestBackupAndRestore(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, _ *db.DB) {
		ctx := context.Background()
		dbURL := ""
		if strings.HasSuffix(t.Name(), "postgres") {
			dbURL = dbtest.PostgresURL(t)
		}
		n, _, recs := newNode(t, dbURL)
		opt := who()
		opt.Folder = filepath.Join(t.TempDir(), "backups")
		res, err := backup.Take(ctx, n, opt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(res.Path); err != nil {
			t.Fatalf("the archive is not there: %v", err)
		}
		if left, _ := filepath.Glob(filepath.Join(opt.Folder, "*.partial")); len(left) > 0 {
			t.Fatalf("a partial archive was left: %v", left)
		}
		size, _ := n.Log.Size(ctx)
		if res.Manifest.Entries == 0 || res.Manifest.Entries >= size || res.Manifest.CheckpointSize == 0 {
			t.Fatalf("manifest: %d entries, checkpoint %d; the log now holds %d (with the backup's own entry)", res.Manifest.Entries, res.Manifest.CheckpointSize, size)
		}
		// Logged, in the forms register (stored), and in the backup table.
		es, err := auditlog.List(ctx, n.DB, auditlog.Filter{Action: "backup.take", After: -1})
		if err != nil || len(es) != 1 || es[0].Seq != res.Seq || !strings.Contains(es[0].Entry.Detail, res.SHA256) || !strings.Contains(es[0].Entry.Detail, "form "+res.Form.String()) {
			t.Fatalf("backup entries: %+v, %v", es, err)
		}
		f, err := form.Get(ctx, n.DB, res.Form)
		if err != nil || f.Kind != form.KindBackup || f.State != form.Stored || f.Digest != res.SHA256 || f.Bytes != res.Size {
			t.Fatalf("form %s: %+v, %v", res.Form, f, err)
		}
		list, err := backup.List(ctx, n.DB, 0)
		if err != nil || len(list) != 1 || !list[0].OK || list[0].Path() != res.Path || list[0].Form != res.Form.String() {
			t.Fatalf("backups: %+v, %v", list, err)
		}

		check := func(t *testing.T, r backup.Restored) {
			t.Helper()
			m, err := node.Open(ctx, r.Dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Verifier.KeyHash() != n.Verifier.KeyHash() || m.Code() != n.Code() {
				t.Fatalf("the restored node is another: %s", m.Code())
			}
			rep, err := auditlog.Verify(ctx, m.DB, m.Verifier)
			if err != nil || rep.Entries != res.Manifest.Entries {
				t.Fatalf("restored log: %v, %v; want %d entries", rep, err, res.Manifest.Entries)
			}
			m.Now = n.Now
			if err := m.OpenGate(ctx, nil); err != nil {
				t.Fatal(err)
			}
			count, err := m.Gate.Count(ctx)
			if err != nil || count != int64(len(recs)) {
				t.Fatalf("restored register holds %d residents (%v); want %d", count, err, len(recs))
			}
			got, err := m.Gate.Lookup(ctx, console, gate.Key{ResidentCode: string(recs[7].ResidentCode)})
			if err != nil || got.FamilyName != recs[7].FamilyName {
				t.Fatalf("look-up on the restored node: %+v, %v", got, err)
			}
			if _, err := os.Stat(filepath.Join(r.Dir, backup.RestoredFile)); err != nil {
				t.Fatalf("no restore record: %v", err)
			}
		}
		t.Run("into sqlite", func(t *testing.T) {
			r, err := backup.Restore(ctx, backup.RestoreOptions{From: res.Path, Dir: filepath.Join(t.TempDir(), "restored")})
			if err != nil {
				t.Fatal(err)
			}
			if r.DatabaseURL != "sqlite:jukinet.db" {
				t.Fatalf("database %s", r.DatabaseURL)
			}
			check(t, r)
		})
		t.Run("into postgres", func(t *testing.T) {
			url := dbtest.PostgresURL(t)
			r, err := backup.Restore(ctx, backup.RestoreOptions{From: res.Path, Dir: filepath.Join(t.TempDir(), "restored"), DatabaseURL: url})
			if err != nil {
				t.Fatal(err)
			}
			check(t, r)
		})
	})
}

// TestRestoreRefuses: a restore never goes over a node or into a folder
// or database that holds something, and a backup that was cut, changed,
// re-signed with another key or encrypted to another key is refused with
// a clear error, leaving nothing behind.
func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	n, _, _ := newNode(t, "")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	keys := t.TempDir()
	idFile, otherFile := filepath.Join(keys, "id.txt"), filepath.Join(keys, "other.txt")
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)
	os.WriteFile(otherFile, []byte(other.String()+"\n"), 0o600)

	folder := t.TempDir()
	opt := who()
	opt.Folder = folder
	plain, err := backup.Take(ctx, n, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Recipients = id.Recipient().String()
	sealed, err := backup.Take(ctx, n, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(sealed.Path, backup.Extension+backup.EncryptedExtension) {
		t.Fatalf("encrypted archive named %s", sealed.Path)
	}
	if raw, _ := os.ReadFile(sealed.Path); bytes.Contains(raw, []byte("manifest.note")) || bytes.Contains(raw, []byte("PRIVATE")) {
		t.Fatal("the encrypted archive shows its contents")
	}
	raw, _ := os.ReadFile(plain.Path)
	cut := filepath.Join(t.TempDir(), "cut"+backup.Extension)
	os.WriteFile(cut, raw[:len(raw)/2], 0o600)
	flipped := filepath.Join(t.TempDir(), "flipped"+backup.Extension)
	bad := bytes.Clone(raw)
	bad[len(bad)*3/4] ^= 0x40
	os.WriteFile(flipped, bad, 0o600)
	sraw, _ := os.ReadFile(sealed.Path)
	sealedCut := filepath.Join(t.TempDir(), "cut.age")
	os.WriteFile(sealedCut, sraw[:len(sraw)-100], 0o600)

	nodeDir := n.Dir
	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "notes.txt"), []byte("x"), 0o600)
	someoneElse, _, _ := newNode(t, "")
	pub, _ := os.ReadFile(filepath.Join(someoneElse.Dir, node.PublicKeyFile))

	for _, c := range []struct {
		name string
		opt  backup.RestoreOptions
		want string // in the Japanese message
	}{
		{"over a node", backup.RestoreOptions{From: plain.Path, Dir: nodeDir}, "既にノードがあります"},
		{"into a folder with files", backup.RestoreOptions{From: plain.Path, Dir: busy}, "空ではありません"},
		{"cut in half", backup.RestoreOptions{From: cut}, "破損"},
		{"a byte changed", backup.RestoreOptions{From: flipped}, ""},
		{"encrypted, no identity", backup.RestoreOptions{From: sealed.Path}, "--identity"},
		{"encrypted to another key", backup.RestoreOptions{From: sealed.Path, Identity: otherFile}, "別の鍵"},
		{"encrypted and cut", backup.RestoreOptions{From: sealedCut, Identity: idFile}, "破損"},
		{"another node's key expected", backup.RestoreOptions{From: plain.Path, ExpectKey: string(pub)}, "署名されていません"},
		{"no such file", backup.RestoreOptions{From: filepath.Join(folder, "nothing.jkbackup")}, "開けません"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.opt.Dir == "" {
				c.opt.Dir = filepath.Join(t.TempDir(), "restored")
			}
			_, err := backup.Restore(ctx, c.opt)
			var ae *apperr.Error
			if err == nil || !errors.As(err, &ae) || !strings.Contains(ae.Japanese, c.want) {
				t.Fatalf("restore: %v (want an error saying %q)", err, c.want)
			}
			if c.opt.Dir != nodeDir && c.opt.Dir != busy {
				if _, err := os.Stat(c.opt.Dir); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("the failed restore left %s behind", c.opt.Dir)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(busy, "notes.txt")); err != nil {
		t.Fatal("a refused restore touched the folder's own files")
	}
	// The sealed archive, with its identity, restores.
	if _, err := backup.Restore(ctx, backup.RestoreOptions{From: sealed.Path, Identity: idFile, Dir: filepath.Join(t.TempDir(), "ok")}); err != nil {
		t.Fatal(err)
	}

	t.Run("a postgres database that holds tables", func(t *testing.T) {
		url := dbtest.PostgresURL(t)
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = backup.Restore(ctx, backup.RestoreOptions{From: plain.Path, Dir: filepath.Join(t.TempDir(), "r"), DatabaseURL: url})
		var ae *apperr.Error
		if !errors.As(err, &ae) || !strings.Contains(ae.Japanese, "既にテーブルがあります") {
			t.Fatalf("restore over a database: %v", err)
		}
	})
}

// TestBackupRefusedWithoutConsole: with console use off, a backup from the
// console is refused by the policies, and the refusal is logged.
func TestBackupRefusedWithoutConsole(t *testing.T) {
	ctx := context.Background()
	n, _, _ := newNode(t, "")
	p, err := policy.New(ctx, n.DB, n.Profile, false)
	if err != nil {
		t.Fatal(err)
	}
	n.Policy = p
	opt := who()
	opt.Folder = t.TempDir()
	_, err = backup.Take(ctx, n, opt)
	if apperr.CodeOf(err) != apperr.Forbidden {
		t.Fatalf("backup with console use off: %v", err)
	}
	es, _ := auditlog.List(ctx, n.DB, auditlog.Filter{Action: "backup.take", After: -1})
	if len(es) != 1 || es[0].Entry.Decision != auditlog.Deny {
		t.Fatalf("refusal entries: %+v", es)
	}
	if files, _ := os.ReadDir(opt.Folder); len(files) != 0 {
		t.Fatalf("a refused backup wrote %d files", len(files))
	}
}

// TestSchedule: serve's schedule takes a backup once a day after
// backup.at, keeps backup.keep generations (erasing the older ones, logged
// and recorded as disposed of), records a failure, and the status warns
// when the last good backup is too old or the last one failed.
func TestSchedule(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, _ *db.DB) {
		ctx := context.Background()
		dbURL := ""
		if strings.HasSuffix(t.Name(), "postgres") {
			dbURL = dbtest.PostgresURL(t)
		}
		n, clock, _ := newNode(t, dbURL)
		n.Config.Backup.Folder = "backups"
		n.Config.Backup.At = "02:00"
		n.Config.Backup.Keep = 2
		n.Config.Backup.MaxAge.Duration = 26 * time.Hour

		// The clock starts at 10:00 JST: today's 02:00 has passed.
		st, err := backup.CurrentStatus(ctx, n)
		if err != nil || !st.Stale || st.LastGood != nil {
			t.Fatalf("status before any backup: %+v, %v", st, err)
		}
		took, err := backup.RunOnce(ctx, n)
		if err != nil || !took {
			t.Fatalf("first scheduled backup: %t, %v", took, err)
		}
		if took, err := backup.RunOnce(ctx, n); err != nil || took {
			t.Fatalf("a second backup the same day: %t, %v", took, err)
		}
		st, _ = backup.CurrentStatus(ctx, n)
		if st.Warn() || st.LastGood == nil || st.LastGood.TakenBy != "system:backup" {
			t.Fatalf("status after a backup: %+v", st)
		}
		var paths []string
		paths = append(paths, st.LastGood.Path())
		for day := 1; day <= 2; day++ {
			clock.Set(clock.Now().Add(24 * time.Hour))
			if took, err := backup.RunOnce(ctx, n); err != nil || !took {
				t.Fatalf("day %d: %t, %v", day, took, err)
			}
			st, _ = backup.CurrentStatus(ctx, n)
			paths = append(paths, st.LastGood.Path())
		}
		// Three taken, two kept: the first erased and recorded.
		if _, err := os.Stat(paths[0]); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the oldest generation is still there: %v", err)
		}
		for _, p := range paths[1:] {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("a kept generation is gone: %v", err)
			}
		}
		list, _ := backup.List(ctx, n.DB, 0)
		if len(list) != 3 || list[2].Removed == nil || list[0].Removed != nil || list[1].Removed != nil {
			t.Fatalf("backups: %+v", list)
		}
		num, _ := form.ParseNumber(list[2].Form)
		f, err := form.Get(ctx, n.DB, num)
		if err != nil || f.State != form.Disposed {
			t.Fatalf("the erased generation's form: %+v, %v", f, err)
		}
		if es, _ := auditlog.List(ctx, n.DB, auditlog.Filter{Action: "backup.remove", After: -1}); len(es) != 1 {
			t.Fatalf("removal entries: %d", len(es))
		}

		// Two days without a backup: stale.
		clock.Set(clock.Now().Add(27 * time.Hour))
		if st, _ := backup.CurrentStatus(ctx, n); !st.Stale || !st.Warn() {
			t.Fatalf("status 27 h after the last backup: %+v", st)
		}
		// A folder that cannot be written: the failure is logged and shown.
		n.Config.Backup.Folder = filepath.Join(t.TempDir(), "a-file")
		os.WriteFile(n.Config.Backup.Folder, []byte("not a folder"), 0o600)
		if took, err := backup.RunOnce(ctx, n); !took || err == nil {
			t.Fatalf("backup into a file: %t, %v", took, err)
		}
		st, _ = backup.CurrentStatus(ctx, n)
		if st.LastFailed == nil || st.LastFailed.Error == "" || !st.Warn() {
			t.Fatalf("status after a failure: %+v", st)
		}
		es, _ := auditlog.List(ctx, n.DB, auditlog.Filter{Action: "backup.take", After: -1, Newest: true, Limit: 1})
		if len(es) != 1 || es[0].Entry.Outcome != auditlog.OutcomeError {
			t.Fatalf("the failure's entry: %+v", es)
		}
		// Not tried again at once; after retryAfter it is.
		if took, _ := backup.RunOnce(ctx, n); took {
			t.Fatal("tried again at once after a failure")
		}
		clock.Set(clock.Now().Add(11 * time.Minute))
		if took, _ := backup.RunOnce(ctx, n); !took {
			t.Fatal("not tried again 11 minutes after a failure")
		}
		if rep, err := auditlog.Verify(ctx, n.DB, n.Verifier); err != nil {
			t.Fatalf("log after the schedule: %v (%v)", err, rep)
		}
	})
}
