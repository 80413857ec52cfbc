package council

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"jukinet/internal/apperr"
	"jukinet/internal/db"
)

const meetingColumns = `id, kind, held_at, place, source, convened_by, convened_at, minutes, minutes_by, minutes_at, approved_by, approved_at`

func scanMeeting(row interface{ Scan(...any) error }) (Meeting, error) {
	var m Meeting
	var kind string
	var minutesAt, approvedAt sql.NullTime
	err := row.Scan(&m.ID, &kind, &m.At, &m.Place, &m.Source, &m.ConvenedBy, &m.ConvenedAt, &m.Minutes, &m.MinutesBy, &minutesAt, &m.ApprovedBy, &approvedAt)
	m.Kind, m.MinutesAt, m.ApprovedAt = Kind(kind), minutesAt.Time, approvedAt.Time
	return m, err
}

// Get returns a meeting with its attendees, agenda and decisions.
func Get(ctx context.Context, q db.Querier, id int64) (Meeting, error) {
	m, err := scanMeeting(q.QueryRow(ctx, `SELECT `+meetingColumns+` FROM council_meeting WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, apperr.New(apperr.NotFound, fmt.Sprintf("meeting %d is not recorded", id), fmt.Sprintf("第%d回の会議は記録されていません", id))
	}
	if err != nil {
		return m, fmt.Errorf("read meeting %d: %w", id, err)
	}
	all := []Meeting{m}
	if err := details(ctx, q, all, id); err != nil {
		return m, err
	}
	return all[0], nil
}

// List returns every meeting with its attendees, agenda and decisions,
// the latest first.
func List(ctx context.Context, q db.Querier) ([]Meeting, error) {
	rows, err := q.Query(ctx, `SELECT `+meetingColumns+` FROM council_meeting ORDER BY held_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list meetings: %w", err)
	}
	var out []Meeting
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list meetings: %w", err)
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list meetings: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	return out, details(ctx, q, out, 0)
}

// details reads the attendees, items and decisions of the meetings (of
// the one with id only, when id > 0).
func details(ctx context.Context, q db.Querier, ms []Meeting, id int64) error {
	byID := map[int64]*Meeting{}
	for i := range ms {
		byID[ms[i].ID] = &ms[i]
	}
	where, args := "", []any{}
	if id > 0 {
		where, args = " WHERE a.meeting_id = ?", []any{id}
	}
	rows, err := q.Query(ctx, `SELECT a.meeting_id, p.verification_id, p.name, a.seat, a.post, a.recorded_by, a.recorded_at
		FROM council_attendance a JOIN staff_person p ON p.id = a.person_id`+where+` ORDER BY a.meeting_id, a.seq, p.verification_id`, args...)
	if err != nil {
		return fmt.Errorf("read attendance: %w", err)
	}
	for rows.Next() {
		var mid int64
		var a Attendee
		var seat string
		if err := rows.Scan(&mid, &a.VID, &a.Name, &seat, &a.Post, &a.RecordedBy, &a.RecordedAt); err != nil {
			rows.Close()
			return fmt.Errorf("read attendance: %w", err)
		}
		a.Seat = Seat(seat)
		if m := byID[mid]; m != nil {
			m.Attendees = append(m.Attendees, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read attendance: %w", err)
	}
	if id > 0 {
		where = " WHERE meeting_id = ?"
	}
	rows, err = q.Query(ctx, `SELECT id, meeting_id, number, title, ref_kind, ref_id, added_by, added_at FROM council_item`+where+` ORDER BY meeting_id, number`, args...)
	if err != nil {
		return fmt.Errorf("read agenda: %w", err)
	}
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.ID, &it.Meeting, &it.Number, &it.Title, &it.RefKind, &it.RefID, &it.AddedBy, &it.AddedAt); err != nil {
			rows.Close()
			return fmt.Errorf("read agenda: %w", err)
		}
		if m := byID[it.Meeting]; m != nil {
			m.Items = append(m.Items, it)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read agenda: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT id, meeting_id, COALESCE(item_id, 0), text, method, votes_for, votes_against, votes_abstain, adopted, recorded_by, recorded_at
		FROM council_decision`+where+` ORDER BY meeting_id, id`, args...)
	if err != nil {
		return fmt.Errorf("read decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d Decision
		var method string
		if err := rows.Scan(&d.ID, &d.Meeting, &d.Item, &d.Text, &method, &d.For, &d.Against, &d.Abstain, &d.Adopted, &d.RecordedBy, &d.RecordedAt); err != nil {
			return fmt.Errorf("read decisions: %w", err)
		}
		d.Method = Method(method)
		if m := byID[d.Meeting]; m != nil {
			m.Decisions = append(m.Decisions, d)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read decisions: %w", err)
	}
	return nil
}

// decision reads one decision with the day of its meeting.
func decision(ctx context.Context, q db.Querier, id int64) (Decision, Meeting, error) {
	var d Decision
	var method string
	err := q.QueryRow(ctx, `SELECT id, meeting_id, COALESCE(item_id, 0), text, method, votes_for, votes_against, votes_abstain, adopted, recorded_by, recorded_at
		FROM council_decision WHERE id = ?`, id).Scan(&d.ID, &d.Meeting, &d.Item, &d.Text, &method, &d.For, &d.Against, &d.Abstain, &d.Adopted, &d.RecordedBy, &d.RecordedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return d, Meeting{}, apperr.New(apperr.NotFound, fmt.Sprintf("decision %d is not recorded", id), fmt.Sprintf("議決（%d）は記録されていません", id))
	}
	if err != nil {
		return d, Meeting{}, fmt.Errorf("read decision %d: %w", id, err)
	}
	d.Method = Method(method)
	m, err := scanMeeting(q.QueryRow(ctx, `SELECT `+meetingColumns+` FROM council_meeting WHERE id = ?`, d.Meeting))
	if err != nil {
		return d, m, fmt.Errorf("read meeting %d: %w", d.Meeting, err)
	}
	return d, m, nil
}
