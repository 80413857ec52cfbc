// Package detect finds signs of improper use of the register in the audit
// log (不正利用の検知, koto-ward:8, aomori-pref:8): look-ups out of office
// hours, unusually many residents looked up by one person in a day, one
// resident looked up by many people in a day, and repeated refusals. The
// rules come from the misuse cases the regulations were written against
// (docs/detection.md). A detection run reads the entries since the last
// run, recomputes the rules for the days they touch and raises or updates
// alerts, all in one transaction with the run's own audit entry; a person
// who may investigate closes an alert with a finding, logged too.
package detect

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
)

// The rules.
const (
	RuleAfterHours = "after-hours" // 時間外の照会
	RuleVolume     = "volume"      // 大量の照会
	RuleCrowd      = "crowd"       // 多数の職員による同一住民の照会
	RuleDenials    = "denials"     // 拒否の繰り返し
	RuleRoomEntry  = "room-entry"  // 入室権限のない者の入室 (internal/facility)
	// The rules the real misuse cases need (docs/detection.md).
	RuleProtected = "protected"   // 支援措置対象者の照会 (immediate: raised by the gate, Alarm)
	RuleNoCase    = "no-case-ref" // 案件番号のない照会 (延岡)
	RuleRepeat    = "repeat"      // 同一住民の繰り返し照会 (高知)
	RuleKin       = "kin"         // 同姓の住民の照会 (a weak signal)
	RuleSpike     = "spike"       // 短時間に多数の職員による同一住民の照会 (横手, faster)
)

// Rules lists the rules in the order they are shown.
var Rules = []string{RuleProtected, RuleAfterHours, RuleVolume, RuleCrowd, RuleSpike, RuleDenials, RuleNoCase, RuleRepeat, RuleKin, RuleRoomEntry}

// Immediate says whether a rule's alerts are raised at the moment of the
// access, by the gate, rather than by the next detection run.
func Immediate(rule string) bool { return rule == RuleProtected }

// AboutResident says whether a rule's alerts name a resident (住民票コード)
// as their subject, rather than a person.
func AboutResident(rule string) bool { return rule == RuleCrowd || rule == RuleSpike }

// RuleNames are the rules' names for people, in Japanese and English.
var RuleNames = map[string][2]string{
	RuleAfterHours: {"時間外の照会", "Look-ups out of office hours"},
	RuleVolume:     {"大量の照会", "Many residents looked up by one person"},
	RuleCrowd:      {"多数の職員による同一住民の照会", "One resident looked up by many people"},
	RuleDenials:    {"拒否の繰り返し", "Repeated refusals"},
	RuleRoomEntry:  {"入室権限のない者の入室", "Entry into a room without authorisation"},
	RuleProtected:  {"支援措置対象者の照会（即時通知）", "Read of a resident under a support measure (immediate)"},
	RuleNoCase:     {"案件番号のない照会", "Look-ups without a case reference where the affair needs one"},
	RuleRepeat:     {"同一住民の繰り返し照会", "One resident read again and again by one person"},
	RuleKin:        {"同姓の住民の照会（弱い兆候）", "Residents sharing the operator's surname (weak signal)"},
	RuleSpike:      {"短時間に多数の職員による同一住民の照会", "One resident read by many people within an hour"},
}

// Settings are the rules' thresholds.
type Settings struct {
	// OfficeStart and OfficeEnd bound office hours on office days
	// (OfficeDay), as time of day in Japan; any look-up outside them, or
	// on a day offices are closed, is after hours.
	OfficeStart, OfficeEnd time.Duration
	// DailyResidents: more residents than this provided to one person in
	// one day is a volume alert.
	DailyResidents int
	// ActorsPerResident: this many different people or more looking up one
	// resident in one day is a crowd alert.
	ActorsPerResident int
	// DailyDenials: this many refused requests or more by one person in one
	// day is a denials alert.
	DailyDenials int
	// NoCaseDaily: this many look-ups or more by one person in one day
	// without a case reference, for affairs in CaseRequired, is a
	// no-case-ref alert.
	NoCaseDaily int
	// RepeatPerDay: this many reads or more of one resident by one person
	// in one day that are unexplained (no case reference, or a reason that
	// does not fit the affair: AffairReasons) is a repeat alert; so are
	// unexplained reads of one resident on RepeatDays different days within
	// RepeatWindowDays days.
	RepeatPerDay, RepeatDays, RepeatWindowDays int
	// KinDaily: this many residents or more sharing the operator's surname
	// (gate.SignalSameSurname), read without a case reference in one day,
	// is a kin alert.
	KinDaily int
	// ActorsPerHour: this many people or more reading one resident within
	// any hour is a spike alert.
	ActorsPerHour int
	// CaseRequired are the affairs (by id and by name, as requests name
	// them) whose profile requires a case reference (profile.Affair
	// NeedsCase); AffairReasons the phrases a reason for an affair is
	// expected to hold (profile.Affair Reasons). From the profile, not
	// jukinet.toml: see WithProfile.
	CaseRequired  map[string]bool
	AffairReasons map[string][]string
}

// WithProfile returns s with what the profile says of its affairs: which
// need a case reference, and the reasons that fit each.
func (s Settings) WithProfile(p *profile.Profile) Settings {
	s.CaseRequired, s.AffairReasons = map[string]bool{}, map[string][]string{}
	for _, a := range p.Affairs {
		for _, name := range []string{a.ID, a.Name} {
			if a.NeedsCase() {
				s.CaseRequired[name] = true
			}
			if len(a.Reasons) > 0 {
				s.AffairReasons[name] = a.Reasons
			}
		}
	}
	return s
}

// unexplained says whether an access does not explain itself: no case
// reference, or a reason that does not fit its affair.
func (s Settings) unexplained(e *auditlog.Entry) bool {
	if strings.TrimSpace(e.CaseRef) == "" {
		return true
	}
	return !(profile.Affair{Reasons: s.AffairReasons[e.Affair]}).FitsReason(e.Reason)
}

// DefaultSettings are the thresholds used unless jukinet.toml sets others.
var DefaultSettings = Settings{
	OfficeStart:       8*time.Hour + 30*time.Minute,
	OfficeEnd:         17*time.Hour + 15*time.Minute,
	DailyResidents:    200,
	ActorsPerResident: 5,
	DailyDenials:      5,
	NoCaseDaily:       1,
	RepeatPerDay:      3,
	RepeatDays:        3,
	RepeatWindowDays:  30,
	KinDaily:          1,
	ActorsPerHour:     3,
}

// Check reports a setting that cannot work.
func (s Settings) Check() error {
	switch {
	case s.OfficeStart < 0 || s.OfficeEnd > 24*time.Hour || s.OfficeStart >= s.OfficeEnd:
		return fmt.Errorf("office hours %s–%s: the start must come before the end, within one day", clock(s.OfficeStart), clock(s.OfficeEnd))
	case s.DailyResidents < 1:
		return fmt.Errorf("daily_residents %d: must be at least 1", s.DailyResidents)
	case s.ActorsPerResident < 2:
		return fmt.Errorf("actors_per_resident %d: must be at least 2", s.ActorsPerResident)
	case s.DailyDenials < 1:
		return fmt.Errorf("daily_denials %d: must be at least 1", s.DailyDenials)
	case s.NoCaseDaily < 1:
		return fmt.Errorf("no_case_daily %d: must be at least 1", s.NoCaseDaily)
	case s.RepeatPerDay < 2:
		return fmt.Errorf("repeat_per_day %d: must be at least 2", s.RepeatPerDay)
	case s.RepeatDays < 2 || s.RepeatWindowDays < s.RepeatDays || s.RepeatWindowDays > 366:
		return fmt.Errorf("repeat_days %d within repeat_window_days %d: need 2 or more days within a window of at least as many days, at most 366",
			s.RepeatDays, s.RepeatWindowDays)
	case s.KinDaily < 1:
		return fmt.Errorf("kin_daily %d: must be at least 1", s.KinDaily)
	case s.ActorsPerHour < 2:
		return fmt.Errorf("actors_per_hour %d: must be at least 2", s.ActorsPerHour)
	}
	return nil
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}

// accessActions are the gate's actions that let identity information out:
// the ones the rules on look-ups count.
var accessActions = []string{"lookup", "search", "history", "export", "provide"}

// human reports whether an actor is a person (an operator at a terminal or
// a user on the server's console): the rules watch people, not nodes.
func human(actor string) bool {
	return strings.HasPrefix(actor, string(auditlog.ActorOperator)+":") || strings.HasPrefix(actor, string(auditlog.ActorConsole)+":")
}

// Finding is what a rule found for one day and one subject.
type Finding struct {
	Rule     string
	Day      string // YYYY-MM-DD, Japan
	Subject  string // actor (kind:id) or 住民票コード
	Count    int
	Detail   string // in English
	DetailJA string // in Japanese
	FirstSeq int64
	LastSeq  int64
}

func (f Finding) key() string { return f.Rule + "|" + f.Day + "|" + f.Subject }

// tally collects what one rule counts for one subject.
type tally struct {
	count          int
	first, last    int64
	times, members []string
	seen           map[string]bool
}

func (t *tally) add(seq int64, member string) {
	if t.seen == nil {
		t.seen, t.first = map[string]bool{}, seq
	}
	t.last = seq
	if member != "" && !t.seen[member] {
		t.seen[member] = true
		t.members = append(t.members, member)
	}
	t.count++
}

// Evaluate applies the rules to one day's entries (all of them, oldest
// first) and returns the findings, ordered by rule and subject.
func Evaluate(s Settings, day string, entries []auditlog.Listed) []Finding {
	return EvaluateWith(s, day, entries, nil)
}

// Earlier are, for a person and a resident (Pair), the days before the
// day evaluated, within the repeat window, on which the person read the
// resident unexplained (RepeatPairs says which pairs to look up).
type Earlier map[Pair][]string

// Pair is a person and a resident.
type Pair struct{ Actor, Resident string }

// access says whether an entry is a successful, allowed access by a
// person: what the rules on residents count.
func access(l auditlog.Listed) bool {
	e := l.Entry
	return e != nil && human(l.Actor) && e.Decision != auditlog.Deny && e.Outcome == auditlog.OutcomeOK && slices.Contains(accessActions, e.Action)
}

// readActions are the accesses of a person to a resident the repeat, kin
// and no-case rules count (not an export or a batch).
var readActions = []string{"lookup", "search", "history"}

// RepeatPairs are the people and residents of a day's entries read
// unexplained: the pairs whose earlier days the repeat rule needs.
func RepeatPairs(s Settings, entries []auditlog.Listed) []Pair {
	seen := map[Pair]bool{}
	var out []Pair
	for _, l := range entries {
		if !access(l) || !slices.Contains(readActions, l.Entry.Action) || !s.unexplained(l.Entry) {
			continue
		}
		for _, code := range l.Entry.Subjects {
			p := Pair{l.Actor, code}
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// EvaluateWith is Evaluate knowing the earlier days of unexplained reads
// (for the repeat rule across days; nil: this day alone).
func EvaluateWith(s Settings, day string, entries []auditlog.Listed, earlier Earlier) []Finding {
	after := map[string]*tally{}     // actor → after-hours accesses
	residents := map[string]*tally{} // actor → residents provided
	crowd := map[string]*tally{}     // resident → actors
	denials := map[string]*tally{}   // actor → refused requests
	noCase := map[string]*tally{}    // actor → look-ups without the case reference their affair needs
	kin := map[string]*tally{}       // actor → residents sharing their surname
	repeat := map[Pair]*tally{}      // actor and resident → unexplained reads
	type read struct {
		at    time.Time
		actor string
		seq   int64
	}
	reads := map[string][]read{} // resident → reads, for the spike rule
	get := func(m map[string]*tally, k string) *tally {
		t := m[k]
		if t == nil {
			t = &tally{}
			m[k] = t
		}
		return t
	}
	for _, l := range entries {
		e := l.Entry
		if e == nil || !human(l.Actor) {
			continue
		}
		if e.Decision == auditlog.Deny {
			t := get(denials, l.Actor)
			t.add(l.Seq, "")
			t.times = append(t.times, e.Time.In(jptext.JST).Format("15:04")+" "+e.Action)
			continue
		}
		if e.Outcome != auditlog.OutcomeOK || !slices.Contains(accessActions, e.Action) {
			continue
		}
		// Office hours (and the spike rule's hour) by what the clock read:
		// an entry stamped while the clock stood before the log's latest
		// time (stepped back) carries that later time, but the look-up was
		// made at the clock's hour.
		local := e.Clock().In(jptext.JST)
		if outsideHours(s, local) {
			t := get(after, l.Actor)
			t.add(l.Seq, "")
			t.times = append(t.times, local.Format("15:04")+" "+e.Action)
		}
		for _, code := range e.Subjects {
			get(residents, l.Actor).add(l.Seq, code)
			get(crowd, code).add(l.Seq, l.Actor)
			reads[code] = append(reads[code], read{e.Clock(), l.Actor, l.Seq})
		}
		if !slices.Contains(readActions, e.Action) {
			continue
		}
		caseless := strings.TrimSpace(e.CaseRef) == ""
		if caseless && s.CaseRequired[e.Affair] {
			t := get(noCase, l.Actor)
			t.add(l.Seq, "")
			t.times = append(t.times, fmt.Sprintf("%s %s (%s)", local.Format("15:04"), e.Action, e.Affair))
		}
		if caseless && strings.Contains(e.Detail, gate.SignalSameSurname) {
			for _, code := range e.Subjects {
				get(kin, l.Actor).add(l.Seq, code)
			}
		}
		if s.unexplained(e) {
			for _, code := range slices.Compact(slices.Sorted(slices.Values(e.Subjects))) {
				p := Pair{l.Actor, code}
				t := repeat[p]
				if t == nil {
					t = &tally{}
					repeat[p] = t
				}
				t.add(l.Seq, "")
				t.times = append(t.times, local.Format("15:04"))
			}
		}
	}
	var out []Finding
	emit := func(rule string, m map[string]*tally, keep func(*tally) (n int, en, ja string, ok bool)) {
		subjects := make([]string, 0, len(m))
		for k := range m {
			subjects = append(subjects, k)
		}
		sort.Strings(subjects)
		for _, k := range subjects {
			t := m[k]
			if n, en, ja, ok := keep(t); ok {
				out = append(out, Finding{Rule: rule, Day: day, Subject: k, Count: n, Detail: en, DetailJA: ja, FirstSeq: t.first, LastSeq: t.last})
			}
		}
	}
	hours := clock(s.OfficeStart) + "–" + clock(s.OfficeEnd)
	emit(RuleAfterHours, after, func(t *tally) (int, string, string, bool) {
		return t.count, fmt.Sprintf("%d %s out of office hours (%s on office days): %s", t.count, plural(t.count, "access", "accesses"), hours, list(t.times)),
			fmt.Sprintf("開庁時間（開庁日の%s）外の照会 %d件：%s", hours, t.count, list(t.times)), true
	})
	emit(RuleVolume, residents, func(t *tally) (int, string, string, bool) {
		n := len(t.members)
		return n, fmt.Sprintf("%d residents provided in one day (threshold %d)", n, s.DailyResidents),
			fmt.Sprintf("1日に%d人の住民の情報を照会（基準 %d人）", n, s.DailyResidents), n > s.DailyResidents
	})
	emit(RuleCrowd, crowd, func(t *tally) (int, string, string, bool) {
		n := len(t.members)
		return n, fmt.Sprintf("looked up by %d people in one day (threshold %d): %s", n, s.ActorsPerResident, list(t.members)),
			fmt.Sprintf("1日に%d人の職員が照会（基準 %d人）：%s", n, s.ActorsPerResident, list(t.members)), n >= s.ActorsPerResident
	})
	emit(RuleDenials, denials, func(t *tally) (int, string, string, bool) {
		return t.count, fmt.Sprintf("%d refused requests in one day (threshold %d): %s", t.count, s.DailyDenials, list(t.times)),
			fmt.Sprintf("1日に%d件の要求が拒否（基準 %d件）：%s", t.count, s.DailyDenials, list(t.times)), t.count >= s.DailyDenials
	})
	emit(RuleNoCase, noCase, func(t *tally) (int, string, string, bool) {
		return t.count, fmt.Sprintf("%d %s without a case reference for affairs that require one (threshold %d): %s", t.count, plural(t.count, "look-up", "look-ups"), s.NoCaseDaily, list(t.times)),
			fmt.Sprintf("案件番号が必要な利用事務で、案件番号のない照会 %d件（基準 %d件）：%s。業務上の必要（申請・届出・調査）に基づく照会か確認してください", t.count, s.NoCaseDaily, list(t.times)),
			t.count >= s.NoCaseDaily
	})
	emit(RuleKin, kin, func(t *tally) (int, string, string, bool) {
		n := len(t.members)
		return n, fmt.Sprintf("%d %s sharing the operator's surname read without a case reference (threshold %d; a weak signal of a relative): %s", n, plural(n, "resident", "residents"), s.KinDaily, list(t.members)),
			fmt.Sprintf("職員と同じ姓の住民 %d人を案件番号なしで照会（基準 %d人）：%s。親族の照会の可能性があります（弱い兆候：同姓の別人であることも多い）", n, s.KinDaily, list(t.members)),
			n >= s.KinDaily
	})
	out = append(out, repeatFindings(s, day, repeat, earlier)...)
	// Spike: the most people reading one resident within any hour.
	codes := make([]string, 0, len(reads))
	for c := range reads {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, code := range codes {
		rs := reads[code]
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].at.Before(rs[j].at) })
		best, bestFrom, bestTo := 0, 0, 0
		in := map[string]int{}
		for from, to := 0, 0; to < len(rs); to++ {
			in[rs[to].actor]++
			for rs[to].at.Sub(rs[from].at) >= time.Hour {
				if in[rs[from].actor]--; in[rs[from].actor] == 0 {
					delete(in, rs[from].actor)
				}
				from++
			}
			if len(in) > best {
				best, bestFrom, bestTo = len(in), from, to
			}
		}
		if best < s.ActorsPerHour {
			continue
		}
		var who []string
		for _, r := range rs[bestFrom : bestTo+1] {
			if !slices.Contains(who, r.actor) {
				who = append(who, r.actor)
			}
		}
		window := rs[bestFrom].at.In(jptext.JST).Format("15:04") + "–" + rs[bestTo].at.In(jptext.JST).Format("15:04")
		out = append(out, Finding{Rule: RuleSpike, Day: day, Subject: code, Count: best,
			Detail:   fmt.Sprintf("read by %d people within an hour, %s (threshold %d): %s", best, window, s.ActorsPerHour, list(who)),
			DetailJA: fmt.Sprintf("1時間以内に%d人の職員が照会（%s、基準 %d人）：%s。報道等で注目された住民への興味本位の照会の可能性があります", best, window, s.ActorsPerHour, list(who)),
			FirstSeq: rs[0].seq, LastSeq: rs[len(rs)-1].seq})
	}
	sort.SliceStable(out, func(i, j int) bool {
		return slices.Index(Rules, out[i].Rule) < slices.Index(Rules, out[j].Rule)
	})
	return out
}

// repeatFindings are the repeat alerts of a day, one per person, naming
// each resident they read unexplained RepeatPerDay times that day, or on
// RepeatDays days of the window (earlier days and this one).
func repeatFindings(s Settings, day string, repeat map[Pair]*tally, earlier Earlier) []Finding {
	type hit struct {
		en, ja      string
		first, last int64
		n           int
	}
	byActor := map[string][]hit{}
	pairs := make([]Pair, 0, len(repeat))
	for p := range repeat {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].Actor != pairs[j].Actor {
			return pairs[i].Actor < pairs[j].Actor
		}
		return pairs[i].Resident < pairs[j].Resident
	})
	for _, p := range pairs {
		t := repeat[p]
		days := append(slices.Clone(earlier[p]), day)
		slices.Sort(days)
		days = slices.Compact(days)
		switch {
		case t.count >= s.RepeatPerDay:
			byActor[p.Actor] = append(byActor[p.Actor], hit{
				en: fmt.Sprintf("%s %d times (%s)", p.Resident, t.count, list(t.times)),
				ja: fmt.Sprintf("%s を%d回（%s）", p.Resident, t.count, list(t.times)), first: t.first, last: t.last, n: t.count})
		case len(days) >= s.RepeatDays:
			byActor[p.Actor] = append(byActor[p.Actor], hit{
				en: fmt.Sprintf("%s on %d days (%s)", p.Resident, len(days), list(days)),
				ja: fmt.Sprintf("%s を%d日にわたり（%s）", p.Resident, len(days), list(wareki(days))), first: t.first, last: t.last, n: len(days)})
		}
	}
	actors := make([]string, 0, len(byActor))
	for a := range byActor {
		actors = append(actors, a)
	}
	sort.Strings(actors)
	var out []Finding
	for _, a := range actors {
		hs := byActor[a]
		f := Finding{Rule: RuleRepeat, Day: day, Subject: a, FirstSeq: hs[0].first, LastSeq: hs[0].last}
		var en, ja []string
		for _, h := range hs {
			f.Count += h.n
			f.FirstSeq, f.LastSeq = min(f.FirstSeq, h.first), max(f.LastSeq, h.last)
			en, ja = append(en, h.en), append(ja, h.ja)
		}
		f.Detail = fmt.Sprintf("the same resident read again and again without a case reference or with a reason that does not fit the affair (threshold %d a day, or %d days in %d): %s",
			s.RepeatPerDay, s.RepeatDays, s.RepeatWindowDays, strings.Join(en, "; "))
		f.DetailJA = fmt.Sprintf("案件番号なし、または利用事務に合わない理由で、同じ住民を繰り返し照会（基準：1日%d回、または%d日間に%d日）：%s。知人等に頼まれた照会（高知市の事例）の可能性があります",
			s.RepeatPerDay, s.RepeatWindowDays, s.RepeatDays, strings.Join(ja, "、"))
		out = append(out, f)
	}
	return out
}

// outsideHours reports whether a time in Japan is outside office hours:
// not on an office day, or outside OfficeStart–OfficeEnd.
func outsideHours(s Settings, t time.Time) bool {
	if !OfficeDay(t) {
		return true
	}
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	return since < s.OfficeStart || since >= s.OfficeEnd
}

// OfficeDay reports whether local government offices are open on the day
// of t (in Japan): not a Saturday or Sunday, not a national holiday, and
// not in the year-end closure of 29 December to 3 January (地方自治法第4条の2,
// in every body's 休日条例).
func OfficeDay(t time.Time) bool {
	t = t.In(jptext.JST)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	if _, m, d := t.Date(); (m == time.December && d >= 29) || (m == time.January && d <= 3) {
		return false
	}
	_, holiday := jptext.Holiday(t)
	return !holiday
}

// plural picks the English word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// list joins the first few items, saying how many more there are.
func list(items []string) string {
	const show = 10
	if len(items) <= show {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:show], ", ") + fmt.Sprintf(" … (%d more)", len(items)-show)
}

// wareki writes days (YYYY-MM-DD) as people read them, in 和暦.
func wareki(days []string) []string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = d
		if t, err := time.ParseInLocation(time.DateOnly, d, jptext.JST); err == nil {
			out[i] = jptext.FormatWareki(t)
		}
	}
	return out
}

// dayOf is the day (YYYY-MM-DD) a time falls on in Japan.
func dayOf(t time.Time) string { return t.In(jptext.JST).Format(time.DateOnly) }

// dayBounds returns the start and end of a day in Japan.
func dayBounds(day string) (time.Time, time.Time, error) {
	start, err := time.ParseInLocation(time.DateOnly, day, jptext.JST)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("day %q: %w", day, err)
	}
	return start, start.AddDate(0, 0, 1), nil
}
