package web

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/node"
)

// TestAuditScreenPages: an auditor pages through a busy log 100 entries at
// a time, newest first, told where each page stands in the total, with
// the filter kept from page to page (issue 23 item 4).
func TestAuditScreenPages(t *testing.T) {
	s, _ := demoServer(t)
	ctx := context.Background()
	for i := 0; i < 250; i++ {
		if _, err := s.node.Log.Append(ctx, auditlog.Entry{Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "test"},
			Origin: "node:131083", Action: "rekey", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK, Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	chief := signIn(t, s, node.DemoChief)
	rows := func(body string) int { return strings.Count(body, `data-testid="entry-clock"`) }
	older := regexp.MustCompile(`data-testid="audit-page">[^\n]*?<a href="([^"]*)" data-testid="audit-older"`)
	path := "/audit?action=" + "rekey"
	var pages []string
	for i := 0; i < 5 && path != ""; i++ {
		body := chief.do("GET", path, nil).Body.String()
		m := older.FindStringSubmatch(body)
		pos := regexp.MustCompile(`data-testid="audit-page">([^<]*)`).FindStringSubmatch(body)
		if pos == nil {
			t.Fatalf("page %d says nothing of where it stands:\n%s", i+1, body)
		}
		pages = append(pages, fmt.Sprintf("%s [%d rows]", strings.TrimSpace(pos[1]), rows(body)))
		path = ""
		if m != nil {
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "action=rekey") {
				t.Errorf("the older page's link drops the filter: %s", path)
			}
		}
	}
	want := []string{"250件中 1–100件（新しい順） [100 rows]", "250件中 101–200件（新しい順） [100 rows]", "250件中 201–250件（新しい順） [50 rows]"}
	if fmt.Sprint(pages) != fmt.Sprint(want) {
		t.Errorf("pages:\n got  %q\n want %q", pages, want)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
