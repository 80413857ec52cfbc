// Package nodetest creates, for tests, a node in a temporary folder with
// its gate open, on a test clock that never reads today's date.
package nodetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/node"
)

// Open creates a node with opt (in t.TempDir() unless opt.Dir is set),
// opens it and its gate on a new clocktest clock, and closes it when t
// ends. It returns the node and the clock, which a test may set or move.
//
// A demo node on SQLite in a temporary folder (opt.Demo, no Dir, no
// DatabaseURL) is made once per test process for each set of options and
// copied for each test that asks for one: making it — the migration, the
// demo's staff, contracts and forms, each decided by the policies and
// logged — is most of what a short web test costs. The copy is the same
// node, keys included, and its clock goes on from where the original's
// stopped, as a fresh node's would after its seeding. A test that needs
// two distinct demo nodes gives each a folder of its own (opt.Dir).
func Open(t testing.TB, opt node.InitOptions) (*node.Node, *clocktest.Clock) {
	t.Helper()
	if opt.Demo && opt.Dir == "" && opt.DatabaseURL == "" {
		return openDemoCopy(t, opt)
	}
	clock := clocktest.New()
	return OpenAt(t, opt, clock), clock
}

// OpenAt is Open on a clock of the test's choosing. It always makes the
// node afresh.
func OpenAt(t testing.TB, opt node.InitOptions, clock *clocktest.Clock) *node.Node {
	t.Helper()
	ctx := context.Background()
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	opt.Now = clock.Now
	if _, err := node.Init(ctx, opt); err != nil {
		t.Fatalf("init node: %v", err)
	}
	return openIn(t, opt.Dir, clock)
}

// openIn opens the node in dir and its gate on clock, and closes it when
// t ends.
func openIn(t testing.TB, dir string, clock *clocktest.Clock) *node.Node {
	t.Helper()
	ctx := context.Background()
	if os.Getenv(auditlog.EnvTestJournal) != "1" {
		// The process that made the node (Init, the demo's seeding) named
		// the journal its configuration turns on, and closed it with every
		// entry's rows written: without the folder the test node's log
		// commits through SQL alone.
		if err := os.RemoveAll(filepath.Join(dir, node.JournalFolder)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	n.Now = clock.Now
	// A test node is one process with no server beside it: its log
	// commits through SQL, as a node with journal = false does, unless the
	// tests run again as the server with its audit journal on (the serving
	// process's journal and the console processes beside it are tested in
	// internal/auditlog and by the SIGKILL cycles of internal/faults).
	n.Config.Audit.Journal = false
	if os.Getenv(auditlog.EnvTestJournal) == "1" {
		n.Config.Audit.Journal, n.Serving = true, true
	}
	if err := n.OpenGate(ctx, nil); err != nil {
		t.Fatalf("open the gate: %v", err)
	}
	return n
}

// demoKey is what makes two demo nodes alike: the options Init reads and
// the clock's start.
type demoKey struct {
	profile, localGov, level, addr, adminID, adminName string
	start                                              time.Time
}

// demoFolder is a demo node's folder, read whole after the node was made,
// opened (which seeds the demo) and closed.
type demoFolder struct {
	once  sync.Once
	dirs  []demoFile // parents first; no data
	files []demoFile
	end   time.Time // the node's clock when it was closed
	err   error
}

type demoFile struct {
	path string // relative to the folder
	mode fs.FileMode
	data []byte
}

// demoFolders holds a *demoFolder by demoKey.
var demoFolders sync.Map

// openDemoCopy opens a copy of the demo node made with opt, making it the
// first time.
func openDemoCopy(t testing.TB, opt node.InitOptions) (*node.Node, *clocktest.Clock) {
	t.Helper()
	key := demoKey{opt.Profile, opt.LocalGovCode, opt.Level, opt.Addr, opt.AdminID, opt.AdminName, clocktest.Start()}
	v, _ := demoFolders.LoadOrStore(key, &demoFolder{})
	f := v.(*demoFolder)
	f.once.Do(func() { f.err = f.build(opt) })
	if f.err != nil {
		t.Fatalf("make a demo node to copy: %v", f.err)
	}
	dir := t.TempDir()
	if err := f.copyTo(dir); err != nil {
		t.Fatalf("copy the demo node: %v", err)
	}
	clock := clocktest.At(f.end)
	return openIn(t, dir, clock), clock
}

// build creates the demo node in a folder of its own, opens its gate (the
// demo's seeding), closes it and reads the folder; the folder is removed.
func (f *demoFolder) build(opt node.InitOptions) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "jukinet-nodetest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	clock := clocktest.New()
	opt.Dir, opt.Now = dir, clock.Now
	if _, err := node.Init(ctx, opt); err != nil {
		return fmt.Errorf("init node: %w", err)
	}
	n, err := node.Open(ctx, dir)
	if err != nil {
		return fmt.Errorf("open node: %w", err)
	}
	n.Now = clock.Now
	err = n.OpenGate(ctx, nil)
	if cerr := n.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close node: %w", cerr)
	}
	if err != nil {
		return err
	}
	f.end = clock.Now()
	// SQLite removes the WAL's files when the last connection closes; one
	// still in use by a goroutine as Close returns is closed when it is
	// released. The folder is read once they are gone (or after 10 s, as
	// it is): read meanwhile, a file could vanish half-way (CI once failed
	// so, "lstat …/jukinet.db-shm: no such file or directory").
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, errShm := os.Lstat(filepath.Join(dir, "jukinet.db-shm"))
		_, errWAL := os.Lstat(filepath.Join(dir, "jukinet.db-wal"))
		if errors.Is(errShm, fs.ErrNotExist) && errors.Is(errWAL, fs.ErrNotExist) {
			break
		}
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			f.dirs = append(f.dirs, demoFile{rel, info.Mode().Perm(), nil})
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f.files = append(f.files, demoFile{rel, info.Mode().Perm(), data})
		default:
			return fmt.Errorf("%s: not a file or folder", rel)
		}
		return nil
	})
}

// copyTo writes the folder's files into dir, which exists.
func (f *demoFolder) copyTo(dir string) error {
	for _, d := range f.dirs {
		if err := os.Mkdir(filepath.Join(dir, d.path), d.mode); err != nil {
			return err
		}
	}
	for _, file := range f.files {
		if err := os.WriteFile(filepath.Join(dir, file.path), file.data, file.mode); err != nil {
			return err
		}
	}
	return nil
}
