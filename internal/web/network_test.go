package web

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/federation"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
)

// TestNetworkScreenSaysSuspendedOrFailing: the ネットワーク screen says
// that the delivery upstream is suspended (naming the suspension) or
// failing, with the last error, not only a growing lag.
func TestNetworkScreenSaysSuspendedOrFailing(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, s *Server, clock *clocktest.Clock) {
		ctx := context.Background()
		n := s.node
		// 東京都 as the upstream, at an address nobody answers.
		tokyo := nodetest.OpenAt(t, node.InitOptions{Dir: filepath.Join(t.TempDir(), "tokyo"), Profile: "aomori-pref", LocalGovCode: "130001"}, clock) // only its bundle is used
		bundle, err := federation.Export(tokyo, "http://127.0.0.1:9")
		if err != nil {
			t.Fatal(err)
		}
		console := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "test"}, Origin: "host:test"}
		if err := federation.Add(ctx, n, console, federation.Upstream, bundle); err != nil {
			t.Fatal(err)
		}
		admin := signIn(t, s, node.DemoAdmin)
		if body := admin.do("GET", "/network", nil).Body.String(); !strings.Contains(body, `data-testid="delivery">正常`) || strings.Contains(body, `data-testid="delivery-state"`) {
			t.Errorf("network screen before any try:\n%s", body)
		}
		id, err := n.Staff.Suspend(ctx, console, staff.Suspension{Scope: staff.ScopeOutbound, Reason: "点検中"})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := synth.New(synth.Options{Seed: 9, LocalGov: "131083"})
		importOne(t, n, g.Next())
		if _, err := federation.NewSender(n, nil).DeliverOnce(ctx); !federation.IsSuspension(err) {
			t.Fatalf("delivery while suspended: %v", err)
		}
		body := admin.do("GET", "/network", nil).Body.String()
		for _, want := range []string{`data-testid="delivery-state"`, "利用停止中", "点検中", "直近のエラー", "上位ノードへの通知が停止されています"} {
			if !strings.Contains(body, want) {
				t.Errorf("network screen while suspended lacks %q", want)
			}
		}
		if err := n.Staff.Lift(ctx, console, id, "点検終了"); err != nil {
			t.Fatal(err)
		}
		if _, err := federation.NewSender(n, nil).DeliverOnce(ctx); err == nil || federation.IsSuspension(err) {
			t.Fatalf("delivery to an unreachable upstream: %v", err)
		}
		body = admin.do("GET", "/network", nil).Body.String()
		for _, want := range []string{`data-testid="delivery-state"`, "通知に失敗しています", "send to 130001"} {
			if !strings.Contains(body, want) {
				t.Errorf("network screen while failing lacks %q", want)
			}
		}
		if en := admin.do("GET", "/network?lang=en", nil).Body.String(); !strings.Contains(en, "Delivery is failing") {
			t.Errorf("the English screen does not say failing")
		}
	})
}
