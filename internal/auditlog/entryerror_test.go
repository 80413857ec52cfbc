package auditlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestEntryErrorInBothLanguages: an entry keeps a domain error's class and
// Japanese message beside its English text (SetError), through the log's
// own path for refused work too; the fields are optional, so an entry
// without them encodes exactly as before (older entries stay canonical and
// verify); a changed Japanese message is tampering like any other byte.
func TestEntryErrorInBothLanguages(t *testing.T) {
	var e Entry
	e.SetError(fmt.Errorf("open incident: %w", apperr.New(apperr.NotFound, "no alert 9", "検知 9 はありません")))
	if e.Error != "open incident: no alert 9" || e.ErrorCode != "not_found" || e.ErrorJapanese != "検知 9 はありません" {
		t.Errorf("a domain error kept as %q %q %q", e.Error, e.ErrorCode, e.ErrorJapanese)
	}
	e.SetError(errors.New("disk full"))
	if e.Error != "disk full" || e.ErrorCode != "" || e.ErrorJapanese != "" {
		t.Errorf("a plain error kept as %q %q %q", e.Error, e.ErrorCode, e.ErrorJapanese)
	}

	// Without them, the bytes are those of a version-1 entry as written
	// before the fields existed.
	old := entry(1)
	old.Version, old.Time = FormatVersion, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	old.Outcome, old.Error = OutcomeError, "check digit is 9, expected 8"
	b, err := old.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "error_code") || strings.Contains(string(b), "error_ja") || !strings.Contains(string(b), `"error":"check digit is 9, expected 8","count":`) {
		t.Errorf("an entry without the new fields encodes differently: %s", b)
	}
	withJa := old
	withJa.ErrorCode, withJa.ErrorJapanese = "invalid", "検査数字が9ですが、正しくは8です"
	b, err = withJa.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEntry(b)
	if err != nil || got.ErrorCode != "invalid" || got.ErrorJapanese != withJa.ErrorJapanese {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if !strings.Contains(string(b), `"error":"check digit is 9, expected 8","error_code":"invalid","error_ja":"検査数字が9ですが、正しくは8です","count":`) {
		t.Errorf("encoded as %s", b)
	}

	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		ctx := context.Background()
		fill(t, l, 5) // entries without the fields, as before
		withErr := entry(6)
		withErr.Outcome = OutcomeError
		withErr.SetError(apperr.New(apperr.Invalid, "check digit is 9, expected 8", "検査数字が9ですが、正しくは8です"))
		if _, err := l.Append(ctx, withErr); err != nil {
			t.Fatal(err)
		}
		// Refused work: the log writes the attempt with the work's error.
		seq, workErr, err := l.AppendWith(ctx, entry(7), func(context.Context, *db.Tx, int64, *Entry) error {
			return apperr.New(apperr.Conflict, "already closed", "すでに終了しています")
		})
		if err != nil || workErr == nil {
			t.Fatalf("refused work: %v %v", workErr, err)
		}
		listed, err := List(ctx, d, Filter{After: seq - 1, Limit: 1})
		if err != nil || len(listed) != 1 || listed[0].Entry.ErrorJapanese != "すでに終了しています" || listed[0].Entry.ErrorCode != "conflict" || listed[0].Entry.Error != "already closed" {
			t.Fatalf("the refused work's entry: %+v %v", listed, err)
		}
		l.Checkpoint(ctx)
		if _, err := Verify(ctx, d, v); err != nil {
			t.Fatalf("a log of entries with and without the fields: %v", err)
		}
		// The Japanese message is bound into the tree like any other byte.
		change := `UPDATE audit_entry SET payload = CAST(REPLACE(CAST(payload AS TEXT), '検査数字が9', '検査数字が7') AS BLOB) WHERE seq = 5`
		if d.Dialect() != db.SQLite {
			change = `UPDATE audit_entry SET payload = convert_to(REPLACE(convert_from(payload, 'UTF8'), '検査数字が9', '検査数字が7'), 'UTF8') WHERE seq = 5`
		}
		if res, err := d.Exec(ctx, change); err != nil {
			t.Fatal(err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("the change changed %d entries", n)
		}
		if _, err := Verify(ctx, d, v); err == nil || !strings.Contains(err.Error(), "entry 5") {
			t.Errorf("a changed Japanese message: %v", err)
		}
	})
}

// TestEntryWhyInBothLanguages: an entry keeps its decision's reason in
// Japanese beside the English (why_ja) when the verdict gave one; the
// field is optional, so an entry without it — every entry written before
// it was kept — encodes byte for byte as before and decodes as canonical;
// a log of entries with and without it verifies, and a changed Japanese
// reason is tampering like any other byte.
func TestEntryWhyInBothLanguages(t *testing.T) {
	// A version-1 entry as written before the field existed.
	const before = `{"v":1,"seq":4,"time":"2026-11-22T01:02:03.000000004Z","node":"131083","actor":{"kind":"operator","id":"op1"},"origin":"terminal:T1",` +
		`"action":"lookup","affair":"住民票の写しの交付","reason":"窓口申請","decision":"deny","policy":"koto-ward:10/trained-operator",` +
		`"why":"forbidden by koto-ward:10/trained-operator","outcome":"denied","count":0,"subjects":0}`
	got, err := DecodeEntry([]byte(before))
	if err != nil {
		t.Fatalf("an entry written before why_ja: %v", err)
	}
	if got.Why != "forbidden by koto-ward:10/trained-operator" || got.WhyJapanese != "" {
		t.Errorf("decoded as %q %q", got.Why, got.WhyJapanese)
	}
	if b, err := got.Encode(); err != nil || string(b) != before {
		t.Errorf("encodes again as\n%s\nwant\n%s (%v)", b, before, err)
	}

	withJa := *got
	withJa.WhyJapanese = "規程により禁止されています（koto-ward:10/trained-operator）"
	b, err := withJa.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(before, `,"outcome"`, `,"why_ja":"`+withJa.WhyJapanese+`","outcome"`, 1); string(b) != want {
		t.Errorf("with why_ja encoded as\n%s\nwant\n%s", b, want)
	}
	if again, err := DecodeEntry(b); err != nil || again.WhyJapanese != withJa.WhyJapanese || again.Why != withJa.Why {
		t.Fatalf("round trip: %+v %v", again, err)
	}

	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		ctx := context.Background()
		fill(t, l, 5) // entries without the field, as before
		denied := entry(6)
		denied.Decision, denied.Outcome, denied.Provision = Deny, OutcomeDenied, nil
		denied.Why, denied.WhyJapanese = "affair \"x\" is not in profile koto-ward", "利用事務「x」はこの規程の利用事務にありません"
		seq, err := l.Append(ctx, denied)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Sync(ctx); err != nil { // a journaled log writes its rows after the entry is durable
			t.Fatal(err)
		}
		listed, err := List(ctx, d, Filter{After: seq - 1, Limit: 1})
		if err != nil || len(listed) != 1 || listed[0].Entry.WhyJapanese != denied.WhyJapanese || listed[0].Entry.Why != denied.Why {
			t.Fatalf("the denied entry: %+v %v", listed, err)
		}
		l.Checkpoint(ctx)
		if _, err := Verify(ctx, d, v); err != nil {
			t.Fatalf("a log of entries with and without why_ja: %v", err)
		}
		// The Japanese reason is bound into the tree like any other byte.
		q := `UPDATE audit_entry SET payload = CAST(REPLACE(CAST(payload AS TEXT), '利用事務「x」', '利用事務「y」') AS BLOB) WHERE seq = ?`
		if d.Dialect() != db.SQLite {
			q = `UPDATE audit_entry SET payload = convert_to(REPLACE(convert_from(payload, 'UTF8'), '利用事務「x」', '利用事務「y」'), 'UTF8') WHERE seq = ?`
		}
		if _, err := d.Exec(ctx, q, seq); err != nil {
			t.Fatal(err)
		}
		if changed, err := List(ctx, d, Filter{After: seq - 1, Limit: 1}); err != nil || len(changed) != 1 || changed[0].Entry == nil || !strings.Contains(changed[0].Entry.WhyJapanese, "利用事務「y」") {
			t.Fatalf("the Japanese reason was not changed: %+v %v", changed, err)
		}
		if _, err := Verify(ctx, d, v); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entry %d", seq)) {
			t.Errorf("a changed Japanese reason: %v", err)
		}
	})
}
