package auditlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"jukinet/internal/db"
)

// ActionCount is how many entries of one action a period holds, and how many of
// them were refused (decision deny).
type ActionCount struct {
	Total, Denied int64
}

// CountActions counts, per action, the entries made at or after from and before
// to, up to seq upTo, and those of them refused: the figures a system audit
// (internal/sysaudit) records as its evidence, reproducible from the log up
// to entry upTo. Entries are canonical JSON, so the bytes "decision":"deny"
// occur in an entry only as its decision (see Tally); pruned entries count
// as allowed.
func CountActions(ctx context.Context, d db.Querier, from, to time.Time, upTo int64) (map[string]ActionCount, error) {
	find := `instr(payload, ?) > 0`
	if d.Dialect() == db.Postgres {
		find = `position(?::bytea in payload) > 0`
	}
	rows, err := d.Query(ctx, `SELECT action, COUNT(*), COALESCE(SUM(CASE WHEN `+find+` THEN 1 ELSE 0 END), 0)
		FROM audit_entry WHERE at >= ? AND at < ? AND seq <= ? GROUP BY action`,
		[]byte(`"decision":"deny"`), from.UTC(), to.UTC(), upTo)
	if err != nil {
		return nil, fmt.Errorf("count audit entries by action: %w", err)
	}
	defer rows.Close()
	out := map[string]ActionCount{}
	for rows.Next() {
		var action string
		var t ActionCount
		if err := rows.Scan(&action, &t.Total, &t.Denied); err != nil {
			return nil, fmt.Errorf("count audit entries by action: %w", err)
		}
		out[action] = t
	}
	return out, rows.Err()
}

// Denials returns the refused entries (decision deny) made at or after
// from and before to, up to seq upTo, oldest first, decoded: which policy
// refused what (a system audit counts them by policy).
func Denials(ctx context.Context, d db.Querier, from, to time.Time, upTo int64) ([]Listed, error) {
	find := `instr(payload, ?) > 0`
	if d.Dialect() == db.Postgres {
		find = `position(?::bytea in payload) > 0`
	}
	rows, err := d.Query(ctx, `SELECT seq, at, actor_id, action, payload FROM audit_entry
		WHERE at >= ? AND at < ? AND seq <= ? AND payload IS NOT NULL AND `+find+` ORDER BY seq`,
		from.UTC(), to.UTC(), upTo, []byte(`"decision":"deny"`))
	if err != nil {
		return nil, fmt.Errorf("list refused audit entries: %w", err)
	}
	defer rows.Close()
	var out []Listed
	for rows.Next() {
		l, err := scanListed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Cosignature is a checkpoint of this node's log cosigned by a witness
// (another node, internal/federation).
type Cosignature struct {
	Size    int64  // the checkpoint's tree size
	Witness string // the witness's key name
	At      time.Time
}

// LatestCosignature returns the largest checkpoint a witness cosigned, and
// false when none was.
func LatestCosignature(ctx context.Context, q db.Querier) (Cosignature, bool, error) {
	var c Cosignature
	err := q.QueryRow(ctx, `SELECT size, witness, at FROM audit_cosignature ORDER BY size DESC, witness LIMIT 1`).Scan(&c.Size, &c.Witness, &c.At)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Cosignature{}, false, nil
	case err != nil:
		return Cosignature{}, false, fmt.Errorf("read the latest cosigned checkpoint: %w", err)
	}
	return c, true, nil
}

// LastSeq is the number of the log's newest entry, -1 when it is empty:
// what a reading of the log is reproducible up to.
func LastSeq(ctx context.Context, q db.Querier) (int64, error) {
	var n int64
	if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(seq), -1) FROM audit_entry`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read the audit log's size: %w", err)
	}
	return n, nil
}
