package main

import (
	"strings"
	"testing"
)

// TestClassify: how an abolished body ended follows from its successors
// alone: several → split; one that existed before, or that took in other
// bodies too → merged; one new body for it alone → renamed, or recoded when
// the name stayed.
func TestClassify(t *testing.T) {
	prev := map[string]row{
		"100001": {code: "100001", name: "甲町", until: "2030-04-01"},
		"100002": {code: "100002", name: "乙村", until: "2030-04-01"},
		"100003": {code: "100003", name: "丙市"},
		"100004": {code: "100004", name: "丁町", until: "2030-04-01"},
		"100005": {code: "100005", name: "戊村", until: "2030-04-01"},
		"100006": {code: "100006", name: "己町", until: "2030-04-01"},
	}
	cur := map[string]row{
		"100003": {code: "100003", name: "丙市"},
		"200001": {code: "200001", name: "新甲市"},
		"200002": {code: "200002", name: "丁市"},
		"200003": {code: "200003", name: "己町"},
	}
	tests := []struct {
		code       string
		successors []string
		want       string
	}{
		{"100001", []string{"200001"}, "merged"},          // 甲町 and 乙村 → 新甲市 (新設合併)
		{"100002", []string{"200001"}, "merged"},          //
		{"100004", []string{"200002"}, "renamed"},         // 丁町 → 丁市 alone (市制施行)
		{"100005", []string{"100003"}, "merged"},          // 戊村 → 丙市, which existed (編入)
		{"100006", []string{"200003"}, "recoded"},         // 己町 → 己町 under a new code
		{"100001", []string{"100003", "200001"}, "split"}, // 分割
	}
	predecessors := map[string]int{"200001": 2, "200002": 1, "100003": 1, "200003": 1}
	for _, tt := range tests {
		r := prev[tt.code]
		r.successors = tt.successors
		if got := classify(r, prev, cur, predecessors); got != tt.want {
			t.Errorf("%s %s → %v: %s, want %s", tt.code, r.name, tt.successors, got, tt.want)
		}
	}
}

// TestDateChanges: a code that differs between the two versions without a
// dated line in changes.csv stops the generator, and so does a line the data
// does not bear out.
func TestDateChanges(t *testing.T) {
	prev := map[string]row{"221317": {code: "221317", pref: "静岡県", name: "中区", kind: "ward", county: "浜松市"}, "131083": {code: "131083"}}
	cur := map[string]row{"221384": {code: "221384", pref: "静岡県", name: "中央区", kind: "ward", county: "浜松市"}, "131083": {code: "131083"}}
	err := dateChanges(cur, prev, nil)
	if err == nil || !strings.Contains(err.Error(), "221317 静岡県浜松市中区 (abolished)") || !strings.Contains(err.Error(), "221384 静岡県浜松市中央区 (established)") {
		t.Errorf("no dates: %v", err)
	}
	if err := dateChanges(cur, prev, []change{{date: "2024-01-01", abolished: []string{"131083"}}}); err == nil {
		t.Error("131083 listed as abolished though the newer data has it: no error")
	}
	changes, err := parseChanges("date,abolished,established,source\n2024-01-01,221317,221384,test\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := dateChanges(cur, prev, changes); err != nil {
		t.Fatal(err)
	}
	if prev["221317"].until != "2024-01-01" || cur["221384"].from != "2024-01-01" || prev["131083"].until != "" {
		t.Errorf("dates not set: %+v %+v", prev["221317"], cur["221384"])
	}
	if _, err := parseChanges("date,abolished,established,source\n2024-01-01,221317,221384,\n"); err == nil {
		t.Error("a line without a source: no error")
	}
}

// TestChangesFile: the embedded changes.csv parses and dates 浜松市's wards.
func TestChangesFile(t *testing.T) {
	changes, err := parseChanges(changesCSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 || changes[0].date != "2024-01-01" || len(changes[0].abolished) != 7 || len(changes[0].established) != 3 {
		t.Errorf("changes.csv: %+v", changes)
	}
}
