package backup

import (
	"context"
	"path/filepath"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
)

// TestRestoreSnapshotOfAnOlderSchema: a backup taken before migration 35
// holds the audit tree as one row per stored hash (audit_hash), not as
// tiles. Its snapshot is checked against its manifest as it is, brought to
// this version's schema, verified, and copied into PostgreSQL.
func TestRestoreSnapshotOfAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	n, _ := nodetest.Open(t, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083"})
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "operator"}, Origin: "host:test", Affair: "juki", Reason: "バックアップ試験"}
	// More than 256 entries: the tree has a tile above the leaves.
	for range 300 {
		if _, err := n.Gate.Lookup(ctx, req, gate.Key{ResidentCode: "98320567321"}); err == nil {
			t.Fatal("a look-up of nobody found someone")
		}
	}
	if _, err := n.Log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), registerName)
	m, err := snapshot(ctx, n, path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Entries < 300 {
		t.Fatalf("the snapshot holds %d entries, want at least 300", m.Entries)
	}
	// What the version before migration 35 would have written.
	old, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.MigrateDownTo(ctx, 33); err != nil {
		t.Fatal(err)
	}
	var hashes int64
	if err := old.QueryRow(ctx, `SELECT COUNT(*) FROM audit_hash`).Scan(&hashes); err != nil || hashes < 2*m.Entries-10 {
		t.Fatalf("the older schema's audit_hash holds %d rows (%v)", hashes, err)
	}
	tables, err := schemaTables(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tables, err = countRows(ctx, old, tables); err != nil {
		t.Fatal(err)
	}
	m.Schema = 33
	old.Close()

	rep, err := checkSnapshot(ctx, path, n.Verifier, m)
	if err != nil {
		t.Fatalf("a snapshot of schema 33 was refused: %v", err)
	}
	if rep.Entries != m.Entries || rep.Checkpoints == 0 {
		t.Fatalf("verified %d entries, %d checkpoints; want %d and at least one", rep.Entries, rep.Checkpoints, m.Entries)
	}
	t.Run("into postgres", func(t *testing.T) {
		target, err := emptyPostgres(ctx, dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer target.Close()
		if err := intoPostgres(ctx, path, target); err != nil {
			t.Fatal(err)
		}
		got, err := auditlog.Verify(ctx, target, n.Verifier)
		if err != nil || got.Entries != m.Entries {
			t.Fatalf("restored into PostgreSQL: %d entries, %v; want %d", got.Entries, err, m.Entries)
		}
	})
	// A manifest whose counts differ from the snapshot's rows is refused
	// (here: the snapshot, now migrated, has no audit_hash rows left).
	if _, err := checkSnapshot(ctx, path, n.Verifier, m); err == nil {
		t.Fatal("a snapshot whose rows differ from its manifest was accepted")
	}
}
