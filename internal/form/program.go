package form

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// Program changes (koto-ward:14: the system administrator's measures for
// programs; aomori-pref:4.3: programs are the deputy system
// administrator's): the node records the program it runs — its version and
// the digest of its profile and policies — each time it starts. A start with
// a version or a digest other than the last recorded is a program change,
// recorded by the node itself as unapproved; the administrator the
// profile's policies name approves it with a note (approve-program-change).
// The first record is the baseline: the program in place when the record
// began, what later starts are compared with (no change, so no entry of its
// own).

// ProgramState is the program a node runs.
type ProgramState struct {
	Version       string
	ProfileID     string
	ProfileDigest string
}

// BuildVersion is version with the revision the binary was built from,
// when the build recorded one (go build in a checkout): dev+a1b2c3d4e5f6
// (with +dirty for uncommitted changes).
func BuildVersion(version string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		return version + "+" + rev + dirty
	}
	return version
}

// ProgramChange is one record of the program the node ran.
type ProgramChange struct {
	ID int64
	ProgramState
	// Previous is the program before it (zero for the baseline).
	Previous   ProgramState
	DetectedAt time.Time
	Seq        int64
	// Baseline is the first record: approved by the bootstrap rule.
	Baseline   bool
	ApprovedBy string
	ApprovedAt time.Time
	Note       string
}

// Approved says whether the change was approved.
func (c ProgramChange) Approved() bool { return c.Baseline || c.ApprovedBy != "" }

// What changed, for people: 版, プロファイル・ポリシー or both.
func (c ProgramChange) What() []string {
	var out []string
	if c.Baseline {
		return nil
	}
	if c.Version != c.Previous.Version {
		out = append(out, "version")
	}
	if c.ProfileID != c.Previous.ProfileID || c.ProfileDigest != c.Previous.ProfileDigest {
		out = append(out, "profile")
	}
	return out
}

// FieldApprovalNote is the note an approval carries.
var FieldApprovalNote = resident.Field{Name: "note", Japanese: "承認の所見", Class: resident.ClassText, Max: 400}

const selectChanges = `SELECT c.id, c.version, c.profile_id, c.profile_digest, COALESCE(p.version, ''), COALESCE(p.profile_id, ''), COALESCE(p.profile_digest, ''),
	c.detected_at, c.detected_seq, c.baseline, c.approved_by, c.approved_at, c.note
	FROM program_change c LEFT JOIN program_change p ON p.id = c.previous_id`

func scanChanges(rows *sql.Rows) ([]ProgramChange, error) {
	defer rows.Close()
	var out []ProgramChange
	for rows.Next() {
		var c ProgramChange
		var at sql.NullTime
		if err := rows.Scan(&c.ID, &c.Version, &c.ProfileID, &c.ProfileDigest, &c.Previous.Version, &c.Previous.ProfileID, &c.Previous.ProfileDigest,
			&c.DetectedAt, &c.Seq, &c.Baseline, &c.ApprovedBy, &at, &c.Note); err != nil {
			return nil, fmt.Errorf("list program changes: %w", err)
		}
		c.ApprovedAt = at.Time
		out = append(out, c)
	}
	return out, rows.Err()
}

// ProgramChanges returns the record, newest first.
func ProgramChanges(ctx context.Context, d *db.DB) ([]ProgramChange, error) {
	rows, err := d.Query(ctx, selectChanges+` ORDER BY c.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list program changes: %w", err)
	}
	return scanChanges(rows)
}

// Unapproved returns the changes not approved yet, oldest first.
func Unapproved(ctx context.Context, d *db.DB) ([]ProgramChange, error) {
	rows, err := d.Query(ctx, selectChanges+` WHERE c.baseline = ? AND c.approved_by = '' ORDER BY c.id`, false)
	if err != nil {
		return nil, fmt.Errorf("list unapproved program changes: %w", err)
	}
	return scanChanges(rows)
}

// CheckProgram records the program the node starts with: nothing when it is
// the last recorded; the baseline when none is; otherwise an unapproved
// program change, logged as the node's own act (form.program-change). It returns the change
// recorded, or nil.
func (r *Register) CheckProgram(ctx context.Context, st ProgramState) (*ProgramChange, error) {
	var lastID int64
	var last ProgramState
	err := r.db.QueryRow(ctx, `SELECT id, version, profile_id, profile_digest FROM program_change ORDER BY id DESC LIMIT 1`).
		Scan(&lastID, &last.Version, &last.ProfileID, &last.ProfileDigest)
	baseline := errors.Is(err, sql.ErrNoRows)
	if err != nil && !baseline {
		return nil, fmt.Errorf("read the last program recorded: %w", err)
	}
	if !baseline && last == st {
		return nil, nil
	}
	if baseline {
		// The program in place when the record began: what later starts are
		// compared with. It is no change, so it is not an audit entry of its
		// own (every change's entry names the program it replaced).
		c := ProgramChange{ProgramState: st, Baseline: true, DetectedAt: r.now()}
		err := r.db.QueryRow(ctx, `INSERT INTO program_change (previous_id, version, profile_id, profile_digest, detected_at, detected_seq, baseline)
			VALUES (NULL, ?, ?, ?, ?, 0, ?) RETURNING id`, st.Version, st.ProfileID, st.ProfileDigest, c.DetectedAt.UTC(), true).Scan(&c.ID)
		if err != nil {
			return nil, fmt.Errorf("record the program the node runs: %w", err)
		}
		return &c, nil
	}
	e := auditlog.Entry{Node: r.node, Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "node"}, Origin: "host:start",
		Action: "form.program-change", Decision: auditlog.Allow, Outcome: auditlog.OutcomeOK, Policy: "system",
		Why: "the node records the program it starts with (koto-ward:14)",
		Detail: fmt.Sprintf("program changed: version %s (was %s), profile %s sha256 %s (was %s sha256 %s); to be approved",
			st.Version, last.Version, st.ProfileID, st.ProfileDigest, last.ProfileID, last.ProfileDigest)}
	c := ProgramChange{ProgramState: st, Previous: last}
	seq, workErr, err := r.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		c.DetectedAt, c.Seq = e.Time, seq
		return tx.QueryRow(ctx, `INSERT INTO program_change (previous_id, version, profile_id, profile_digest, detected_at, detected_seq, baseline)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, lastID, st.Version, st.ProfileID, st.ProfileDigest, e.Time.UTC(), seq, false).Scan(&c.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("log the program change: %w", err)
	}
	if workErr != nil {
		// Another process beside this one (a console command as the server
		// starts) recorded the same start first: its record stands, and
		// this process opens. Anything else is an error.
		var same int64
		if err := r.db.QueryRow(ctx, `SELECT COUNT(*) FROM program_change WHERE previous_id = ? AND version = ? AND profile_digest = ?`,
			lastID, st.Version, st.ProfileDigest).Scan(&same); err == nil && same > 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("record the program change (entry %d): %w", seq, workErr)
	}
	return &c, nil
}

// ApproveProgramChange approves the change id with a note, once the
// policies allow who (koto-ward:14 the system administrator; aomori-pref:4.3
// the deputy system administrator). An approved change or the baseline is
// refused, logged.
func (r *Register) ApproveProgramChange(ctx context.Context, who staff.Who, id int64, note string) error {
	note = strings.TrimSpace(note)
	if err := resident.CheckValues(resident.Value{Field: FieldApprovalNote, Text: note, Required: true}); err != nil {
		return err
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "form.approve-program-change",
		Query: fmt.Sprintf("program-change:%d", id), Detail: "approved: " + note}
	return staff.Administer(ctx, r.log, r.authz, who, ActApproveProgram, staff.Resource{Kind: "node", ID: r.node}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			var baseline bool
			var by string
			err := tx.QueryRow(ctx, `SELECT baseline, approved_by FROM program_change WHERE id = ?`, id).Scan(&baseline, &by)
			if errors.Is(err, sql.ErrNoRows) {
				return apperr.New(apperr.NotFound, fmt.Sprintf("no program change %d", id), fmt.Sprintf("プログラム変更 第%d号は記録されていません", id))
			}
			if err != nil {
				return fmt.Errorf("read program change %d: %w", id, err)
			}
			if baseline || by != "" {
				return apperr.New(apperr.Conflict, fmt.Sprintf("program change %d is approved already", id), fmt.Sprintf("プログラム変更 第%d号は承認済みです", id))
			}
			if _, err := tx.Exec(ctx, `UPDATE program_change SET approved_by = ?, approved_at = ?, approved_seq = ?, note = ? WHERE id = ? AND approved_by = ''`,
				who.Actor.String(), now.UTC(), seq, note, id); err != nil {
				return fmt.Errorf("approve program change %d: %w", id, err)
			}
			return nil
		})
}
