package council_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/council"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/incident"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
)

// decided holds a meeting with every seat of the fixture present and an
// adopted and a rejected decision, and returns the meeting and both.
func decided(t *testing.T, f *fixture) (id, adopted, rejected int64) {
	t.Helper()
	ctx := context.Background()
	seat(t, f)
	id = meeting(t, f)
	Must(t, f.Council.Attend(ctx, chair, id, append([]string{chief}, members...), nil))
	adopted, err := f.Council.Decide(ctx, chair, id, council.Decision{Text: "各部署の端末の設置状況を点検する", Method: council.Vote, For: 6, Against: 1})
	Must(t, err)
	rejected, err = f.Council.Decide(ctx, chair, id, council.Decision{Text: "全端末を即日停止する", Method: council.Vote, For: 1, Against: 5, Abstain: 1})
	Must(t, err)
	return id, adopted, rejected
}

// TestDirectives: after an adopted decision (never a rejected one) the
// chief security officer directs departments and requests other bodies,
// due no earlier than the meeting; the department's head acknowledges,
// then reports completion; a body's answer is recorded. A directive not
// done by the end of its due day is overdue on the node's clock, and is
// put on the next meeting's agenda.
func TestDirectives(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		mid, adopted, rejected := decided(t, f)
		today := jptext.Midnight(f.Clock.Now())
		issue := func(dec int64, kind council.DirectiveKind, to, text string, due time.Time) (int64, error) {
			dr := council.Directive{Decision: dec, Kind: kind, Text: text, Due: due}
			if kind == council.KindDirective {
				dr.Department = to
			} else {
				dr.Body = to
			}
			return f.Council.Issue(ctx, chair, dr)
		}
		_, err := issue(rejected, council.KindDirective, "kumin", "停止の準備", today.AddDate(0, 0, 7))
		expect(t, "after a rejected decision", err, apperr.Conflict, "否決されたため")
		_, err = issue(adopted, council.KindDirective, "kumin", "点検", today.AddDate(0, 0, -1))
		expect(t, "due before the meeting", err, apperr.Invalid, "会議の日")
		kazei, err := issue(adopted, council.KindDirective, "kazei", "課税課の端末の設置場所を点検し報告すること", today.AddDate(0, 0, 7))
		Must(t, err)
		kumin, err := issue(adopted, council.KindDirective, "kumin", "区民課の端末の設置場所を点検し報告すること", today.AddDate(0, 0, 3))
		Must(t, err)
		board, err := issue(adopted, council.KindRequest, "教育委員会", "学務課の端末管理の点検を要請する", today.AddDate(0, 0, 10))
		Must(t, err)

		so := Operator("SO-KAZEI", "T-KAZEI-01")
		expect(t, "completion before acknowledgement", f.Council.Complete(ctx, so, kazei, "点検済み"), apperr.Conflict, "受領が記録されていません")
		Must(t, f.Council.Acknowledge(ctx, so, kazei))
		expect(t, "acknowledged twice", f.Council.Acknowledge(ctx, so, kazei), apperr.Conflict, "受領済み")
		expect(t, "completion without a note", f.Council.Complete(ctx, so, kazei, " "), apperr.Invalid, "完了の報告")
		Must(t, f.Council.Complete(ctx, so, kazei, "設置場所を確認し、1台を施錠区画へ移設した"))
		expect(t, "completed twice", f.Council.Complete(ctx, so, kazei, "再報告"), apperr.Conflict, "完了の報告済み")
		expect(t, "acknowledging a request", f.Council.Acknowledge(ctx, so, board), apperr.Invalid, "教育委員会への要請です")
		expect(t, "answering a directive", f.Council.Answer(ctx, chair, kumin, "回答"), apperr.Invalid, "部署への指示です")
		Must(t, f.Council.Answer(ctx, chair, board, "点検を実施し、結果を報告する"))
		expect(t, "answered twice", f.Council.Answer(ctx, chair, board, "再回答"), apperr.Conflict, "回答は記録済み")

		// Overdue: the end of the due day, on the clock given.
		due := today.AddDate(0, 0, 3)
		for _, c := range []struct {
			at   time.Time
			want []int64
		}{
			{due.Add(12 * time.Hour), nil},
			{due.AddDate(0, 0, 1).Add(-time.Second), nil},
			{due.AddDate(0, 0, 1), []int64{kumin}},
			{today.AddDate(0, 0, 30), []int64{kumin}}, // 区民課's is done neither; 課税課's and the request are
		} {
			late, err := council.Overdue(ctx, d, c.at)
			Must(t, err)
			var got []int64
			for _, l := range late {
				got = append(got, l.ID)
				if !l.Overdue(c.at) {
					t.Errorf("Overdue lists %d, which says it is not overdue at %s", l.ID, c.at)
				}
			}
			if len(got) != len(c.want) || (len(got) == 1 && got[0] != c.want[0]) {
				t.Errorf("overdue at %s = %v, want %v", c.at, got, c.want)
			}
		}

		// The next meeting, convened once it is overdue, has it on its agenda.
		f.Clock.Set(due.AddDate(0, 0, 1).Add(10 * time.Hour))
		next, err := f.Council.Convene(ctx, chair, council.Meeting{Kind: council.Regular, At: f.Clock.Now().Add(24 * time.Hour), Place: "第1会議室"})
		Must(t, err)
		m, err := council.Get(ctx, d, next)
		Must(t, err)
		if len(m.Items) != 1 || m.Items[0].RefKind != council.RefDirective || m.Items[0].RefID != kumin ||
			!strings.Contains(m.Items[0].Title, "期限を過ぎた指示 第") || !strings.Contains(m.Items[0].Title, "区民課") {
			t.Errorf("the next agenda = %+v", m.Items)
		}
		// Done, it is no longer overdue.
		officer := Operator("SO-KUMIN", "T-KUMIN-01")
		Must(t, f.Council.Acknowledge(ctx, officer, kumin))
		Must(t, f.Council.Complete(ctx, officer, kumin, "点検を完了した（期限後）"))
		if late, err := council.Overdue(ctx, d, f.Clock.Now()); err != nil || len(late) != 0 {
			t.Errorf("overdue after completion: %v %v", late, err)
		}
		all, err := council.Directives(ctx, d)
		Must(t, err)
		if len(all) != 3 || all[0].ID != board || all[0].Note != "点検を実施し、結果を報告する" || all[0].Meeting != mid || all[2].AcknowledgedBy != "operator:SO-KAZEI" {
			t.Errorf("directives = %+v", all)
		}
		got := councilEntries(t, d)
		for k, n := range map[string]int{"council.directive/ok": 2, "council.request/ok": 1, "council.acknowledge/ok": 2, "council.complete/ok": 2, "council.answer/ok": 1,
			"council.directive/error": 2, "council.acknowledge/error": 1, "council.complete/error": 2, "council.answer/error": 1} {
			if got[k] != n {
				t.Errorf("audit entries %s = %d, want %d (all: %v)", k, got[k], n, got)
			}
		}
	})
}

// TestExtraordinaryMeetings: the chair calls an extraordinary meeting from
// an incident or a detection alert, which becomes its first item; a
// regular meeting is not called from one, and one not recorded is refused.
// Items may link incidents and alerts later too.
func TestExtraordinaryMeetings(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		seat(t, f)
		in, err := incident.New(d, f.Log, f.Engine, "131083").Open(ctx, chair, incident.Incident{Kind: incident.KindMisuse, Title: "職員による目的外照会の疑い", Summary: "同一住民への照会が集中"})
		Must(t, err)
		// A look-up late last night, detected.
		night := jptext.Midnight(f.Clock.Now()).Add(-20 * time.Minute)
		if _, err := f.Log.Append(ctx, auditlog.Entry{Time: night, Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: Clerk},
			Origin: "terminal:T-KUMIN-01", Action: "lookup", Affair: "juki", Reason: "確認", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
		det, err := detect.New(d, f.Log, f.Engine, "131083", detect.DefaultSettings)
		Must(t, err)
		_, err = det.Run(ctx)
		Must(t, err)
		alerts, err := detect.List(ctx, d, false)
		Must(t, err)
		if len(alerts) != 1 {
			t.Fatalf("alerts = %+v", alerts)
		}
		at := f.Clock.Now().Add(2 * time.Hour)
		convene := func(kind council.Kind, source string) (int64, error) {
			return f.Council.Convene(ctx, chair, council.Meeting{Kind: kind, At: at, Place: "危機管理室", Source: source})
		}
		for _, c := range []struct {
			source string
			title  string
		}{
			{"incident:" + itoa(in), "事案 " + itoa(in) + "「職員による目的外照会の疑い」への対応"},
			{"alert:" + itoa(alerts[0].ID), "検知 " + itoa(alerts[0].ID) + "（" + alerts[0].Day + "）への対応：開庁時間"},
		} {
			id, err := convene(council.Extraordinary, c.source)
			Must(t, err)
			m, err := council.Get(ctx, d, id)
			Must(t, err)
			kind, ref := m.SourceRef()
			if m.Source != c.source || len(m.Items) != 1 || kind+":"+itoa(ref) != c.source || m.Items[0].RefKind+":"+itoa(m.Items[0].RefID) != c.source ||
				!strings.HasPrefix(m.Items[0].Title, c.title) {
				t.Errorf("meeting called from %s = %+v", c.source, m)
			}
		}
		_, err = convene(council.Regular, "incident:"+itoa(in))
		expect(t, "regular from an incident", err, apperr.Invalid, "臨時会議です")
		_, err = convene(council.Extraordinary, "incident:999")
		expect(t, "unknown incident", err, apperr.NotFound, "事案 999 はありません")
		_, err = convene(council.Extraordinary, "alert:999")
		expect(t, "unknown alert", err, apperr.NotFound, "検知 999 はありません")
		_, err = convene(council.Extraordinary, "lunch:1")
		expect(t, "unknown source", err, apperr.Invalid, "事案（incident:番号）か検知（alert:番号）")
		ms, err := council.List(ctx, d)
		Must(t, err)
		if len(ms) != 2 {
			t.Errorf("%d meetings stored, want the 2 called", len(ms))
		}
		// Items linking records: the title defaults to the record's.
		item, err := f.Council.AddItem(ctx, chair, ms[0].ID, council.Item{RefKind: council.RefIncident, RefID: in})
		Must(t, err)
		_, err = f.Council.AddItem(ctx, chair, ms[0].ID, council.Item{RefKind: council.RefAlert, RefID: 999})
		expect(t, "item of an unknown alert", err, apperr.NotFound, "検知 999")
		m, err := council.Get(ctx, d, ms[0].ID)
		Must(t, err)
		if len(m.Items) != 2 || m.Items[1].ID != item || m.Items[1].Number != 2 || !strings.Contains(m.Items[1].Title, "職員による目的外照会の疑い") {
			t.Errorf("items = %+v", m.Items)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestBadInput: what the record is given is checked first, each refusal in
// Japanese naming the field, and nothing is stored.
func TestBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		mid, adopted, _ := decided(t, f)
		now := f.Clock.Now()
		ok := council.Meeting{Kind: council.Regular, At: now.Add(time.Hour), Place: "会議室"}
		okDirective := council.Directive{Decision: adopted, Kind: council.KindDirective, Department: "kumin", Text: "点検", Due: jptext.Midnight(now).AddDate(0, 0, 7)}
		before := rows(t, d)
		for _, c := range []struct {
			name string
			do   func() error
			code apperr.Code
			ja   string
		}{
			{"meeting: no kind", func() error { m := ok; m.Kind = ""; _, err := f.Council.Convene(ctx, chair, m); return err }, apperr.Invalid, "定例会議か臨時会議か"},
			{"meeting: no place", func() error { m := ok; m.Place = "　"; _, err := f.Council.Convene(ctx, chair, m); return err }, apperr.Invalid, "開催場所"},
			{"meeting: control character", func() error {
				m := ok
				m.Place = "会議室\x07"
				_, err := f.Council.Convene(ctx, chair, m)
				return err
			}, apperr.Invalid, "開催場所"},
			{"meeting: long place", func() error {
				m := ok
				m.Place = strings.Repeat("会", council.FieldPlace.Max+1)
				_, err := f.Council.Convene(ctx, chair, m)
				return err
			}, apperr.Invalid, "開催場所"},
			{"meeting: no time", func() error { m := ok; m.At = time.Time{}; _, err := f.Council.Convene(ctx, chair, m); return err }, apperr.Invalid, "開催日時を入力"},
			{"meeting: two years on", func() error {
				m := ok
				m.At = now.AddDate(2, 0, 0)
				_, err := f.Council.Convene(ctx, chair, m)
				return err
			}, apperr.Invalid, "1年以上離れています"},
			{"meeting: bad source", func() error {
				m := ok
				m.Kind, m.Source = council.Extraordinary, "incident:x"
				_, err := f.Council.Convene(ctx, chair, m)
				return err
			}, apperr.Invalid, "事案（incident:番号）"},
			{"attend: nobody", func() error { return f.Council.Attend(ctx, chair, mid, []string{" "}, nil) }, apperr.Invalid, "出席者を1人以上"},
			{"attend: malformed id", func() error { return f.Council.Attend(ctx, chair, mid, []string{"<script>"}, nil) }, apperr.Invalid, "照合ID「<script>」"},
			{"attend: unknown meeting", func() error { return f.Council.Attend(ctx, chair, 999, []string{"M-KIKI"}, nil) }, apperr.NotFound, "第999回の会議は記録されていません"},
			{"item: no title", func() error { _, err := f.Council.AddItem(ctx, chair, mid, council.Item{Title: " "}); return err }, apperr.Invalid, "議題"},
			{"item: unknown kind", func() error {
				_, err := f.Council.AddItem(ctx, chair, mid, council.Item{Title: "x", RefKind: "lunch", RefID: 1})
				return err
			}, apperr.Invalid, "議題に結び付けられるのは"},
			{"item: no number", func() error {
				_, err := f.Council.AddItem(ctx, chair, mid, council.Item{RefKind: council.RefIncident})
				return err
			}, apperr.Invalid, "番号を入力"},
			{"decision: no text", func() error {
				_, err := f.Council.Decide(ctx, chair, mid, council.Decision{Method: council.Consent})
				return err
			}, apperr.Invalid, "議決の内容"},
			{"decision: no method", func() error { _, err := f.Council.Decide(ctx, chair, mid, council.Decision{Text: "x"}); return err }, apperr.Invalid, "議決の方法"},
			{"decision: no votes", func() error {
				_, err := f.Council.Decide(ctx, chair, mid, council.Decision{Text: "x", Method: council.Vote})
				return err
			}, apperr.Invalid, "賛成・反対・棄権の数"},
			{"decision: negative votes", func() error {
				_, err := f.Council.Decide(ctx, chair, mid, council.Decision{Text: "x", Method: council.Vote, For: 3, Against: -1})
				return err
			}, apperr.Invalid, "賛成・反対・棄権の数"},
			{"minutes: none", func() error { return f.Council.RecordMinutes(ctx, chair, mid, "\r\n ") }, apperr.Invalid, "議事録"},
			{"minutes: control character", func() error { return f.Council.RecordMinutes(ctx, chair, mid, "開会\x1b閉会") }, apperr.Invalid, "議事録"},
			{"directive: no kind", func() error { dr := okDirective; dr.Kind = ""; _, err := f.Council.Issue(ctx, chair, dr); return err }, apperr.Invalid, "指示か要請か"},
			{"directive: unknown department", func() error {
				dr := okDirective
				dr.Department = "nowhere"
				_, err := f.Council.Issue(ctx, chair, dr)
				return err
			}, apperr.Invalid, "指示先の部署「nowhere」はありません"},
			{"request: no body", func() error {
				dr := okDirective
				dr.Kind, dr.Body = council.KindRequest, ""
				_, err := f.Council.Issue(ctx, chair, dr)
				return err
			}, apperr.Invalid, "要請先"},
			{"directive: no text", func() error { dr := okDirective; dr.Text = ""; _, err := f.Council.Issue(ctx, chair, dr); return err }, apperr.Invalid, "指示・要請の内容"},
			{"directive: no due day", func() error {
				dr := okDirective
				dr.Due = time.Time{}
				_, err := f.Council.Issue(ctx, chair, dr)
				return err
			}, apperr.Invalid, "期限を入力"},
			{"directive: no decision", func() error {
				dr := okDirective
				dr.Decision = 0
				_, err := f.Council.Issue(ctx, chair, dr)
				return err
			}, apperr.Invalid, "根拠となる会議の議決"},
			{"directive: unknown decision", func() error {
				dr := okDirective
				dr.Decision = 999
				_, err := f.Council.Issue(ctx, chair, dr)
				return err
			}, apperr.NotFound, "議決（999）は記録されていません"},
			{"acknowledge: unknown", func() error { return f.Council.Acknowledge(ctx, chair, 999) }, apperr.NotFound, "第999号の指示・要請は記録されていません"},
			{"answer: none", func() error { return f.Council.Answer(ctx, chair, 1, "") }, apperr.Invalid, "要請先の回答"},
		} {
			t.Run(c.name, func(t *testing.T) { expect(t, c.name, c.do(), c.code, c.ja) })
		}
		if after := rows(t, d); after != before {
			t.Errorf("refused input stored rows: %v, then %v", before, after)
		}
		// The time of a meeting, as the form and the command line give it.
		for _, c := range []struct {
			day, clock string
			want       string
			ja         string
		}{
			{"令和8年12月1日", "１４：３０", "2026-12-01 14:30", ""},
			{"R8.12.1", "9時", "2026-12-01 09:00", ""},
			{"2026-12-01", "9時15分", "2026-12-01 09:15", ""},
			{"", "14:00", "", "開催日を入力"},
			{"きのう", "14:00", "", "開催日「きのう」を読み取れません"},
			{"2026-12-01", "", "", "開催時刻を入力"},
			{"2026-12-01", "25:00", "", "開催時刻「25:00」を読み取れません"},
			{"2026-12-01", "午後", "", "開催時刻「午後」を読み取れません"},
		} {
			at, err := council.ParseAt(c.day, c.clock)
			switch {
			case c.ja != "":
				expect(t, c.day+" "+c.clock, err, apperr.Invalid, c.ja)
			case err != nil || at.In(jptext.JST).Format("2006-01-02 15:04") != c.want || at.Location() != jptext.JST:
				t.Errorf("ParseAt(%q, %q) = %s, %v; want %s JST", c.day, c.clock, at, err, c.want)
			}
		}
	})
}

// rows counts the rows of the council's tables.
func rows(t *testing.T, d *db.DB) [5]int {
	t.Helper()
	var out [5]int
	for i, table := range []string{"council_meeting", "council_attendance", "council_item", "council_decision", "council_directive"} {
		Must(t, d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&out[i]))
	}
	return out
}

// TestNoCouncilInAomori: the aomori-pref regulation has no security
// council; its record refuses every change, saying so, and stores nothing.
func TestNoCouncilInAomori(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "aomori-pref")
		_, err := f.Council.Convene(ctx, f.Admin, council.Meeting{Kind: council.Regular, At: f.Clock.Now().Add(time.Hour), Place: "会議室"})
		expect(t, "convene", err, apperr.Invalid, "セキュリティ会議の定めがありません")
		_, err = f.Council.Issue(ctx, f.Admin, council.Directive{Decision: 1, Kind: council.KindRequest, Body: "教育委員会", Text: "x", Due: f.Clock.Now()})
		expect(t, "issue", err, apperr.Invalid, "セキュリティ会議の定めがありません")
		expect(t, "attend", f.Council.Attend(ctx, f.Admin, 1, []string{AdminVID}, nil), apperr.Invalid, "セキュリティ会議の定めがありません")
		if h, err := f.Council.Holders(ctx, d); err != nil || h != nil {
			t.Errorf("holders = %v, %v", h, err)
		}
		if n := rows(t, d); n != [5]int{} {
			t.Errorf("rows stored: %v", n)
		}
	})
}
