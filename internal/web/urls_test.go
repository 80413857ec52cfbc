package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/ids"
	"jukinet/internal/node"
)

// linkAttr is a link or a form's target in a page: href, action, formaction, src.
var linkAttr = regexp.MustCompile(`(?i)\b(href|action|formaction|src)="([^"]*)"`)

// getForm is a form sent by GET, with what it holds.
var getForm = regexp.MustCompile(`(?is)<form[^>]*method="get"[^>]*>(.*?)</form>`)

// digitRun is a run of 11 or 12 digits: a 住民票コード or a 個人番号, when it reads as one.
var digitRun = regexp.MustCompile(`\d{11,12}`)

// identifiersInURLs lists the links and form targets of body whose URL
// holds a 住民票コード or a 個人番号 (known ones, or any run of digits that
// reads as one), and the GET forms that would put one into a URL.
func identifiersInURLs(body string, known ...string) []string {
	var bad []string
	for _, m := range linkAttr.FindAllStringSubmatch(body, -1) {
		u := html.UnescapeString(m[2])
		if dec, err := url.QueryUnescape(u); err == nil {
			u = dec
		}
		for _, k := range known {
			if k != "" && strings.Contains(u, k) {
				bad = append(bad, m[1]+"="+m[2])
			}
		}
		for _, d := range digitRun.FindAllString(u, -1) {
			_, errCode := ids.ParseResidentCode(d)
			_, errNumber := ids.ParseIndividualNumber(d)
			if errCode == nil || errNumber == nil {
				bad = append(bad, m[1]+"="+m[2])
			}
		}
	}
	for _, m := range getForm.FindAllStringSubmatch(body, -1) {
		for _, name := range []string{"resident", "code", "number", "individual_number", "resident_code"} {
			if strings.Contains(m[1], `name="`+name+`"`) {
				bad = append(bad, "a GET form with "+name)
			}
		}
	}
	return bad
}

// TestNoIdentifierInURLs: no page of the screens links to, or sends a
// form by GET to, a URL holding a 住民票コード or a 個人番号 (issue 23 item
// 8). Each demo role walks every screen reachable by links from its
// dashboard, and the pages reached by POST: a look-up, a history, the
// audit screen filtered by a resident (from an alert's button, with its
// pages, and after an export refused), and each page's redirects. The
// audit screen's resident filter travels by POST and is kept under a
// token; a 住民票コード put into its URL is refused and not shown again;
// reloading a view logs nothing; a token is its owner's only.
func TestNoIdentifierInURLs(t *testing.T) {
	s, code := demoServer(t)
	ctx := context.Background()
	// 105 look-ups of the resident by five people yesterday: a crowd
	// alert about the resident, and an audit view of two pages.
	day := s.node.Now().In(time.FixedZone("JST", 9*3600)).Add(-24 * time.Hour)
	day = time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, day.Location())
	for i := range 105 {
		actor := fmt.Sprintf("CROWD-%d", i%5)
		if _, err := s.node.Log.Append(ctx, auditlog.Entry{Time: day.Add(time.Duration(i) * time.Minute), Node: "131083",
			Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: actor}, Origin: "terminal:DEMO-T", Action: "lookup", Affair: "juki",
			Reason: "確認", Query: "resident_code=" + code, Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK, Count: 1, Subjects: []string{code}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.node.Detect.Run(ctx); err != nil {
		t.Fatal(err)
	}
	seen := 0
	check := func(who, what string, rec *httptest.ResponseRecorder) {
		t.Helper()
		seen++
		if loc := rec.Header().Get("Location"); loc != "" {
			if bad := identifiersInURLs(`href="`+html.EscapeString(loc)+`"`, code); len(bad) > 0 {
				t.Errorf("%s: %s redirects to %s", who, what, loc)
			}
		}
		if bad := identifiersInURLs(rec.Body.String(), code); len(bad) > 0 {
			t.Errorf("%s: %s holds identifiers in URLs: %q", who, what, bad)
		}
	}
	for _, role := range []string{node.DemoOperator, node.DemoUntrained, node.DemoOfficer, node.DemoChief, node.DemoAdmin} {
		b := signIn(t, s, role)
		// Every screen reachable by links, in both languages.
		queue, visited := []string{"/", "/?lang=en"}, map[string]bool{}
		for len(queue) > 0 && len(visited) < 300 {
			path := queue[0]
			queue = queue[1:]
			if visited[path] {
				continue
			}
			visited[path] = true
			rec := b.do("GET", path, nil)
			check(role, "GET "+path, rec)
			for _, m := range linkAttr.FindAllStringSubmatch(rec.Body.String(), -1) {
				u, err := url.Parse(html.UnescapeString(m[2]))
				if m[1] != "href" || err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "/static/") || u.Path == "/logout" {
					continue
				}
				u.Fragment = ""
				queue = append(queue, u.String())
			}
		}
		if len(visited) < 5 {
			t.Errorf("%s reached only %d screens", role, len(visited))
		}
		// The pages reached by POST.
		look := url.Values{"affair": {"juki"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}
		check(role, "POST /lookup", b.do("POST", "/lookup", look))
		check(role, "POST /history", b.do("POST", "/history", look))
		rec := b.do("POST", "/audit", url.Values{"resident": {code}})
		check(role, "POST /audit", rec)
		if view := rec.Header().Get("Location"); strings.HasPrefix(view, "/audit?view=") {
			page := b.do("GET", view, nil)
			check(role, "the resident's audit view", page)
			if older := regexp.MustCompile(`data-testid="audit-older"|href="(/audit\?[^"]*)" data-testid="audit-older"`).FindStringSubmatch(page.Body.String()); older == nil {
				t.Errorf("%s: the resident's audit view (105 entries) has no older page", role)
			} else if older[1] != "" {
				check(role, "its older page", b.do("GET", html.UnescapeString(older[1]), nil))
			}
			check(role, "an export refused", b.do("POST", "/audit/export", url.Values{"resident": {code}, "format": {"csv-utf8"}, "destination": {"\x00"}}))
		}
	}
	if seen < 50 {
		t.Errorf("only %d pages checked", seen)
	}

	chief := signIn(t, s, node.DemoChief)
	// The alert's resident is a button that posts the filter.
	alerts := chief.do("GET", "/alerts", nil).Body.String()
	if !strings.Contains(alerts, `data-testid="alert-resident"><input type="hidden" name="resident" value="`+code+`">`) {
		t.Fatalf("the crowd alert offers no button to the resident's accesses:\n%s", alerts)
	}
	// The view lists the resident's entries, on two pages, by its token.
	view := postAuditFilter(t, chief, url.Values{"resident": {code}})
	rows, where := pageThrough(t, chief, view)
	if len(rows) < 105 || len(where) != 2 {
		t.Errorf("the resident's view: %d rows on %d pages (%q)", len(rows), len(where), where)
	}
	// A reload reads the view again and logs nothing.
	before, err := s.node.Log.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if rec := chief.do("GET", view, nil); rec.Code != http.StatusOK {
			t.Fatalf("reloading the view: %d", rec.Code)
		}
	}
	if after, _ := s.node.Log.Size(ctx); after != before {
		t.Errorf("reloading the audit view logged %d entries", after-before)
	}
	// Another's token shows nothing of the filter.
	officer := signIn(t, s, node.DemoOfficer)
	if rec := officer.do("GET", view, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-testid="audit-view-expired"`) ||
		strings.Contains(rec.Body.String(), code) || len(screenRows(t, rec.Body.String())) != 0 {
		t.Errorf("another's view token: %d, the filter shown or entries listed", rec.Code)
	}
	// A 住民票コード put into the URL is refused, and not shown again.
	rec := chief.do("GET", "/audit?resident="+code, nil)
	body := rec.Body.String()
	if rec.Code != http.StatusBadRequest || strings.Contains(body, code) || !strings.Contains(body, `aria-describedby="f-resident-error"`) ||
		!strings.Contains(body, "住民票コードはURLに含めず") || len(screenRows(t, body)) != 0 {
		t.Errorf("GET /audit?resident=: %d, want 400 with the field saying so and the code not echoed", rec.Code)
	}
}
