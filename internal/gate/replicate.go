package gate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/gate/internal/records"
	"jukinet/internal/ids"
	"jukinet/internal/resident"
)

// Notification is a change waiting to be notified upstream.
type Notification struct {
	Seq          int64 // this node's change sequence
	PreviousCode string
	Repair       bool // queued again by a consistency check: restore it upstream
	Record
}

// Outbound returns up to limit changes after sequence after, to notify the
// upstream node. Sending them is a provision of every resident they concern,
// so it is logged like one.
func (g *Gate) Outbound(ctx context.Context, req Request, after int64, limit int) ([]Notification, error) {
	e, v := g.begin(ctx, req, "notify")
	e.Query = fmt.Sprintf("after=%d limit=%d", after, limit)
	if !v.Allow {
		return nil, g.deny(ctx, e, v)
	}
	out, err := records.Outbox(ctx, g.db, after, limit)
	if err != nil {
		return nil, g.fail(ctx, e, err)
	}
	if len(out) == 0 {
		return nil, nil // nothing provided, nothing to log
	}
	ns := make([]Notification, len(out))
	for i, o := range out {
		ns[i] = Notification{Seq: o.Seq, PreviousCode: o.PreviousCode, Repair: o.Repair, Record: fromVersion(o.Version)}
		e.Subjects = append(e.Subjects, string(o.ResidentCode))
	}
	e.Count, e.Provision = len(ns), g.provision(req, "notify", Verdict{})
	e.Detail = fmt.Sprintf("changes %d..%d", out[0].Seq, out[len(out)-1].Seq)
	if err := g.record(ctx, e); err != nil {
		return nil, err
	}
	return ns, nil
}

// Replicated is a change a downstream node notified.
type Replicated struct {
	Seq          int64 // the source's change sequence
	PreviousCode string
	Repair       bool // restore the record even where the copy was altered in place
	Record       resident.IdentityRecord
}

// SequenceError is a batch that does not continue its source's sequence.
type SequenceError struct {
	Source      string
	Last, First int64
}

func (e *SequenceError) Error() string {
	return fmt.Sprintf("changes from %s: sequence gap: last applied %d, batch starts at %d", e.Source, e.Last, e.First)
}

// ErrSourceStopped refuses a source stopped after an alert.
var ErrSourceStopped = errors.New("this source is stopped after an alert; resume it (jukinet federation resume) once resolved")

// Replicate applies changes from a downstream source exactly once: changes
// at or below the source's last applied sequence are skipped (duplicates,
// replays), the rest must continue it without a gap, and all apply in one
// transaction with one audit entry, together with the source's new
// sequence. Changes are forwarded upstream in turn when this node has one.
func (g *Gate) Replicate(ctx context.Context, req Request, source string, changes []Replicated) (applied int, last int64, err error) {
	e, v := g.begin(ctx, req, "replicate")
	e.Query = fmt.Sprintf("source=%s changes=%d", source, len(changes))
	if len(changes) > 0 {
		e.Query += fmt.Sprintf(" seq=%d..%d", changes[0].Seq, changes[len(changes)-1].Seq)
	}
	if !v.Allow {
		return 0, 0, g.deny(ctx, e, v)
	}
	for _, c := range changes {
		if errs := c.Record.Validate(g.now()); len(errs) > 0 {
			return 0, 0, g.fail(ctx, e, fieldErrors(errs))
		}
		if !g.inScope(c.Record.LocalGov) {
			return 0, 0, g.fail(ctx, e, apperr.New(apperr.Invalid, g.scopeError(c.Record.LocalGov), "このノードが保有しない地方公共団体の記録です"))
		}
	}
	_, workErr, logErr := g.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		var stopped sql.NullTime
		err := tx.QueryRow(ctx, `SELECT last_seq, stopped_at FROM fed_inbox WHERE source = ?`, source).Scan(&last, &stopped)
		if isNoRows(err) {
			last = 0
			if _, err := tx.Exec(ctx, `INSERT INTO fed_inbox (source, last_seq) VALUES (?, 0)`, source); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("read the inbox of %s: %w", source, err)
		}
		if stopped.Valid {
			return ErrSourceStopped
		}
		next := last + 1
		previous := map[string]string{}
		// Plain changes of distinct residents are imported together; a
		// repair, a code change or a second change of the same resident
		// first flushes what is pending, so order is kept.
		var pending []resident.IdentityRecord
		pendingCodes := map[ids.ResidentCode]bool{}
		flush := func() error {
			if len(pending) == 0 {
				return nil
			}
			if _, err := records.Import(ctx, tx, pending, seq); err != nil {
				return err
			}
			pending, pendingCodes = pending[:0], map[ids.ResidentCode]bool{}
			return nil
		}
		for _, c := range changes {
			if c.Seq <= last {
				continue // already applied
			}
			if c.Seq != next {
				return &SequenceError{Source: source, Last: last, First: c.Seq}
			}
			var err error
			switch {
			case !c.Repair && c.PreviousCode == "" && !pendingCodes[c.Record.ResidentCode]:
				pending = append(pending, c.Record)
				pendingCodes[c.Record.ResidentCode] = true
			case c.Repair:
				if err = flush(); err == nil {
					_, err = records.Restore(ctx, tx, c.Record, seq)
				}
			case c.PreviousCode != "":
				if err = flush(); err == nil {
					_, _, err = records.Apply(ctx, tx, c.Record, ids.ResidentCode(c.PreviousCode), seq)
					previous[string(c.Record.ResidentCode)] = c.PreviousCode
				}
			default: // the same resident again
				if err = flush(); err == nil {
					pending = append(pending, c.Record)
					pendingCodes[c.Record.ResidentCode] = true
				}
			}
			if err != nil {
				return fmt.Errorf("change %d: %w", c.Seq, err)
			}
			e.Subjects = append(e.Subjects, string(c.Record.ResidentCode))
			applied++
			next++
		}
		if err := flush(); err != nil {
			return err
		}
		last = next - 1
		if _, err := tx.Exec(ctx, `UPDATE fed_inbox SET last_seq = ? WHERE source = ?`, last, source); err != nil {
			return err
		}
		if err := records.Notify(ctx, tx, seq, "", e.Time); err != nil {
			return err
		}
		for code, prev := range previous {
			if _, err := tx.Exec(ctx, `UPDATE fed_outbox SET previous_code = ? WHERE record_id IN (SELECT id FROM identity_record WHERE audit_seq = ? AND resident_code = ?)`, prev, seq, code); err != nil {
				return err
			}
		}
		e.Count = applied
		e.Detail = fmt.Sprintf("applied %d, source now at %d", applied, last)
		return nil
	})
	if logErr != nil {
		return 0, 0, apperr.Wrap(apperr.Unavailable, logErr, "the audit log could not record these changes, so none was applied",
			"アクセス記録（監査ログ）を書き込めなかったため、変更を反映しませんでした。")
	}
	if workErr != nil {
		return 0, 0, workErr
	}
	return applied, last, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Summary returns the consistency summary of local government lg's
// residents (整合性確認). It reveals content hashes, not identity data; the
// read is logged.
func (g *Gate) Summary(ctx context.Context, req Request, lg string) (*records.Summary, error) {
	e, v := g.begin(ctx, req, "check")
	e.Query = "summary local_gov=" + lg
	if !v.Allow {
		return nil, g.deny(ctx, e, v)
	}
	s, err := records.Summarize(ctx, g.db, lg)
	if err != nil {
		return nil, g.fail(ctx, e, err)
	}
	e.Count, e.Detail = s.Total, fmt.Sprintf("%d residents", s.Total)
	if err := g.record(ctx, e); err != nil {
		return nil, err
	}
	g.checks.put(req.Actor.String()+"|"+lg, s)
	return s, nil
}

// checkCache keeps, per requester and local government, the last summary's
// bucket contents for a few minutes: the second phase of a check then
// answers from the same snapshot, without scanning the register again.
type checkCache struct {
	mu      sync.Mutex
	entries map[string]cachedSummary
}

type cachedSummary struct {
	at time.Time
	s  *records.Summary
}

const checkCacheTTL = 5 * time.Minute

func (c *checkCache) put(key string, s *records.Summary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedSummary{}
	}
	for k, v := range c.entries { // few entries: drop the stale ones
		if time.Since(v.at) > checkCacheTTL {
			delete(c.entries, k)
		}
	}
	c.entries[key] = cachedSummary{at: time.Now(), s: s}
}

func (c *checkCache) get(key string) *records.Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[key]
	if !ok || time.Since(v.at) > checkCacheTTL {
		return nil
	}
	return v.s
}

// BucketContents lists the residents (code and content hash) of lg in the
// given buckets of a summary; logged.
func (g *Gate) BucketContents(ctx context.Context, req Request, lg string, buckets []int) (map[int][]records.Held, error) {
	e, v := g.begin(ctx, req, "check")
	e.Query = fmt.Sprintf("buckets local_gov=%s n=%d", lg, len(buckets))
	if !v.Allow {
		return nil, g.deny(ctx, e, v)
	}
	var out map[int][]records.Held
	if s := g.checks.get(req.Actor.String() + "|" + lg); s != nil {
		out = map[int][]records.Held{}
		for _, b := range buckets {
			if b >= 0 && b < records.Buckets {
				out[b] = s.Contents[b]
			}
		}
		e.Detail = "from the summary of the same check"
	} else {
		var err error
		if out, err = records.BucketContents(ctx, g.db, lg, buckets); err != nil {
			return nil, g.fail(ctx, e, err)
		}
	}
	for _, hs := range out {
		e.Count += len(hs)
	}
	if err := g.record(ctx, e); err != nil {
		return nil, err
	}
	return out, nil
}

// Undelivered returns those of codes that have a change this node has not
// yet delivered upstream (outbox sequence after after, the upstream's last
// acknowledgement): a consistency check reports them as on their way, not
// as differences. Which residents have pending changes is logged like any
// read of the register.
func (g *Gate) Undelivered(ctx context.Context, req Request, after int64, codes []string) ([]string, error) {
	e, v := g.begin(ctx, req, "check")
	e.Query = fmt.Sprintf("undelivered after=%d of %d residents", after, len(codes))
	if !v.Allow {
		return nil, g.deny(ctx, e, v)
	}
	pending, err := records.Undelivered(ctx, g.db, after)
	if err != nil {
		return nil, g.fail(ctx, e, err)
	}
	var out []string
	for _, c := range codes {
		if pending[c] {
			out = append(out, c)
		}
	}
	e.Subjects, e.Count = out, len(out)
	if err := g.record(ctx, e); err != nil {
		return nil, err
	}
	return out, nil
}

// Resend queues the current versions of the given residents for the
// upstream again (repair after a consistency check); logged.
func (g *Gate) Resend(ctx context.Context, req Request, codes []string) (int, error) {
	e, v := g.begin(ctx, req, "notify")
	e.Query = fmt.Sprintf("resend %d residents", len(codes))
	if !v.Allow {
		return 0, g.deny(ctx, e, v)
	}
	var n int
	_, workErr, err := g.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		var err error
		n, err = records.Resend(ctx, tx, codes, e.Time)
		e.Subjects, e.Count = codes, n
		return err
	})
	if err != nil {
		return 0, apperr.Wrap(apperr.Unavailable, err, "audit log", "アクセス記録（監査ログ）を書き込めませんでした")
	}
	return n, workErr
}

// Current returns the current versions of those of codes this node holds
// that belong to local government lg (any, when lg is empty): what an upstream node answers a
// downstream node that repairs its copy from it (整合性確認 with repair
// from upstream), or what a node reads of its own register to report on a
// recovery. The read is logged as a provision of every resident returned.
func (g *Gate) Current(ctx context.Context, req Request, lg string, codes []string) ([]Record, error) {
	e, v := g.begin(ctx, req, "check")
	e.Query = fmt.Sprintf("current local_gov=%s of %d residents", lg, len(codes))
	if !v.Allow {
		return nil, g.deny(ctx, e, v)
	}
	var out []Record
	for _, code := range codes {
		rc, err := ids.ParseResidentCode(code)
		if err != nil {
			continue // not a code: nothing held under it
		}
		ver, err := records.LookupCode(ctx, g.db, rc)
		if errors.Is(err, records.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, g.fail(ctx, e, err)
		}
		if lg != "" && string(ver.LocalGov) != lg {
			continue
		}
		out = append(out, fromVersion(ver))
		e.Subjects = append(e.Subjects, string(ver.ResidentCode))
	}
	e.Count = len(out)
	if len(out) > 0 {
		e.Provision = g.provision(req, "check", v)
	}
	if err := g.record(ctx, e); err != nil {
		return nil, err
	}
	return out, nil
}

// RestoreFromUpstream makes each record the resident's current state where
// this node's copy differs in any way (records.Restore): the repair of a
// node restored from a backup, from the versions its upstream holds. One
// audited transaction; the versions are not queued for the upstream (they
// came from it). It returns how many residents got a new version.
func (g *Gate) RestoreFromUpstream(ctx context.Context, req Request, recs []resident.IdentityRecord) (int, error) {
	e, v := g.begin(ctx, req, "check")
	e.Query = fmt.Sprintf("repair from upstream: %d residents", len(recs))
	if !v.Allow {
		return 0, g.deny(ctx, e, v)
	}
	for _, r := range recs {
		if errs := r.Validate(g.now()); len(errs) > 0 {
			return 0, g.fail(ctx, e, fieldErrors(errs))
		}
		if !g.inScope(r.LocalGov) {
			return 0, g.fail(ctx, e, apperr.New(apperr.Invalid, g.scopeError(r.LocalGov), "このノードが保有しない地方公共団体の記録です"))
		}
	}
	var restored int
	_, workErr, err := g.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		restored = 0
		for _, r := range recs {
			changed, err := records.Restore(ctx, tx, r, seq)
			if err != nil {
				return fmt.Errorf("repair %s: %w", r.ResidentCode, err)
			}
			if changed {
				restored++
			}
			e.Subjects = append(e.Subjects, string(r.ResidentCode))
		}
		e.Count = restored
		e.Detail = fmt.Sprintf("%d of %d residents restored from the upstream's copy", restored, len(recs))
		return nil
	})
	if err != nil {
		return 0, apperr.Wrap(apperr.Unavailable, err, "the audit log could not record this repair, so nothing was changed",
			"アクセス記録（監査ログ）を書き込めなかったため、修復を行いませんでした。")
	}
	if workErr != nil {
		return 0, changeError(workErr)
	}
	return restored, nil
}
