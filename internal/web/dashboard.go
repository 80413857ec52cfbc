package web

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"jukinet/internal/auditlog"
	"jukinet/internal/detect"
	"jukinet/internal/jptext"
	"jukinet/internal/staff"
)

// chartDays is how many days the dashboard's charts of days cover, today
// included.
const chartDays = 14

// lookupActions are the audit log's actions by which a person looks
// residents up: what the charts count as look-ups.
var lookupActions = []string{"lookup", "search", "history"}

// dashCharts is what the dashboard draws, for the roles that may see it:
// look-ups per day and per department, denials, the log's state (those
// who see the audit log); open alerts by age (those who see alerts);
// suspensions in force by scope (those who see suspensions); an operator's
// own look-ups per day.
type dashCharts struct {
	Mine        *chart
	Days        *chart
	Denials     *chart
	Departments *chart
	Alerts      *chart
	Suspensions *chart
	Log         *logState
}

// Any says whether there is a chart to show.
func (d dashCharts) Any() bool {
	return d.Mine != nil || d.Days != nil || d.Denials != nil || d.Departments != nil || d.Alerts != nil || d.Suspensions != nil || d.Log != nil
}

// logState is the audit log's verified state: how many entries the last
// verification from the audit screen found intact (or what it found), and
// how many were written since.
type logState struct {
	Chart      *chart
	State      string // intact, broken, failed, running, never
	Message    string
	Entries    int64 // in the log now
	Checkpoint int64 // size of the newest signed checkpoint (0: none)
}

// dayTally is one day of the audit log, counted by actor and action.
type dayTally struct {
	Day     time.Time // midnight in Japan
	Tallies []auditlog.ActionTally
}

// tallyDays counts the audit log over the last chartDays days in Japan,
// today last.
func (s *Server) tallyDays(ctx context.Context) ([]dayTally, error) {
	// Journaled entries get their rows first: today's bars count every
	// entry answered so far.
	if err := s.node.Log.Sync(ctx); err != nil {
		return nil, err
	}
	now := s.node.Now().In(jptext.JST)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, jptext.JST)
	out := make([]dayTally, chartDays)
	for i := range out {
		day := today.AddDate(0, 0, i-chartDays+1)
		t, err := auditlog.TallyActions(ctx, s.node.DB, day, day.AddDate(0, 0, 1))
		if err != nil {
			return nil, err
		}
		out[i] = dayTally{Day: day, Tallies: t}
	}
	return out, nil
}

// dashboardCharts draws the dashboard's charts that c may see.
func (s *Server) dashboardCharts(ctx context.Context, c *current, w words, lang string) (dashCharts, error) {
	var out dashCharts
	res := s.nodeResource()
	canAudit := s.may(ctx, c, staff.ActViewAudit, res)
	operator := c.member != nil && len(c.member.Affairs) > 0
	var days []dayTally
	if canAudit || operator {
		var err error
		if days, err = s.tallyDays(ctx); err != nil {
			return out, err
		}
	}
	loc := s.locs[lang]
	msg := func(id string, data map[string]any) string {
		return loc.MustLocalize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	}
	allowedDenied := []chartSeries{{Name: w.msg("ChartAllowed"), Class: "s-ok"}, {Name: w.msg("ChartDenied"), Class: "s-deny"}}
	perDay := func(id, title string, series []chartSeries, count func(auditlog.ActionTally) []int64) *chart {
		ch := &chart{ID: id, Title: title, KeyHeading: w.msg("Day"), Series: series}
		for i, d := range days {
			vals := make([]int64, len(series))
			for _, t := range d.Tallies {
				for i, v := range count(t) {
					vals[i] += v
				}
			}
			// The month on the first day and where it changes; the day
			// alone elsewhere, so fourteen labels fit under the bars.
			label := d.Day.Format("2")
			if i == 0 || d.Day.Day() == 1 {
				label = d.Day.Format("1/2")
			}
			ch.Rows = append(ch.Rows, chartRow{Key: d.Day.Format(time.DateOnly), Label: label, Long: shownDay(d.Day.Format(time.DateOnly), w.en), Values: vals})
		}
		return ch
	}
	lookups := func(t auditlog.ActionTally) []int64 {
		if !slices.Contains(lookupActions, t.Action) {
			return []int64{0, 0}
		}
		return []int64{t.Total - t.Denied, t.Denied}
	}
	summary := func(ch *chart, id string) {
		data := map[string]any{"Days": chartDays, "Total": thousands(ch.chartTotal())}
		if p, ok := ch.peak(); ok {
			data["Peak"], data["PeakCount"] = p.Long, thousands(p.Total())
		}
		ch.Desc = msg(id, data)
	}
	if operator {
		me := c.who().Actor.String()
		out.Mine = perDay("my-lookups", w.msg("ChartMyLookups"), allowedDenied, func(t auditlog.ActionTally) []int64 {
			if t.Actor != me {
				return []int64{0, 0}
			}
			return lookups(t)
		})
		summary(out.Mine, "ChartPerDaySummary")
	}
	if canAudit {
		out.Days = perDay("lookups-per-day", w.msg("ChartLookupsPerDay"), allowedDenied, lookups)
		summary(out.Days, "ChartPerDaySummary")
		out.Denials = perDay("denials-per-day", w.msg("ChartDenialsPerDay"), []chartSeries{{Name: w.msg("ChartDenied"), Class: "s-deny"}},
			func(t auditlog.ActionTally) []int64 { return []int64{t.Denied} })
		summary(out.Denials, "ChartPerDaySummary")
		var err error
		if out.Departments, err = s.departmentChart(ctx, days, w, allowedDenied); err != nil {
			return out, err
		}
		summary(out.Departments, "ChartPerDepartmentSummary")
		if out.Log, err = s.logChart(ctx, w, lang); err != nil {
			return out, err
		}
	}
	if s.may(ctx, c, staff.ActViewAlerts, res) {
		var err error
		if out.Alerts, err = s.alertAgeChart(ctx, w); err != nil {
			return out, err
		}
		out.Alerts.Desc = msg("ChartAlertsSummary", map[string]any{"Total": thousands(out.Alerts.chartTotal())})
	}
	if s.may(ctx, c, staff.ActViewSuspensions, res) {
		var err error
		if out.Suspensions, err = s.suspensionChart(ctx, w); err != nil {
			return out, err
		}
		out.Suspensions.Desc = msg("ChartSuspensionsSummary", map[string]any{"Total": thousands(out.Suspensions.chartTotal())})
	}
	for _, ch := range []*chart{out.Mine, out.Days, out.Denials, out.Departments, out.Alerts, out.Suspensions} {
		if ch != nil {
			ch.layout()
		}
	}
	if out.Log != nil {
		out.Log.Chart.layout()
	}
	return out, nil
}

// departmentChart counts the look-ups of the days by the department of
// the person who made them; look-ups by others than staff (the console, a
// peer node, a recipient) by the kind of party. Most look-ups first.
func (s *Server) departmentChart(ctx context.Context, days []dayTally, w words, series []chartSeries) (*chart, error) {
	people, err := s.node.Staff.People(ctx)
	if err != nil {
		return nil, err
	}
	deptOf := map[string]string{}
	for _, p := range people {
		deptOf[string(auditlog.ActorOperator)+":"+p.VerificationID] = p.Department
	}
	rows := map[string]*chartRow{}
	var order []string
	for _, d := range days {
		for _, t := range d.Tallies {
			if !slices.Contains(lookupActions, t.Action) {
				continue
			}
			key, label := "", ""
			if dept, ok := deptOf[t.Actor]; ok {
				key, label = dept, w.dept(dept)
			} else {
				kind, _, _ := strings.Cut(t.Actor, ":")
				key, label = "kind:"+kind, w.actorKind(kind)
			}
			r := rows[key]
			if r == nil {
				r = &chartRow{Key: key, Label: label, Long: label, Values: make([]int64, 2)}
				rows[key] = r
				order = append(order, key)
			}
			r.Values[0] += t.Total - t.Denied
			r.Values[1] += t.Denied
		}
	}
	ch := &chart{ID: "lookups-per-department", Title: w.msg("ChartLookupsPerDepartment"),
		KeyHeading: w.msg("Department"), Series: series, Horizontal: true}
	for _, k := range order {
		ch.Rows = append(ch.Rows, *rows[k])
	}
	slices.SortStableFunc(ch.Rows, func(a, b chartRow) int {
		if a.Total() != b.Total() {
			return int(b.Total() - a.Total())
		}
		return strings.Compare(a.Long, b.Long)
	})
	return ch, nil
}

// actorKind names a kind of party that is not a member of staff.
func (w words) actorKind(kind string) string {
	switch auditlog.ActorKind(kind) {
	case auditlog.ActorConsole:
		return w.msg("ActorConsole")
	case auditlog.ActorPeer:
		return w.msg("ActorPeer")
	case auditlog.ActorRecipient:
		return w.msg("ActorRecipient")
	case auditlog.ActorOperator:
		return w.msg("ActorFormerStaff")
	}
	return w.msg("ActorOther")
}

// alertAges are the dashboard's groups of open alerts by how long they
// have waited since they were raised: up to a day, up to 3, up to 7, more.
var alertAges = []struct {
	Key     string
	MaxDays float64 // the group holds ages below this
	Label   string  // message id
}{
	{"under-1-day", 1, "ChartAgeDay"},
	{"1-3-days", 4, "ChartAgeFewDays"},
	{"4-7-days", 8, "ChartAgeWeek"},
	{"8-days-or-more", 0, "ChartAgeOlder"},
}

// alertAgeChart counts the open alerts by how long they have been open.
func (s *Server) alertAgeChart(ctx context.Context, w words) (*chart, error) {
	alerts, err := detect.List(ctx, s.node.DB, false)
	if err != nil {
		return nil, err
	}
	ch := &chart{ID: "open-alerts-by-age", Title: w.msg("ChartAlertsByAge"), KeyHeading: w.msg("ChartAge"),
		Series: []chartSeries{{Name: w.msg("AlertOpen"), Class: "s-alert"}}, Horizontal: true}
	for _, g := range alertAges {
		ch.Rows = append(ch.Rows, chartRow{Key: g.Key, Label: w.msg(g.Label), Long: w.msg(g.Label), Values: []int64{0}})
	}
	now := s.node.Now()
	for _, a := range alerts {
		age := now.Sub(a.RaisedAt).Hours() / 24
		for i, g := range alertAges {
			if g.MaxDays == 0 || age < g.MaxDays {
				ch.Rows[i].Values[0]++
				break
			}
		}
	}
	return ch, nil
}

// suspensionScopes are the scopes a suspension may have, in the order the
// suspension screen offers them.
var suspensionScopes = []staff.Scope{staff.ScopeNode, staff.ScopeDepartment, staff.ScopeTerminal, staff.ScopeOperator, staff.ScopeAffair, staff.ScopePeer, staff.ScopeOutbound}

// suspensionChart counts the suspensions in force by scope.
func (s *Server) suspensionChart(ctx context.Context, w words) (*chart, error) {
	sps, err := s.node.Staff.Suspensions(ctx, true)
	if err != nil {
		return nil, err
	}
	ch := &chart{ID: "suspensions-by-scope", Title: w.msg("ChartSuspensions"), KeyHeading: w.msg("SuspendScope"),
		Series: []chartSeries{{Name: w.msg("InForce"), Class: "s-deny"}}, Horizontal: true}
	for _, sc := range suspensionScopes {
		name := w.msg("Scope" + strings.ToUpper(string(sc[:1])) + string(sc[1:]))
		var n int64
		for _, sp := range sps {
			if sp.Scope == sc {
				n++
			}
		}
		ch.Rows = append(ch.Rows, chartRow{Key: string(sc), Label: name, Long: name, Values: []int64{n}})
	}
	return ch, nil
}

// logChart shows the audit log's verified state: the entries the last
// verification from the audit screen found intact, and those written since.
func (s *Server) logChart(ctx context.Context, w words, lang string) (*logState, error) {
	size, err := s.node.Log.Size(ctx)
	if err != nil {
		return nil, err
	}
	cp, err := auditlog.LatestCheckpoint(ctx, s.node.DB)
	if err != nil {
		return nil, err
	}
	st := &logState{Entries: size, State: "never"}
	if cp != nil {
		st.Checkpoint = cp.Size
	}
	v := s.verification.view(lang)
	var verified int64
	switch {
	case v.Running:
		st.State, st.Message = "running", w.msg("ChartLogRunning")
	case v.Intact:
		st.State, verified = "intact", v.Entries
		st.Message = s.locs[lang].MustLocalize(&i18n.LocalizeConfig{MessageID: "ChartLogIntact", TemplateData: map[string]any{"Finished": v.Finished, "Entries": thousands(v.Entries)}})
	case v.Broken:
		st.State, st.Message = "broken", w.msg("ChartLogBroken")
	case v.Done:
		st.State, st.Message = "failed", w.msg("ChartLogFailed")
	default:
		st.Message = w.msg("ChartLogNever")
	}
	if verified > size {
		verified = size
	}
	st.Chart = &chart{ID: "log-verified", Title: w.msg("ChartLog"), KeyHeading: w.msg("AuditLog"),
		Series: []chartSeries{{Name: w.msg("ChartLogVerified"), Class: "s-ok"}, {Name: w.msg("ChartLogUnverified"), Class: "s-pending"}}, Horizontal: true,
		Rows: []chartRow{{Key: "entries", Label: w.msg("AuditLog"), Long: w.msg("AuditLog"), Values: []int64{verified, size - verified}}}}
	st.Chart.Desc = st.Message
	return st, nil
}
