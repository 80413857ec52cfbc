package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/config"
	"jukinet/internal/db"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// Record is one backup tried, as the backup table keeps it.
type Record struct {
	ID             int64
	Name, Folder   string
	TakenAt        time.Time
	TakenBy        string
	OK             bool
	Error          string
	Size           int64
	SHA256         string
	EncryptedTo    string
	Entries        int64
	CheckpointSize int64
	Rows           int64
	Millis         int64
	Form           string // its control number in the forms register
	Seq            int64
	Removed        *time.Time
}

// Path is where the archive is (or was).
func (r Record) Path() string { return filepath.Join(r.Folder, r.Name) }

// List returns the newest backups tried, newest first (limit 0: all).
func List(ctx context.Context, q db.Querier, limit int) ([]Record, error) {
	query := `SELECT b.id, b.name, b.folder, b.taken_at, b.taken_by, b.ok, b.error, b.size_bytes, b.digest, b.encrypted_to, b.entries,
		b.checkpoint_size, b.rows_total, b.millis, f.fiscal_year, f.serial, b.seq, b.removed_at
		FROM backup b LEFT JOIN form f ON f.id = b.form_id ORDER BY b.taken_at DESC, b.id DESC`
	if limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := q.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var fy, serial sql.NullInt64
		var removed sql.NullTime
		if err := rows.Scan(&r.ID, &r.Name, &r.Folder, &r.TakenAt, &r.TakenBy, &r.OK, &r.Error, &r.Size, &r.SHA256, &r.EncryptedTo, &r.Entries,
			&r.CheckpointSize, &r.Rows, &r.Millis, &fy, &serial, &r.Seq, &removed); err != nil {
			return nil, fmt.Errorf("list backups: %w", err)
		}
		if fy.Valid {
			r.Form = form.Number{FiscalYear: int(fy.Int64), Serial: int(serial.Int64)}.String()
		}
		if removed.Valid {
			t := removed.Time
			r.Removed = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Status is what the dashboard and /metrics say of backups.
type Status struct {
	// Scheduled says serve takes backups (backup.folder is set).
	Scheduled bool
	Folder    string
	// LastGood is the newest backup that succeeded (nil: none yet);
	// LastFailed the newest that failed after it (nil: none).
	LastGood   *Record
	LastFailed *Record
	// Stale says the last good backup is older than MaxAge, or there is
	// none while backups are scheduled.
	Stale  bool
	MaxAge time.Duration
}

// Warn says the status needs someone's attention: a failure, or a backup
// too old.
func (s Status) Warn() bool { return s.LastFailed != nil || s.Stale }

// CurrentStatus reads the backups' status on the node's clock.
func CurrentStatus(ctx context.Context, n *node.Node) (Status, error) {
	c := n.Config.Backup
	st := Status{Scheduled: c.Folder != "", Folder: folderOf(n), MaxAge: c.MaxAge.Duration}
	recs, err := List(ctx, n.DB, 0)
	if err != nil {
		return st, err
	}
	for i := range recs {
		r := recs[i]
		if r.OK {
			st.LastGood = &r
			break
		}
		if st.LastFailed == nil {
			st.LastFailed = &r
		}
	}
	switch {
	case st.LastGood != nil:
		st.Stale = n.Now().Sub(st.LastGood.TakenAt) > st.MaxAge
	default:
		st.Stale = st.Scheduled
	}
	return st, nil
}

// folderOf is the configured backup folder, relative to the data folder.
func folderOf(n *node.Node) string {
	f := n.Config.Backup.Folder
	if f == "" || filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(n.Dir, f)
}

// SystemWho is the node itself taking its scheduled backups.
var SystemWho = staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "backup", Name: "定時バックアップ"}, Origin: "node"}

// retryAfter is how long the schedule waits after a failed backup before
// it tries again the same day.
const retryAfter = 10 * time.Minute

// Due says whether the schedule should take a backup at now: none
// succeeded since the last time of day backup.at (Japan) came, and none
// was tried within retryAfter.
func Due(ctx context.Context, n *node.Node, now time.Time) (bool, error) {
	at, err := config.ClockTime(n.Config.Backup.At)
	if err != nil {
		return false, err
	}
	local := now.In(jptext.JST)
	slot := jptext.Midnight(local).Add(at)
	if slot.After(local) {
		slot = slot.AddDate(0, 0, -1)
	}
	recs, err := List(ctx, n.DB, 0)
	if err != nil {
		return false, err
	}
	var good, tried *time.Time
	for i := range recs {
		if tried == nil {
			tried = &recs[i].TakenAt
		}
		if recs[i].OK && good == nil {
			good = &recs[i].TakenAt
		}
	}
	if good != nil && !good.Before(slot) {
		return false, nil
	}
	if tried != nil && now.Sub(*tried) < retryAfter {
		return false, nil
	}
	return true, nil
}

// RunOnce takes the scheduled backup if it is due, then erases the
// generations beyond backup.keep. It reports whether it took one.
func RunOnce(ctx context.Context, n *node.Node) (bool, error) {
	if n.Config.Backup.Folder == "" {
		return false, nil
	}
	due, err := Due(ctx, n, n.Now())
	if err != nil || !due {
		return false, err
	}
	if _, err := Take(ctx, n, Options{Folder: folderOf(n), Recipients: n.Config.Backup.Recipients, Who: SystemWho}); err != nil {
		return true, err
	}
	_, err = Prune(ctx, n, folderOf(n), n.Config.Backup.Keep, SystemWho)
	return true, err
}

// Run takes the scheduled backups until ctx ends, looking every minute
// whether one is due (on the node's clock).
func Run(ctx context.Context, n *node.Node, logger *slog.Logger) {
	if n.Config.Backup.Folder == "" {
		return
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		took, err := RunOnce(ctx, n)
		switch {
		case err != nil:
			logger.Error("scheduled backup failed", "folder", folderOf(n), "err", err)
		case took:
			logger.Info("scheduled backup taken", "folder", folderOf(n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune erases the good backups in folder beyond the newest keep: each
// archive is removed, logged (backup.remove) and recorded as disposed of
// (erased) in the forms register, in one transaction per archive.
func Prune(ctx context.Context, n *node.Node, folder string, keep int, who staff.Who) (int, error) {
	abs, _ := filepath.Abs(folder)
	recs, err := List(ctx, n.DB, 0)
	if err != nil {
		return 0, err
	}
	kept, removed := 0, 0
	for _, r := range recs {
		if !r.OK || r.Removed != nil || r.Folder != abs {
			continue
		}
		kept++
		if kept <= keep {
			continue
		}
		if err := remove(ctx, n, r, keep, who); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// remove erases one archive and records it.
func remove(ctx context.Context, n *node.Node, r Record, keep int, who staff.Who) error {
	note := fmt.Sprintf("保存世代数（%d）を超えたバックアップをノードが消去", keep)
	gone := false
	if err := os.Remove(r.Path()); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove backup %s: %w", r.Name, err)
		}
		gone = true
		note = "消去時には既にファイルがありませんでした（保存世代数の管理）"
	}
	e := auditlog.Entry{Node: n.Code(), Actor: who.Actor, Origin: who.Origin, Action: "backup.remove", Query: "backup:" + r.Name,
		Affair: "バックアップ", Reason: "保存世代数の管理", Decision: auditlog.Allow, Policy: "jukinet:backup",
		Why: fmt.Sprintf("more than backup.keep = %d good backups", keep), Outcome: auditlog.OutcomeOK,
		Detail: fmt.Sprintf("erase backup %s (form %s, sha256 %s) from %s; already gone: %t", r.Name, r.Form, r.SHA256, r.Folder, gone)}
	_, workErr, err := n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		if r.Form != "" {
			num, err := form.ParseNumber(r.Form)
			if err != nil {
				return err
			}
			if err := form.RecordIn(ctx, tx, seq, e.Time, who, num, form.Step{Kind: form.StepDispose, Day: e.Time, Method: form.Erase,
				DoneBy: "jukinet（自動）", Note: note}); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE backup SET removed_at = ?, removed_seq = ? WHERE id = ?`, e.Time, seq, r.ID)
		return err
	})
	if err == nil {
		err = workErr
	}
	if err != nil {
		return fmt.Errorf("record the removal of backup %s: %w", r.Name, err)
	}
	return nil
}
