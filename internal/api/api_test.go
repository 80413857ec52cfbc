package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"jukinet/internal/api"
	"jukinet/internal/api/apitest"
	"jukinet/internal/auditlog"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
	"jukinet/internal/web"
)

func newNode(t *testing.T, demo bool) (*node.Node, http.Handler, []resident.IdentityRecord) {
	t.Helper()
	return newNodeOn(t, demo, "")
}

// onBothDatabases runs test on SQLite and, when JUKINET_TEST_POSTGRES_URL
// is set, on PostgreSQL (skipped loudly otherwise), with the database URL
// to give newNodeOn ("" for SQLite).
func onBothDatabases(t *testing.T, test func(t *testing.T, url string)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = dbtest.MigratedPostgresURL(t)
			}
			test(t, url)
		})
	}
}

// newNodeOn opens a node for 江東区 on the database url ("" for SQLite)
// with 30 synthetic residents, and its web server.
func newNodeOn(t *testing.T, demo bool, url string) (*node.Node, http.Handler, []resident.IdentityRecord) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	n, _ := nodetest.Open(t, node.InitOptions{Dir: dir, Profile: "koto-ward", LocalGovCode: "131083", Demo: demo, DatabaseURL: url})
	g, _ := synth.New(synth.Options{Seed: 8, LocalGov: "131083"})
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	var recs []resident.IdentityRecord
	for i := 0; i < 30; i++ {
		recs = append(recs, g.Next())
		w.Write(recs[i])
	}
	w.Close()
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "setup"}, Origin: "host:test", Affair: "juki", Reason: "テスト"}
	if _, err := n.Gate.Import(ctx, req, &buf, ""); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(n, web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return n, h, recs
}

// do sends a request from remote, checking the request and the answer
// against the OpenAPI document (apitest.Serve), and answers the response
// with its body decoded.
func do(t *testing.T, h http.Handler, method, url, body, remote string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, url, strings.NewReader(body))
	req.RemoteAddr = remote
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := apitest.Serve(t, h, req)
	var v map[string]any
	json.Unmarshal(rec.Body.Bytes(), &v)
	return rec, v
}

const local = "127.0.0.1:40000"

func TestLookupAndProblems(t *testing.T) {
	onBothDatabases(t, testLookupAndProblems)
}

func testLookupAndProblems(t *testing.T, url string) {
	_, h, recs := newNodeOn(t, true, url)
	r := recs[4]
	q := "?affair=juminhyo-copy&reason=%E7%AA%93%E5%8F%A3"
	rec, v := do(t, h, "GET", "/api/v1/residents/"+string(r.ResidentCode)+q, "", local)
	// 住民票の写し等の交付 does not need the codes: the gate withholds them.
	if rec.Code != 200 || v["family_name"] != r.FamilyName || v["individual_number"] != "" || v["resident_code"] != "" {
		t.Fatalf("lookup: %d %v", rec.Code, v)
	}
	q = "?affair=juki&reason=%E7%AA%93%E5%8F%A3"
	rec, v = do(t, h, "GET", "/api/v1/residents"+q+"&number="+string(r.IndividualNumber), "", local)
	if rec.Code != 200 || v["resident_code"] != string(r.ResidentCode) {
		t.Fatalf("lookup by number: %d %v", rec.Code, v)
	}
	rec, v = do(t, h, "GET", "/api/v1/residents/"+string(r.ResidentCode)+"/history"+q, "", local)
	if rec.Code != 200 || len(v["versions"].([]any)) != 1 {
		t.Fatalf("history: %d %v", rec.Code, v)
	}
	tests := []struct {
		method, url, body, remote string
		status                    int
		code                      string
	}{
		{"GET", "/api/v1/residents/12345678903" + q, "", local, 404, "not_found"},
		{"GET", "/api/v1/residents/12345678904" + q, "", local, 400, "invalid"},
		{"GET", "/api/v1/residents/" + string(r.ResidentCode), "", local, 403, "forbidden"}, // no affair or reason
		{"GET", "/api/v1/residents/" + string(r.ResidentCode) + q, "", "192.0.2.7:5555", 403, "forbidden"},
		{"POST", "/api/v1/search", `{"name":"x"`, local, 400, "invalid"},
		{"GET", "/api/v1/nothing", "", local, 404, "not_found"},
	}
	for _, tt := range tests {
		rec, v := do(t, h, tt.method, tt.url, tt.body, tt.remote)
		if rec.Code != tt.status || v["type"] != "tag:jukinet,2026:problem:"+tt.code || v["detail_ja"] == "" ||
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s from %s: %d %v", tt.method, tt.url, tt.remote, rec.Code, v)
		}
	}
}

func TestSearchAndAudit(t *testing.T) {
	onBothDatabases(t, testSearchAndAudit)
}

func testSearchAndAudit(t *testing.T, url string) {
	n, h, recs := newNodeOn(t, true, url)
	r := recs[2]
	body, _ := json.Marshal(api.SearchRequest{Name: r.FamilyNameKana + r.GivenNameKana, DateOfBirth: r.DateOfBirth.Format("2006-01-02"),
		Affair: "juminhyo-copy", Reason: "窓口"})
	rec, v := do(t, h, "POST", "/api/v1/search", string(body), local)
	if rec.Code != 200 || v["total"].(float64) < 1 {
		t.Fatalf("search: %d %v", rec.Code, v)
	}
	rec, v = do(t, h, "GET", "/api/v1/audit/entries?resident="+string(r.ResidentCode), "", local)
	entries := v["entries"].([]any)
	if rec.Code != 200 || len(entries) != 2 { // import and search
		t.Fatalf("entries: %d %v", rec.Code, v)
	}
	last := entries[1].(map[string]any)["entry"].(map[string]any)
	if last["action"] != "search" || last["actor"].(map[string]any)["id"] != api.DemoOperator || last["origin"] != api.DemoTerminal {
		t.Errorf("search entry: %v", last)
	}
	n.Log.Checkpoint(context.Background())
	rec, _ = do(t, h, "GET", "/api/v1/audit/entries/1/proof", "", local)
	if rec.Code != 200 {
		t.Fatalf("proof: %d %s", rec.Code, rec.Body)
	}
	if _, err := auditlog.CheckProof(rec.Body.Bytes(), n.Verifier); err != nil {
		t.Errorf("proof from the API does not check: %v", err)
	}
	rec, _ = do(t, h, "GET", "/api/v1/audit/checkpoint", "", local)
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), n.Origin()) {
		t.Errorf("checkpoint: %d %s", rec.Code, rec.Body)
	}
}

func TestChange(t *testing.T) {
	onBothDatabases(t, testChange)
}

func testChange(t *testing.T, url string) {
	_, h, recs := newNodeOn(t, true, url)
	_, v := do(t, h, "GET", "/api/v1/residents/"+string(recs[1].ResidentCode)+"?affair=juki&reason=b", "", local)
	var rec api.Record
	b, _ := json.Marshal(v)
	json.Unmarshal(b, &rec)
	rec.Address, rec.ChangeReason, rec.ChangeDate = "東京都江東区東陽四丁目11番28号", "転居", "2026-04-15"
	body, _ := json.Marshal(api.ChangeRequest{Record: rec, Affair: "juki", Reason: "窓口届出"})
	resp, out := do(t, h, "POST", "/api/v1/changes", string(body), local)
	if resp.Code != 200 || out["version"].(float64) != 2 || out["address"] != rec.Address {
		t.Fatalf("change: %d %v", resp.Code, out)
	}
	rec.ChangeDate = "2020-01-01" // before the current version
	rec.Address = "東京都江東区x"
	body, _ = json.Marshal(api.ChangeRequest{Record: rec, Affair: "juki", Reason: "窓口届出"})
	resp, out = do(t, h, "POST", "/api/v1/changes", string(body), local)
	if resp.Code != 409 || out["detail_ja"] == "" {
		t.Errorf("back-dated change: %d %v", resp.Code, out)
	}
}

func TestRealNodeNeedsSignIn(t *testing.T) {
	_, h, recs := newNode(t, false)
	rec, v := do(t, h, "GET", "/api/v1/residents/"+string(recs[0].ResidentCode)+"?affair=juminhyo-copy&reason=b", "", local)
	if rec.Code != 401 || v["detail_ja"] == "" {
		t.Errorf("real node: %d %v", rec.Code, v)
	}
}
