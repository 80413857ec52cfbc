package staff

import (
	"context"
	"fmt"

	"jukinet/internal/db"
)

// BumpVersion marks the staff data changed, in the caller's transaction.
// Governance packages whose facts the policy engine keeps in its snapshot
// beside the staff data (training …) call it in the transaction of their
// change, so every engine, in this process or another, rebuilds its
// snapshot for the next request.
func BumpVersion(ctx context.Context, tx *db.Tx) error {
	if _, err := tx.Exec(ctx, `UPDATE staff_state SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("bump the staff version: %w", err)
	}
	return nil
}
