package node_test

import (
	"context"
	"testing"

	"jukinet/internal/clocktest"
	"jukinet/internal/council"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestDemoSeedsCouncil: a demo node has one past council meeting (issue
// 17): held 30 days ago with the quorum present, a decision by consent,
// minutes approved by the chair (the record closed), and two directives
// to the department's head that followed it, one reported complete and
// one overdue on the node's clock. Opening the node again seeds nothing.
func TestDemoSeedsCouncil(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return dbtest.MigratedPostgresURL(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			clock := clocktest.New()
			opt := node.InitOptions{Dir: dir, Profile: "koto-ward", LocalGovCode: "131083", Demo: true, DatabaseURL: tt.url(t)}
			opt.Now = clock.Now
			if _, err := node.Init(ctx, opt); err != nil {
				t.Fatal(err)
			}
			for opening := range 2 {
				n := openDemo(t, dir, clock)
				ms, err := council.List(ctx, n.DB)
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) != 1 {
					n.Close()
					t.Fatalf("opening %d: %d meetings, want 1", opening+1, len(ms))
				}
				m := ms[0]
				now := n.Now()
				if !m.Closed() || m.ApprovedBy != "operator:"+node.DemoChief || m.Present() < n.Profile.Council.QuorumNeeded() || len(m.Decisions) != 1 || !m.Decisions[0].Adopted ||
					len(m.Items) != 2 || jptext.Midnight(m.At) != jptext.Midnight(now).AddDate(0, 0, -30) {
					t.Errorf("the demo meeting = %+v", m)
				}
				ds, err := council.Directives(ctx, n.DB)
				if err != nil {
					t.Fatal(err)
				}
				late, err := council.Overdue(ctx, n.DB, now)
				if err != nil {
					t.Fatal(err)
				}
				if len(ds) != 2 || !ds[1].Done() || ds[0].Done() || !ds[0].Acknowledged() || len(late) != 1 || late[0].ID != ds[0].ID ||
					late[0].Due != jptext.Midnight(now).AddDate(0, 0, -9) {
					t.Errorf("the demo directives = %+v, overdue %+v", ds, late)
				}
				n.Close()
			}
		})
	}
}
