package protect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/staff"
)

// Wire is a protection as it travels upstream with the notifications
// (federation.Batch.Protections): the restriction, never the
// circumstances. The receiver stores it under the sender's code and
// enforces it as its own.
type Wire struct {
	ID           int64  `json:"id"` // the sender's id of the protection
	ResidentCode string `json:"resident_code"`
	StartsOn     string `json:"starts_on"` // YYYY-MM-DD (JST)
	EndsOn       string `json:"ends_on"`
	Department   string `json:"department"`
	Category     string `json:"category"`
	EndedOn      string `json:"ended_on,omitempty"`
	// EndedFrom is the instant an early end takes effect (RFC 3339).
	EndedFrom string `json:"ended_from,omitempty"`
}

func (p Protection) wire() Wire {
	w := Wire{ID: p.ID, ResidentCode: p.ResidentCode, StartsOn: p.Start.Format(time.DateOnly), EndsOn: p.End.Format(time.DateOnly),
		Department: p.Department, Category: p.Category}
	if p.Ended != nil {
		w.EndedOn, w.EndedFrom = p.Ended.Day.Format(time.DateOnly), p.Ended.From.UTC().Format(time.RFC3339Nano)
	}
	return w
}

// check refuses a received protection that is not well-formed, and writes
// its code as the gate does (the policy engine matches codes exactly).
func (w *Wire) check() error {
	code, err := ids.ParseResidentCode(w.ResidentCode)
	if err != nil {
		return fmt.Errorf("protection %d: resident_code: %w", w.ID, err)
	}
	w.ResidentCode = string(code)
	if _, ok := CategoryByID(w.Category); !ok {
		return fmt.Errorf("protection %d: unknown category %.20q", w.ID, w.Category)
	}
	if w.ID <= 0 || len(w.Department) == 0 || len(w.Department) > 100 {
		return fmt.Errorf("protection %d: id and department (at most 100 bytes) are needed", w.ID)
	}
	start, err := parseDay(w.StartsOn)
	if err != nil {
		return fmt.Errorf("protection %d: starts_on: %w", w.ID, err)
	}
	end, err := parseDay(w.EndsOn)
	if err != nil {
		return fmt.Errorf("protection %d: ends_on: %w", w.ID, err)
	}
	if end.Before(start) {
		return fmt.Errorf("protection %d: ends before it starts", w.ID)
	}
	if w.EndedOn != "" {
		if _, err := parseDay(w.EndedOn); err != nil {
			return fmt.Errorf("protection %d: ended_on: %w", w.ID, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, w.EndedFrom); err != nil {
			return fmt.Errorf("protection %d: ended_from: %w", w.ID, err)
		}
	}
	return nil
}

// Outbound returns the protections changed (marked, ended or received)
// since the last delivery to peer, and the change sequence to acknowledge
// once the peer has them (Delivered). Reading them is logged with the
// residents they concern when there are any (the sending is a provision
// of the restriction).
func (r *Register) Outbound(ctx context.Context, peer string) ([]Wire, int64, error) {
	var last int64
	err := r.db.QueryRow(ctx, `SELECT last_seq FROM protected_delivery WHERE peer = ?`, peer).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("read protection delivery to %s: %w", peer, err)
	}
	rows, err := r.db.Query(ctx, `SELECT `+columns+`, changed_seq FROM protected_resident WHERE changed_seq > ? ORDER BY changed_seq, id`, last)
	if err != nil {
		return nil, 0, fmt.Errorf("list protections for %s: %w", peer, err)
	}
	defer rows.Close()
	var out []Wire
	upTo := last
	for rows.Next() {
		var changed int64
		p, err := scan(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &changed)...) }))
		if err != nil {
			return nil, 0, fmt.Errorf("list protections for %s: %w", peer, err)
		}
		out = append(out, p.wire())
		upTo = changed
	}
	return out, upTo, rows.Err()
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// Delivered records that peer holds the protections changed up to seq
// (its acknowledgement of the batch that carried them), logged.
func (r *Register) Delivered(ctx context.Context, peer string, ws []Wire, seq int64) error {
	codes := make([]string, len(ws))
	for i, w := range ws {
		codes[i] = w.ResidentCode
	}
	e := auditlog.Entry{Node: r.node, Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "federation"}, Origin: "node:" + r.node,
		Action: "protect.notify", Query: "peer:" + peer, Detail: fmt.Sprintf("%d protections delivered, through change %d", len(ws), seq),
		Decision: auditlog.Allow, Policy: "jukinet:notify-upstream", Why: "protections travel with the notifications to the upstream node",
		Outcome: auditlog.OutcomeOK, Count: len(ws), Subjects: codes}
	_, workErr, err := r.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, _ int64, _ *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `INSERT INTO protected_delivery (peer, last_seq) VALUES (?, ?)
			ON CONFLICT (peer) DO UPDATE SET last_seq = CASE WHEN excluded.last_seq > protected_delivery.last_seq THEN excluded.last_seq ELSE protected_delivery.last_seq END`, peer, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("record protection delivery to %s: %w", peer, err)
	}
	if workErr != nil {
		return fmt.Errorf("record protection delivery to %s: %w", peer, workErr)
	}
	return nil
}

// Receive stores the protections a registered downstream node sent with
// its notifications (the caller has checked the batch's signature), each
// under the source's code and id: a new one is added, a known one updated
// (an early end). A protection only restricts, and a source changes only
// its own, so nothing a source sends widens anyone's access. Logged in the
// transaction of the change, which bumps the staff version.
func (r *Register) Receive(ctx context.Context, source string, ws []Wire) error {
	if len(ws) == 0 {
		return nil
	}
	codes := make([]string, len(ws))
	for i := range ws {
		if err := ws[i].check(); err != nil {
			return err
		}
		codes[i] = ws[i].ResidentCode
	}
	e := auditlog.Entry{Node: r.node, Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: source}, Origin: "node:" + source,
		Action: "protect.receive", Query: "source:" + source, Detail: fmt.Sprintf("%d protections received", len(ws)),
		Decision: auditlog.Allow, Policy: "jukinet:downstream-peer", Why: "signed by a registered downstream node",
		Outcome: auditlog.OutcomeOK, Count: len(ws), Subjects: codes}
	_, workErr, err := r.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		for _, w := range ws {
			if !strings.Contains(w.Department, ":") {
				// Named with the body that decided, as it travels on.
				w.Department = source + ":" + w.Department
			}
			var endedOn, endedFrom any
			if w.EndedOn != "" {
				t, _ := time.Parse(time.RFC3339Nano, w.EndedFrom) // checked
				if t.After(e.Time) && jptext.Midnight(t).Equal(jptext.Midnight(e.Time)) {
					// Ended today at the source, by a clock a little ahead
					// of this node's: ended here on receipt.
					t = e.Time
				}
				endedOn, endedFrom = w.EndedOn, t
			}
			res, err := tx.Exec(ctx, `UPDATE protected_resident SET resident_code = ?, starts_on = ?, ends_on = ?, department = ?, category = ?,
				ended_on = ?, ended_from = ?, ended_by = ?, end_seq = ?, changed_seq = ? WHERE source = ? AND source_id = ?`,
				w.ResidentCode, w.StartsOn, w.EndsOn, w.Department, w.Category, endedOn, endedFrom, nullIf(w.EndedOn != "", "node:"+source), nullIf(w.EndedOn != "", seq), seq, source, w.ID)
			if err != nil {
				return fmt.Errorf("update protection %d of %s: %w", w.ID, source, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO protected_resident (resident_code, starts_on, ends_on, department, category, source, source_id,
				recorded_by, recorded_at, seq, ended_on, ended_from, ended_by, end_seq, changed_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				w.ResidentCode, w.StartsOn, w.EndsOn, w.Department, w.Category, source, w.ID, "node:"+source, e.Time, seq,
				endedOn, endedFrom, nullIf(w.EndedOn != "", "node:"+source), nullIf(w.EndedOn != "", seq), seq); err != nil {
				return fmt.Errorf("store protection %d of %s: %w", w.ID, source, err)
			}
		}
		return staff.BumpVersion(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("record protections from %s: %w", source, err)
	}
	if workErr != nil {
		return fmt.Errorf("store protections from %s: %w", source, workErr)
	}
	r.Notify()
	return nil
}

// nullIf is v when ok, else NULL.
func nullIf(ok bool, v any) any {
	if ok {
		return v
	}
	return nil
}
