// Package db opens the node's database — embedded SQLite or PostgreSQL —
// migrates it, and runs one set of hand-written SQL on both: queries use ?
// placeholders, which are rebound to $1, $2 … for PostgreSQL. Domain packages
// own their SQL; this package owns connections, migrations, transactions and
// the few dialect differences.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect is the SQL dialect of a database.
type Dialect int

// The dialects jukinet runs on.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// DB is an open database with its dialect.
type DB struct {
	sql     *sql.DB // readers and single statements
	writer  *sql.DB // transactions: their own connections, so a writer never queues behind readers
	dialect Dialect
	shown   string // the URL with any password removed, for messages

	wal *walKeeper // SQLite: keeps the write-ahead log bounded

	// Prepared statements by query text, one cache per pool: parsing SQL
	// is a large share of a short query's cost (SQLite especially).
	readStmts, writeStmts stmtCache

	observer atomic.Pointer[func(query string)] // see Observe
}

// Observe calls fn with the text (as written, before rebinding) of every
// statement run through this DB from now on — outside transactions, in
// them, in read-only transactions and in pipelines; a bulk COPY is
// reported as "COPY table" — until stop is called. It is for tests and
// benchmarks that count what an operation asks of the database (a policy
// decision reads nothing but the staff version). One observer at a time;
// fn is called from many goroutines at once and must not block.
func (db *DB) Observe(fn func(query string)) (stop func()) {
	db.observer.Store(&fn)
	return func() { db.observer.CompareAndSwap(&fn, nil) }
}

// saw reports a statement to the observer, if any (one atomic load
// otherwise).
func (db *DB) saw(query string) {
	if fn := db.observer.Load(); fn != nil {
		(*fn)(query)
	}
}

// stmtCache holds a pool's prepared statements.
type stmtCache struct {
	pool      *sql.DB
	m         sync.Map // string → *sql.Stmt
	n         atomic.Int32
	preparing sync.Map // string → true, while cached has it prepared
}

// Statement cache bounds: queries built with many placeholders are not
// worth keeping.
const (
	maxCachedStmts   = 512
	maxCachedStmtLen = 8192
)

// stmt returns a cached prepared statement for q, or nil when q is not
// cached (too long, cache full, or preparing failed: the caller then runs q
// directly and reports its error).
func (c *stmtCache) stmt(ctx context.Context, q string) *sql.Stmt {
	if v, ok := c.m.Load(q); ok {
		return v.(*sql.Stmt)
	}
	if len(q) > maxCachedStmtLen || c.n.Load() >= maxCachedStmts {
		return nil
	}
	s, err := c.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt)
	}
	c.n.Add(1)
	return s
}

// cached returns the cached prepared statement for q without waiting: a
// transaction, which holds one of its pool's connections, must not wait
// for another to prepare on (with every connection in a transaction doing
// so, none would ever be free). On a miss it has q prepared on the side
// for next time, and returns nil: the caller runs q directly.
func (c *stmtCache) cached(q string) *sql.Stmt {
	if v, ok := c.m.Load(q); ok {
		return v.(*sql.Stmt)
	}
	if len(q) <= maxCachedStmtLen && c.n.Load() < maxCachedStmts {
		if _, busy := c.preparing.LoadOrStore(q, true); !busy {
			go func() {
				defer c.preparing.Delete(q)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				c.stmt(ctx, q)
			}()
		}
	}
	return nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// ParseURL returns the dialect of a database URL and the data source name its
// driver takes. Accepted: sqlite:PATH (a file; created if missing) and
// postgres://… or postgresql://… (a libpq/pgx URL).
func ParseURL(u string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(u, "sqlite:"):
		path := sqlitePath(u)
		if path == "" {
			return 0, "", fmt.Errorf("database URL %q: give a file, as sqlite:PATH", u)
		}
		return SQLite, sqliteDSN(path, busyTimeout), nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			return 0, "", fmt.Errorf("database URL: %w", err)
		}
		return Postgres, u, nil
	}
	return 0, "", fmt.Errorf("database URL %q: must start with sqlite: or postgres://", Redact(u))
}

// escapePath writes a file path for the driver's file: URI, in which "%"
// begins an escape, "?" the parameters and "#" a fragment: a data folder
// named "課#2" must open that folder's database, not "課".
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
}

// busyTimeout is how long an SQLite connection waits for a lock another
// holds before it fails.
const busyTimeout = 10 * time.Second

// sqliteDSN returns the data source name of the SQLite database at path,
// its connections waiting up to busy for a lock.
func sqliteDSN(path string, busy time.Duration) string {
	// WAL lets readers work during a write; FULL makes each commit
	// durable before it returns; immediate transactions take the write
	// lock at BEGIN, so two writers wait for each other (busy_timeout)
	// instead of failing half-way. A 64 MiB page cache keeps a large
	// import from spilling pages mid-transaction, and memory-mapped
	// reads save a system call per page read. Temporary tables and the
	// sorter's runs go to a file when they outgrow memory (temp_store
	// FILE: a small sort stays in memory either way), so a streamed
	// import's tens of millions of search keys and a large advance of the
	// resident map are sorted on disk; the setting cannot be changed
	// inside a transaction once the connection has used temporary storage.
	q := url.Values{}
	// Checkpoints of the WAL into the database run in the background
	// (see walKeeper), not inside whichever commit crosses the
	// auto-checkpoint threshold: that commit is the audit log's.
	for _, p := range []string{"foreign_keys(1)", "busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")", "synchronous(FULL)",
		"cache_size(-" + strconv.Itoa(defaultCacheKiB) + ")", "mmap_size(1073741824)", "temp_store(FILE)", "wal_autocheckpoint(0)"} {
		q.Add("_pragma", p)
	}
	// (The driver runs the _pragma list sorted by name, then
	// _journal_mode. 16 KiB pages were tried: a 1,000,000-row import
	// got slower, 16,500 → 13,400 rows/s.)
	q.Set("_journal_mode", "WAL")
	q.Set("_txlock", "immediate")
	return "file:" + escapePath(path) + "?" + q.Encode()
}

// sqlitePath returns the file of a sqlite: URL that ParseURL accepted.
func sqlitePath(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
}

// Redact removes the password from a database URL.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	return p.String()
}

// Open connects to the database at u and checks it answers within 10
// seconds. It does not migrate; call Migrate.
func Open(ctx context.Context, u string) (*DB, error) {
	return OpenWith(ctx, u, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, u string, opt Options) (*DB, error) {
	dialect, dsn, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	driver := map[Dialect]string{SQLite: "sqlite", Postgres: "pgx"}[dialect]
	sqldb, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(u), err)
	}
	writer, err := sql.Open(driver, dsn)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open database %s: %w", Redact(u), err)
	}
	readers := 20
	if dialect == SQLite {
		readers = 8
	}
	// Every connection stays open when idle (database/sql keeps only two by
	// default): with more concurrent readers than that, each query would
	// otherwise close a connection and the next open one anew, reading the
	// schema and setting its pragmas again (a 1,000,000-resident batch
	// provision spent a third of its time so).
	sqldb.SetMaxOpenConns(readers)
	sqldb.SetMaxIdleConns(readers)
	// Writes are serialised anyway (SQLite's one writer; the audit log's
	// one committer): two connections leave room for a console command's
	// transaction beside the committer's.
	writer.SetMaxOpenConns(2)
	writer.SetMaxIdleConns(2)
	for _, p := range []*sql.DB{sqldb, writer} {
		p.SetConnMaxIdleTime(5 * time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqldb.PingContext(pingCtx); err != nil {
		sqldb.Close()
		writer.Close()
		return nil, fmt.Errorf("cannot reach database %s: %s", Redact(u), oneLine(err))
	}
	db := &DB{sql: sqldb, writer: writer, dialect: dialect, shown: Redact(u)}
	db.readStmts.pool, db.writeStmts.pool = sqldb, writer
	if dialect == SQLite {
		ckpt, err := sql.Open("sqlite", sqliteDSN(sqlitePath(u), escalatedWait))
		if err != nil {
			sqldb.Close()
			writer.Close()
			return nil, fmt.Errorf("open database %s: %w", Redact(u), err)
		}
		ckpt.SetMaxOpenConns(1)
		db.wal = newWALKeeper(sqlitePath(u)+"-wal", opt.WALLimit, ckpt, sqldb)
	}
	return db, nil
}

// oneLine folds a multi-line driver error (pgx lists every address it
// tried) into one line without repeats, so a clerk's terminal shows one.
func oneLine(err error) string {
	var parts []string
	seen := map[string]bool{}
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !seen[line] {
			seen[line] = true
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

// Dialect returns the database's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// String returns the database URL without its password.
func (db *DB) String() string { return db.shown }

// Close closes the database and its cached statements.
func (db *DB) Close() error {
	if db.wal != nil {
		db.wal.close()
		db.wal = nil
	}
	db.readStmts.close()
	db.writeStmts.close()
	werr := db.writer.Close()
	if err := db.sql.Close(); err != nil {
		return err
	}
	return werr
}

// Rebind rewrites ? placeholders for the database's dialect. A ? inside a
// quoted string or identifier is left alone.
func (db *DB) Rebind(query string) string { return Rebind(db.dialect, query) }

// Rebind rewrites ? placeholders to $1, $2 … for PostgreSQL.
func Rebind(d Dialect, query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote rune
	for _, r := range query {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inUTC returns args with every time.Time in UTC. SQLite keeps a time as
// text with its zone, so two instants in different zones compare wrongly
// as text; every time goes to either database in UTC, whatever the zone of
// the clock that made it (a server in Japan runs on JST).
func inUTC(args []any) []any {
	var out []any
	for i, a := range args {
		t, ok := a.(time.Time)
		if !ok || t.Location() == time.UTC {
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = t.UTC()
	}
	if out == nil {
		return args
	}
	return out
}

// Exec runs a statement outside a transaction.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	db.saw(query)
	args = inUTC(args)
	q := db.Rebind(query)
	if s := db.readStmts.stmt(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return db.sql.ExecContext(ctx, q, args...)
}

// Query runs a query outside a transaction.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	db.saw(query)
	args = inUTC(args)
	q := db.Rebind(query)
	if s := db.readStmts.stmt(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.sql.QueryContext(ctx, q, args...)
}

// QueryRow runs a query that returns at most one row.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	db.saw(query)
	args = inUTC(args)
	q := db.Rebind(query)
	if s := db.readStmts.stmt(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.sql.QueryRowContext(ctx, q, args...)
}

// PrepareRaw prepares q (rebound) on the underlying database/sql handle,
// for benchmarks that measure the driver alone.
func (db *DB) PrepareRaw(ctx context.Context, q string) (*sql.Stmt, error) {
	return db.sql.PrepareContext(ctx, db.Rebind(q))
}

// Tx is a transaction; its methods rebind like DB's.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
	db      *DB
	conn    *sql.Conn // the connection, when the transaction has one to itself (TransactBulk)
	// stmts holds the transaction's own handles of the cached statements
	// it has run: database/sql keeps every handle Tx.StmtContext makes
	// until the transaction ends, so asking for a new one per call would
	// hold one per statement run (gigabytes in an import of millions).
	stmtsMu sync.Mutex
	stmts   map[*sql.Stmt]*sql.Stmt
}

// stmt returns the transaction's handle of the cached statement s.
func (tx *Tx) stmt(ctx context.Context, s *sql.Stmt) *sql.Stmt {
	tx.stmtsMu.Lock()
	defer tx.stmtsMu.Unlock()
	if ts := tx.stmts[s]; ts != nil {
		return ts
	}
	if tx.stmts == nil {
		tx.stmts = map[*sql.Stmt]*sql.Stmt{}
	}
	ts := tx.tx.StmtContext(ctx, s)
	tx.stmts[s] = ts
	return ts
}

// Dialect returns the transaction's database dialect.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.db.saw(query)
	args = inUTC(args)
	q := Rebind(tx.dialect, query)
	if s := tx.db.writeStmts.cached(q); s != nil {
		return tx.stmt(ctx, s).ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, q, args...)
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.db.saw(query)
	args = inUTC(args)
	q := Rebind(tx.dialect, query)
	if s := tx.db.writeStmts.cached(q); s != nil {
		return tx.stmt(ctx, s).QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, q, args...)
}

// QueryRow runs a query in the transaction that returns at most one row.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	tx.db.saw(query)
	args = inUTC(args)
	q := Rebind(tx.dialect, query)
	if s := tx.db.writeStmts.cached(q); s != nil {
		return tx.stmt(ctx, s).QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, q, args...)
}

// Transact runs fn in a transaction and commits it if fn returns nil; it
// rolls back if fn returns an error or panics. Nothing fn wrote survives a
// failure: every write in jukinet goes through here.
func (db *DB) Transact(ctx context.Context, fn func(tx *Tx) error) error {
	return db.transact(ctx, nil, fn)
}

// TransactBulk is Transact for a bulk load whose every reference is to a
// row the same transaction wrote or read (an import assigns its new ids
// itself). It runs on a connection of its own. On SQLite it runs with
// foreign-key enforcement off, as bulk loaders do, so a million versions
// and 2.5 million search keys are not each looked up in resident and each
// statement needs no statement journal; enforcement is on again before the
// connection serves anything else, and a connection where it cannot be
// turned back on is discarded. On PostgreSQL, InsertMany loads large
// inserts with COPY.
func (db *DB) TransactBulk(ctx context.Context, fn func(tx *Tx) error) (err error) {
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("bulk transaction: %w", err)
	}
	if db.dialect != SQLite {
		defer conn.Close()
		return db.transact(ctx, conn, fn)
	}
	defer func() {
		// SQLite ignores the pragma inside a transaction, and the
		// transaction has ended here.
		if _, onErr := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); onErr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // discard the connection
			if err == nil {
				err = fmt.Errorf("bulk transaction: turn foreign keys back on: %w", onErr)
			}
		}
		conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("bulk transaction: turn foreign keys off: %w", err)
	}
	return db.transact(ctx, conn, fn)
}

// transact runs fn in a transaction on conn, or on the writer pool when
// conn is nil.
func (db *DB) transact(ctx context.Context, conn *sql.Conn, fn func(tx *Tx) error) (err error) {
	begin := db.writer.BeginTx
	if conn != nil {
		begin = conn.BeginTx
	}
	if db.wal != nil {
		db.wal.begin()
		defer db.wal.end()
	}
	sqltx, err := begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			sqltx.Rollback()
			panic(p)
		}
		if err != nil {
			if rbErr := sqltx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				err = fmt.Errorf("%w (and rollback failed: %v)", err, rbErr)
			}
			err = db.nameFullDisk(err)
		}
	}()
	if err := fn(&Tx{tx: sqltx, dialect: db.dialect, db: db, conn: conn}); err != nil {
		return err
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// Statement is one SQL statement, with ? placeholders, and its arguments.
type Statement struct {
	Query string
	Args  []any
}

// ExecAtomic runs stmts as one transaction: all of them take effect, or
// none does. On PostgreSQL they reach the server in one round trip — a
// pipeline ending in a single Sync, which the server runs as one implicit
// transaction and answers only once its commit is durable — instead of one
// round trip each plus BEGIN and COMMIT. On SQLite, which has no round
// trips, they run in an ordinary transaction.
//
// An error for which Rejected is true means the transaction was rolled
// back; after any other error (a lost connection) it is not known whether
// it committed.
func (db *DB) ExecAtomic(ctx context.Context, stmts ...Statement) error {
	if db.dialect != Postgres {
		return db.Transact(ctx, func(tx *Tx) error {
			for _, s := range stmts {
				if _, err := tx.Exec(ctx, s.Query, s.Args...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("pipelined transaction: %w", err)
	}
	defer conn.Close()
	var b pgx.Batch
	for _, s := range stmts {
		db.saw(s.Query)
		b.Queue(Rebind(Postgres, s.Query), s.Args...)
	}
	if err := withPgx(conn, func(c *pgx.Conn) error { return c.SendBatch(ctx, &b).Close() }); err != nil {
		return db.nameFullDisk(fmt.Errorf("pipelined transaction: %w", err))
	}
	return nil
}

// ErrDiskFull marks a write that failed because the disk holding the
// database is full (SQLite's SQLITE_FULL, PostgreSQL's disk_full):
// errors.Is(err, ErrDiskFull).
var ErrDiskFull = errors.New("disk full")

// diskFullError names the full disk in front of the driver's error.
type diskFullError struct {
	where string
	err   error
}

func (e *diskFullError) Error() string {
	return "the disk holding " + e.where + " is full: " + e.err.Error()
}
func (e *diskFullError) Unwrap() error        { return e.err }
func (e *diskFullError) Is(target error) bool { return target == ErrDiskFull }

// nameFullDisk says which disk is full when err is a full disk: the
// driver's "database or disk is full (13)" names neither the file nor the
// folder an operator must make room in.
func (db *DB) nameFullDisk(err error) error {
	if errors.Is(err, ErrDiskFull) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == 13 { // SQLITE_FULL, extended codes included
		return &diskFullError{where: sqlitePath(db.shown) + " (SQLite)", err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53100" { // disk_full
		return &diskFullError{where: "the PostgreSQL database " + db.shown, err: err}
	}
	return err
}

// withPgx runs fn with the pgx connection under conn (PostgreSQL), for
// what database/sql cannot do: pipelines and COPY.
func withPgx(conn *sql.Conn, fn func(*pgx.Conn) error) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("needs the pgx driver, not %T", dc)
		}
		return fn(c.Conn())
	})
}

// Rejected reports whether err is PostgreSQL refusing a statement (a
// constraint, a failed check): the server answered, and the transaction
// the statement was in did not commit.
func Rejected(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

// copyMin is the fewest rows InsertMany loads with COPY (PostgreSQL, in a
// bulk transaction): below it, the extra round trip COPY takes to learn the
// column types costs more than it saves.
const copyMin = 100

// copyRows loads rows with PostgreSQL's COPY, in tx, on the connection it
// holds to itself: one stream of binary rows instead of INSERT statements
// of a few thousand parameters each, parsed and planned one by one.
func copyRows(ctx context.Context, tx *Tx, table string, cols []string, rows [][]any) error {
	tx.db.saw("COPY " + table)
	err := withPgx(tx.conn, func(c *pgx.Conn) error {
		_, err := c.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	return nil
}

// Querier is what a *DB and a *Tx share: domain code that only reads or
// that runs inside a caller's transaction takes one.
type Querier interface {
	Dialect() Dialect
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// MaxParams is how many placeholders one statement may carry on both
// databases (SQLite allows 32,766; PostgreSQL 65,535).
const MaxParams = 32000

// InsertMany inserts rows into table with multi-row INSERTs: on SQLite of
// sqliteChunk rows, one cached statement parsed once (a statement with
// thousands of placeholders would be parsed on every call); on PostgreSQL,
// where a round trip costs more than parsing, of up to insertChunk rows.
func InsertMany(ctx context.Context, q Querier, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if tx, ok := q.(*Tx); ok && tx.conn != nil && tx.dialect == Postgres && len(rows) >= copyMin {
		return copyRows(ctx, tx, table, cols, rows)
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	// On SQLite OR FAIL: a constraint failure stops the statement without
	// undoing its earlier rows, so SQLite needs no statement journal (a copy
	// of every page the statement changes); the error fails the caller's
	// transaction, which is rolled back whole.
	verb := "INSERT INTO "
	if q.Dialect() == SQLite {
		verb = "INSERT OR FAIL INTO "
	}
	head := verb + table + " (" + strings.Join(cols, ",") + ") VALUES "
	per := min(insertChunk, MaxParams/len(cols))
	if q.Dialect() == SQLite {
		// Full chunks share one cached statement; the rest go one by one
		// through another, so no statement is parsed more than once.
		per = min(sqliteChunk, MaxParams/len(cols))
		full := len(rows) - len(rows)%per
		if full > 0 {
			stmt := head + one + strings.Repeat(","+one, per-1)
			args := make([]any, 0, per*len(cols))
			for start := 0; start < full; start += per {
				args = args[:0]
				for _, r := range rows[start : start+per] {
					args = append(args, r...)
				}
				if _, err := q.Exec(ctx, stmt, args...); err != nil {
					return fmt.Errorf("insert into %s: %w", table, err)
				}
			}
		}
		for _, r := range rows[full:] {
			if _, err := q.Exec(ctx, head+one, r...); err != nil {
				return fmt.Errorf("insert into %s: %w", table, err)
			}
		}
		return nil
	}
	for start := 0; start < len(rows); start += per {
		end := min(start+per, len(rows))
		stmt := head + one + strings.Repeat(","+one, end-start-1)
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			args = append(args, rows[i]...)
		}
		if _, err := q.Exec(ctx, stmt, args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}

// Rows per multi-row INSERT: on PostgreSQL, where round trips cost most;
// on SQLite, few enough that the statement stays in the statement cache.
const (
	insertChunk = 1000
	sqliteChunk = 64
)

// defaultCacheKiB is each SQLite connection's page cache.
const defaultCacheKiB = 64 << 10

// BulkCacheKiB is the SQLite page cache a bulk write may use: enough that a
// million-resident import keeps its dirty pages in memory until it commits,
// instead of spilling them to the WAL and reading them back. Pages are
// allocated only as they are used.
const BulkCacheKiB = 4 << 20

// WidenCache lets a large write in tx keep its changed pages in memory
// (SQLite; a no-op on PostgreSQL, which has its own buffers). Call the
// returned function when the write is done, to give the memory back.
func (tx *Tx) WidenCache(ctx context.Context) (restore func(), err error) {
	return tx.WidenCacheTo(ctx, BulkCacheKiB)
}

// StreamCacheKiB is the page cache of a write too large to keep its
// changed pages in memory (a streamed import): it spills them to the WAL
// as it goes, in bounded memory. SQLite's sorter takes as much again per
// thread when it builds an index.
const StreamCacheKiB = 128 << 10

// WidenCacheTo is WidenCache with a cache of kib KiB.
func (tx *Tx) WidenCacheTo(ctx context.Context, kib int) (restore func(), err error) {
	if tx.dialect != SQLite {
		return func() {}, nil
	}
	if _, err := tx.tx.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", kib)); err != nil {
		return nil, fmt.Errorf("widen page cache: %w", err)
	}
	return func() {
		tx.tx.ExecContext(context.Background(), fmt.Sprintf("PRAGMA cache_size = -%d", defaultCacheKiB))
	}, nil
}

// Stats returns the statistics of the pool of reading connections.
func (db *DB) Stats() sql.DBStats { return db.sql.Stats() }

// ReadTx runs fn in a read-only transaction, so everything it reads is one
// consistent snapshot (SQLite: a deferred read transaction; PostgreSQL:
// repeatable read).
func (db *DB) ReadTx(ctx context.Context, fn func(q Querier) error) error {
	r, err := db.BeginRead(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	return fn(r)
}

// BeginRead begins a read-only transaction like ReadTx's, on a reading
// connection of its own, for a reader that keeps several open side by side
// (one per table it streams). Its snapshot is taken at its first query.
// The caller must Close it.
func (db *DB) BeginRead(ctx context.Context) (*ReadOnlyTx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	sqltx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("begin read transaction: %w", err)
	}
	return &ReadOnlyTx{tx: sqltx, dialect: db.dialect, db: db}, nil
}

// snapshotID is what pg_export_snapshot returns (e.g. 00000003-0000001B-1);
// SET TRANSACTION SNAPSHOT takes it as a literal, so it is checked first.
var snapshotID = regexp.MustCompile(`^[0-9A-Fa-f-]+$`)

// BeginSharedReads begins n read-only transactions on PostgreSQL that all
// see one snapshot of the database (the first exports its snapshot, the
// others import it), for reading one state of it on several connections at
// once however busy the writers are. On SQLite, which has no such thing,
// it returns ErrNoSharedSnapshots.
func (db *DB) BeginSharedReads(ctx context.Context, n int) ([]*ReadOnlyTx, error) {
	if db.dialect != Postgres {
		return nil, ErrNoSharedSnapshots
	}
	var txs []*ReadOnlyTx
	fail := func(err error) ([]*ReadOnlyTx, error) {
		for _, t := range txs {
			t.Close()
		}
		return nil, err
	}
	first, err := db.BeginRead(ctx)
	if err != nil {
		return nil, err
	}
	txs = append(txs, first)
	var id string
	if err := first.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&id); err != nil {
		return fail(fmt.Errorf("export snapshot: %w", err))
	}
	if !snapshotID.MatchString(id) {
		return fail(fmt.Errorf("export snapshot: unexpected id %q", id))
	}
	for len(txs) < n {
		t, err := db.BeginRead(ctx)
		if err != nil {
			return fail(err)
		}
		txs = append(txs, t)
		if _, err := t.Exec(ctx, `SET TRANSACTION SNAPSHOT '`+id+`'`); err != nil {
			return fail(fmt.Errorf("import snapshot: %w", err))
		}
	}
	return txs, nil
}

// ErrNoSharedSnapshots is BeginSharedReads on a database without them.
var ErrNoSharedSnapshots = errors.New("this database cannot share a snapshot between transactions")

// ReadOnlyTx is a read-only transaction (see BeginRead); its methods
// rebind like DB's.
type ReadOnlyTx struct {
	tx      *sql.Tx
	dialect Dialect
	db      *DB
}

// Close ends the transaction.
func (r *ReadOnlyTx) Close() error { return r.tx.Rollback() }

// Dialect returns the transaction's database dialect.
func (r *ReadOnlyTx) Dialect() Dialect { return r.dialect }

// Exec runs a statement in the transaction.
func (r *ReadOnlyTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r.db.saw(query)
	args = inUTC(args)
	return r.tx.ExecContext(ctx, Rebind(r.dialect, query), args...)
}

// Query runs a query in the transaction.
func (r *ReadOnlyTx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r.db.saw(query)
	args = inUTC(args)
	return r.tx.QueryContext(ctx, Rebind(r.dialect, query), args...)
}

// QueryRow runs a query in the transaction that returns at most one row.
func (r *ReadOnlyTx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	r.db.saw(query)
	args = inUTC(args)
	return r.tx.QueryRowContext(ctx, Rebind(r.dialect, query), args...)
}
