package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	jform "jukinet/internal/form"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/report"
	"jukinet/internal/staff"
)

// The audit log export (issue 23 item 4): the audit screen's current
// filter — every page of it, not the page shown — as CSV (UTF-8 with a
// BOM, or Shift_JIS as Windows writes it) or as PDF. It is a POST: the
// filter (a 住民票コード among it) travels in the body, never in a URL.
//
// Each export is itself an audit entry (action audit.export, decided like
// the screen by view-audit): the filter, how many entries, up to which
// entry, the format, and the SHA-256 of the exact bytes sent. The file is
// made first, then its entry is appended, and only once that entry is
// durable are the bytes sent; an export that cannot be logged is not sent.
// A refusal by the policies is logged too.

// Most entries one export holds. A CSV of 100,000 entries is about 23 MB;
// a PDF of 10,000 about 600 pages and 1.8 MB, and a PDF's memory grows
// with its pages while it is laid out (docs/benchmarks.md), so a larger
// listing is asked to be narrowed or taken as CSV. (Variables so a test
// can lower them.)
var (
	exportMaxCSV = 100_000
	exportMaxPDF = 10_000
)

// exportFilterMax is the longest value of one filter field an export takes.
const exportFilterMax = 256

// exportSlots bounds the exports made at once (each holds its file in
// memory until its entry is logged).
var exportSlots = make(chan struct{}, 2)

// exportFormat is one of the export buttons, by the button's value.
type exportFormat struct {
	encoding report.Encoding
	pdf      bool
	ext      string
	mime     string
	detail   string // as the audit entry names it
}

var exportFormats = map[string]exportFormat{
	"csv-utf8": {encoding: report.UTF8BOM, ext: "csv", mime: "text/csv; charset=utf-8", detail: "csv utf-8 (bom)"},
	"csv-sjis": {encoding: report.CP932, ext: "csv", mime: "text/csv; charset=Shift_JIS", detail: "csv shift_jis (cp932)"},
	"pdf":      {pdf: true, ext: "pdf", mime: "application/pdf", detail: "pdf"},
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, c *current) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, apperr.New(apperr.Invalid, "unreadable form", "送信された内容を読み取れませんでした"))
		return
	}
	form := r.PostForm
	wd := s.wordsFor(r)
	format, ok := exportFormats[form.Get("format")]
	if !ok {
		s.problem(w, r, apperr.New(apperr.Invalid, "unknown export format", "書き出しの形式が正しくありません"))
		return
	}
	for _, k := range auditFilterKeys {
		// The filter goes into the export's entry: a filter no screen
		// field would hold is refused.
		if len(form.Get(k)) > exportFilterMax {
			s.problem(w, r, apperr.New(apperr.Invalid, fmt.Sprintf("the filter's %s is longer than %d bytes", k, exportFilterMax), "絞り込みの条件が長すぎます"))
			return
		}
	}
	if err := jform.CheckDestination(form.Get("destination")); err != nil {
		s.renderAudit(w, r, c, form, http.StatusBadRequest, message(r, err))
		return
	}
	f, typed, err := s.auditFilterOf(ctx, wd, form)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if typed.BadField != "" {
		s.renderAudit(w, r, c, form, http.StatusBadRequest, typed.BadText)
		return
	}
	who := c.who()
	e := auditlog.Entry{Node: string(s.node.Info.LocalGov.Code), Actor: who.Actor, Origin: who.Origin, Action: "audit.export",
		Query: exportQuery(f, typed)}
	if code, err := ids.ParseResidentCode(f.Resident); err == nil && f.Resident != "" {
		// The export lists who accessed this resident: an entry about them.
		e.Subjects = []string{string(code)}
	}
	v := s.node.Policy.MayAdminister(ctx, who, staff.ActViewAudit, s.nodeResource())
	e.Decision, e.Outcome, e.Policy, e.Why, e.WhyJapanese = auditlog.Allow, auditlog.OutcomeOK, v.Policy, v.Why, v.Japanese
	if !v.Allow {
		e.Decision, e.Outcome = auditlog.Deny, auditlog.OutcomeDenied
		if _, err := s.node.Log.Append(ctx, e); err != nil {
			s.problem(w, r, logFailed(err))
			return
		}
		s.problem(w, r, apperr.New(apperr.Forbidden, "this screen is not for your role: "+v.Why, "この画面を利用する権限がありません。"+v.Japanese))
		return
	}

	select {
	case exportSlots <- struct{}{}:
		defer func() { <-exportSlots }()
	case <-ctx.Done():
		return
	}

	// Exactly the entries there are now: those appended meanwhile (this
	// export's own entry among them) are left out, and the entry says so.
	// Journaled entries get their rows first.
	if err := s.node.Log.Sync(ctx); err != nil {
		s.problem(w, r, err)
		return
	}
	size, err := s.node.Log.Size(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	f.Limit, f.Before = 0, max(size, 1)
	n, err := auditlog.Count(ctx, s.node.DB, f)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	limit := exportMaxCSV
	if format.pdf {
		limit = exportMaxPDF
	}
	if n > int64(limit) {
		id := "ExportTooMany"
		if format.pdf {
			id = "ExportPDFTooMany"
		}
		s.renderAudit(w, r, c, form, http.StatusRequestEntityTooLarge, wd.loc.MustLocalize(localize(id, map[string]string{
			"Count": thousands(n), "Max": thousands(int64(limit))})))
		return
	}

	var rows []auditlog.Listed
	if err := auditlog.Each(ctx, s.node.DB, f, func(l auditlog.Listed) error {
		if len(rows) >= limit {
			return apperr.New(apperr.Conflict, "the listing grew past the export's limit", "書き出せる件数を超えました。条件を絞り込んでください。")
		}
		rows = append(rows, l)
		return nil
	}); err != nil {
		s.problem(w, r, err)
		return
	}

	residents, err := auditlog.CountSubjects(ctx, s.node.DB, f)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	// The file is a form of the forms register (koto-ward:14): its number
	// is taken now, printed in the PDF's header and footer or named in the
	// CSV's file name (the CSV itself stays one table a spreadsheet or a
	// program reads as it is), and issued with the export's entry.
	no, err := s.node.Forms.Reserve(ctx, who)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var buf bytes.Buffer
	now := s.node.Now()
	if format.pdf {
		d := s.auditDocument(wd, c, rows, f, typed.Dept, size, now)
		d.Control = wd.msg("FormControlNumber") + " " + no.String()
		err = report.WritePDF(&buf, d)
	} else {
		err = report.WriteCSV(&buf, auditCSV(wd, rows), format.encoding)
	}
	if err != nil {
		s.node.Forms.Void(context.WithoutCancel(ctx), no, "render: "+err.Error())
	}
	if apperr.CodeOf(err) == apperr.Invalid {
		// A character Shift_JIS cannot hold: said on the screen, with the
		// UTF-8 button beside it.
		s.renderAudit(w, r, c, form, http.StatusUnprocessableEntity, message(r, err))
		return
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}

	sum := sha256.Sum256(buf.Bytes())
	e.Count = len(rows)
	e.Detail = fmt.Sprintf("%s; %d entries with seq < %d; %d bytes; sha256 %s; form %s", format.detail, len(rows), size, buf.Len(), hex.EncodeToString(sum[:]), no)
	out := jform.Output{Kind: jform.KindAuditLog, Format: format.ext, Title: "監査ログ（" + format.detail + "）", Covers: e.Query,
		Residents: int(residents), Destination: strings.TrimSpace(form.Get("destination"))}
	_, workErr, err := s.node.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := s.node.Forms.Issue(ctx, tx, seq, e.Time, who, no, out, hex.EncodeToString(sum[:]), int64(buf.Len()))
		return err
	})
	if err == nil && workErr != nil {
		err = workErr
	}
	if err != nil {
		s.node.Forms.Void(context.WithoutCancel(ctx), no, err.Error())
		s.problem(w, r, logFailed(err))
		return
	}
	name := fmt.Sprintf("audit-log-%s-%s-%s.%s", s.node.Info.LocalGov.Code, now.In(jptext.JST).Format("20060102-150405"), no, format.ext)
	h := w.Header()
	h.Set("Content-Type", format.mime)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	buf.WriteTo(w)
}

// logFailed is the refusal when the export's own entry cannot be written:
// nothing is sent.
func logFailed(err error) error {
	return apperr.Wrap(apperr.Unavailable, err, "the audit log cannot be written: nothing was exported",
		"監査ログに記録できないため、書き出しませんでした。システム管理者に連絡してください。")
}

// exportQuery is the filter as the export's entry keeps it, in codes,
// e.g. action=lookup&since=2026-11-22; "all" for none.
func exportQuery(f auditlog.Filter, typed auditTyped) string {
	v := url.Values{}
	set := func(k, x string) {
		if x != "" {
			v.Set(k, x)
		}
	}
	set("resident", f.Resident)
	set("actor", f.Actor)
	set("action", f.Action)
	set("terminal", f.Origin)
	set("affair", f.Affair)
	set("outcome", f.Outcome)
	set("dept", typed.Dept)
	if !f.Since.IsZero() {
		v.Set("since", f.Since.In(jptext.JST).Format(time.DateOnly))
	}
	if !f.Until.IsZero() {
		v.Set("until", f.Until.In(jptext.JST).AddDate(0, 0, -1).Format(time.DateOnly))
	}
	if len(v) == 0 {
		return "all"
	}
	return v.Encode()
}

// localize asks for message id with data.
func localize(id string, data any) *i18n.LocalizeConfig {
	return &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
}

// exportFilterText is the filter for people, in w's language.
func exportFilterText(w words, f auditlog.Filter, dept string) string {
	var parts []string
	if f.Resident != "" {
		parts = append(parts, w.msg("ResidentCode")+" "+f.Resident)
	}
	if f.Actor != "" {
		parts = append(parts, w.msg("Actor")+" "+f.Actor)
	}
	if f.Action != "" {
		parts = append(parts, w.msg("Action")+" "+w.action(f.Action)+" ("+f.Action+")")
	}
	if f.Origin != "" {
		parts = append(parts, w.msg("Terminal")+" "+strings.TrimPrefix(f.Origin, "terminal:"))
	}
	if f.Affair != "" {
		parts = append(parts, w.msg("Affair")+" "+w.affair(f.Affair))
	}
	if f.Outcome != "" {
		parts = append(parts, w.msg("Outcome")+" "+outcomeText(w, f.Outcome))
	}
	if dept != "" {
		parts = append(parts, w.msg("Department")+" "+w.dept(dept))
	}
	if !f.Since.IsZero() {
		parts = append(parts, w.msg("SinceDay")+" "+exportDay(w, f.Since))
	}
	if !f.Until.IsZero() {
		parts = append(parts, w.msg("UntilDay")+" "+exportDay(w, f.Until.AddDate(0, 0, -1)))
	}
	if len(parts) == 0 {
		return w.msg("ExportNoFilter")
	}
	return strings.Join(parts, w.pick("、", ", "))
}

// exportDay is a day for people: 和暦 in Japanese.
func exportDay(w words, t time.Time) string {
	t = t.In(jptext.JST)
	if w.en {
		return t.Format(time.DateOnly)
	}
	return jptext.FormatWareki(t)
}

// decisionText and outcomeText name an entry's decision and outcome as
// the screen does.
func decisionText(w words, d string) string {
	switch d {
	case auditlog.Allow:
		return w.msg("DecisionAllow")
	case auditlog.Deny:
		return w.msg("DecisionDeny")
	}
	return d
}

func outcomeText(w words, o string) string {
	switch o {
	case auditlog.OutcomeOK:
		return w.msg("OutcomeOK")
	case auditlog.OutcomeDenied:
		return w.msg("OutcomeDenied")
	case auditlog.OutcomeError:
		return w.msg("OutcomeError")
	}
	return o
}

// auditCSV is the entries as a table for a spreadsheet: every field of an
// entry in its own column, the time in ISO 8601 with +09:00 and the day
// in 和暦 beside it.
func auditCSV(w words, rows []auditlog.Listed) report.Table {
	t := report.Table{Columns: []report.Column{
		{Label: w.msg("ExportColSeq"), Align: report.Right}, {Label: w.msg("Time")}, {Label: w.msg("ExportColWareki")},
		{Label: w.msg("Actor")}, {Label: w.msg("ExportColName")}, {Label: w.msg("ExportColOrigin")},
		{Label: w.msg("Action")}, {Label: w.msg("ExportColActionCode")}, {Label: w.msg("Affair")}, {Label: w.msg("ExportColReason")},
		{Label: w.msg("ExportColCaseRef")}, {Label: w.msg("ExportColQuery")}, {Label: w.msg("Decision")}, {Label: w.msg("ExportColPolicy")},
		{Label: w.msg("ExportColWhy")}, {Label: w.msg("ExportColWhyRecorded")}, {Label: w.msg("Outcome")}, {Label: w.msg("ExportColError")},
		{Label: w.msg("ExportColErrorCode")}, {Label: w.msg("ExportColErrorRecorded")},
		{Label: w.msg("Count"), Align: report.Right}, {Label: w.msg("ExportColSubjects"), Align: report.Right}, {Label: w.msg("ExportColDetail")},
	}}
	t.Rows = make([][]string, 0, len(rows))
	for _, l := range rows {
		at := l.At.In(jptext.JST)
		if l.Entry == nil {
			t.Rows = append(t.Rows, []string{strconv.FormatInt(l.Seq, 10), at.Format(time.RFC3339), jptext.FormatWareki(at),
				l.Actor, "", "", w.action(l.Action), l.Action, "", "", "", "", "", "", "", "", "", "", "", "", "", "", w.msg("Pruned")})
			continue
		}
		e := l.Entry
		at = e.Time.In(jptext.JST)
		// The decision's reason and the error in the export's language;
		// the text as recorded (in English) beside each, and the error's
		// class.
		shown, why := w.entryError(e), w.entryWhy(e)
		affair := ""
		if e.Affair != "" {
			affair = w.affair(e.Affair)
		}
		t.Rows = append(t.Rows, []string{strconv.FormatInt(e.Seq, 10), at.Format(time.RFC3339), jptext.FormatWareki(at),
			e.Actor.String(), e.Actor.Name, e.Origin, w.action(e.Action), e.Action, affair, e.Reason,
			e.CaseRef, e.Query, decisionText(w, e.Decision), e.Policy, why.Text, e.Why, outcomeText(w, e.Outcome), shown.Text, e.ErrorCode, e.Error,
			strconv.Itoa(e.Count), strconv.Itoa(e.SubjectCount), e.Detail})
	}
	return t
}

// auditDocument is the entries as a PDF for people: A4 landscape, the
// filter and count under the title, one row per entry with its time in
// 和暦.
func (s *Server) auditDocument(w words, c *current, rows []auditlog.Listed, f auditlog.Filter, dept string, size int64, now time.Time) report.Document {
	t := &report.Table{Columns: []report.Column{
		{Label: w.msg("ExportColSeq"), Width: 0.7, Align: report.Right}, {Label: w.msg("Time"), Width: 1.6},
		{Label: w.msg("Actor"), Width: 1.9}, {Label: w.msg("Action"), Width: 2.6}, {Label: w.msg("Affair"), Width: 2},
		{Label: w.msg("Decision"), Width: 1.7}, {Label: w.msg("Outcome"), Width: 1.4}, {Label: w.msg("Count"), Width: 0.6, Align: report.Right},
	}}
	t.Rows = make([][]string, 0, len(rows))
	for _, l := range rows {
		when := func(at time.Time) string {
			at = at.In(jptext.JST)
			if w.en {
				return at.Format("2006-01-02 15:04:05")
			}
			return jptext.FormatWareki(at) + "\n" + at.Format("15:04:05")
		}
		if l.Entry == nil {
			t.Rows = append(t.Rows, []string{strconv.FormatInt(l.Seq, 10), when(l.At), l.Actor, w.action(l.Action), w.msg("Pruned")})
			continue
		}
		e := l.Entry
		actor := e.Actor.String()
		if e.Actor.Name != "" {
			actor += " " + e.Actor.Name
		}
		action := w.action(e.Action) + " (" + e.Action + ")"
		if e.Query != "" {
			action += "\n" + e.Query
		}
		affair := ""
		if e.Affair != "" {
			affair = w.affair(e.Affair)
		}
		if e.Reason != "" {
			affair = strings.TrimSpace(affair + "\n" + e.Reason)
		}
		outcome := outcomeText(w, e.Outcome)
		if er := w.entryError(e); er.Text != "" || er.Raw != "" {
			// The error in the document's language, its class beside it;
			// an entry that kept no Japanese message gives its text as
			// recorded.
			outcome += "\n" + er.Text + er.Raw
			if er.Code != "" {
				outcome += " (" + er.Code + ")"
			}
		}
		decision := decisionText(w, e.Decision) + "\n" + e.Policy
		if why := w.entryWhy(e); why.Text != "" || why.Raw != "" {
			// The reason in the document's language; an entry that kept
			// no Japanese reason gives its English as recorded.
			decision += "\n" + why.Text + why.Raw
		}
		t.Rows = append(t.Rows, []string{strconv.FormatInt(e.Seq, 10), when(e.Time), actor + "\n" + e.Origin, action, affair,
			decision, outcome, strconv.Itoa(e.Count)})
	}
	exporter := c.person.Name + " (" + c.who().Actor.String() + ")"
	return report.Document{
		Title:    w.msg("AuditLog"),
		Subtitle: s.node.Info.Name() + " (" + string(s.node.Info.LocalGov.Code) + ")",
		Issued:   now,
		Issuer:   s.node.Info.Name(),
		English:  w.en,
		Meta: []report.Field{
			{Label: w.msg("ExportFilter"), Value: exportFilterText(w, f, dept)},
			{Label: w.msg("ExportCount"), Value: w.loc.MustLocalize(localize("ExportCountValue", map[string]string{"Count": thousands(int64(len(rows))), "Seq": thousands(size - 1)}))},
			{Label: w.msg("ExportBy"), Value: exporter + " " + shownInstant(now, map[bool]string{true: "en", false: "ja"}[w.en])},
		},
		Sections:  []report.Section{{Table: t}},
		Landscape: true,
	}
}
