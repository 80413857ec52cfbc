package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukinet/internal/backup"
	"jukinet/internal/node"
)

// TestBackupsScreen: the screen lists the backups with their control
// numbers and how to restore, for whoever sees the forms register, not for
// a clerk; the dashboard warns when the last backup failed or is too old.
func TestBackupsScreen(t *testing.T) {
	s, _, clock := demoServerClock(t)
	ctx := context.Background()
	admin := signIn(t, s, node.DemoAdmin)
	clerk := signIn(t, s, node.DemoOperator)

	body := admin.do("GET", "/backups", nil).Body.String()
	for _, want := range []string{"バックアップ", `data-testid="backup-not-scheduled"`, "jukinet restore --from", "jukinet recover --data"} {
		if !strings.Contains(body, want) {
			t.Fatalf("backups screen before any backup lacks %q", want)
		}
	}
	if rec := clerk.do("GET", "/backups", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("clerk on /backups: %d", rec.Code)
	}

	s.node.Config.Backup.Folder = filepath.Join(t.TempDir(), "backups")
	if took, err := backup.RunOnce(ctx, s.node); err != nil || !took {
		t.Fatalf("scheduled backup: %t, %v", took, err)
	}
	list, _ := backup.List(ctx, s.node.DB, 0)
	body = admin.do("GET", "/backups", nil).Body.String()
	for _, want := range []string{`data-testid="backup-` + itoa(list[0].ID) + `"`, list[0].Form, list[0].SHA256, "保管中", "system:backup"} {
		if !strings.Contains(body, want) {
			t.Fatalf("backups screen after a backup lacks %q", want)
		}
	}
	if strings.Contains(admin.do("GET", "/", nil).Body.String(), `data-testid="backup-warn"`) {
		t.Fatal("the dashboard warns right after a good backup")
	}
	// Two days on, and a failure: both warned of, on the dashboard and here.
	clock.Set(clock.Now().Add(50 * time.Hour))
	s.node.Config.Backup.Folder = filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(s.node.Config.Backup.Folder, []byte("x"), 0o600)
	if took, err := backup.RunOnce(ctx, s.node); !took || err == nil {
		t.Fatalf("backup into a file: %t, %v", took, err)
	}
	// Sessions ended with the two days: sign in again.
	admin, clerk = signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOperator)
	dash := admin.do("GET", "/", nil).Body.String()
	for _, want := range []string{`data-testid="backup-warn"`, "古くなっています", "失敗しました"} {
		if !strings.Contains(dash, want) {
			t.Fatalf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(clerk.do("GET", "/", nil).Body.String(), `data-testid="backup-warn"`) {
		t.Fatal("a clerk's dashboard shows the backup warning")
	}
	body = admin.do("GET", "/backups?lang=en", nil).Body.String()
	for _, want := range []string{`data-testid="backup-stale"`, `data-testid="backup-failed"`, "Backups taken", "failed"} {
		if !strings.Contains(body, want) {
			t.Fatalf("English backups screen lacks %q", want)
		}
	}
}
