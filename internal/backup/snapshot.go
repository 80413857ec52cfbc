package backup

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"jukinet/internal/db"
)

// table is one table of the node's schema, as the SQLite snapshot has it.
type table struct {
	Name string
	Cols []string
	// Refs are the tables its foreign keys name.
	Refs []string
}

// schemaTables lists the tables of a SQLite database in an order where a
// table comes after every table its foreign keys name, so that rows can be
// copied table by table with the keys checked. goose's own table and
// SQLite's are left out: the schema version travels in the manifest.
func schemaTables(ctx context.Context, q db.Querier) ([]table, error) {
	rows, err := q.Query(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list tables: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	byName := map[string]*table{}
	for _, n := range names {
		t := &table{Name: n}
		cols, err := q.Query(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, n)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", n, err)
		}
		for cols.Next() {
			var c string
			if err := cols.Scan(&c); err != nil {
				cols.Close()
				return nil, fmt.Errorf("columns of %s: %w", n, err)
			}
			t.Cols = append(t.Cols, c)
		}
		cols.Close()
		refs, err := q.Query(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n)
		if err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", n, err)
		}
		for refs.Next() {
			var r string
			if err := refs.Scan(&r); err != nil {
				refs.Close()
				return nil, fmt.Errorf("foreign keys of %s: %w", n, err)
			}
			if r != n {
				t.Refs = append(t.Refs, r)
			}
		}
		refs.Close()
		byName[n] = t
	}
	// Depth-first: each table after the tables it refers to.
	var out []table
	done := map[string]bool{}
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		if done[n] {
			return nil
		}
		if slices.Contains(path, n) {
			return fmt.Errorf("foreign keys form a cycle: %s", strings.Join(append(path, n), " → "))
		}
		t, ok := byName[n]
		if !ok {
			return nil
		}
		for _, r := range t.Refs {
			if err := visit(r, append(path, n)); err != nil {
				return err
			}
		}
		done[n] = true
		out = append(out, *t)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// countRows counts each table's rows.
func countRows(ctx context.Context, q db.Querier, tables []table) (map[string]int64, error) {
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM `+t.Name).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t.Name, err)
		}
		counts[t.Name] = n
	}
	return counts, nil
}

// copyBatch is how many rows are held in memory at a time while copying.
const copyBatch = 5000

// converter turns a value read from the source into what the destination
// column takes; nil keeps values as read.
type converter func(tbl, col string, v any) (any, error)

// copyTables copies every row of tables from src (one read transaction:
// one instant) into dst in tx, emptying dst's tables first (a freshly
// migrated database may hold the rows its migrations seed).
func copyTables(ctx context.Context, src db.Querier, tx *db.Tx, tables []table, conv converter) (map[string]int64, error) {
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := tx.Exec(ctx, `DELETE FROM `+tables[i].Name); err != nil {
			return nil, fmt.Errorf("empty %s: %w", tables[i].Name, err)
		}
	}
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		n, err := copyTable(ctx, src, tx, t, conv)
		if err != nil {
			return nil, err
		}
		counts[t.Name] = n
	}
	return counts, nil
}

func copyTable(ctx context.Context, src db.Querier, tx *db.Tx, t table, conv converter) (int64, error) {
	quoted := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		quoted[i] = `"` + c + `"`
	}
	rows, err := src.Query(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+t.Name)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", t.Name, err)
	}
	defer rows.Close()
	var n int64
	batch := make([][]any, 0, copyBatch)
	flush := func() error {
		if err := db.InsertMany(ctx, tx, t.Name, quoted, batch); err != nil {
			return fmt.Errorf("copy %s: %w", t.Name, err)
		}
		batch = batch[:0]
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(t.Cols))
		ptrs := make([]any, len(t.Cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("read %s: %w", t.Name, err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = slices.Clone(b) // the driver may reuse its buffer
			}
			if conv != nil {
				c, err := conv(t.Name, t.Cols[i], vals[i])
				if err != nil {
					return 0, fmt.Errorf("copy %s.%s: %w", t.Name, t.Cols[i], err)
				}
				vals[i] = c
			}
		}
		batch = append(batch, vals)
		n++
		if len(batch) == copyBatch {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", t.Name, err)
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// postgresTypes reads the data type of every column of the current schema
// of a PostgreSQL database: table → column → type.
func postgresTypes(ctx context.Context, q db.Querier) (map[string]map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("read column types: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var t, c, typ string
		if err := rows.Scan(&t, &c, &typ); err != nil {
			return nil, fmt.Errorf("read column types: %w", err)
		}
		if out[t] == nil {
			out[t] = map[string]string{}
		}
		out[t][c] = typ
	}
	return out, rows.Err()
}

// sqliteTimeLayouts are the ways a time may be kept as text in SQLite.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// toPostgres converts values read from a SQLite snapshot into the types of
// the PostgreSQL columns they go to (types: table → column → data type).
func toPostgres(types map[string]map[string]string) converter {
	return func(tbl, col string, v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		typ := types[tbl][col]
		switch typ {
		case "boolean":
			switch x := v.(type) {
			case bool:
				return x, nil
			case int64:
				return x != 0, nil
			case string:
				return x == "1" || strings.EqualFold(x, "true"), nil
			}
		case "bigint", "integer", "smallint":
			switch x := v.(type) {
			case int64:
				return x, nil
			case bool:
				if x {
					return int64(1), nil
				}
				return int64(0), nil
			case float64:
				return int64(x), nil
			}
		case "bytea":
			switch x := v.(type) {
			case []byte:
				return x, nil
			case string:
				return []byte(x), nil
			}
		case "text":
			switch x := v.(type) {
			case string:
				return x, nil
			case []byte:
				return string(x), nil
			case int64:
				return fmt.Sprint(x), nil
			case time.Time:
				return x.UTC().Format(time.RFC3339Nano), nil
			}
		case "timestamp with time zone", "timestamp without time zone":
			switch x := v.(type) {
			case time.Time:
				return x.UTC(), nil
			case string:
				for _, l := range sqliteTimeLayouts {
					if t, err := time.Parse(l, x); err == nil {
						return t.UTC(), nil
					}
				}
				return nil, fmt.Errorf("time %q is in no known layout", x)
			}
		case "double precision", "real", "numeric":
			switch x := v.(type) {
			case float64:
				return x, nil
			case int64:
				return float64(x), nil
			}
		case "":
			return nil, fmt.Errorf("no such column in the PostgreSQL schema")
		default:
			return v, nil
		}
		return nil, fmt.Errorf("a %T cannot go into a %s column", v, typ)
	}
}

// resetSequences sets every identity or serial column's sequence of a
// PostgreSQL schema past the largest value copied into it, so that the
// next row inserted gets a new number.
func resetSequences(ctx context.Context, tx *db.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`)
	if err != nil {
		return fmt.Errorf("find sequences: %w", err)
	}
	type tc struct{ t, c string }
	var cols []tc
	for rows.Next() {
		var x tc
		if err := rows.Scan(&x.t, &x.c); err != nil {
			rows.Close()
			return fmt.Errorf("find sequences: %w", err)
		}
		cols = append(cols, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find sequences: %w", err)
	}
	for _, x := range cols {
		var seq sql.NullString
		if err := tx.QueryRow(ctx, `SELECT pg_get_serial_sequence(?, ?)`, x.t, x.c).Scan(&seq); err != nil {
			return fmt.Errorf("sequence of %s.%s: %w", x.t, x.c, err)
		}
		if !seq.Valid {
			continue
		}
		if _, err := tx.Exec(ctx, `SELECT setval(?::regclass, COALESCE((SELECT MAX("`+x.c+`") FROM `+x.t+`), 0) + 1, false)`, seq.String); err != nil {
			return fmt.Errorf("set sequence of %s.%s: %w", x.t, x.c, err)
		}
	}
	return nil
}
