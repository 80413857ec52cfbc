package db

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestTxKeepsOneHandlePerStatement: a transaction that runs one cached
// statement many times holds one handle of it, not one per run (an
// import of millions of rows ran millions of statements in one
// transaction, and database/sql keeps each handle until the end).
func TestTxKeepsOneHandlePerStatement(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	const q = `INSERT INTO t (n) VALUES (?)`
	// The cache prepares a statement on the side after its first miss.
	for i := 0; d.writeStmts.cached(q) == nil; i++ {
		if i == 200 {
			t.Fatal("the statement was never cached")
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = d.Transact(ctx, func(tx *Tx) error {
		for i := range 1000 {
			if _, err := tx.Exec(ctx, q, i); err != nil {
				return err
			}
		}
		if n := len(tx.stmts); n != 1 {
			t.Errorf("the transaction holds %d handles of one statement", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 1000 {
		t.Errorf("%d rows, %v", n, err)
	}
}
