package disclosure_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/disclosure"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/protect"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/sysaudit"
)

// TestRequestLifecycle: on both databases, 江東区's clerk receives a
// request (bad input refused with nothing stored), the department's head
// decides it (not the clerk; not twice), the clerk issues it once with a
// proof that checks with the node's key and lists every entry concerning
// the resident, the reprint returns the same proof; every step is an entry
// concerning the resident; a request not decided by its due day is overdue
// on the clock, and the system audit's evidence counts it.
func TestRequestLifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := clocktest.New()
		f := NewAt(t, d, "koto-ward", clock)
		f.SetUpWard(t)
		r := disclosure.New(d, f.Log, f.Engine, f.Profile, "131083")
		r.Now = clock.Now
		r.Forms = form.New(d, f.Log, f.Engine, "131083", f.Profile.FormDays())
		r.Forms.Now = clock.Now
		r.Alarm = detect.Alarm
		render := disclosure.PDF(f.Profile, "東京都江東区", nil, clock.Now())
		code := f.ImportOne(t)
		clerk, head := Operator(Clerk, "T-KUMIN-01"), Operator("SO-KUMIN", "T-KUMIN-01")
		good := disclosure.Request{Resident: code, Requester: disclosure.Self, IDCheck: disclosure.MyNumberCard, Items: []disclosure.Item{disclosure.ItemAccesses}}
		for _, c := range []struct {
			name   string
			change func(q *disclosure.Request)
		}{
			{"no code", func(q *disclosure.Request) { q.Resident = "" }},
			{"a wrong check digit", func(q *disclosure.Request) { q.Resident = code[:10] + string(rune('0'+(code[10]-'0'+1)%10)) }},
			{"an unknown requester", func(q *disclosure.Request) { q.Requester = "neighbour" }},
			{"a representative without authority", func(q *disclosure.Request) { q.Requester, q.RequesterName = disclosure.Representative, "代理 人" }},
			{"no identity check", func(q *disclosure.Request) { q.IDCheck = "" }},
			{"nothing asked", func(q *disclosure.Request) { q.Items = []disclosure.Item{"everything"} }},
			{"received tomorrow", func(q *disclosure.Request) { q.Received = jptext.Midnight(clock.Now()).AddDate(0, 0, 1) }},
		} {
			q := good
			c.change(&q)
			if _, err := r.Receive(ctx, clerk, q); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		if all, _ := disclosure.List(ctx, d); len(all) != 0 {
			t.Fatalf("bad requests stored: %d", len(all))
		}
		id, err := r.Receive(ctx, clerk, good)
		Must(t, err)
		q, err := disclosure.Get(ctx, d, id)
		Must(t, err)
		if want := jptext.Midnight(clock.Now()).AddDate(0, 0, 14); !q.Due.Equal(want) || q.State() != disclosure.Received || q.ReceivedBy != "operator:"+Clerk {
			t.Errorf("received: %+v, want due %s", q, want)
		}
		if _, err := r.Issue(ctx, clerk, id, "", render); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("issue before the decision: %v", err)
		}
		if err := r.Decide(ctx, clerk, id, disclosure.Disclose, ""); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("the clerk deciding: %v", err)
		}
		Must(t, r.Decide(ctx, head, id, disclosure.Disclose, ""))
		if err := r.Decide(ctx, head, id, disclosure.Refuse, "x"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("deciding twice: %v", err)
		}
		clock.Advance(time.Hour)
		doc, err := r.Issue(ctx, clerk, id, "", render)
		Must(t, err)
		res, err := auditlog.CheckResidentProof(doc.JSON, f.Verifier)
		if err != nil {
			t.Fatal(err)
		}
		// The import, the request, the clerk's refused decision, the
		// decision, and the refused second decision.
		if len(res.Entries) != 5 || doc.Request.Entries != 5 || doc.Request.Delivery != "窓口交付" || doc.Request.State() != disclosure.Issued {
			t.Errorf("issued: %d entries, %+v", len(res.Entries), doc.Request)
		}
		if _, err := r.Issue(ctx, clerk, id, "", render); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("issue twice: %v", err)
		}
		again, err := r.Reissue(ctx, head, id, "", render)
		Must(t, err)
		if string(again.JSON) != string(doc.JSON) {
			t.Error("the reprint differs from the proof issued")
		}
		// The document and its reprint are forms of the register, each with
		// its own number, printed on it.
		if doc.Form.Number.IsZero() || again.Form.Number == doc.Form.Number || doc.Form.Kind != form.KindDisclosure || doc.Form.Residents != 1 ||
			doc.Form.State != form.HandedOver || again.Form.State != form.Issued {
			t.Errorf("the forms: %+v, %+v", doc.Form, again.Form)
		}
		if text := reporttest.Text(t, again.PDF); !strings.Contains(text, again.Form.Number.String()) {
			t.Errorf("the reprint lacks its number %s:\n%s", again.Form.Number, text)
		}
		list, err := auditlog.List(ctx, d, auditlog.Filter{Resident: code, After: -1, Limit: 100})
		Must(t, err)
		var actions []string
		for _, e := range list {
			actions = append(actions, e.Entry.Action)
		}
		if want := []string{"import", "disclosure.receive", "disclosure.disclose", "disclosure.disclose", "disclosure.refuse", "disclosure.issue", "disclosure.reprint"}; len(actions) != len(want) {
			t.Errorf("the resident's entries: %v, want %v", actions, want)
		}

		// Another request, not decided: overdue from the day after its due day.
		id2, err := r.Receive(ctx, clerk, good)
		Must(t, err)
		q2, _ := disclosure.Get(ctx, d, id2)
		clock.Set(q2.Due.Add(23 * time.Hour))
		if over, _ := disclosure.Overdue(ctx, d, clock.Now()); len(over) != 0 {
			t.Errorf("overdue on its due day: %v", over)
		}
		clock.Set(q2.Due.AddDate(0, 0, 1))
		if over, _ := disclosure.Overdue(ctx, d, clock.Now()); len(over) != 1 || over[0].ID != id2 {
			t.Errorf("overdue the day after: %v", over)
		}
		// A resident under a support measure: a representative's request
		// is refused and logged, hers is received; both alert at once.
		pr := protect.New(d, f.Log, f.Engine, f.Profile, "131083")
		pr.Now = clock.Now
		today := jptext.Midnight(clock.Now())
		_, err = pr.Mark(ctx, head, protect.Mark{ResidentCode: code, Start: today, End: today.AddDate(0, 3, 0), Department: "kumin", Category: "dv"})
		Must(t, err)
		rep := good
		rep.Requester, rep.RequesterName, rep.Authority = disclosure.Representative, "見本 代理", "委任状"
		if _, err := r.Receive(ctx, clerk, rep); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("a representative for a protected resident: %v", err)
		}
		if _, err := r.Receive(ctx, clerk, good); err != nil {
			t.Errorf("the protected resident herself: %v", err)
		}
		alerts, err := detect.List(ctx, d, false)
		Must(t, err)
		immediate := 0
		for _, a := range alerts {
			if a.Rule == "protected" {
				immediate++
			}
		}
		if immediate == 0 {
			t.Errorf("no immediate alert for the protected resident's requests: %+v", alerts)
		}
		audits := sysaudit.New(d, f.Log, f.Engine, f.Profile, "131083", sysaudit.Sources{Staff: f.Staff})
		audits.Now = clock.Now
		ev, _, err := audits.CollectFeature(ctx, "disclosure", clock.Now().AddDate(0, -1, 0), clock.Now())
		Must(t, err)
		if v, _ := (sysaudit.Check{Figures: ev.Figures}).Figure("期限超過"); v != 1 || !ev.Attention {
			t.Errorf("the audit's evidence: %+v", ev)
		}
	})
}
