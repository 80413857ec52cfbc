package web

import (
	"fmt"
	"net/http"
	"time"

	"jukinet/internal/backup"
	"jukinet/internal/form"
)

// The backups screen (koto-ward:4 continuity, 7.2 prompt recovery): the
// status the dashboard warns of, every backup taken or failed with its
// control number in the forms register, and how to restore one. Backups
// are taken by the node's schedule or from the server's console (jukinet
// backup); the screen only shows them, to whoever may see the forms
// register.
func (s *Server) backupRoutes() {
	s.mux.HandleFunc("GET /backups", s.signedIn(s.backupsPage))
}

func (s *Server) backupsPage(w http.ResponseWriter, r *http.Request, c *current) {
	ctx := r.Context()
	if !s.allowed(w, r, c, form.ActView, s.nodeResource()) {
		return
	}
	st, err := backup.CurrentStatus(ctx, s.node)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list, err := backup.List(ctx, s.node.DB, 100)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	rows := make([]backupRow, len(list))
	for i, b := range list {
		rows[i] = backupRow{Record: b, Size: humanBytes(b.Size), Seconds: fmt.Sprintf("%.1f", float64(b.Millis)/1000)}
		if b.Removed != nil {
			rows[i].RemovedAt = *b.Removed
		}
	}
	var age string
	if st.LastGood != nil {
		age = s.node.Now().Sub(st.LastGood.TakenAt).Round(time.Minute).String()
	}
	s.page(w, r, c, "backups", "Backups", map[string]any{
		"Status": st, "Age": age, "Backups": rows, "Config": s.node.Config.Backup, "Dir": s.node.Dir,
	})
}

// backupRow is a backup as the screen lists it.
type backupRow struct {
	backup.Record
	Size, Seconds string
	RemovedAt     time.Time // when the node erased it (zero: kept)
}

// humanBytes writes a size as people read it (1.5 MiB).
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// backupStatus is the dashboard's view of the backups, for those who may
// see the forms register: nil when there is nothing to warn of.
func (s *Server) backupStatus(r *http.Request, c *current) (*backup.Status, error) {
	if !s.may(r.Context(), c, form.ActView, s.nodeResource()) {
		return nil, nil
	}
	st, err := backup.CurrentStatus(r.Context(), s.node)
	if err != nil || !st.Warn() {
		return nil, err
	}
	return &st, nil
}
