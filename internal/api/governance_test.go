package api_test

import (
	"testing"
)

// TestGovernanceNeedsSignIn: on a node that is not a demo, every
// governance endpoint answers 401 with the Japanese message to a caller
// without a session, before its body is read, and writes nothing to the
// log.
func TestGovernanceNeedsSignIn(t *testing.T) {
	n, h, _ := newNode(t, false)
	var before int64
	if err := n.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_entry`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/approvals", ""},
		{"GET", "/api/v1/approvals/1", ""},
		{"POST", "/api/v1/approvals", `{"department":"kumin"}`},
		{"POST", "/api/v1/approvals/1/decision", `{"approve":true,"reason":"x"}`},
		{"POST", "/api/v1/approvals/1/withdrawal", `{"reason":"x"}`},
		{"POST", "/api/v1/approvals/1/end", `{"reason":"x"}`},
		{"POST", "/api/v1/approvals/1/report-requests", `{"from":"2026-11-01","to":"2026-11-30","due":"2026-12-15"}`},
		{"POST", "/api/v1/approval-reports/1/submission", `{"note":""}`},
		{"GET", "/api/v1/approvals/1/status?from=2026-11-01&to=2026-11-30", ""},
		{"GET", "/api/v1/training", ""},
		{"POST", "/api/v1/training/sessions", `{}`},
		{"POST", "/api/v1/facility/entries", `{}`},
		{"POST", "/api/v1/facility/entries/import", "room_id,verification_id,direction,time\n"},
		{"GET", "/api/v1/contracts", ""},
		{"GET", "/api/v1/assets", ""},
		{"GET", "/api/v1/council/meetings", ""},
		{"GET", "/api/v1/council/meetings/1", ""},
		{"GET", "/api/v1/council/directives", ""},
		{"POST", "/api/v1/council/directives/1/acknowledgement", ""},
		{"POST", "/api/v1/council/directives/1/completion", `{"note":"x"}`},
		{"GET", "/api/v1/audits", ""},
		{"GET", "/api/v1/audits/1", ""},
		{"POST", "/api/v1/audit-actions/1/follow-ups", `{"note":"x"}`},
		{"POST", "/api/v1/audit-actions/1/closure", `{"evidence":"x"}`},
		{"GET", "/api/v1/disclosures", ""},
		{"POST", "/api/v1/disclosures", `{}`},
		{"POST", "/api/v1/disclosures/1/decision", `{"decision":"disclose"}`},
		{"POST", "/api/v1/disclosures/1/issue", `{}`},
		{"GET", "/api/v1/correspondence", ""},
		{"GET", "/api/v1/correspondence/131083-130001-1", ""},
		{"POST", "/api/v1/correspondence", `{"to":"130001"}`},
		{"POST", "/api/v1/correspondence/130001-131083-1/answer", `{}`},
	} {
		rec, v := do(t, h, c.method, c.path, c.body, local)
		if rec.Code != 401 || v["type"] != "tag:jukinet,2026:problem:forbidden" || v["detail_ja"] == "" {
			t.Errorf("%s %s without a session: %d %v", c.method, c.path, rec.Code, v)
		}
	}
	var after int64
	if err := n.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_entry`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("calls without a session were logged: %d entries, then %d", before, after)
	}
}
