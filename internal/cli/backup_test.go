package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jukinet/internal/db/dbtest"
)

// TestBackupCommands: keygen, an encrypted backup from the console, the
// list, and a restore into a new folder that then verifies; a restore
// without the identity, or over the node, is refused with a message that
// says what to do.
func TestBackupCommands(t *testing.T) { eachDatabase(t, testBackupCommands) }

func testBackupCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	folder := filepath.Join(t.TempDir(), "backups")
	idFile := filepath.Join(t.TempDir(), "backup-identity.txt")
	code, out, errOut := run(t, "backup", "keygen", "--out", idFile)
	if code != 0 {
		t.Fatal(errOut)
	}
	recipient := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if !strings.HasPrefix(recipient, "age1") {
		t.Fatalf("keygen printed %q", out)
	}
	if code, _, _ := run(t, "backup", "keygen", "--out", idFile); code == 0 {
		t.Fatal("keygen overwrote an identity file")
	}
	code, out, errOut = run(t, "backup", "--data", dir, "--to", folder, "--recipient", recipient)
	if code != 0 || !strings.Contains(out, "Backup written: ") || !strings.Contains(out, "encrypted to age1") {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(folder, "*.jkbackup.age"))
	if len(files) != 1 {
		t.Fatalf("backup files: %v", files)
	}
	if code, out, _ := run(t, "backup", "list", "--data", dir); code != 0 || !strings.Contains(out, "Last good backup") || !strings.Contains(out, "console:") {
		t.Fatalf("backup list: %s", out)
	}
	if code, _, errOut := run(t, "backup", "--data", dir); code == 0 || !strings.Contains(errOut, "give --to FOLDER") {
		t.Fatalf("backup without a folder: %d %s", code, errOut)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	code, _, errOut = run(t, "restore", "--from", files[0], "--data", restored)
	if code == 0 || !strings.Contains(errOut, "--identity") {
		t.Fatalf("restore without the identity: %d %s", code, errOut)
	}
	code, _, errOut = run(t, "restore", "--from", files[0], "--data", dir)
	if code == 0 || !strings.Contains(errOut, "never over a node") {
		t.Fatalf("restore over the node: %d %s", code, errOut)
	}
	args := []string{"restore", "--from", files[0], "--data", restored, "--identity", idFile}
	if dbURL != "" {
		args = append(args, "--db", dbtest.PostgresURL(t))
	}
	code, out, errOut = run(t, args...)
	if code != 0 || !strings.Contains(out, "audit log intact") || !strings.Contains(out, "jukinet recover --data") {
		t.Fatalf("restore: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, "audit", "verify", "--data", restored); code != 0 {
		t.Fatalf("verify the restored node: %s %s", out, errOut)
	}
	if _, err := os.Stat(filepath.Join(restored, "restored.json")); err != nil {
		t.Fatal(err)
	}
}
