// Package nodetest creates, for tests, a node in a temporary folder with
// its gate open, on a test clock that never reads today's date.
package nodetest

import (
	"context"
	"os"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/node"
)

// Open creates a node with opt (in t.TempDir() unless opt.Dir is set),
// opens it and its gate on a new clocktest clock, and closes it when t
// ends. It returns the node and the clock, which a test may set or move.
func Open(t testing.TB, opt node.InitOptions) (*node.Node, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New()
	return OpenAt(t, opt, clock), clock
}

// OpenAt is Open on a clock of the test's choosing.
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
	n, err := node.Open(ctx, opt.Dir)
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	n.Now = clock.Now
	if os.Getenv(auditlog.EnvTestJournal) == "1" {
		// The node's tests again with the server's audit journal on.
		n.Config.Audit.Journal, n.Serving = true, true
	}
	if err := n.OpenGate(ctx, nil); err != nil {
		t.Fatalf("open the gate: %v", err)
	}
	return n
}
