package web

import (
	"html/template"
	"regexp"
	"strings"

	"jukinet/internal/auditlog"
)

// queryLabels name the parts of what an audit entry asked (its query) and
// where it came from (its origin), as the node writes them (key=value or
// key:value, several separated by spaces).
var queryLabels = map[string]actionLabel{
	"resident_code": {"住民票コード", "Resident code"},
	"resident":      {"住民票コード", "Resident code"},
	"name":          {"氏名", "Name"},
	"birth":         {"生年月日", "Date of birth"},
	"sex":           {"性別", "Sex"},
	"address":       {"住所", "Address"},
	"number":        {"個人番号", "Individual number"},
	"reason":        {"異動事由", "Reason for change"},
	"date":          {"異動日", "Date of change"},
	"terminal":      {"端末", "Terminal"},
	"node":          {"ノード", "Node"},
	"host":          {"接続元", "Host"},
	"peer":          {"ノード", "Node"},
	"operator":      {"取扱者", "Operator"},
	"person":        {"職員", "Staff member"},
	"department":    {"部署", "Department"},
	"affair":        {"事務", "Affair"},
	"room":          {"部屋", "Room"},
	"vendor":        {"委託先", "Contractor"},
	"contract":      {"委託契約", "Contract"},
	"asset":         {"情報資産", "Asset"},
	"incident":      {"事案", "Incident"},
	"alert":         {"検知", "Alert"},
	"meeting":       {"会議", "Meeting"},
	"decision":      {"決定", "Decision"},
	"directive":     {"指示", "Directive"},
	"request":       {"請求", "Request"},
	"requester":     {"請求者", "Requester"},
	"approval":      {"利用承認", "Approval"},
	"form":          {"帳票", "Form"},
	"audit":         {"システム監査", "Audit"},
	"document":      {"文書", "Document"},
	"session":       {"研修", "Training session"},
	"recipient":     {"提供先", "Recipient"},
	"action":        {"操作", "Action"},
	"since":         {"この日以降", "On or after"},
	"until":         {"この日まで", "On or before"},
	"outcome":       {"結果", "Outcome"},
}

// queryWords are whole queries that are one word.
var queryWords = map[string]actionLabel{
	"all":      {"すべて", "all"},
	"in force": {"有効なもの", "in force"},
	"new":      {"新規", "new"},
}

var queryKey = regexp.MustCompile(`(?:^|[ &])([a-z][a-z_]*)[=:]`)

// query writes an audit entry's query or origin for people in the page's
// language: 「住民票コード 12345678901、氏名 見本 太郎」. What it cannot name
// (a key it does not know) is shown as written, as secondary detail
// (class code), as the raw codes are.
func (w words) query(q string) template.HTML {
	q = strings.TrimSpace(q)
	if q == "" {
		return ""
	}
	if l, ok := queryWords[q]; ok {
		return template.HTML(template.HTMLEscapeString(w.pick(l.ja, l.en)))
	}
	raw := template.HTML(`<span class="code raw">` + template.HTMLEscapeString(q) + `</span>`)
	m := queryKey.FindAllStringSubmatchIndex(q, -1)
	if len(m) == 0 || m[0][0] != 0 {
		return raw
	}
	parts := make([]string, 0, len(m))
	for i, at := range m {
		key := q[at[2]:at[3]]
		l, ok := queryLabels[key]
		if !ok {
			return raw
		}
		end := len(q)
		if i+1 < len(m) {
			end = m[i+1][0]
		}
		value := strings.TrimSpace(q[at[1]:end])
		switch key {
		case "affair":
			value = w.affair(value)
		case "department":
			value = w.dept(value)
		case "action":
			value = w.action(value)
		}
		parts = append(parts, template.HTMLEscapeString(w.pick(l.ja, l.en)+" "+value))
	}
	return template.HTML(strings.Join(parts, w.pick("、", ", ")))
}

// shownError is an audit entry's error as a page shows it: the message in
// the page's language, the error's class code (secondary detail), and the
// text as recorded when the page cannot give its language's (an entry
// written before the Japanese message was kept: secondary detail too).
type shownError struct {
	Text, Code, Raw string
}

// entryError is e's error in w's language: the Japanese message kept
// beside the English one on a Japanese page, the English on an English
// page; an entry without a Japanese message shows its English text as
// recorded, as secondary detail, on a Japanese page.
func (w words) entryError(e *auditlog.Entry) shownError {
	switch {
	case e == nil || e.Error == "":
		return shownError{}
	case w.en:
		return shownError{Text: e.Error, Code: e.ErrorCode}
	case e.ErrorJapanese != "":
		return shownError{Text: e.ErrorJapanese, Code: e.ErrorCode}
	}
	return shownError{Code: e.ErrorCode, Raw: e.Error}
}

// shownWhy is an audit entry's decision reason as a page shows it: the
// reason in the page's language, or the reason as recorded (in English)
// when the page cannot give its language's (an entry written before the
// Japanese reason was kept, or a verdict that gave none: secondary
// detail).
type shownWhy struct {
	Text, Raw string
}

// entryWhy is e's decision reason in w's language: the Japanese reason
// kept beside the English one on a Japanese page, the English on an
// English page; on a Japanese page an entry without a Japanese reason
// shows its English as recorded, as secondary detail.
func (w words) entryWhy(e *auditlog.Entry) shownWhy {
	switch {
	case e == nil:
		return shownWhy{}
	case w.en:
		if e.Why == "" {
			return shownWhy{Text: e.WhyJapanese}
		}
		return shownWhy{Text: e.Why}
	case e.WhyJapanese != "":
		return shownWhy{Text: e.WhyJapanese}
	}
	return shownWhy{Raw: e.Why}
}
