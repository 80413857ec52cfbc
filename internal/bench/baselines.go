package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
)

// scratchDB opens an empty, migrated database beside the benchmark's own:
// on SQLite a file of its own in dir, on PostgreSQL a schema of its own in
// the benchmark's database (dropped by the returned cleanup). It returns
// the database's URL too, for a node to be made on it.
func scratchDB(ctx context.Context, benchURL, dir, name string) (url string, cleanup func(), err error) {
	if benchURL == "" {
		path := filepath.Join(dir, name+".db")
		// Removed when done: a copy of a large register takes as much
		// disk again, and its pages would crowd the benchmark's own out
		// of the system's page cache.
		return "sqlite:" + path, func() {
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				os.Remove(p)
			}
		}, nil
	}
	admin, err := db.Open(ctx, benchURL)
	if err != nil {
		return "", nil, fmt.Errorf("scratch schema %s: %w", name, err)
	}
	defer admin.Close()
	b := make([]byte, 4)
	rand.Read(b)
	schema := "jukinet_bench_" + name + "_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create scratch schema %s: %w", schema, err)
	}
	cleanup = func() {
		a, err := db.Open(context.Background(), benchURL)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	}
	u, err := parseURL(benchURL)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), cleanup, nil
}

func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: %w", db.Redact(s), err)
	}
	return u, nil
}

// registerTables are the tables an import writes the register's rows to,
// in the order their references allow.
var registerTables = []string{"resident", "identity_record", "name_key"}

// rawBulkInsert measures the baseline of the import row: the rows the
// import stored (residents, their versions, their search keys), read back
// from d before the clock starts, inserted again into an empty database of
// the same schema with the driver alone — one bulk transaction, the
// register's own multi-row INSERTs (COPY on PostgreSQL), no parsing, no
// checks, no audit entry.
func rawBulkInsert(ctx context.Context, d *db.DB, benchURL, dir string, residents int) (Row, error) {
	url, cleanup, err := scratchDB(ctx, benchURL, dir, "rawinsert")
	if err != nil {
		return Row{}, err
	}
	defer cleanup()
	sd, err := db.Open(ctx, url)
	if err != nil {
		return Row{}, fmt.Errorf("raw bulk insert: %w", err)
	}
	defer sd.Close()
	if err := sd.Migrate(ctx); err != nil {
		return Row{}, fmt.Errorf("raw bulk insert: %w", err)
	}
	var reading time.Duration
	var total int
	// A batch of rows at a time in memory (a register of any size fits);
	// the reads are taken off the time, the inserts and the commit count.
	start := time.Now()
	err = sd.TransactBulk(ctx, func(tx *db.Tx) error {
		for _, table := range registerTables {
			n, read, err := copyTable(ctx, d, tx, table)
			reading += read
			total += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	el := time.Since(start) - reading
	if err != nil {
		return Row{}, err
	}
	return Row{ID: RowRawInsert, What: fmt.Sprintf("raw bulk insert of the same %d residents (baseline)", residents), Ops: int64(residents), Elapsed: el,
		PerSecond: float64(residents) / el.Seconds(), Note: fmt.Sprintf("%d rows of %v, one bulk transaction, no gate, no audit", total, registerTables)}, nil
}

// copyBatch is how many rows copyTable reads before inserting them.
const copyBatch = 8192

// copyTable inserts every row of table in d into tx, a batch at a time,
// and returns how many rows and the time spent reading them.
func copyTable(ctx context.Context, d *db.DB, tx *db.Tx, table string) (int, time.Duration, error) {
	t := time.Now()
	rows, err := d.Query(ctx, "SELECT * FROM "+table)
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", table, err)
	}
	reading := time.Since(t)
	total := 0
	batch := make([][]any, 0, copyBatch)
	insert := func() error {
		if err := db.InsertMany(ctx, tx, table, cols, batch); err != nil {
			return fmt.Errorf("raw bulk insert into %s: %w", table, err)
		}
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	t = time.Now()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return total, reading, fmt.Errorf("read %s: %w", table, err)
		}
		if batch = append(batch, vals); len(batch) == copyBatch {
			reading += time.Since(t)
			if err := insert(); err != nil {
				return total, reading, err
			}
			t = time.Now()
		}
	}
	if err := rows.Err(); err != nil {
		return total, reading, fmt.Errorf("read %s: %w", table, err)
	}
	reading += time.Since(t)
	return total, reading, insert()
}

// rawSearchQuery is the query a four-item search runs (name key, date of
// birth, sex, not removed), with the driver alone.
const rawSearchQuery = `SELECT ir.resident_id, ir.version, ir.resident_code, ir.individual_number, ir.family_name, ir.given_name,
	ir.family_name_kana, ir.given_name_kana, ir.date_of_birth, ir.sex, ir.address, nk.kind FROM name_key nk
	JOIN resident r ON r.id = nk.resident_id
	JOIN identity_record ir ON ir.id = r.record_id
	WHERE nk.key = ? AND nk.date_of_birth = ? AND r.sex = ? AND r.removed = ? LIMIT 200`

// rawSearch measures the baseline of the search rows: the register's
// four-item search query with the driver alone, its keys folded before the
// clock starts, every row read; no gate, no audit.
func rawSearch(ctx context.Context, d *db.DB, recs []resident.IdentityRecord, workers int, dur time.Duration) (Row, error) {
	stmt, err := d.PrepareRaw(ctx, rawSearchQuery)
	if err != nil {
		return Row{}, fmt.Errorf("raw search: %w", err)
	}
	defer stmt.Close()
	type query struct {
		key, dob string
		sex      int
	}
	qs := make([]query, min(len(recs), 1<<16))
	for i := range qs {
		r := recs[(i*7919)%len(recs)]
		qs[i] = query{jptext.NameKey(r.FamilyName + r.GivenName), r.DateOfBirth.Format(time.DateOnly), int(r.Sex)}
	}
	var next atomic.Int64
	r := measure(ctx, workers, dur, []string{""}, func(string) error {
		q := qs[int(next.Add(1))%len(qs)]
		rows, err := stmt.QueryContext(ctx, q.key, q.dob, q.sex, false)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var id, version int64
			var code, number, family, given, familyKana, givenKana, kind sql.NullString
			var dob, address sql.NullString
			var sex int
			if err := rows.Scan(&id, &version, &code, &number, &family, &given, &familyKana, &givenKana, &dob, &sex, &address, &kind); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("raw search found no one for a registered resident")
		}
		return nil
	})
	r.ID, r.What = RowRawSearch, fmt.Sprintf("raw search query, %d workers (baseline)", workers)
	r.Note = "name key + date of birth + sex, no gate, no audit" + r.Note
	return r, nil
}

// sha256Rate measures the machine's SHA-256 rate over the bytes verify
// hashes: each entry's stored payload (its leaf) and the tree above the
// leaves, one node hash per entry; the payloads are read before the clock
// starts. It is reported in entries per second, as verify is.
func sha256Rate(ctx context.Context, d *db.DB) (Row, error) {
	rows, err := d.Query(ctx, `SELECT payload FROM audit_entry ORDER BY seq`)
	if err != nil {
		return Row{}, fmt.Errorf("read the log's payloads: %w", err)
	}
	var payloads [][]byte
	var size int64
	for rows.Next() {
		var p []byte
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return Row{}, fmt.Errorf("read the log's payloads: %w", err)
		}
		payloads = append(payloads, p)
		size += int64(len(p))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Row{}, fmt.Errorf("read the log's payloads: %w", err)
	}
	start := time.Now()
	merkleRoot(payloads)
	el := time.Since(start)
	n := int64(len(payloads))
	return Row{ID: RowSHA256, What: fmt.Sprintf("SHA-256 over the same %d entries (baseline)", n), Ops: n, Elapsed: el, PerSecond: float64(n) / el.Seconds(),
		Note: fmt.Sprintf("%.1f MB of payloads + %d tree nodes, one core, in memory: %.0f MB/s", float64(size)/1e6, max(n-1, 0), float64(size)/1e6/el.Seconds())}, nil
}

// merkleRoot hashes every payload as a leaf and the tree above them (n-1
// node hashes for n leaves), as RFC 6962 and tlog do.
func merkleRoot(payloads [][]byte) tlog.Hash {
	var stack []tlog.Hash
	for i, p := range payloads {
		h := tlog.RecordHash(p)
		// Merge while the leaf count's low bits are ones: the right edge of
		// a tree of i+1 leaves.
		for n := i; n&1 == 1; n >>= 1 {
			h = tlog.NodeHash(stack[len(stack)-1], h)
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, h)
	}
	if len(stack) == 0 {
		return tlog.Hash{}
	}
	h := stack[len(stack)-1]
	for i := len(stack) - 2; i >= 0; i-- {
		h = tlog.NodeHash(stack[i], h)
	}
	return h
}
