package federation

import (
	"context"
	"strings"
	"testing"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/resident"
)

// TestPeerFieldRules: a bundle's name, URL and code, and the code of a
// peer to remove or a source to resume, refuse a bidi override, NUL,
// another control character, bytes that are no UTF-8 and an over-long
// value, with the field named; nothing is registered and nothing logged,
// so the audit log holds no copy of the refused value.
func TestPeerFieldRules(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		pref := newNode(t, "aomori-pref", "020001")
		city := newNode(t, "koto-ward", "022012")
		good, _ := Export(city, "")
		count := func() int {
			l, err := auditlog.List(ctx, pref.DB, auditlog.Filter{After: -1, Limit: 100000})
			if err != nil {
				t.Fatal(err)
			}
			return len(l)
		}
		for _, fc := range []struct {
			field resident.Field
			call  func(v string) error
		}{
			{FieldPeerName, func(v string) error { b := good; b.Name = v; return Add(ctx, pref, console, Downstream, b) }},
			{FieldPeerURL, func(v string) error { b := good; b.URL = v; return Add(ctx, pref, console, Downstream, b) }},
			{FieldPeerCode, func(v string) error { b := good; b.Code = v; return Add(ctx, pref, console, Downstream, b) }},
			{FieldPeerCode, func(v string) error { return Remove(ctx, pref, console, v, false) }},
			{FieldPeerCode, func(v string) error { return Resume(ctx, pref, console, v) }},
		} {
			for name, v := range map[string]string{
				"U+202E": "022\u202E012", "NUL": "022012\x00", "U+0001": "\x01022012", "invalid UTF-8": "022012\xff",
				"too long": strings.Repeat("0", fc.field.Max+1),
			} {
				before := count()
				err := fc.call(v)
				if apperr.CodeOf(err) != apperr.Invalid || !strings.HasPrefix(err.Error(), fc.field.Name+": ") ||
					!strings.HasPrefix(apperr.JapaneseOf(err), fc.field.Japanese+"：") {
					t.Errorf("%s %s: %v (%s), want invalid naming the field", fc.field.Name, name, err, apperr.JapaneseOf(err))
				}
				if after := count(); after != before {
					t.Errorf("%s %s: the refused value was logged (%d entries → %d)", fc.field.Name, name, before, after)
				}
			}
		}
		if ps, err := Peers(ctx, pref.DB); err != nil || len(ps) != 0 {
			t.Errorf("refused bundles registered: %+v %v", ps, err)
		}
	})
}
