package auditlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/jptext"
)

// Filter selects entries for List. Zero fields do not filter.
type Filter struct {
	Resident string    // entries concerning this 住民票コード
	Since    time.Time // entries at or after
	Until    time.Time // entries before
	Actor    string    // kind:id, or just the id
	// Actors, when not nil, keeps the entries by one of these actors
	// (kind:id): the staff of a department. An empty, non-nil list keeps
	// none.
	Actors  []string
	Action  string
	Origin  string // entries from this origin (terminal:ID, node:CODE …)
	Affair  string // entries for this affair
	Outcome string // entries with this outcome (ok, denied, error)
	After   int64  // entries with seq > After (use -1 for all)
	Before  int64  // entries with seq < Before; zero: no bound (a page of older entries)
	Limit   int    // most entries returned; zero means 100
	Newest  bool   // the newest Limit entries, newest first
}

// where is f's condition, without its limit and order, in dialect's SQL.
func (f Filter) where(dialect db.Dialect) (string, []any) {
	var where []string
	var args []any
	// Fields kept only in the payload are found in its canonical JSON: the
	// bytes "key":"value" occur in an entry only as that field (a string
	// holding them would escape its quotes). An entry's affair is also its
	// provision's, which the gate writes from the same request.
	payloadHas := func(key, value string) {
		var v bytes.Buffer
		enc := json.NewEncoder(&v)
		enc.SetEscapeHTML(false) // as Encode writes it
		_ = enc.Encode(value)    // a string always encodes
		if dialect == db.Postgres {
			where = append(where, "position(?::bytea in payload) > 0")
		} else {
			where = append(where, "instr(payload, ?) > 0")
		}
		args = append(args, []byte(`"`+key+`":`+strings.TrimSuffix(v.String(), "\n")))
	}
	if f.Resident != "" {
		where = append(where, "seq IN (SELECT seq FROM audit_subject WHERE resident_code = ?)")
		args = append(args, f.Resident)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, f.Since.UTC())
	}
	if f.Actor != "" {
		if strings.Contains(f.Actor, ":") {
			where = append(where, "actor_id = ?")
			args = append(args, f.Actor)
		} else {
			where = append(where, "actor_id LIKE ?")
			args = append(args, "%:"+f.Actor)
		}
	}
	if f.Actors != nil {
		if len(f.Actors) == 0 {
			where = append(where, "1 = 0")
		} else {
			where = append(where, "actor_id IN (?"+strings.Repeat(", ?", len(f.Actors)-1)+")")
			for _, a := range f.Actors {
				args = append(args, a)
			}
		}
	}
	if !f.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, f.Until.UTC())
	}
	if f.Action != "" {
		where = append(where, "action = ?")
		args = append(args, f.Action)
	}
	if f.Origin != "" {
		payloadHas("origin", f.Origin)
	}
	if f.Affair != "" {
		payloadHas("affair", f.Affair)
	}
	if f.Outcome != "" {
		payloadHas("outcome", f.Outcome)
	}
	where = append(where, "seq > ?")
	args = append(args, f.After)
	if f.Before > 0 {
		where = append(where, "seq < ?")
		args = append(args, f.Before)
	}
	return strings.Join(where, " AND "), args
}

// Count returns how many entries match f (its Limit and order aside): the
// total an auditor pages through.
func Count(ctx context.Context, d *db.DB, f Filter) (int64, error) {
	where, args := f.where(d.Dialect())
	var n int64
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_entry WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count audit entries: %w", err)
	}
	return n, nil
}

// CountSubjects returns how many distinct residents the entries matching f
// concern (their subject rows): what an export of them is about.
func CountSubjects(ctx context.Context, d *db.DB, f Filter) (int64, error) {
	where, args := f.where(d.Dialect())
	var n int64
	if err := d.QueryRow(ctx, `SELECT COUNT(DISTINCT resident_code) FROM audit_subject WHERE seq IN (SELECT seq FROM audit_entry WHERE `+where+`)`, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the residents of audit entries: %w", err)
	}
	return n, nil
}

// Listed is one entry as listed; Entry is nil once pruned.
type Listed struct {
	Seq    int64
	At     time.Time
	Actor  string
	Action string
	Entry  *Entry
}

// List returns the entries matching f, oldest first (newest first with
// f.Newest).
func List(ctx context.Context, d *db.DB, f Filter) ([]Listed, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []Listed
	err := Each(ctx, d, f, func(l Listed) error {
		out = append(out, l)
		return nil
	})
	return out, err
}

// Each calls fn with every entry matching f, in List's order, one at a
// time, so a long listing (an export) need not hold every entry at once.
// Unlike List, a zero f.Limit means no limit. fn must not query d: the
// listing holds a connection until it ends. An error from fn stops it and
// is returned as it is.
func Each(ctx context.Context, d *db.DB, f Filter, fn func(Listed) error) error {
	where, args := f.where(d.Dialect())
	order := "seq"
	if f.Newest {
		order = "seq DESC"
	}
	q := `SELECT seq, at, actor_id, action, payload FROM audit_entry WHERE ` + where + ` ORDER BY ` + order
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := d.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanListed(rows)
		if err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list audit entries: %w", err)
	}
	return nil
}

// scanListed reads one row of seq, at, actor_id, action, payload and
// decodes the payload (nil once pruned).
func scanListed(rows *sql.Rows) (Listed, error) {
	var l Listed
	var payload []byte
	if err := rows.Scan(&l.Seq, &l.At, &l.Actor, &l.Action, &payload); err != nil {
		return l, fmt.Errorf("list audit entries: %w", err)
	}
	if payload != nil {
		e, err := DecodeEntry(payload)
		if err != nil {
			return l, fmt.Errorf("entry %d: %w", l.Seq, err)
		}
		l.Entry = e
	}
	return l, nil
}

// Summary is a one-line description of an entry, for listings; its time
// is in Japan Standard Time (RFC 3339 with +09:00), as the screens show it.
func (l Listed) Summary() string {
	if l.Entry == nil {
		return fmt.Sprintf("%d %s %s %s (pruned)", l.Seq, l.At.In(jptext.JST).Format(time.RFC3339), l.Actor, l.Action)
	}
	e := l.Entry
	s := fmt.Sprintf("%d %s %s@%s %s affair=%q reason=%q decision=%s(%s) outcome=%s count=%d",
		e.Seq, e.Time.In(jptext.JST).Format(time.RFC3339), e.Actor, e.Origin, e.Action, e.Affair, e.Reason, e.Decision, e.Policy, e.Outcome, e.Count)
	if e.Query != "" {
		s += fmt.Sprintf(" query=%q", e.Query)
	}
	if e.Error != "" {
		s += fmt.Sprintf(" error=%q", e.Error)
	}
	if e.Provision != nil {
		s += fmt.Sprintf(" provided=%d", e.SubjectCount)
	}
	return s
}

// Tally counts the entries at or after since, and those of them that were
// denied. Entries are canonical JSON, so the bytes "decision":"deny" occur
// in an entry only as its decision (a string holding them would escape the
// quotes).
func Tally(ctx context.Context, d *db.DB, since time.Time) (total, denied int64, err error) {
	find := `instr(payload, ?) > 0`
	if d.Dialect() == db.Postgres {
		find = `position(?::bytea in payload) > 0`
	}
	err = d.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN `+find+` THEN 1 ELSE 0 END), 0) FROM audit_entry WHERE at >= ?`,
		[]byte(`"decision":"deny"`), since.UTC()).Scan(&total, &denied)
	if err != nil {
		return 0, 0, fmt.Errorf("count audit entries: %w", err)
	}
	return total, denied, nil
}

// ActionTally is how many entries one actor made with one action in a
// period, and how many of them were denied.
type ActionTally struct {
	Actor  string // kind:id
	Action string
	Total  int64
	Denied int64
}

// TallyActions counts the entries made at or after from and before to, by
// actor and action, with the denied among them (found as Tally finds
// them): what the dashboards draw, a day at a time. Ordered by actor, then
// action.
func TallyActions(ctx context.Context, d *db.DB, from, to time.Time) ([]ActionTally, error) {
	find := `instr(payload, ?) > 0`
	if d.Dialect() == db.Postgres {
		find = `position(?::bytea in payload) > 0`
	}
	rows, err := d.Query(ctx, `SELECT actor_id, action, COUNT(*), COALESCE(SUM(CASE WHEN `+find+` THEN 1 ELSE 0 END), 0)
		FROM audit_entry WHERE at >= ? AND at < ? GROUP BY actor_id, action ORDER BY actor_id, action`,
		[]byte(`"decision":"deny"`), from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("count audit entries by actor and action: %w", err)
	}
	defer rows.Close()
	var out []ActionTally
	for rows.Next() {
		var a ActionTally
		if err := rows.Scan(&a.Actor, &a.Action, &a.Total, &a.Denied); err != nil {
			return nil, fmt.Errorf("count audit entries by actor and action: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count audit entries by actor and action: %w", err)
	}
	return out, nil
}

// Heads returns the sequence number, time, actor and action of every entry
// after seq after, oldest first, without their content (Entry is nil).
func Heads(ctx context.Context, d *db.DB, after int64) ([]Listed, error) {
	rows, err := d.Query(ctx, `SELECT seq, at, actor_id, action FROM audit_entry WHERE seq > ? ORDER BY seq`, after)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	var out []Listed
	for rows.Next() {
		var l Listed
		if err := rows.Scan(&l.Seq, &l.At, &l.Actor, &l.Action); err != nil {
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Range returns the entries made at or after from and before to, up to
// seq upTo, oldest first, each with its Subjects filled in when its action
// is one of withSubjects. Pruned entries have no Entry.
func Range(ctx context.Context, d *db.DB, from, to time.Time, upTo int64, withSubjects ...string) ([]Listed, error) {
	rows, err := d.Query(ctx, `SELECT seq, at, actor_id, action, payload FROM audit_entry WHERE at >= ? AND at < ? AND seq <= ? ORDER BY seq`,
		from.UTC(), to.UTC(), upTo)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	var out []Listed
	bySeq := map[int64]*Entry{}
	for rows.Next() {
		l, err := scanListed(rows)
		if err != nil {
			return nil, err
		}
		if l.Entry != nil && l.Entry.SubjectCount > 0 && slices.Contains(withSubjects, l.Action) {
			bySeq[l.Seq] = l.Entry
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	if len(bySeq) == 0 {
		return out, nil
	}
	actions := make([]any, 0, len(withSubjects)+3)
	actions = append(actions, from.UTC(), to.UTC(), upTo)
	for _, a := range withSubjects {
		actions = append(actions, a)
	}
	srows, err := d.Query(ctx, `SELECT s.seq, s.resident_code FROM audit_subject s JOIN audit_entry e ON e.seq = s.seq
		WHERE e.at >= ? AND e.at < ? AND e.seq <= ? AND e.action IN (`+strings.TrimSuffix(strings.Repeat("?,", len(withSubjects)), ",")+`)
		ORDER BY s.seq, s.resident_code`, actions...)
	if err != nil {
		return nil, fmt.Errorf("list audit subjects: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var seq int64
		var code string
		if err := srows.Scan(&seq, &code); err != nil {
			return nil, fmt.Errorf("list audit subjects: %w", err)
		}
		if e := bySeq[seq]; e != nil {
			e.Subjects = append(e.Subjects, code)
		}
	}
	return out, srows.Err()
}
