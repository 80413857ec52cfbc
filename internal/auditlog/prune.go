package auditlog

import (
	"context"
	"fmt"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/jptext"
)

// RetentionCutoff is the first instant an entry must still keep its content
// when entries are kept for years: midnight in Japan, years back from the
// day now falls on in Japan (whatever the zone of the server's clock).
// Entries before it may be pruned.
func RetentionCutoff(now time.Time, years int) time.Time {
	day := now.In(jptext.JST)
	return time.Date(day.Year()-years, day.Month(), day.Day(), 0, 0, 0, 0, jptext.JST)
}

// Prune removes the content (and subject rows) of entries older than before,
// keeping their leaf hashes, so the tree and every proof of a later entry
// still verify. The pruning is itself an entry, appended in the same
// transaction. It returns how many entries were pruned.
func (l *Log) Prune(ctx context.Context, before time.Time, e Entry) (int64, error) {
	e.Action = "prune"
	e.Detail = "entries before " + before.UTC().Format(time.RFC3339)
	var pruned int64
	_, workErr, err := l.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *Entry) error {
		if _, err := tx.Exec(ctx, `DELETE FROM audit_subject WHERE seq IN (SELECT seq FROM audit_entry WHERE at < ? AND payload IS NOT NULL)`, before.UTC()); err != nil {
			return fmt.Errorf("prune audit subjects: %w", err)
		}
		res, err := tx.Exec(ctx, `UPDATE audit_entry SET payload = NULL, pruned_at = ? WHERE at < ? AND payload IS NOT NULL`, e.Time, before.UTC())
		if err != nil {
			return fmt.Errorf("prune audit entries: %w", err)
		}
		pruned, _ = res.RowsAffected()
		e.Count = int(pruned)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return pruned, workErr
}
