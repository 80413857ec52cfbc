package approval

import (
	"fmt"
	"time"

	"jukinet/internal/jptext"
	"jukinet/internal/report"
)

// Document lays the status out as a document for people (internal/report):
// the approval, the period in 和暦, the log entry counted up to, the table of
// uses per person, and the alerts. issuer names who issues it (the
// department), issued when.
func (s Status) Document(issuer string, issued time.Time) report.Document {
	a := s.Approval
	cols := make([]report.Column, len(Columns))
	for i, c := range Columns {
		cols[i] = report.Column{Label: c[0], Width: 1, Align: report.Right}
	}
	cols[0].Align, cols[0].Width = report.Left, 1.6
	cols[1].Align, cols[1].Width = report.Left, 1.8
	rows := s.Rows()
	d := report.Document{
		Title:    "本人確認情報の利用状況報告",
		Subtitle: fmt.Sprintf("利用の承認 第%d号（%s・%s）", a.ID, s.DepartmentName, s.AffairName),
		Issued:   issued, Issuer: issuer, Landscape: true,
		Meta: []report.Field{
			{Label: "対象期間", Value: jptext.FormatWareki(s.From) + "～" + jptext.FormatWareki(s.To)},
			{Label: "事務の内容", Value: a.Purpose},
			{Label: "承認期間", Value: jptext.FormatWareki(a.Start) + "～" + jptext.FormatWareki(a.End) + "（" + a.State.Japanese() + "）"},
			{Label: "利用の状況", Value: s.Summary()},
			{Label: "集計の根拠", Value: fmt.Sprintf("監査ログ 第%d項までの記録から集計", s.UpTo)},
		},
		Sections: []report.Section{{
			Heading: "取扱者別の利用件数",
			Table:   &report.Table{Columns: cols, Rows: rows[:len(rows)-1], Total: rows[len(rows)-1]},
		}},
	}
	if s.Control != "" {
		d.Control = "帳票管理番号 " + s.Control
	}
	if len(s.Alerts) == 0 {
		d.Sections = append(d.Sections, report.Section{Heading: "不正利用の検知", Paragraphs: []string{"対象期間に、取扱者についての検知はありません。"}})
		return d
	}
	var alerts [][]string
	for _, al := range s.Alerts {
		day, err := parseDay(al.Day)
		shown := al.Day
		if err == nil {
			shown = jptext.FormatWareki(day)
		}
		alerts = append(alerts, []string{shown, al.Rule, al.Subject, al.Detail})
	}
	d.Sections = append(d.Sections, report.Section{Heading: "不正利用の検知", Table: &report.Table{
		Columns: []report.Column{{Label: "日", Width: 1.4}, {Label: "規則", Width: 1.4}, {Label: "対象", Width: 1.4}, {Label: "内容", Width: 5}},
		Rows:    alerts,
	}})
	return d
}
