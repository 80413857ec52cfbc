package sysaudit

import (
	"fmt"
	"strings"
	"time"

	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/report"
)

// wareki is a day or an instant as a 和暦 date in Japan, "" when zero.
func wareki(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return jptext.FormatWareki(t.In(jptext.JST))
}

// Heading is article id with its heading in the profile (koto-ward:9 システム監査).
func Heading(prof *profile.Profile, article string) string {
	for _, a := range prof.Articles {
		if a.ID == article {
			return a.ID + " " + a.Heading
		}
	}
	return article
}

// ActionState says where a corrective action stands at now, in Japanese:
// 完了 with the day, 期限超過, or 対応中.
func (a Action) ActionState(now time.Time) string {
	switch {
	case a.Closed():
		return "完了（" + wareki(a.ClosedAt) + "）"
	case a.OverdueAt(now):
		return "期限超過"
	}
	return "対応中"
}

// check finds a check of the audit by number.
func (p Plan) check(id int64) (Check, bool) {
	for _, c := range p.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// ArticlesText is the scope's articles in words: "全条項" when every article.
func (p Plan) ArticlesText() string {
	if len(p.Articles) == 0 {
		return "規程の全条項"
	}
	return strings.Join(p.Articles, "、")
}

// Document lays the audit out as its report for people (internal/report):
// the plan, the checklist with the evidence the node collected and the log
// entry it was read up to, the findings, and the corrective actions with
// their state at now; dates in 和暦. issuer names who issues it, issued when.
func (p Plan) Document(prof *profile.Profile, issuer string, issued, now time.Time) report.Document {
	meta := []report.Field{
		{Label: "監査の種別", Value: p.Kind.Japanese()},
		{Label: "対象期間", Value: jptext.FormatWareki(p.From) + "～" + jptext.FormatWareki(p.To)},
		{Label: "監査の範囲", Value: p.Scope + "（" + p.ArticlesText() + "）"},
		{Label: "監査担当", Value: p.Auditor},
		{Label: "計画", Value: fmt.Sprintf("%s（%s）", wareki(p.PlannedAt), p.PlannedBy)},
		{Label: "状態", Value: p.State.Japanese()},
	}
	if p.UpTo >= 0 && !p.GeneratedAt.IsZero() {
		meta = append(meta, report.Field{Label: "証跡の収集", Value: fmt.Sprintf("%s（%s）、監査ログ 第%d項までの記録から", wareki(p.GeneratedAt), p.GeneratedBy, p.UpTo)})
	}
	if p.State == Completed {
		meta = append(meta, report.Field{Label: "完了", Value: fmt.Sprintf("%s（%s）", wareki(p.CompletedAt), p.CompletedBy)})
	}
	d := report.Document{
		Title:    "システム監査報告書",
		Subtitle: fmt.Sprintf("第%d号 %s「%s」", p.ID, p.Kind.Japanese(), p.Title),
		Issued:   issued, Issuer: issuer, Landscape: true, Meta: meta,
	}
	if p.Conclusion != "" {
		d.Sections = append(d.Sections, report.Section{Heading: "監査の結論", Paragraphs: []string{p.Conclusion}})
	}
	if len(p.Checks) == 0 {
		d.Sections = append(d.Sections, report.Section{Heading: "チェックリストと証跡", Paragraphs: []string{"チェックリストはまだ作成されていません。"}})
	} else {
		var rows [][]string
		attention := 0
		for _, c := range p.Checks {
			result := c.Result.Japanese()
			if c.Attention {
				attention++
				result = "※要確認 " + result
			}
			evidence := c.Evidence
			if fs := c.FiguresText(); fs != "" {
				evidence += "\n［" + fs + "］"
			}
			rows = append(rows, []string{fmt.Sprint(c.Position), Heading(prof, c.Article), c.Feature, evidence, result, c.Note})
		}
		d.Sections = append(d.Sections, report.Section{
			Heading:    "チェックリストと証跡",
			Paragraphs: []string{fmt.Sprintf("点検項目 %d件（規程の条項ごとに、実装された機能を1項目とする）。証跡はノード自身の記録から収集した。要確認 %d件。", len(p.Checks), attention)},
			Table: &report.Table{Columns: []report.Column{
				{Label: "番号", Width: 0.5, Align: report.Right}, {Label: "条項", Width: 1.6}, {Label: "機能", Width: 1.8},
				{Label: "証跡", Width: 4.6}, {Label: "結果", Width: 1}, {Label: "所見", Width: 2},
			}, Rows: rows},
		})
	}
	var findings, actions [][]string
	for _, f := range p.Findings {
		target := Heading(prof, f.Article)
		if c, ok := p.check(f.Check); ok {
			target = fmt.Sprintf("%s（点検項目 %d：%s）", target, c.Position, c.Feature)
		}
		findings = append(findings, []string{fmt.Sprint(f.ID), f.Severity.Japanese(), target, f.Description, f.RootCause, wareki(f.RecordedAt)})
		for _, a := range f.Actions {
			var notes []string
			for _, fu := range a.FollowUps {
				notes = append(notes, fmt.Sprintf("%s %s：%s", wareki(fu.At), fu.By, fu.Note))
			}
			if a.Closed() {
				notes = append(notes, fmt.Sprintf("完了の証跡（%s 確認）：%s", a.ClosedBy, a.Evidence))
			}
			actions = append(actions, []string{fmt.Sprint(a.ID), fmt.Sprint(f.ID), a.Description, a.Owner, jptext.FormatWareki(a.Due), a.ActionState(now), strings.Join(notes, "\n")})
		}
	}
	if len(findings) == 0 {
		d.Sections = append(d.Sections, report.Section{Heading: "指摘事項", Paragraphs: []string{"指摘事項はありません。"}})
	} else {
		d.Sections = append(d.Sections, report.Section{Heading: "指摘事項", Table: &report.Table{Columns: []report.Column{
			{Label: "番号", Width: 0.5, Align: report.Right}, {Label: "重要度", Width: 0.6, Align: report.Center}, {Label: "条項・点検項目", Width: 2.4},
			{Label: "内容", Width: 3}, {Label: "原因", Width: 3}, {Label: "記録日", Width: 1.2},
		}, Rows: findings}})
	}
	if len(actions) > 0 {
		d.Sections = append(d.Sections, report.Section{Heading: "是正措置", Table: &report.Table{Columns: []report.Column{
			{Label: "番号", Width: 0.5, Align: report.Right}, {Label: "指摘", Width: 0.5, Align: report.Right}, {Label: "内容", Width: 3},
			{Label: "担当", Width: 1.1}, {Label: "期限", Width: 1.2}, {Label: "状態", Width: 1.2}, {Label: "経過・完了の証跡", Width: 3.5},
		}, Rows: actions}})
	}
	return d
}

// Columns are the audit CSV's column headings (Table).
var Columns = []string{"区分", "番号", "条項", "項目", "内容", "数値", "結果・重要度・状態", "担当", "日付"}

// Table is the audit as one table for CSV (report.WriteCSV): a row for the
// plan, one per check with its evidence and figures, one per finding, one
// per corrective action and one per follow-up note; the state of each
// action at now.
func (p Plan) Table(now time.Time) report.Table {
	cols := make([]report.Column, len(Columns))
	for i, c := range Columns {
		cols[i] = report.Column{Label: c}
	}
	upTo := ""
	if p.UpTo >= 0 && !p.GeneratedAt.IsZero() {
		upTo = fmt.Sprintf("監査ログ 第%d項まで", p.UpTo)
	}
	rows := [][]string{{"監査", fmt.Sprint(p.ID), p.ArticlesText(), p.Kind.Japanese() + "：" + p.Title,
		p.Scope, upTo, p.State.Japanese(), p.Auditor, p.From.Format(time.DateOnly) + "～" + p.To.Format(time.DateOnly)}}
	for _, c := range p.Checks {
		result := c.Result.Japanese()
		if c.Attention {
			result = "※要確認 " + result
		}
		if c.Note != "" {
			result += "：" + c.Note
		}
		rows = append(rows, []string{"点検", fmt.Sprint(c.Position), c.Article, c.Feature, c.Evidence, c.FiguresText(), result, c.AssessedBy, dateOf(c.AssessedAt)})
	}
	for _, f := range p.Findings {
		item := ""
		if c, ok := p.check(f.Check); ok {
			item = fmt.Sprintf("点検項目 %d", c.Position)
		}
		rows = append(rows, []string{"指摘", fmt.Sprint(f.ID), f.Article, item, f.Description + "（原因：" + f.RootCause + "）", "", string(f.Severity) + "／" + f.Severity.Japanese(), f.RecordedBy, dateOf(f.RecordedAt)})
		for _, a := range f.Actions {
			rows = append(rows, []string{"是正措置", fmt.Sprint(a.ID), f.Article, fmt.Sprintf("指摘 %d", f.ID), a.Description, "", a.ActionState(now), a.Owner, a.Due.Format(time.DateOnly)})
			for _, fu := range a.FollowUps {
				rows = append(rows, []string{"経過", fmt.Sprint(fu.ID), f.Article, fmt.Sprintf("是正措置 %d", a.ID), fu.Note, "", "", fu.By, dateOf(fu.At)})
			}
			if a.Closed() {
				rows = append(rows, []string{"完了", fmt.Sprint(a.ID), f.Article, fmt.Sprintf("是正措置 %d", a.ID), a.Evidence, "", "完了", a.ClosedBy, dateOf(a.ClosedAt)})
			}
		}
	}
	return report.Table{Columns: cols, Rows: rows}
}

// dateOf is the day of t in Japan, YYYY-MM-DD, "" when zero.
func dateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(jptext.JST).Format(time.DateOnly)
}
