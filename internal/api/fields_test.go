package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"jukinet/internal/api"
	"jukinet/internal/auditlog"
)

// TestFieldRulesAtTheAPI: the JSON API refuses what is not text, and
// bodies with anything after the JSON object, with a problem naming the
// field and the rule (in Japanese too); what it logs of a refused value is
// a fixed-size stand-in, never the value.
func TestFieldRulesAtTheAPI(t *testing.T) {
	n, h, recs := newNode(t, true)
	// "Today" for the rules is the gate's clock: a fixed day, not the
	// machine's.
	n.Gate.Now = func() time.Time { return time.Date(2026, time.June, 1, 3, 0, 0, 0, time.UTC) }
	r := recs[3]
	search := func(mod func(*api.SearchRequest), trailer string) string {
		q := api.SearchRequest{Name: r.FamilyNameKana + r.GivenNameKana, DateOfBirth: r.DateOfBirth.Format(time.DateOnly), Affair: "juki", Reason: "窓口"}
		if mod != nil {
			mod(&q)
		}
		b, _ := json.Marshal(q)
		return string(b) + trailer
	}
	_, v := do(t, h, "GET", "/api/v1/residents/"+string(r.ResidentCode)+"?affair=juki&reason=b", "", local)
	var current api.Record
	b, _ := json.Marshal(v)
	json.Unmarshal(b, &current)
	change := func(mod func(*api.Record)) string {
		rec := current
		rec.ChangeReason, rec.ChangeDate = "職権修正", "2026-05-01"
		mod(&rec)
		b, _ := json.Marshal(api.ChangeRequest{Record: rec, Affair: "juki", Reason: "職権修正"})
		return string(b)
	}
	lookup := "/api/v1/residents/" + string(r.ResidentCode) + "?affair=juki&reason="
	tests := []struct {
		name        string
		method, url string
		body        string
		detail, ja  string // parts of the problem's detail and detail_ja
	}{
		{"trailing garbage", "POST", "/api/v1/search", search(nil, "garbage"), "data after the JSON object", "余分なデータ"},
		{"a second object", "POST", "/api/v1/search", search(nil, `{"name":"x"}`), "data after the JSON object", "余分なデータ"},
		{"a stray brace", "POST", "/api/v1/search", search(nil, "}"), "data after the JSON object", "余分なデータ"},
		{"a key given twice", "POST", "/api/v1/search", strings.Replace(search(nil, ""), `{`, `{"reason":"別の理由",`, 1), `the key "reason" is given twice`, "キー「reason」が2回"},
		{"NUL in a search", "POST", "/api/v1/search", search(func(q *api.SearchRequest) { q.Name += "\x00" }, ""), "name: character", "氏名："},
		{"invalid UTF-8 in a search", "POST", "/api/v1/search", strings.Replace(search(nil, ""), `"窓口"`, "\"\xff\xfe\"", 1), "reason: character 1: holds U+FFFD", "利用の理由："},
		{"RLO in a search address", "POST", "/api/v1/search", search(func(q *api.SearchRequest) { q.Address = "江東\u202E区" }, ""), "address: character 3: the invisible format character U+202E", "住所："},
		{"10,000-character search name", "POST", "/api/v1/search", search(func(q *api.SearchRequest) { q.Name = strings.Repeat("ア", 10000) }, ""), "name: longer than 201 characters", "氏名：201文字以内"},
		{"RLO in a name", "POST", "/api/v1/changes", change(func(rec *api.Record) { rec.FamilyName = "\u202E" + rec.FamilyName }), "family_name: character 1: the invisible format character U+202E", "氏：1文字目"},
		{"10,000-character name", "POST", "/api/v1/changes", change(func(rec *api.Record) { rec.GivenName = strings.Repeat("髙", 10000) }), "given_name: longer than 100 characters", "名：100文字以内"},
		{"future birth date", "POST", "/api/v1/changes", change(func(rec *api.Record) { rec.DateOfBirth = "2026-06-02" }), "date_of_birth: 2026-06-02 is after today (2026-06-01)", "生年月日："},
		{"reason over 200 characters", "GET", lookup + strings.Repeat("a", 201), "", "reason: longer than 200 characters (201 given)", "利用の理由：200文字以内"},
		{"1 MB reason", "GET", lookup + strings.Repeat("a", 1<<20), "", "reason: longer than 200 characters", "利用の理由："},
		{"NUL in the reason", "GET", lookup + "a%00b", "", "reason: character 2: the control character U+0000", "利用の理由：2文字目"},
		{"invalid UTF-8 in the reason", "GET", lookup + "%FF", "", "reason: not valid UTF-8", "利用の理由：文字コード"},
		{"RLO in the case", "GET", lookup + "b&case=" + url.QueryEscape("A\u202E1"), "", "case: character 2", "案件番号："},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, v := do(t, h, tt.method, tt.url, tt.body, local)
			detail, _ := v["detail"].(string)
			ja, _ := v["detail_ja"].(string)
			if rec.Code != 400 || v["type"] != "tag:jukinet,2026:problem:invalid" || !strings.Contains(detail, tt.detail) || !strings.Contains(ja, tt.ja) {
				t.Fatalf("%d %v; want 400 with %q / %q", rec.Code, v, tt.detail, tt.ja)
			}
			if strings.Contains(detail, "missing") {
				t.Errorf("a present but wrong value is reported as missing: %s", detail)
			}
		})
	}
	// Nothing refused reached the log whole: every entry is small.
	if err := n.Log.Sync(context.Background()); err != nil { // journaled entries' rows
		t.Fatal(err)
	}
	list, err := auditlog.List(context.Background(), n.DB, auditlog.Filter{After: -1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	refusedSeen := 0
	for _, l := range list {
		b, _ := json.Marshal(l.Entry)
		if l.Action != "import" && len(b) > 2048 {
			t.Errorf("entry %d (%s) is %d bytes", l.Seq, l.Action, len(b))
		}
		if strings.HasPrefix(l.Entry.Reason, "(refused: ") {
			refusedSeen++
		}
	}
	if refusedSeen != 5 { // the four GETs with a bad reason and the search with one
		t.Errorf("%d entries with a refused reason's stand-in, want 5", refusedSeen)
	}
}
