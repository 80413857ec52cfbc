package federation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/node"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// Status is the state of this node's links.
type Status struct {
	Peers []Peer
	// Upstream delivery.
	LastChange  int64     // this node's last change sequence
	Acked       int64     // the upstream's acknowledgement
	Pending     int64     // changes not yet acknowledged
	OldestSince time.Time // the oldest unacknowledged change (lag)
	LastTry     time.Time
	LastError   string
	// Delivery is the state of the delivery upstream ("" without an
	// upstream): DeliveryOK, DeliverySuspended or DeliveryFailing.
	Delivery string
	// Suspension is this node's active outbound suspension, if any.
	Suspension *staff.Suspension
	// The latest checkpoint of this node's audit log its witness cosigned.
	CosignedSize int64
	CosignedAt   time.Time
	Witness      string // the peer that cosigns this node's checkpoints
	// Downstream receipt, by source.
	Inbox  []InboxState
	Alerts []Alert
}

// InboxState is what was received from one source.
type InboxState struct {
	Source     string
	Last       int64
	StoppedAt  time.Time
	StopReason string
}

// Alert is a refused batch.
type Alert struct {
	At                   time.Time
	Source, Kind, Detail string
}

// States of the delivery upstream (Status.Delivery).
const (
	// DeliveryOK: the last try succeeded (or nothing was to be sent).
	DeliveryOK = "ok"
	// DeliverySuspended: an outbound suspension here, or the upstream's
	// suspension of this node's notifications, refuses delivery; it
	// resumes from the cursor when the suspension is lifted.
	DeliverySuspended = "suspended"
	// DeliveryFailing: the last try failed (the upstream unreachable,
	// refusing the batch …); the sender tries again, backing off.
	DeliveryFailing = "failing"
)

// GetStatus reads the node's federation status.
func GetStatus(ctx context.Context, n *node.Node) (Status, error) {
	var st Status
	var err error
	if st.Peers, err = Peers(ctx, n.DB); err != nil {
		return st, err
	}
	if up, _ := upstream(ctx, n); up != nil {
		var try sql.NullTime
		err := n.DB.QueryRow(ctx, `SELECT last_acked, last_try, last_error FROM fed_delivery WHERE peer = ?`, up.Code).Scan(&st.Acked, &try, &st.LastError)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return st, fmt.Errorf("read delivery: %w", err)
		}
		if try.Valid {
			st.LastTry = try.Time
		}
		if err := n.DB.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0), COUNT(CASE WHEN seq > ? THEN 1 END) FROM fed_outbox`, st.Acked).Scan(&st.LastChange, &st.Pending); err != nil {
			return st, fmt.Errorf("read outbox: %w", err)
		}
		if st.Pending > 0 {
			if err := n.DB.QueryRow(ctx, `SELECT created_at FROM fed_outbox WHERE seq > ? ORDER BY seq LIMIT 1`, st.Acked).Scan(&st.OldestSince); err != nil {
				return st, fmt.Errorf("read outbox: %w", err)
			}
		}
		sps, err := staff.ListSuspensions(ctx, n.DB, true)
		if err != nil {
			return st, err
		}
		for _, sp := range sps {
			if sp.Scope == staff.ScopeOutbound {
				st.Suspension = &sp
				break
			}
		}
		switch {
		case st.Suspension != nil || strings.HasPrefix(st.LastError, SuspendedPrefix):
			st.Delivery = DeliverySuspended
		case st.LastError != "":
			st.Delivery = DeliveryFailing
		default:
			st.Delivery = DeliveryOK
		}
	}
	if w, _ := witness(ctx, n); w != nil {
		st.Witness = w.Code
	}
	var at sql.NullTime
	if err := n.DB.QueryRow(ctx, `SELECT size, at FROM audit_cosignature ORDER BY size DESC LIMIT 1`).Scan(&st.CosignedSize, &at); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("read cosignatures: %w", err)
	}
	if at.Valid {
		st.CosignedAt = at.Time
	}
	rows, err := n.DB.Query(ctx, `SELECT source, last_seq, stopped_at, stop_reason FROM fed_inbox ORDER BY source`)
	if err != nil {
		return st, fmt.Errorf("read inbox: %w", err)
	}
	for rows.Next() {
		var s InboxState
		var stopped sql.NullTime
		if err := rows.Scan(&s.Source, &s.Last, &stopped, &s.StopReason); err != nil {
			rows.Close()
			return st, err
		}
		if stopped.Valid {
			s.StoppedAt = stopped.Time
		}
		st.Inbox = append(st.Inbox, s)
	}
	rows.Close()
	rows, err = n.DB.Query(ctx, `SELECT at, source, kind, detail FROM fed_alert ORDER BY id DESC LIMIT 50`)
	if err != nil {
		return st, fmt.Errorf("read alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Alert
		if err := rows.Scan(&a.At, &a.Source, &a.Kind, &a.Detail); err != nil {
			return st, err
		}
		st.Alerts = append(st.Alerts, a)
	}
	return st, rows.Err()
}

// Resume lets a stopped source send again, once the cause is resolved;
// decided by the policies (manage-peers) and logged.
func Resume(ctx context.Context, n *node.Node, who staff.Who, source string) error {
	if err := resident.CheckValues(resident.Value{Field: FieldPeerCode, Text: source, Required: true}); err != nil {
		return err
	}
	e := auditlog.Entry{Action: "federation.resume", Query: "source:" + source}
	return administer(ctx, n, who, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		res, err := tx.Exec(ctx, `UPDATE fed_inbox SET stopped_at = NULL, stop_reason = '' WHERE source = ? AND stopped_at IS NOT NULL`, source)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, fmt.Sprintf("%s is not stopped", source), fmt.Sprintf("%s は停止されていません", source))
		}
		return nil
	})
}
