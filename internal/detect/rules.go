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
	"jukinet/internal/jptext"
)

// The rules.
const (
	RuleAfterHours = "after-hours" // 時間外の照会
	RuleVolume     = "volume"      // 大量の照会
	RuleCrowd      = "crowd"       // 多数の職員による同一住民の照会
	RuleDenials    = "denials"     // 拒否の繰り返し
	RuleRoomEntry  = "room-entry"  // 入室権限のない者の入室 (internal/facility)
)

// Rules lists the rules in the order they are shown.
var Rules = []string{RuleAfterHours, RuleVolume, RuleCrowd, RuleDenials, RuleRoomEntry}

// RuleNames are the rules' names for people, in Japanese and English.
var RuleNames = map[string][2]string{
	RuleAfterHours: {"時間外の照会", "Look-ups out of office hours"},
	RuleVolume:     {"大量の照会", "Many residents looked up by one person"},
	RuleCrowd:      {"多数の職員による同一住民の照会", "One resident looked up by many people"},
	RuleDenials:    {"拒否の繰り返し", "Repeated refusals"},
	RuleRoomEntry:  {"入室権限のない者の入室", "Entry into a room without authorisation"},
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
}

// DefaultSettings are the thresholds used unless jukinet.toml sets others.
var DefaultSettings = Settings{
	OfficeStart:       8*time.Hour + 30*time.Minute,
	OfficeEnd:         17*time.Hour + 15*time.Minute,
	DailyResidents:    200,
	ActorsPerResident: 5,
	DailyDenials:      5,
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
	after := map[string]*tally{}     // actor → after-hours accesses
	residents := map[string]*tally{} // actor → residents provided
	crowd := map[string]*tally{}     // resident → actors
	denials := map[string]*tally{}   // actor → refused requests
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
		if local := e.Time.In(jptext.JST); outsideHours(s, local) {
			t := get(after, l.Actor)
			t.add(l.Seq, "")
			t.times = append(t.times, local.Format("15:04")+" "+e.Action)
		}
		for _, code := range e.Subjects {
			get(residents, l.Actor).add(l.Seq, code)
			get(crowd, code).add(l.Seq, l.Actor)
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
