package records_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	"jukinet/internal/gate/internal/records"
	"jukinet/internal/jptext"
)

// FuzzSearchInput follows search text as the gate takes it: the field
// rules either refuse it with a reason in Japanese for the screen, or the
// name and address keys it folds to can be sent to either database, and
// the address filter (LIKE with the key escaped) matches on SQLite and on
// PostgreSQL exactly the registered addresses whose key contains the
// query's key: no wildcard slips through, and the two databases agree.
func FuzzSearchInput(f *testing.F) {
	dbs := map[string]*db.DB{"sqlite": dbtest.OpenSQLite(f)}
	if url := os.Getenv(dbtest.EnvPostgres); url != "" {
		// The query reads no table: no schema is made (a fuzz worker
		// that is stopped would leave it behind).
		d, err := db.Open(context.Background(), url)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { d.Close() })
		dbs["postgres"] = d
	} else {
		fmt.Fprintln(os.Stderr, "FuzzSearchInput: JUKINET_TEST_POSTGRES_URL is not set: the LIKE filter is checked on SQLite only")
	}
	for _, s := range [][3]string{
		{"髙橋 花子", "東京都江東区東陽四丁目11番28号", "東陽4-11"},
		{"ﾀｶﾊｼ　ﾊﾅｺ", "霞ヶ関1-2-3", "霞が関"},
		{"a%b_c", "100%_\\町", "%"},
		{"x", "東京都_江東区", "_"},
		{"名前\x00", "住所\\", "\\"},
		{"SMITH john", "abc町", "ABC"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, name, address, query string) {
		for _, c := range []struct{ v, what string }{{name, "name"}, {address, "address"}, {query, "address"}} {
			field := gate.FieldSearchName
			if c.what == "address" {
				field = gate.FieldSearchAddress
			}
			if e := field.Check(c.v, false); e != nil {
				if e.Japanese == "" || e.Reason == "" {
					t.Fatalf("%s %q refused without a reason in both languages: %+v", c.what, c.v, e)
				}
				return
			}
		}
		for _, k := range []string{jptext.NameKey(name), jptext.AddressKey(address), jptext.AddressKey(query)} {
			if !utf8.ValidString(k) || strings.ContainsRune(k, 0) {
				t.Fatalf("a key no database takes: %q", k)
			}
		}
		key, q := jptext.AddressKey(address), jptext.AddressKey(query)
		want := strings.Contains(key, q)
		for name, d := range dbs {
			var got int
			if err := d.QueryRow(ctx, `SELECT CASE WHEN CAST(? AS TEXT) LIKE CAST(? AS TEXT) ESCAPE '\' THEN 1 ELSE 0 END`,
				key, "%"+records.LikeEscape(q)+"%").Scan(&got); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if (got == 1) != want {
				t.Fatalf("%s: address key %q LIKE query key %q is %v; contains is %v", name, key, q, got == 1, want)
			}
		}
	})
}
