package records

import (
	"context"
	"fmt"
	"time"

	"jukinet/internal/db"
)

// Notify records, in the change's transaction, every version the audit
// entry auditSeq made, for notification to the upstream node (the outbox
// of internal/federation). It does nothing while the node has no upstream
// peer. previousCode is the code a 住民票コード変更 replaced.
func Notify(ctx context.Context, tx *db.Tx, auditSeq int64, previousCode string, now time.Time) error {
	var upstream int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM fed_peer WHERE role = 'upstream'`).Scan(&upstream); err != nil {
		return fmt.Errorf("check for an upstream node: %w", err)
	}
	if upstream == 0 {
		return nil
	}
	if err := lockOutbox(ctx, tx); err != nil {
		return fmt.Errorf("record the change for the upstream node: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO fed_outbox (seq, record_id, previous_code, created_at)
		SELECT `+nextOutboxSeq+` + ROW_NUMBER() OVER (ORDER BY id), id, ?, ? FROM identity_record WHERE audit_seq = ? ORDER BY id`, previousCode, now, auditSeq); err != nil {
		return fmt.Errorf("record the change for the upstream node: %w", err)
	}
	return nil
}

// nextOutboxSeq is the last outbox sequence given, to which a new row adds
// its number. The outbox sequence must have no gaps: the upstream applies
// a batch only if it continues the last sequence it applied, and takes a
// gap for lost changes (a sequence-gap alert, the source stopped). Rows are
// never deleted, so the largest is the last given; a transaction that rolls
// back gives its numbers back. (PostgreSQL's identity column does not: a
// transaction cut off by a kill, a lost connection or a failed statement
// left a gap that stopped delivery for good.) A node restored from a backup
// and recovered holds fewer rows than its upstream applied: recovery moves
// the delivery cursor (fed_delivery.last_acked) to the upstream's last, and
// the next change is numbered after it, never taken upstream for a replay.
const nextOutboxSeq = `(SELECT COALESCE(MAX(m), 0) FROM (SELECT MAX(seq) AS m FROM fed_outbox UNION ALL SELECT MAX(last_acked) FROM fed_delivery) AS last_given)`

// lockOutbox makes the transaction the outbox's only writer until it ends,
// so that the largest sequence it reads is the last committed one and no
// later one commits before it (PostgreSQL; SQLite has one writer). Readers
// are not held up.
func lockOutbox(ctx context.Context, tx *db.Tx) error {
	if tx.Dialect() != db.Postgres {
		return nil
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE fed_outbox IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock the outbox: %w", err)
	}
	return nil
}

// Outbound is a version waiting in the outbox.
type Outbound struct {
	Seq          int64 // the outbox sequence
	PreviousCode string
	Repair       bool // queued again by a consistency check
	Version
}

// Outbox returns up to limit versions after outbox sequence after, in order.
func Outbox(ctx context.Context, q db.Querier, after int64, limit int) ([]Outbound, error) {
	rows, err := q.Query(ctx, `SELECT o.seq, o.previous_code, o.repair, `+recordColumns+` FROM fed_outbox o JOIN identity_record ir ON ir.id = o.record_id
		WHERE o.seq > ? ORDER BY o.seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	defer rows.Close()
	var out []Outbound
	for rows.Next() {
		var o Outbound
		var dest = []any{&o.Seq, &o.PreviousCode, &o.Repair}
		v, err := scanVersion(prefixScanner{rows, dest})
		if err != nil {
			return nil, fmt.Errorf("read the outbox: %w", err)
		}
		o.Version = v
		out = append(out, o)
	}
	return out, rows.Err()
}

// prefixScanner scans leading columns into prefix, the rest into the
// destinations scanVersion gives.
type prefixScanner struct {
	s      scanner
	prefix []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.s.Scan(append(p.prefix, dest...)...) }

// Undelivered returns the resident codes, current and replaced (住民票コード
// 変更), of the outbox's versions after sequence after: the changes the
// upstream has not acknowledged yet.
func Undelivered(ctx context.Context, q db.Querier, after int64) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT ir.resident_code, o.previous_code FROM fed_outbox o JOIN identity_record ir ON ir.id = o.record_id WHERE o.seq > ?`, after)
	if err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var code, previous string
		if err := rows.Scan(&code, &previous); err != nil {
			return nil, fmt.Errorf("read the outbox: %w", err)
		}
		out[code] = true
		if previous != "" {
			out[previous] = true
		}
	}
	return out, rows.Err()
}
