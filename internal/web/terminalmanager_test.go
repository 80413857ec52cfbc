package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/node"
)

// TestTerminalManagerFromItsRow: a terminal's manager (端末機管理者) is
// reported by whom the policies allow for its department — the
// department's security officer in koto-ward — from the terminal's row;
// the system administrator, who approves terminals but may not report
// their managers, gets no manager inputs in the approval form (they could
// only be refused) but a word on who reports them.
func TestTerminalManagerFromItsRow(t *testing.T) {
	s, _ := demoServer(t)
	admin := signIn(t, s, node.DemoAdmin)
	body := admin.do("GET", "/staff", nil).Body.String()
	if !strings.Contains(body, `data-testid="approve-terminal"`) {
		t.Fatal("the administrator has no approval form")
	}
	if strings.Contains(body, `name="manager"`) {
		t.Error("the administrator, who may not report a manager, is offered a manager input")
	}
	if !strings.Contains(body, `data-testid="manager-who"`) || !strings.Contains(body, "端末機管理者の報告：") {
		t.Error("the approval form does not say who reports a terminal's manager")
	}

	officer := signIn(t, s, node.DemoOfficer)
	body = officer.do("GET", "/staff", nil).Body.String()
	if !strings.Contains(body, `data-testid="manager-`+node.DemoTerminal+`"`) {
		t.Fatalf("the department's security officer has no manager form on the terminal's row:\n%s", body)
	}
	ctx := context.Background()
	before, _ := s.node.Log.Size(ctx)
	rec := officer.do("POST", "/staff/terminals/"+node.DemoTerminal+"/manager", url.Values{"manager": {node.DemoAdmin}, "manager_title": {"情報政策課長"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("report a manager: %d\n%s", rec.Code, rec.Body.String())
	}
	terminals, err := s.node.Staff.Terminals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range terminals {
		if tm.ID == node.DemoTerminal && (tm.ManagerVID != node.DemoAdmin || tm.ManagerTitle != "情報政策課長") {
			t.Errorf("the terminal's manager is %s (%s), want %s (情報政策課長)", tm.ManagerVID, tm.ManagerTitle, node.DemoAdmin)
		}
	}
	if after, _ := s.node.Log.Size(ctx); after != before+1 {
		t.Errorf("reporting a manager wrote %d audit entries, want 1", after-before)
	}

	// The administrator posting a manager by hand is refused by the
	// policies, and nothing is stored.
	before, _ = s.node.Log.Size(ctx)
	rec = admin.do("POST", "/staff/terminals/"+node.DemoTerminal+"/manager", url.Values{"manager": {node.DemoOperator}, "manager_title": {"係長"}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("the administrator reporting a manager: %d, want 403", rec.Code)
	}
	terminals, _ = s.node.Staff.Terminals(ctx)
	for _, tm := range terminals {
		if tm.ID == node.DemoTerminal && tm.ManagerVID != node.DemoAdmin {
			t.Errorf("a refused report changed the manager to %s", tm.ManagerVID)
		}
	}
	if after, _ := s.node.Log.Size(ctx); after != before+1 {
		t.Errorf("the refused report wrote %d audit entries, want 1 (the refusal)", after-before)
	}
}
