package web

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/detect"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
)

// TestDashboardChartsMatchTheLog seeds a known audit log on the test
// clock — look-ups over three weeks by people of two departments and the
// console, some refused, other refusals, alerts raised just past the edge
// of each group of age, two suspensions in force and one lifted, a verification and
// entries after it — and checks that every number the dashboard's charts
// draw (each bar's data attributes) and write (their tables, the text
// alternative) is the one counted here from the log, the alerts and the
// suspensions, entry by entry.
func TestDashboardChartsMatchTheLog(t *testing.T) {
	// The node starts nine days before the dashboard is looked at, so that
	// the alerts' detection runs happen on a clock that moves forward (a
	// clock set back is stamped at the log's latest time).
	start := clocktest.Start().In(jptext.JST)
	clock := clocktest.At(start.Add(-9*24*time.Hour - 2*time.Hour))
	n := nodetest.OpenAt(t, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true}, clock)
	g, _ := synth.New(synth.Options{Seed: 5, LocalGov: "131083"})
	rec := g.Next()
	importOne(t, n, rec)
	code := string(rec.ResidentCode)
	s, err := New(n, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	today := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, jptext.JST)
	access := func(at time.Time, actor auditlog.Actor, action string, allow bool) auditlog.Entry {
		e := auditlog.Entry{Time: at, Node: "131083", Actor: actor, Origin: "terminal:" + node.DemoTerminal, Action: action, Affair: "juki",
			Reason: "窓口での本人申請", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK, Count: 1, Subjects: []string{code},
			Provision: &auditlog.Provision{Function: action, Affair: "juki", Reason: "窓口での本人申請", Provider: "131083", Recipient: actor.String()}}
		if !allow {
			e.Decision, e.Outcome, e.Count, e.Subjects, e.Provision = auditlog.Deny, auditlog.OutcomeDenied, 0, nil, nil
		}
		return e
	}
	appendAll := func(es ...auditlog.Entry) {
		t.Helper()
		for _, e := range es {
			if _, err := n.Log.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	operator := auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator}

	// Alerts: a look-up at 23:00, found by a detection run the morning
	// after, an hour past the edge of each group of age (8 days or more,
	// 4–7 days, 1–3 days, under a day): one alert in each.
	for _, ago := range []time.Duration{8*24*time.Hour + time.Hour, 4*24*time.Hour + time.Hour, 24*time.Hour + time.Hour, time.Hour} {
		raised := start.Add(-ago)
		night := time.Date(raised.Year(), raised.Month(), raised.Day()-1, 23, 0, 0, 0, jptext.JST)
		clock.Set(raised)
		// With its case: the look-ups of one resident on several nights are
		// after hours, not the repeat rule's unexplained reads.
		e := access(night, operator, "lookup", true)
		e.CaseRef = "受付-R8-1"
		appendAll(e)
		if _, err := n.Detect.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(start)

	// Look-ups and refusals over three weeks, in office hours: the
	// operator (区民課), the system administrator (情報システム課), the
	// console; refusals of look-ups and of other actions.
	admin := auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoAdmin}
	console := auditlog.Actor{Kind: auditlog.ActorConsole, ID: "alice"}
	terminal := auditlog.Actor{Kind: auditlog.ActorTerminal, ID: node.DemoTerminal}
	for ago := 20; ago >= 0; ago-- {
		at := today.AddDate(0, 0, -ago).Add(9 * time.Hour)
		for i := range ago%4 + 1 {
			appendAll(access(at.Add(time.Duration(i)*time.Minute), operator, []string{"lookup", "search", "history"}[i%3], i != 2))
		}
		if ago%3 == 0 {
			appendAll(access(at.Add(time.Hour), admin, "lookup", true))
		}
		if ago%5 == 0 {
			appendAll(access(at.Add(2*time.Hour), console, "lookup", true), access(at.Add(2*time.Hour), console, "export", true))
		}
		if ago%2 == 0 {
			refused := access(at.Add(3*time.Hour), terminal, "auth.login", false)
			appendAll(refused)
		}
	}
	// The first instant of the window and the last before it.
	first := today.AddDate(0, 0, -chartDays+1)
	appendAll(access(first, operator, "lookup", true), access(first.Add(-time.Microsecond), operator, "lookup", true))

	// Suspensions: two in force, one lifted.
	for _, sp := range []staff.Suspension{
		{Scope: staff.ScopeOperator, Target: node.DemoUntrained, Reason: "調査のため"},
		{Scope: staff.ScopeAffair, Target: "juki", Reason: "調査のため"},
		{Scope: staff.ScopeDepartment, Target: "kumin", Reason: "調査のため"},
	} {
		if _, err := n.Staff.Suspend(ctx, chiefWho(), sp); err != nil {
			t.Fatal(err)
		}
	}
	sps, err := n.Staff.Suspensions(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range sps {
		if sp.Scope == staff.ScopeDepartment {
			if err := n.Staff.Lift(ctx, chiefWho(), sp.ID, "調査終了"); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The log verified from the audit screen, then written to again.
	chief := signIn(t, s, node.DemoChief)
	verifyFromScreen(t, chief)
	verified := s.verification.view("ja").Entries
	appendAll(access(today.Add(10*time.Hour), operator, "lookup", true))

	body := chief.do("GET", "/", nil).Body.String()
	size, err := n.Log.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// What the log holds, counted here entry by entry.
	entries, err := auditlog.Range(ctx, n.DB, first, today.AddDate(0, 0, 1), size)
	if err != nil {
		t.Fatal(err)
	}
	people, err := n.Staff.People(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deptOf := map[string]string{}
	for _, p := range people {
		deptOf["operator:"+p.VerificationID] = p.Department
	}
	perDay := map[string][]int64{}  // day → allowed look-ups, refused look-ups
	denials := map[string][]int64{} // day → refusals of any action
	perDept := map[string][]int64{} // department (or kind:console) → allowed, refused look-ups
	for ago := range chartDays {
		day := today.AddDate(0, 0, -ago).Format(time.DateOnly)
		perDay[day], denials[day] = []int64{0, 0}, []int64{0}
	}
	for _, l := range entries {
		e := l.Entry
		day := e.Time.In(jptext.JST).Format(time.DateOnly)
		deny := e.Decision == auditlog.Deny
		if deny {
			denials[day][0]++
		}
		if e.Action != "lookup" && e.Action != "search" && e.Action != "history" {
			continue
		}
		i := 0
		if deny {
			i = 1
		}
		perDay[day][i]++
		key := deptOf[l.Actor]
		if key == "" {
			key = "kind:" + string(e.Actor.Kind)
		}
		if perDept[key] == nil {
			perDept[key] = []int64{0, 0}
		}
		perDept[key][i]++
	}
	if len(perDept) != 3 || perDay[first.Format(time.DateOnly)][0] == 0 {
		t.Fatalf("the seeded log is not what this test means to count: per department %v, per day %v", perDept, perDay)
	}

	checkChart(t, body, "lookups-per-day", perDay)
	// The chart's one-sentence description says the total and the busiest day.
	var total, most int64
	busiest := ""
	for _, day := range slices.Sorted(maps.Keys(perDay)) {
		v := perDay[day][0] + perDay[day][1]
		total += v
		if v > most {
			most, busiest = v, day
		}
	}
	d, _ := time.ParseInLocation(time.DateOnly, busiest, jptext.JST)
	desc := fmt.Sprintf(`<desc id="lookups-per-day-desc">直近14日の合計%d件。最も多いのは%sの%d件。</desc>`, total, jptext.FormatBoth(d), most)
	if !strings.Contains(body, desc) {
		t.Errorf("the chart of look-ups per day is not described as %s", desc)
	}
	checkChart(t, body, "denials-per-day", denials)
	checkChart(t, body, "lookups-per-department", perDept)

	alerts, err := detect.List(ctx, n.DB, false)
	if err != nil {
		t.Fatal(err)
	}
	ages := map[string][]int64{"under-1-day": {0}, "1-3-days": {0}, "4-7-days": {0}, "8-days-or-more": {0}}
	for _, a := range alerts {
		switch days := start.Sub(a.RaisedAt).Hours() / 24; {
		case days < 1:
			ages["under-1-day"][0]++
		case days < 4:
			ages["1-3-days"][0]++
		case days < 8:
			ages["4-7-days"][0]++
		default:
			ages["8-days-or-more"][0]++
		}
	}
	for k, v := range ages {
		if v[0] != 1 {
			t.Errorf("alerts raised %s: %d, the test seeds one", k, v[0])
		}
	}
	checkChart(t, body, "open-alerts-by-age", ages)

	scopes := map[string][]int64{}
	for _, sc := range suspensionScopes {
		scopes[string(sc)] = []int64{0}
	}
	if sps, err = n.Staff.Suspensions(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, sp := range sps {
		scopes[string(sp.Scope)][0]++
	}
	if scopes["operator"][0] != 1 || scopes["affair"][0] != 1 || scopes["department"][0] != 0 {
		t.Errorf("suspensions in force by scope: %v", scopes)
	}
	checkChart(t, body, "suspensions-by-scope", scopes)

	if verified == 0 || verified >= size {
		t.Fatalf("verified %d of %d entries: the test means to write after the verification", verified, size)
	}
	checkChart(t, body, "log-verified", map[string][]int64{"entries": {verified, size - verified}})
	if !strings.Contains(body, fmt.Sprintf(`data-log-state="intact" data-entries="%d"`, size)) {
		t.Errorf("the log's state is not shown as intact with its %d entries", size)
	}

	// The operator sees his own look-ups per day; not the node's.
	clerk := signIn(t, s, node.DemoOperator)
	mine := clerk.do("GET", "/", nil).Body.String()
	own := map[string][]int64{}
	for day := range perDay {
		own[day] = []int64{0, 0}
	}
	for _, l := range entries {
		if e := l.Entry; l.Actor == "operator:"+node.DemoOperator && slices.Contains(lookupActions, e.Action) {
			if e.Decision == auditlog.Deny {
				own[e.Time.In(jptext.JST).Format(time.DateOnly)][1]++
			} else {
				own[e.Time.In(jptext.JST).Format(time.DateOnly)][0]++
			}
		}
	}
	checkChart(t, mine, "my-lookups", own)
	for _, other := range []string{"lookups-per-day", "lookups-per-department", "open-alerts-by-age", "log-verified"} {
		if strings.Contains(mine, `data-chart="`+other+`"`) {
			t.Errorf("the operator's dashboard draws %s", other)
		}
	}

	// In English, the same numbers.
	en := chief.do("GET", "/?lang=en", nil).Body.String()
	checkChart(t, en, "lookups-per-day", perDay)
	if strings.Contains(en+body+mine, "<no value>") {
		t.Errorf("a chart's text lacks a value it names")
	}
	if !strings.Contains(en, "Look-ups per day (last 14 days)") {
		t.Errorf("the English dashboard does not name its chart in English")
	}
	chief.do("GET", "/?lang=ja", nil)
	if rec := chief.do("GET", "/", url.Values(nil)); !strings.Contains(rec.Body.String(), "照会（日別・直近14日）") {
		t.Errorf("the Japanese dashboard does not name its chart in Japanese")
	}
}

var (
	chartBarRE = regexp.MustCompile(`<g class="bar" data-key="([^"]*)" data-values="([^"]*)" data-total="(\d+)">`)
	chartRowRE = regexp.MustCompile(`(?s)<tr data-key="([^"]*)"><th scope="row">.*?</th>(.*?)</tr>`)
	chartNumRE = regexp.MustCompile(`<td class="num">(\d+)</td>`)
)

// checkChart finds the chart id on a page and checks that its bars (their
// data attributes) and its table hold want: key → one value per series,
// every key of the chart and no other.
func checkChart(t *testing.T, body, id string, want map[string][]int64) {
	t.Helper()
	i := strings.Index(body, `data-chart="`+id+`"`)
	if i < 0 {
		t.Errorf("chart %s: not on the page", id)
		return
	}
	fig := body[i:]
	fig = fig[:strings.Index(fig, "</figure>")]
	bars := map[string][]int64{}
	for _, m := range chartBarRE.FindAllStringSubmatch(fig, -1) {
		var vals []int64
		var sum int64
		for _, f := range strings.Fields(m[2]) {
			v, _ := strconv.ParseInt(f, 10, 64)
			vals = append(vals, v)
			sum += v
		}
		if total, _ := strconv.ParseInt(m[3], 10, 64); total != sum {
			t.Errorf("chart %s, bar %s: total %d, values %v", id, m[1], total, vals)
		}
		bars[m[1]] = vals
	}
	rows := map[string][]int64{}
	for _, m := range chartRowRE.FindAllStringSubmatch(fig, -1) {
		var vals []int64
		for _, c := range chartNumRE.FindAllStringSubmatch(m[2], -1) {
			v, _ := strconv.ParseInt(c[1], 10, 64)
			vals = append(vals, v)
		}
		if len(vals) > 1 { // the table's last column is the total
			vals = vals[:len(vals)-1]
		}
		rows[m[1]] = vals
	}
	for what, got := range map[string]map[string][]int64{"bars": bars, "table": rows} {
		if !maps.EqualFunc(got, want, slices.Equal) {
			keys := slices.Sorted(maps.Keys(want))
			for _, k := range keys {
				if !slices.Equal(got[k], want[k]) {
					t.Errorf("chart %s, %s, %s: %v, the log has %v", id, what, k, got[k], want[k])
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("chart %s, %s: %s drawn (%v), not in the log", id, what, k, got[k])
				}
			}
		}
	}
}

var markup = regexp.MustCompile(`<[^>]*>`)

// textOf is a piece of a page as read, without its markup: a date is a
// <time> element, so a sentence that holds one is not one string of HTML.
func textOf(html string) string { return markup.ReplaceAllString(html, "") }
