package federation

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/protect"
	"jukinet/internal/staff"
)

// TestProtectionTravelsUpstream: a support measure (支援措置) marked at a
// municipality travels to the prefecture with the next delivery, alone if
// no record changed, and the prefecture enforces it as its own: a look-up
// without a case reference is refused by aomori-pref:8/protected-resident,
// one with a case reference is allowed and marked; a recipient's batch
// withholds the resident for an affair that may not read protected
// residents and, for one that may, provides the row flagged protected;
// the early end at the municipality travels too and lifts the restriction.
func TestProtectionTravelsUpstream(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		recs := importN(t, nw.aomori, "022012", 3, 5)
		s := NewSender(nw.aomori, nil)
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 3 {
			t.Fatalf("deliver: %d %v", sent, err)
		}
		code := string(recs[0].ResidentCode)
		today := jptext.Midnight(nw.aomori.Now())
		id, err := nw.aomori.Protect.Mark(ctx, console, protect.Mark{ResidentCode: code, Start: today, End: today.AddDate(0, 6, 0), Department: "kumin", Category: "dv"})
		if err != nil {
			t.Fatal(err)
		}
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 1 {
			t.Fatalf("deliver the protection alone: %d %v", sent, err)
		}
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 0 {
			t.Fatalf("nothing left: %d %v", sent, err)
		}
		ps, err := nw.pref.Protect.List(ctx, console, true)
		if err != nil || len(ps) != 1 || ps[0].ResidentCode != code || ps[0].Source != "022012" || ps[0].Department != "022012:kumin" {
			t.Fatalf("the prefecture's register: %+v %v", ps, err)
		}
		key := gate.Key{ResidentCode: code}
		if _, err := nw.pref.Gate.Lookup(ctx, consoleReq(nw.pref), key); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("look-up at the prefecture without a case reference: %v", err)
		}
		l, _ := auditlog.List(ctx, nw.pref.DB, auditlog.Filter{Action: "lookup", After: -1, Newest: true, Limit: 1})
		if len(l) != 1 || l[0].Entry.Policy != "aomori-pref:8/protected-resident" {
			t.Fatalf("the refusal's entry: %+v", l)
		}
		withCase := consoleReq(nw.pref)
		withCase.CaseRef = "照会-17"
		if rec, err := nw.pref.Gate.Lookup(ctx, withCase, key); err != nil || !rec.Protected {
			t.Fatalf("look-up at the prefecture with a case reference: %+v %v", rec.Protected, err)
		}

		// Recipients: the restriction goes with the answer.
		for _, r := range []staff.Recipient{{ID: "nenkin", Name: "日本年金機構", Category: "別表第一", Affairs: []string{"pension"}},
			{ID: "aomori-city", Name: "青森市", Category: "別表第二", Affairs: []string{"municipal-register"}}} {
			if err := nw.pref.Staff.AddRecipient(ctx, console, r); err != nil {
				t.Fatal(err)
			}
		}
		base, ca := provisionServer(t, nw.pref)
		body := "resident_code\n" + code + "\n" + string(recs[1].ResidentCode) + "\n"
		status, rows := postBatch(t, recipientClient(t, ca, "nenkin"), base, "pension", body)
		if status != 200 || len(rows) != 3 || rows[1][1] != gate.Withheld || rows[1][3] != "" || rows[2][1] != gate.Found || rows[2][13] != "" || rows[0][13] != "protected" {
			t.Fatalf("pension batch: %d %v", status, rows)
		}
		c := recipientClient(t, ca, "aomori-city")
		resp, err := c.Post(base+"/provision/v1/batch?affair=municipal-register&case="+url.QueryEscape("転入-R8-3")+"&reason="+url.QueryEscape("転入届の審査"), "text/csv", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw := readAll(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(raw, code) || !strings.Contains(raw, ",found,"+code) || !strings.HasSuffix(strings.Split(strings.TrimSpace(raw), "\n")[1], ",1") {
			t.Fatalf("municipal-register batch with a case: %d %s", resp.StatusCode, raw)
		}

		// The early end travels too.
		if err := nw.aomori.Protect.End(ctx, console, id, today); err != nil {
			t.Fatal(err)
		}
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 1 {
			t.Fatalf("deliver the end: %d %v", sent, err)
		}
		if rec, err := nw.pref.Gate.Lookup(ctx, consoleReq(nw.pref), key); err != nil || rec.Protected {
			t.Fatalf("after the end at the municipality: %v %v", rec.Protected, err)
		}
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
