package db_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, pg string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"SELECT '?' , ? FROM \"w?\"", "SELECT '?' , $1 FROM \"w?\""},
	}
	for _, tt := range tests {
		if got := db.Rebind(db.Postgres, tt.in); got != tt.pg {
			t.Errorf("Rebind(postgres, %q) = %q, want %q", tt.in, got, tt.pg)
		}
		if got := db.Rebind(db.SQLite, tt.in); got != tt.in {
			t.Errorf("Rebind(sqlite, %q) = %q", tt.in, got)
		}
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		dialect db.Dialect
		err     string
	}{
		{"sqlite:/tmp/x.db", db.SQLite, ""},
		{"sqlite:relative.db", db.SQLite, ""},
		{"postgres://127.0.0.1/test", db.Postgres, ""},
		{"postgresql://u:secret@h/test", db.Postgres, ""},
		{"sqlite:", 0, "give a file"},
		{"mysql://h/db", 0, "must start with sqlite: or postgres://"},
	}
	for _, tt := range tests {
		d, dsn, err := db.ParseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || d != tt.dialect {
			t.Errorf("ParseURL(%q) = %v, %v", tt.in, d, err)
		}
		if d == db.SQLite && !strings.Contains(dsn, "synchronous%28FULL%29") {
			t.Errorf("sqlite DSN %q lacks synchronous=FULL", dsn)
		}
	}
	if got := db.Redact("postgres://u:secret@h/test"); strings.Contains(got, "secret") {
		t.Errorf("Redact kept the password: %s", got)
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := db.Open(ctx, "postgres://u:secret@127.0.0.1:1/none?connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "cannot reach database") || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open(unreachable) error = %v", err)
	}
}

func TestSQLitePragmas(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "busy_timeout": "10000"} {
		var got string
		if err := d.QueryRow(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestTransact(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		insert := func(tx *db.Tx, key string) error {
			_, err := tx.Exec(ctx, `INSERT INTO node (id, local_gov_code, level, profile, public_key, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				1, key, "municipality", "koto-ward", "pk", time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
			return err
		}
		// A failing function leaves nothing behind.
		boom := errors.New("boom")
		err := d.Transact(ctx, func(tx *db.Tx) error {
			if err := insert(tx, "131083"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Transact error = %v, want boom", err)
		}
		if n := count(t, d); n != 0 {
			t.Fatalf("after rollback: %d rows, want 0", n)
		}
		// A panic rolls back too, and is not swallowed.
		func() {
			defer func() { recover() }()
			d.Transact(ctx, func(tx *db.Tx) error {
				insert(tx, "131083")
				panic("crash")
			})
		}()
		if n := count(t, d); n != 0 {
			t.Fatalf("after panic: %d rows, want 0", n)
		}
		// A constraint violation fails the whole transaction.
		err = d.Transact(ctx, func(tx *db.Tx) error {
			if err := insert(tx, "131083"); err != nil {
				return err
			}
			return insert(tx, "020001") // same id: primary key conflict
		})
		if err == nil {
			t.Fatal("duplicate primary key accepted")
		}
		if n := count(t, d); n != 0 {
			t.Fatalf("after conflict: %d rows, want 0", n)
		}
		// Success commits, and a timestamp round-trips.
		if err := d.Transact(ctx, func(tx *db.Tx) error { return insert(tx, "131083") }); err != nil {
			t.Fatal(err)
		}
		var code string
		var created time.Time
		var demo bool
		if err := d.QueryRow(ctx, `SELECT local_gov_code, created_at, demo FROM node WHERE id = ?`, 1).Scan(&code, &created, &demo); err != nil {
			t.Fatal(err)
		}
		if code != "131083" || !created.Equal(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)) || demo {
			t.Errorf("read back %s, %v, %v", code, created, demo)
		}
		if v, err := d.SchemaVersion(ctx); err != nil || v < 1 {
			t.Errorf("SchemaVersion = %d, %v", v, err)
		}
		// Migrating again is a no-op.
		if err := d.Migrate(ctx); err != nil {
			t.Errorf("second Migrate: %v", err)
		}
	})
}

// TestTransactionsWithNewStatements: transactions holding every writer
// connection, each running a statement no one ran before, finish promptly.
// (Preparing it on the pool, they waited for a free connection: forever on
// PostgreSQL, on SQLite until the other's busy timeout failed it.)
func TestTransactionsWithNewStatements(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := d.Exec(ctx, `CREATE TABLE fresh_test (id INTEGER PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		began := make(chan struct{}, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.Transact(ctx, func(tx *db.Tx) error {
					began <- struct{}{}
					time.Sleep(300 * time.Millisecond) // the other takes the second connection meanwhile
					_, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO fresh_test (id) VALUES (?) /* statement %d */`, i), i)
					return err
				})
			}()
		}
		wg.Wait()
		if len(began) != 2 {
			t.Fatalf("%d transactions began", len(began))
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("transaction %d: %v", i, err)
			}
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("two small transactions took %v", el)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM fresh_test`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d rows, %v; want 2", n, err)
		}
	})
}

// TestExecAtomic: statements sent together commit together or not at all,
// and a statement the server refuses is reported as Rejected (PostgreSQL).
func TestExecAtomic(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Exec(ctx, `CREATE TABLE atomic_test (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		insert := func(id int) db.Statement {
			return db.Statement{Query: `INSERT INTO atomic_test (id, v) VALUES (?, ?)`, Args: []any{id, fmt.Sprint("row ", id)}}
		}
		rows := func() int {
			t.Helper()
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM atomic_test`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// The third statement conflicts with the first: none of the three lands.
		err := d.ExecAtomic(ctx, insert(1), insert(2), insert(1))
		if err == nil {
			t.Fatal("duplicate primary key accepted")
		}
		if n := rows(); n != 0 {
			t.Fatalf("after a refused statement: %d rows, want 0", n)
		}
		if got, want := db.Rejected(err), d.Dialect() == db.Postgres; got != want {
			t.Errorf("Rejected(%v) = %v, want %v", err, got, want)
		}
		if d.Dialect() == db.Postgres {
			// A check that fails at run time (not when planned) refuses
			// the lot: the audit log's size check is written so.
			err = d.ExecAtomic(ctx, insert(1),
				db.Statement{Query: `SELECT 1 / (CASE WHEN COUNT(*) = ? THEN 1 ELSE 0 END) FROM atomic_test`, Args: []any{5}})
			if !db.Rejected(err) {
				t.Fatalf("failed check: error %v, want one Rejected", err)
			}
			if n := rows(); n != 0 {
				t.Fatalf("after a failed check: %d rows, want 0", n)
			}
			// The same check passing lets the statements commit.
			if err := d.ExecAtomic(ctx, insert(1),
				db.Statement{Query: `SELECT 1 / (CASE WHEN COUNT(*) = ? THEN 1 ELSE 0 END) FROM atomic_test`, Args: []any{1}}); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `DELETE FROM atomic_test`); err != nil {
				t.Fatal(err)
			}
		}
		// Success commits every statement, and the connection serves on.
		for i := 0; i < 3; i++ {
			if err := d.ExecAtomic(ctx, insert(10+2*i), insert(11+2*i)); err != nil {
				t.Fatal(err)
			}
		}
		if n := rows(); n != 6 {
			t.Fatalf("after three successes: %d rows, want 6", n)
		}
		if db.Rejected(nil) || db.Rejected(errors.New("connection reset")) {
			t.Error("Rejected is true for an error that is not the server's refusal")
		}
	})
}

// TestTransactBulk: a bulk transaction runs without foreign-key
// enforcement on SQLite, rolls back like any other, and leaves enforcement
// on for every transaction after it.
func TestTransactBulk(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// An orphan search key: refused under enforcement.
		orphan := func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO name_key (key, date_of_birth, resident_id, kind) VALUES ('X', '2000-01-01', 999, 'name')`)
			return err
		}
		boom := errors.New("boom")
		err := d.TransactBulk(ctx, func(tx *db.Tx) error {
			if d.Dialect() == db.SQLite {
				var on int
				if err := tx.QueryRow(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
					return err
				}
				if on != 0 {
					t.Errorf("foreign_keys = %d in a bulk transaction", on)
				}
				if err := orphan(tx); err != nil {
					t.Errorf("orphan refused in a bulk transaction: %v", err)
				}
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("TransactBulk error = %v, want boom", err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM name_key`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("after rollback: %d search keys (%v), want 0", n, err)
		}
		if err := d.TransactBulk(ctx, func(tx *db.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		// Many rows at once (COPY on PostgreSQL) land whole, or not at all.
		subjects := func(from, n int) [][]any {
			var rows [][]any
			for i := from; i < from+n; i++ {
				rows = append(rows, []any{int64(i), fmt.Sprintf("%011d", i)})
			}
			return rows
		}
		cols := []string{"seq", "resident_code"}
		if err := d.TransactBulk(ctx, func(tx *db.Tx) error { return db.InsertMany(ctx, tx, "audit_subject", cols, subjects(0, 250)) }); err != nil {
			t.Fatal(err)
		}
		err = d.TransactBulk(ctx, func(tx *db.Tx) error {
			if err := db.InsertMany(ctx, tx, "audit_subject", cols, subjects(1000, 250)); err != nil {
				return err
			}
			return db.InsertMany(ctx, tx, "audit_subject", cols, subjects(200, 250)) // 50 already stored
		})
		if err == nil {
			t.Fatal("a bulk insert of stored rows succeeded")
		}
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_subject`).Scan(&n); err != nil || n != 250 {
			t.Fatalf("%d subject rows (%v), want the first 250 only", n, err)
		}
		// Every writer connection (the pool hands them out in turn)
		// enforces foreign keys again.
		for i := 0; i < 4; i++ {
			if err := d.Transact(ctx, orphan); err == nil {
				t.Fatalf("transaction %d after a bulk one accepted an orphan search key", i)
			}
		}
	})
}

func count(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM node`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReadersStayOpen: concurrent readers reuse their connections instead
// of closing one and opening another per query.
func TestReadersStayOpen(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					rows, err := d.Query(ctx, "SELECT 1")
					if err != nil {
						t.Error(err)
						return
					}
					time.Sleep(100 * time.Microsecond) // hold the connection a moment
					rows.Close()
				}
			}()
		}
		wg.Wait()
		if st := d.Stats(); st.MaxIdleClosed > 0 || st.OpenConnections < 3 {
			t.Errorf("pool: %d connections closed for want of an idle slot, %d open", st.MaxIdleClosed, st.OpenConnections)
		}
	})
}

// TestBeginSharedReads: on PostgreSQL the transactions see one snapshot
// while a writer commits rows as fast as it can — where transactions begun
// one after another see different numbers of rows; SQLite says it cannot.
func TestBeginSharedReads(t *testing.T) {
	ctx := context.Background()
	if _, err := dbtest.OpenSQLite(t).BeginSharedReads(ctx, 2); !errors.Is(err, db.ErrNoSharedSnapshots) {
		t.Errorf("SQLite: BeginSharedReads = %v, want ErrNoSharedSnapshots", err)
	}
	d := dbtest.OpenPostgres(t)
	if _, err := d.Exec(ctx, `CREATE TABLE shared_read (id BIGSERIAL PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := d.Exec(ctx, `INSERT INTO shared_read DEFAULT VALUES`); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	counts := func(txs []*db.ReadOnlyTx) map[int64]bool {
		seen := map[int64]bool{}
		for _, tx := range txs {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM shared_read`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			seen[n] = true
			tx.Close()
		}
		return seen
	}
	// Until transactions begun one by one have disagreed a few times (so
	// the writer is busy enough to tell), shared ones must always agree.
	apart := 0
	deadline := time.Now().Add(20 * time.Second)
	for apart < 3 && time.Now().Before(deadline) {
		txs, err := d.BeginSharedReads(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if seen := counts(txs); len(seen) != 1 {
			t.Fatalf("shared reads saw different numbers of rows: %v", seen)
		}
		var one []*db.ReadOnlyTx
		for range 3 {
			tx, err := d.BeginRead(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Each begun transaction takes its snapshot at its first query.
			var n int64
			tx.QueryRow(ctx, `SELECT 1`).Scan(&n)
			one = append(one, tx)
		}
		if len(counts(one)) > 1 {
			apart++
		}
	}
	if apart < 3 {
		t.Fatalf("transactions begun one by one never disagreed while the writer ran: the test shows nothing")
	}
}

// TestTimesCompareAcrossZones: a time written from a clock in Japan and
// one written in UTC compare as the instants they are, in queries outside
// and inside transactions (SQLite compares times as text).
func TestTimesCompareAcrossZones(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		typ := "TIMESTAMP"
		if d.Dialect() == db.Postgres {
			typ = "TIMESTAMPTZ"
		}
		if _, err := d.Exec(ctx, `CREATE TABLE zone_test (n INTEGER, at `+typ+` NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		jst := time.FixedZone("JST", 9*60*60)
		// 09:30 JST on 2 December is 00:30 UTC, before 00:45 UTC; as text,
		// "2026-12-02 09:30…+09:00" sorts after "2026-12-02 00:45…".
		early := time.Date(2026, 12, 2, 9, 30, 0, 0, jst)
		if _, err := d.Exec(ctx, `INSERT INTO zone_test (n, at) VALUES (1, ?)`, early); err != nil {
			t.Fatal(err)
		}
		if err := d.Transact(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO zone_test (n, at) VALUES (2, ?)`, early.Add(time.Hour))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			since time.Time
			want  int
		}{
			{time.Date(2026, 12, 2, 0, 45, 0, 0, time.UTC), 1}, // 09:45 JST: only the later one
			{time.Date(2026, 12, 2, 9, 45, 0, 0, jst), 1},
			{time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC), 2},
			{time.Date(2026, 12, 2, 10, 31, 0, 0, jst), 0},
		} {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM zone_test WHERE at > ?`, tt.since).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Errorf("entries after %v: %d, want %d", tt.since, n, tt.want)
			}
		}
	})
}

// TestSQLitePathWithURICharacters: a data folder whose name holds "#", "?"
// or "%" opens the database inside it (the driver reads a file: URI, in
// which these would end or escape the path).
func TestSQLitePathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "課#2?x%41")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "jukinet.db")
	d, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, `CREATE TABLE here (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not in the folder given: %v", err)
	}
	d, err = db.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM here`).Scan(&n); err != nil {
		t.Fatalf("reopened, the table is gone: %v", err)
	}
}

// TestWALStaysBoundedUnderLoad: with readers always at work, SQLite never
// finds a moment to restart its write-ahead log on its own, and passive
// checkpoints alone let it grow by every commit (hundreds of MB a minute
// under an API's load). The WAL must stay under its configured bound
// however many commits arrive; here 600 commits of four 3,000-byte rows
// (some 15 MiB of WAL frames) against a 2 MiB bound.
func TestWALStaysBoundedUnderLoad(t *testing.T) {
	ctx := context.Background()
	const limit = 2 << 20
	d, err := db.OpenWith(ctx, "sqlite:"+filepath.Join(t.TempDir(), "wal.db"), db.Options{WALLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, `CREATE TABLE scratch (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 3000)
	insert := func(id int) error {
		return d.Transact(ctx, func(tx *db.Tx) error {
			for i := 0; i < 4; i++ {
				if _, err := tx.Exec(ctx, `INSERT INTO scratch (id, body) VALUES (?, ?)`, id*4+i, body); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := insert(0); err != nil {
		t.Fatal(err)
	}
	// Readers that never stop while the writer commits, as an API's
	// clients do.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := d.QueryRow(ctx, `SELECT length(body) FROM scratch WHERE id = ?`, i%4).Scan(&n); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var largest int64
	for id := 1; id <= 600; id++ {
		if err := insert(id); err != nil {
			t.Fatal(err)
		}
		st, ok := d.WAL()
		if !ok {
			t.Fatal("SQLite database reports no WAL")
		}
		largest = max(largest, st.Bytes)
	}
	close(stop)
	wg.Wait()
	if largest > limit {
		t.Errorf("the WAL grew to %.1f MiB under load; its bound is %d MiB", float64(largest)/(1<<20), limit>>20)
	}
}

// TestObserve: an observer sees every statement run through the DB —
// outside transactions, in them, in read-only transactions and in
// pipelines — and nothing once stopped.
func TestObserve(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Exec(ctx, `CREATE TABLE observed (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var seen []string
		stop := d.Observe(func(q string) {
			mu.Lock()
			seen = append(seen, q)
			mu.Unlock()
		})
		var n int
		steps := []func() error{
			func() error { _, err := d.Exec(ctx, `INSERT INTO observed (id, v) VALUES (?, ?)`, 1, "a"); return err },
			func() error { return d.QueryRow(ctx, `SELECT COUNT(*) FROM observed`).Scan(&n) },
			func() error {
				rows, err := d.Query(ctx, `SELECT v FROM observed`)
				if err == nil {
					rows.Close()
				}
				return err
			},
			func() error {
				return d.Transact(ctx, func(tx *db.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO observed (id, v) VALUES (?, ?)`, 2, "b")
					return err
				})
			},
			func() error {
				return d.ReadTx(ctx, func(q db.Querier) error { return q.QueryRow(ctx, `SELECT MAX(id) FROM observed`).Scan(&n) })
			},
			func() error {
				return d.ExecAtomic(ctx, db.Statement{Query: `INSERT INTO observed (id, v) VALUES (?, ?)`, Args: []any{3, "c"}},
					db.Statement{Query: `UPDATE observed SET v = ? WHERE id = ?`, Args: []any{"C", 3}})
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		stop()
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM observed`).Scan(&n); err != nil || n != 3 {
			t.Fatalf("rows: %d, %v", n, err)
		}
		want := []string{`INSERT INTO observed (id, v) VALUES (?, ?)`, `SELECT COUNT(*) FROM observed`, `SELECT v FROM observed`,
			`INSERT INTO observed (id, v) VALUES (?, ?)`, `SELECT MAX(id) FROM observed`,
			`INSERT INTO observed (id, v) VALUES (?, ?)`, `UPDATE observed SET v = ? WHERE id = ?`}
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(seen, "\n") != strings.Join(want, "\n") {
			t.Errorf("observed:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestFullDiskNamesTheDatabase fills a SQLite database to the most pages
// its connection allows (SQLite's SQLITE_FULL, as on a full disk) and
// checks the error says which file's disk is full, and matches
// db.ErrDiskFull. Before, it was the driver's "database or disk is full
// (13)", which names neither (the fault suite's disk-full test,
// internal/faults, found it in the node's log).
func TestFullDiskNamesTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.db")
	d, err := db.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Exec(ctx, `CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	err = d.Transact(ctx, func(tx *db.Tx) error {
		var pages int
		if err := tx.QueryRow(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+4)); err != nil {
			return err
		}
		for i := 0; i < 64; i++ {
			if _, err := tx.Exec(ctx, `INSERT INTO filler (b) VALUES (zeroblob(65536))`); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, db.ErrDiskFull) || !strings.Contains(err.Error(), "the disk holding "+path+" (SQLite) is full") {
		t.Fatalf("a full database: %v", err)
	}
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM filler`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after the failed transaction the table holds %d rows (%v), want 0", n, err)
	}
}
