package web

import (
	"strings"
	"testing"
)

// TestActionLabelsAreDistinct: the audit screen's action filter reads a
// label back to its code, so no two actions share a label in either
// language, and a label reads back to its own code.
func TestActionLabelsAreDistinct(t *testing.T) {
	ja, en := map[string]string{}, map[string]string{}
	for code, l := range actionLabels {
		if other, ok := ja[l.ja]; ok {
			t.Errorf("%s and %s are both labelled %q", code, other, l.ja)
		}
		if other, ok := en[strings.ToLower(l.en)]; ok {
			t.Errorf("%s and %s are both labelled %q", code, other, l.en)
		}
		ja[l.ja], en[strings.ToLower(l.en)] = code, code
		if got := actionCode(l.ja); got != code {
			t.Errorf("the label %q reads back as %q, want %q", l.ja, got, code)
		}
		if got := actionCode(l.en); got != code {
			t.Errorf("the label %q reads back as %q, want %q", l.en, got, code)
		}
	}
}

// TestAlertDetailNamesActions: an alert's detail lists accesses by time and
// action code; the screen names the actions in its language.
func TestAlertDetailNamesActions(t *testing.T) {
	for _, c := range []struct {
		en       bool
		in, want string
	}{
		{false, "開庁時間（開庁日の08:30–17:15）外の照会 2件：23:40 lookup, 23:41 search", "開庁時間（開庁日の08:30–17:15）外の照会 2件：23:40 照会, 23:41 4情報による検索"},
		{false, "1日に5件の要求が拒否（基準 5件）：09:00 auth.login, 09:01 staff.designate-operator, 09:02 unknown.thing", "1日に5件の要求が拒否（基準 5件）：09:00 ログイン, 09:01 取扱者の指定, 09:02 unknown.thing"},
		{true, "2 accesses out of office hours (08:30–17:15 on office days): 23:40 lookup, 23:41 history", "2 accesses out of office hours (08:30–17:15 on office days): 23:40 Lookup, 23:41 History"},
	} {
		w := words{en: c.en}
		if got := w.actionsIn(c.in); got != c.want {
			t.Errorf("actionsIn(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
