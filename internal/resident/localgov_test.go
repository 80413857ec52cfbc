package resident

import (
	"strings"
	"testing"
	"time"

	"jukinet/internal/ids"
)

// TestLocalGovOnRecordDate: a record's 地方公共団体コード must have been in
// force on the record's date (its change date): a removed record (除票) of
// 2020 keeps 221317 浜松市中区, abolished on 2024-01-01; a record of today
// with it is refused, naming the day and the body that holds the area now.
func TestLocalGovOnRecordDate(t *testing.T) {
	hamamatsu := func(code, address string, change time.Time, reason ChangeReason) IdentityRecord {
		r := sample
		r.LocalGov, r.Address, r.ChangeDate, r.ChangeReason = ids.LocalGovCode(code), address, change, reason
		return r
	}
	tests := []struct {
		name   string
		rec    IdentityRecord
		reason string // "" when valid
		ja     string
	}{
		{name: "除票 of 2020 in 中区", rec: hamamatsu("221317", "静岡県浜松市中区元城町103番地の2", Date(2020, time.May, 1), ReasonMoveOut)},
		{name: "record of 2023-12-31 in 中区", rec: hamamatsu("221317", "静岡県浜松市中区元城町103番地の2", Date(2023, time.December, 31), ReasonMoveIn)},
		{name: "new record in 中区", rec: hamamatsu("221317", "静岡県浜松市中区元城町103番地の2", Date(2026, time.May, 20), ReasonMoveIn),
			reason: "abolished on 2024-01-01 (静岡県浜松市中区): merged into 221384 浜松市中央区",
			ja:     "地方公共団体コード：2024年1月1日に廃止。現在は221384 浜松市中央区"},
		{name: "record of 2024-01-01 in 北区", rec: hamamatsu("221350", "静岡県浜松市北区細江町気賀305番地", Date(2024, time.January, 1), ReasonMoveIn),
			reason: "divided among 221384 浜松市中央区 and 221392 浜松市浜名区",
			ja:     "2024年1月1日に廃止。現在は221384 浜松市中央区または221392 浜松市浜名区"},
		{name: "new record in 中央区", rec: hamamatsu("221384", "静岡県浜松市中央区元城町103番地の2", Date(2026, time.May, 20), ReasonMoveIn)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.rec.Validate(testNow)
			if tt.reason == "" {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Column != "local_gov_code" || !strings.Contains(errs[0].Reason, tt.reason) || !strings.Contains(errs[0].JapaneseMessage(), tt.ja) {
				t.Fatalf("got %v (%v), want local_gov_code: %q / %q", errs, japaneseOf(errs), tt.reason, tt.ja)
			}
		})
	}
}
