package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
)

// onEachDatabase runs test on SQLite and on PostgreSQL (skipped loudly
// without it, a failure under the CI).
func onEachDatabase(t *testing.T, test func(t *testing.T, dbURL string)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = dbtest.MigratedPostgresURL(t)
			}
			test(t, url)
		})
	}
}

// screenRow is one entry as the audit screen shows it, its cells' text.
type screenRow struct {
	Seq                                        int64
	Day, Clock, Actor, Action, Reason, Outcome string
}

var (
	auditBody = regexp.MustCompile(`(?s)<table data-testid="audit-entries">.*?<tbody>(.*?)</tbody>`)
	auditTR   = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	auditCell = func(id string) *regexp.Regexp {
		return regexp.MustCompile(`(?s)<(?:td|small)[^>]*data-testid="` + id + `"[^>]*>(.*?)</(?:td|small)>`)
	}
	cellSeq, cellClock, cellActor, cellAction, cellReason, cellOutcome = auditCell("entry-seq"), auditCell("entry-clock"), auditCell("entry-actor"),
		auditCell("entry-action"), auditCell("entry-reason"), auditCell("entry-outcome")
	cellDay = regexp.MustCompile(`<span class="date">([^<]*)</span>`)
	tags    = regexp.MustCompile(`<[^>]*>`)
	older   = regexp.MustCompile(`<a href="([^"]*)" data-testid="audit-older">`)
	// viewToken is an audit view's token: newOnce's 32 letters a to p.
	viewToken = regexp.MustCompile(`^[a-p]{32}$`)
)

// plain is an HTML fragment's text, its spaces collapsed.
func plain(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(s, " "))), " ")
}

// screenRows reads the entries of an audit screen.
func screenRows(t *testing.T, body string) []screenRow {
	t.Helper()
	m := auditBody.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no table of entries:\n%s", body)
	}
	var out []screenRow
	for _, tr := range auditTR.FindAllStringSubmatch(m[1], -1) {
		row := tr[1]
		seq := cellSeq.FindStringSubmatch(row)
		if seq == nil {
			continue // none, or pruned
		}
		get := func(re *regexp.Regexp) string {
			if c := re.FindStringSubmatch(row); c != nil {
				return plain(c[1])
			}
			return ""
		}
		n, err := strconv.ParseInt(seq[1], 10, 64)
		if err != nil {
			t.Fatalf("entry number %q", seq[1])
		}
		r := screenRow{Seq: n, Clock: get(cellClock), Actor: get(cellActor), Action: get(cellAction), Reason: get(cellReason), Outcome: get(cellOutcome)}
		if d := cellDay.FindStringSubmatch(row); d != nil {
			r.Day = d[1]
		}
		out = append(out, r)
	}
	return out
}

// pageThrough follows the audit screen's pages from path to the last,
// and returns every row shown and the position each page gave.
func pageThrough(t *testing.T, b *browser, path string) ([]screenRow, []string) {
	t.Helper()
	var rows []screenRow
	var where []string
	for i := 0; path != ""; i++ {
		if i > 100 {
			t.Fatal("more than 100 pages")
		}
		rec := b.do("GET", path, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		body := rec.Body.String()
		rows = append(rows, screenRows(t, body)...)
		if p := regexp.MustCompile(`data-testid="audit-page">([^<]*)`).FindStringSubmatch(body); p != nil {
			where = append(where, strings.TrimSpace(p[1]))
		}
		path = ""
		if m := older.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return rows, where
}

// postAuditFilter sends filter q as the audit screen's form does (POST /audit)
// and returns the screen's answer, /audit?view=TOKEN, which holds none of
// the filter.
func postAuditFilter(t *testing.T, b *browser, q url.Values) string {
	t.Helper()
	rec := b.do("POST", "/audit", q)
	to := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(to, "/audit?view=") {
		t.Fatalf("POST /audit %s: %d %q, want a redirect to a view", q.Encode(), rec.Code, to)
	}
	// The URL is the token alone: no other parameter, and a token of
	// random letters only, so no filter value can travel in it. (Looking
	// for each value in the URL instead failed by chance: "ok" is found in
	// about one random token in eight.)
	u, err := url.Parse(to)
	if err != nil {
		t.Fatalf("POST /audit: the view's URL %q: %v", to, err)
	}
	view := u.Query()
	if len(view) != 1 || len(view["view"]) != 1 || !viewToken.MatchString(view.Get("view")) {
		t.Fatalf("POST /audit %s: the view's URL %s holds more than a token", q.Encode(), to)
	}
	return to
}

// TestAuditFiltersByEveryField: the audit screen filters by period,
// operator, department, terminal, affair, action, outcome and resident,
// each taking the Japanese label (or the English one, or the code), and
// the export of a filtered view holds exactly what the screen lists
// (issue 23 item 4).
func TestAuditFiltersByEveryField(t *testing.T) { onEachDatabase(t, testAuditFiltersByEveryField) }

func testAuditFiltersByEveryField(t *testing.T, dbURL string) {
	ctx := context.Background()
	n, clock := nodetest.Open(t, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true, DatabaseURL: dbURL})
	s, err := New(n, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	people, err := n.Staff.People(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deptOf := map[string]string{}
	for _, p := range people {
		deptOf[p.VerificationID] = p.Department
	}
	clerkDept, adminDept := deptOf[node.DemoOperator], deptOf[node.DemoAdmin]
	if clerkDept == "" || adminDept == "" || clerkDept == adminDept {
		t.Fatalf("the demo's departments: %v", deptOf)
	}
	affairA, affairB := n.Profile.Affairs[0], n.Profile.Affairs[1]
	clerkDeptName := ""
	for _, d := range n.Profile.Departments {
		if d.ID == clerkDept {
			clerkDeptName = d.Name
		}
	}

	// Four days from tomorrow, one entry a day at 10:00 (JST), and on the
	// third day one whose reason holds the bytes a filter looks for.
	now := clock.Now().In(jptext.JST)
	day1 := time.Date(now.Year(), now.Month(), now.Day()+1, 10, 0, 0, 0, jptext.JST)
	op := func(id string) auditlog.Actor { return auditlog.Actor{Kind: auditlog.ActorOperator, ID: id} }
	entries := []auditlog.Entry{
		{Actor: op(node.DemoOperator), Origin: "terminal:T-01", Action: "lookup", Affair: affairA.ID, Reason: "窓口", Decision: auditlog.Allow, Outcome: auditlog.OutcomeOK, Subjects: []string{"11111111119"}},
		{Actor: op(node.DemoAdmin), Origin: "terminal:T-02", Action: "history", Affair: affairB.ID, Reason: "確認", Decision: auditlog.Deny, Outcome: auditlog.OutcomeDenied},
		{Actor: op(node.DemoUntrained), Origin: "terminal:T-01", Action: "lookup", Affair: affairB.ID, Reason: "照会", Decision: auditlog.Allow, Outcome: auditlog.OutcomeError, Error: "resident code: check digit"},
		{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:server", Action: "export", Reason: `"affair":"` + affairA.ID + `","outcome":"ok","origin":"terminal:T-01"`, Decision: auditlog.Allow, Outcome: auditlog.OutcomeDenied},
	}
	seqs := make([]int64, len(entries))
	for i, e := range entries {
		clock.Set(day1.AddDate(0, 0, min(i, 2)))
		e.Node, e.Policy = "131083", "test"
		seq, err := n.Log.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		seqs[i] = seq
	}
	clock.Set(day1.AddDate(0, 0, 3))
	chief := signIn(t, s, node.DemoChief)

	period := url.Values{"since": {jptext.FormatWareki(day1)}, "until": {day1.AddDate(0, 0, 2).Format(time.DateOnly)}}
	for _, c := range []struct {
		name   string
		filter url.Values
		want   []int // indexes into entries, newest first
	}{
		{"the period", url.Values{}, []int{3, 2, 1, 0}},
		{"since the second day", url.Values{"since": {day1.AddDate(0, 0, 1).Format(time.DateOnly)}}, []int{3, 2, 1}},
		{"until the first day", url.Values{"until": {jptext.FormatWareki(day1)}}, []int{0}},
		{"an operator", url.Values{"actor": {node.DemoUntrained}}, []int{2}},
		{"a department by its name", url.Values{"dept": {clerkDeptName}}, []int{2, 0}},
		{"a department by its ID", url.Values{"dept": {adminDept}}, []int{1}},
		{"a terminal", url.Values{"terminal": {"T-01"}}, []int{2, 0}},
		{"a terminal as the origin", url.Values{"terminal": {"terminal:T-02"}}, []int{1}},
		{"an affair by its name", url.Values{"affair": {affairA.Name}}, []int{0}},
		{"an affair by its ID", url.Values{"affair": {affairB.ID}}, []int{2, 1}},
		{"an action by its Japanese label", url.Values{"action": {"照会"}}, []int{2, 0}},
		{"an action by its code", url.Values{"action": {"history"}}, []int{1}},
		{"an outcome by its Japanese label", url.Values{"outcome": {"拒否"}}, []int{3, 1}},
		{"an outcome by its English label", url.Values{"outcome": {"Error"}}, []int{2}},
		{"an outcome by its code", url.Values{"outcome": {"ok"}}, []int{0}},
		{"a resident", url.Values{"resident": {"11111111119"}}, []int{0}},
		{"two at once", url.Values{"terminal": {"T-01"}, "outcome": {"正常"}}, []int{0}},
	} {
		q := url.Values{}
		for k, v := range period {
			q[k] = v
		}
		for k, v := range c.filter {
			q[k] = v
		}
		var want []int64
		for _, i := range c.want {
			want = append(want, seqs[i])
		}
		// Sent as the screen's form sends it: by POST, kept under a token.
		rows, where := pageThrough(t, chief, postAuditFilter(t, chief, q))
		var got []int64
		for _, r := range rows {
			got = append(got, r.Seq)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s (%s): the screen lists %v, want %v", c.name, q.Encode(), got, want)
			continue
		}
		if len(want) > 0 && (len(where) != 1 || !strings.HasPrefix(where[0], fmt.Sprintf("%d件中 1–%d件", len(want), len(want)))) {
			t.Errorf("%s: the screen says %q", c.name, where)
		}
		// The export of this view: the same entries, and its audit entry
		// names the filter in codes.
		form := url.Values{"format": {"csv-utf8"}}
		for k, v := range q {
			form[k] = v
		}
		rec := chief.do("POST", "/audit/export", form)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: export %d %s", c.name, rec.Code, rec.Body.String())
		}
		var exported []int64
		for _, r := range readCSV(t, rec.Body.Bytes(), false)[1:] {
			n, _ := strconv.ParseInt(r[0], 10, 64)
			exported = append(exported, n)
		}
		if !slices.Equal(exported, want) {
			t.Errorf("%s: the export holds %v, the screen %v", c.name, exported, want)
		}
		if e := lastEntry(t, s); e.Action != "audit.export" || e.Count != len(want) || !strings.Contains(e.Query, "until=") {
			t.Errorf("%s: the export's entry %+v", c.name, e)
		}
	}

	// What cannot be read: the field says so, tied to it, keeping what
	// was typed, and nothing is listed.
	for key, typed := range map[string]string{"until": "来週", "dept": "存在しない課", "affair": "存在しない事務", "outcome": "たぶん"} {
		rec := chief.do("GET", "/audit?"+url.Values{key: {typed}}.Encode(), nil)
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest || !strings.Contains(body, `aria-invalid="true" aria-describedby="f-`+key+`-error"`) ||
			!strings.Contains(body, `id="f-`+key+`-error" data-testid="filter-error"`) || len(screenRows(t, body)) != 0 {
			t.Errorf("%s=%s: %d, the field does not say what is wrong", key, typed, rec.Code)
		}
		if key == "until" && !strings.Contains(body, `value="来週"`) {
			t.Errorf("until=来週: what was typed is lost")
		}
		if rec := chief.do("POST", "/audit/export", url.Values{key: {typed}, "format": {"csv-utf8"}}); rec.Code != http.StatusBadRequest {
			t.Errorf("export with %s=%s: %d, want 400", key, typed, rec.Code)
		}
	}
}

// TestAuditThousandEntries: with 1,000 entries in the log, the auditor
// pages through every one of them, filters by a Japanese action label,
// pages through that, and exports it: the CSV in UTF-8 and in CP932
// (Shift_JIS) lists exactly the rows the screen showed, in its order,
// with the same dates, people, actions, reasons and outcomes (issue 23,
// "Done when").
func TestAuditThousandEntries(t *testing.T) { onEachDatabase(t, testAuditThousandEntries) }

func testAuditThousandEntries(t *testing.T, dbURL string) {
	ctx := context.Background()
	s, _ := exportServer(t, dbURL)
	fillAuditLog(t, s, 1000)
	chief := signIn(t, s, node.DemoChief)
	size, err := s.node.Log.Size(ctx)
	if err != nil || size < 1000 {
		t.Fatalf("log size %d %v", size, err)
	}

	// Every entry, newest first, each once.
	rows, where := pageThrough(t, chief, "/audit")
	if int64(len(rows)) != size {
		t.Fatalf("paging through the log showed %d entries, the log has %d", len(rows), size)
	}
	for i, r := range rows {
		if r.Seq != size-1-int64(i) {
			t.Fatalf("row %d is entry %d, want %d", i, r.Seq, size-1-int64(i))
		}
	}
	pages := int((size + 99) / 100)
	if len(where) != pages || where[0] != fmt.Sprintf("%s件中 1–100件（新しい順）", thousands(size)) ||
		where[pages-1] != fmt.Sprintf("%s件中 %s–%s件（新しい順）", thousands(size), thousands(int64(pages-1)*100+1), thousands(size)) {
		t.Errorf("the pages say %q", where)
	}

	// 照会 (lookup): a third of them, over four pages.
	lookups, where := pageThrough(t, chief, "/audit?action="+url.QueryEscape("照会"))
	if len(lookups) != 334 || len(where) != 4 || where[3] != "334件中 301–334件（新しい順）" {
		t.Fatalf("照会: %d rows on pages %q", len(lookups), where)
	}
	for _, r := range lookups {
		if !strings.HasPrefix(r.Action, "照会 lookup") || r.Outcome != "正常" || r.Reason == "" || r.Day == "" || r.Clock == "" {
			t.Fatalf("a row of the filtered view: %+v", r)
		}
	}

	for _, format := range []string{"csv-utf8", "csv-sjis"} {
		rec := chief.do("POST", "/audit/export", url.Values{"action": {"照会"}, "format": {format}})
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", format, rec.Code)
		}
		recs := readCSV(t, rec.Body.Bytes(), format == "csv-sjis")
		header := recs[0]
		col := func(name string) int {
			i := slices.Index(header, name)
			if i < 0 {
				t.Fatalf("%s: no column %s in %q", format, name, header)
			}
			return i
		}
		if len(recs)-1 != len(lookups) {
			t.Fatalf("%s: %d rows, the screen %d", format, len(recs)-1, len(lookups))
		}
		for i, r := range recs[1:] {
			sc := lookups[i]
			at, err := time.Parse(time.RFC3339, r[col("日時")])
			if err != nil {
				t.Fatalf("%s: 日時 %q", format, r[col("日時")])
			}
			got := []string{r[0], r[col("日付（和暦）")], at.In(jptext.JST).Format("15:04:05"), r[col("操作")] + " " + r[col("操作コード")], strings.Join(strings.Fields(unguard(r[col("利用事由")])), " "), r[col("結果")]}
			want := []string{strconv.FormatInt(sc.Seq, 10), sc.Day, sc.Clock, sc.Action[:len(r[col("操作")]+" "+r[col("操作コード")])], sc.Reason, sc.Outcome}
			if !slices.Equal(got, want) || !strings.Contains(sc.Actor, r[col("利用者")]) || !strings.Contains(sc.Actor, r[col("氏名")]) {
				t.Fatalf("%s: row %d\n export %q (%s %s)\n screen %q", format, i, got, r[col("利用者")], r[col("氏名")], want)
			}
		}
	}
}

// TestLanguageSwitchKeepsTheAuditView: the language switch on an audit
// view (/audit?view=TOKEN, and its older pages) leads to the same view in
// the other language, not to the whole log; a 住民票コード that came in a
// URL is not written into the switch's address.
func TestLanguageSwitchKeepsTheAuditView(t *testing.T) {
	s, code := demoServer(t)
	fillAuditLog(t, s, 600) // 200 look-ups by op0: two pages
	chief := signIn(t, s, node.DemoChief)
	switchLink := regexp.MustCompile(`<a href="([^"]*)" lang="(?:en|ja)" data-testid="switch-language">`)
	pageOf := regexp.MustCompile(`data-testid="audit-page">([^<]*)`)
	seqs := regexp.MustCompile(`data-testid="entry-seq">(\d+)<`)
	look := func(path string, want ...int) (link, page string, shown []string) {
		t.Helper()
		rec := chief.do("GET", path, nil)
		if code := append(want, http.StatusOK)[0]; rec.Code != code {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		body := rec.Body.String()
		m := switchLink.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("GET %s: no language switch", path)
		}
		if p := pageOf.FindStringSubmatch(body); p != nil {
			page = p[1]
		}
		for _, s := range seqs.FindAllStringSubmatch(body, -1) {
			shown = append(shown, s[1])
		}
		return html.UnescapeString(m[1]), page, shown
	}

	view := postAuditFilter(t, chief, url.Values{"action": {"照会"}, "actor": {"op0"}})
	link, page, shown := look(view)
	if !strings.Contains(page, "件中") || len(shown) == 0 {
		t.Fatalf("the Japanese view: %q %d entries", page, len(shown))
	}
	token := strings.TrimPrefix(view, "/audit?view=")
	q, err := url.ParseQuery(strings.TrimPrefix(link, "?"))
	if err != nil || !strings.HasPrefix(link, "?") || q.Get("view") != token || q.Get("lang") != "en" {
		t.Fatalf("the switch on %s leads to %q", view, link)
	}
	_, enPage, enShown := look("/audit" + link)
	if !strings.Contains(enPage, " of ") || !slices.Equal(enShown, shown) {
		t.Errorf("the English view lists %q %v, the Japanese %q %v", enPage, enShown, page, shown)
	}
	// All of the log is more than the view.
	if _, allPage, _ := look("/audit?lang=en"); allPage == enPage {
		t.Fatalf("the filter selects nothing: %q", allPage)
	}

	// An older page of the view keeps its place too.
	body := chief.do("GET", view, nil).Body.String()
	older := regexp.MustCompile(`href="(/audit\?[^"]*)" data-testid="audit-older"`).FindStringSubmatch(body)
	if older == nil {
		t.Fatalf("the view has no older page")
	}
	olderPath := html.UnescapeString(older[1])
	link, _, shown = look(olderPath)
	_, _, enShown = look("/audit" + link)
	if !slices.Equal(enShown, shown) {
		t.Errorf("the switch on the older page %s (%s) lists %v, the page %v", olderPath, link, enShown, shown)
	}

	// A resident code typed into a URL is not carried into the switch.
	if link, _, _ := look("/audit?resident="+code+"&outcome=ok", http.StatusBadRequest); strings.Contains(link, code) || strings.Contains(link, "resident") || !strings.Contains(link, "outcome=ok") {
		t.Errorf("the switch on a URL with a resident code leads to %q", link)
	}
}
