package resident

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestFieldRules: what each field may hold, as Validate applies it for
// every door. Each bad value names its field and rule, once.
func TestFieldRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *IdentityRecord)
		column string // "" when the record is valid
		reason string // part of the English rule
		ja     string // part of the Japanese rule
	}{
		{"variant kanji", func(r *IdentityRecord) { r.FamilyName = "﨑山" }, "", "", ""},
		{"kanji beyond JIS X 0208", func(r *IdentityRecord) { r.FamilyName = "𠮷野" }, "", "", ""},
		{"kanji with a variation selector", func(r *IdentityRecord) { r.FamilyName = "葛\U000E0100城" }, "", "", ""},
		{"decomposed accent on a Latin letter", func(r *IdentityRecord) { r.FamilyName, r.GivenName = "JOSÉ", "ANA" }, "", "", ""},
		{"variation selector after kana", func(r *IdentityRecord) { r.GivenName = "はな󠄀" }, "given_name", "character 3", "3文字目"},
		{"accent on a kanji", func(r *IdentityRecord) { r.GivenName = "花́" }, "given_name", "character 2", "2文字目"},
		{"iteration mark", func(r *IdentityRecord) { r.FamilyName, r.FamilyNameKana = "佐々木", "ササキ" }, "", "", ""},
		{"Latin name", func(r *IdentityRecord) { r.FamilyName, r.GivenName = "O'BRIEN", "José María" }, "", "", ""},
		{"full-width Latin", func(r *IdentityRecord) { r.FamilyName = "ＳＭＩＴＨ" }, "", "", ""},
		{"katakana name", func(r *IdentityRecord) {
			r.Alias, r.AliasKana = "ジャン＝ポール・サルトル", "ジャン・ポール　サルトル"
		}, "", "", ""},
		{"born today in Japan", func(r *IdentityRecord) {
			r.DateOfBirth, r.ChangeReason, r.ChangeDate = Date(2026, time.June, 1), ReasonBirth, Date(2026, time.June, 1)
		}, "", "", ""},

		{"right-to-left override", func(r *IdentityRecord) { r.FamilyName = "髙\u202E橋" }, "family_name", "character 2: the invisible format character U+202E", "書式制御文字（U+202E"},
		{"zero-width space", func(r *IdentityRecord) { r.GivenName = "花\u200B子" }, "given_name", "U+200B", "U+200B"},
		{"bidi isolate in the address", func(r *IdentityRecord) { r.Address = "東京都\u2067江東区" }, "address", "U+2067", "U+2067"},
		{"NUL", func(r *IdentityRecord) { r.FamilyName = "髙\x00橋" }, "family_name", "control character U+0000", "制御文字（U+0000）"},
		{"NUL in the address", func(r *IdentityRecord) { r.Address += "\x00" }, "address", "control character U+0000", "制御文字"},
		{"invalid UTF-8", func(r *IdentityRecord) { r.GivenName = "花\xff" }, "given_name", "not valid UTF-8", "文字コード"},
		{"10,000-character name", func(r *IdentityRecord) { r.FamilyName = strings.Repeat("髙", 10000) }, "family_name", "longer than 100 characters (10000 given)", "100文字以内"},
		{"long address", func(r *IdentityRecord) { r.Address = strings.Repeat("一", 201) }, "address", "longer than 200", "200文字以内"},
		{"private-use character (外字)", func(r *IdentityRecord) { r.FamilyName = "\uE000橋" }, "family_name", "private-use", "外字"},
		{"no-break space", func(r *IdentityRecord) { r.GivenName = "花\u00A0子" }, "given_name", "space-like", "空白"},
		{"line separator", func(r *IdentityRecord) { r.Address = "東京都\u2028江東区" }, "address", "U+2028", "U+2028"},
		{"half-width katakana", func(r *IdentityRecord) { r.FamilyName = "ｓ｡" }, "family_name", "half-width katakana", "半角カタカナ"},
		{"half-width katakana in the address", func(r *IdentityRecord) { r.Address = "東京都江東区ﾄｳﾖｳ" }, "address", "half-width", "半角"},
		{"Latin mixed with kanji", func(r *IdentityRecord) { r.FamilyName = "R田" }, "family_name", "mixes Latin letters", "混在"},
		{"digit in a name", func(r *IdentityRecord) { r.GivenName = "花子2" }, "given_name", "only kanji, kana or Latin letters", "漢字・かな・ローマ字"},
		{"emoji in a name", func(r *IdentityRecord) { r.GivenName = "花😀" }, "given_name", "U+1F600", "U+1F600"},
		{"radical, not a kanji", func(r *IdentityRecord) { r.GivenName = "\u2F08" }, "given_name", "U+2F08", "U+2F08"},
		{"hiragana reading", func(r *IdentityRecord) { r.FamilyNameKana = "たかはし" }, "family_name_kana", "only full-width katakana", "全角カタカナ"},
		{"RLO in a reading", func(r *IdentityRecord) { r.GivenNameKana = "ハナ\u202Eコ" }, "given_name_kana", "U+202E", "U+202E"},
		{"only spaces", func(r *IdentityRecord) { r.Alias, r.AliasKana = "　", "ア" }, "alias", "only spaces", "空白だけ"},
		{"future birth date", func(r *IdentityRecord) {
			r.DateOfBirth, r.ChangeReason, r.ChangeDate = Date(2026, time.June, 2), ReasonBirth, Date(2026, time.June, 2)
		}, "date_of_birth", "2026-06-02 is after today (2026-06-01)", "未来の日付"},
		{"long change reason is not quoted", func(r *IdentityRecord) { r.ChangeReason = ChangeReason(strings.Repeat("x", 5000)) }, "change_reason", "not a change reason", "異動事由"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sample
			tt.change(&r)
			errs := r.Validate(testNow)
			if tt.column == "" {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Column != tt.column || !strings.Contains(errs[0].Reason, tt.reason) ||
				!strings.Contains(errs[0].JapaneseMessage(), tt.ja) || !strings.HasPrefix(errs[0].JapaneseMessage(), columnLabels[tt.column]+"：") {
				t.Fatalf("got %v (%v), want one error on %s: %q / %q", errs, japaneseOf(errs), tt.column, tt.reason, tt.ja)
			}
			if len(errs[0].Reason) > 400 {
				t.Errorf("the message carries the value: %d bytes", len(errs[0].Reason))
			}
		})
	}
}

func japaneseOf(errs []FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.JapaneseMessage())
	}
	return out
}

// TestFutureBirthDateIsDecidedInJapan: "today" is the day in Japan of the
// injected time, not the day of the machine's time zone.
func TestFutureBirthDateIsDecidedInJapan(t *testing.T) {
	r := sample
	r.DateOfBirth, r.ChangeReason, r.ChangeDate = Date(2026, time.June, 2), ReasonBirth, Date(2026, time.June, 2)
	for _, tt := range []struct {
		now time.Time
		ok  bool
	}{
		{time.Date(2026, time.June, 1, 14, 59, 0, 0, time.UTC), false}, // 23:59 JST on 1 June
		{time.Date(2026, time.June, 1, 15, 0, 0, 0, time.UTC), true},   // 00:00 JST on 2 June
	} {
		if errs := r.Validate(tt.now); (len(errs) == 0) != tt.ok {
			t.Errorf("at %s: %v, want ok=%v", tt.now, errs, tt.ok)
		}
	}
}

// TestReadCSVRefusesMispairedCP932: a CP932 file in which one double-byte
// character is damaged is refused on the field, with its line and column,
// whatever the damage decodes to; never imported as mojibake.
func TestReadCSVRefusesMispairedCP932(t *testing.T) {
	r := sample
	r.FamilyName, r.FamilyNameKana = "近藤", "コンドウ"
	good := encode(t, CP932, r)
	kondo := []byte{0x8B, 0xDF, 0x93, 0xA1} // 近藤
	if !bytes.Contains(good, kondo) {
		t.Fatal("近藤 not found in the CP932 file")
	}
	tests := []struct {
		name    string
		damaged []byte
		reason  string
	}{
		{"the reported damage (ｓ｡)", []byte{0x82, 0x93, 0xA1}, "half-width katakana"},
		{"second byte lost: the next lead byte pairs instead (挙｡)", []byte{0x8B, 0x93, 0xA1}, "half-width katakana"},
		{"first byte lost (ﾟ藤)", []byte{0xDF, 0x93, 0xA1}, "half-width katakana"},
		{"last byte lost: a lead byte ends the field", []byte{0x8B, 0xDF, 0x93}, "byte 3 (0x93) begins a double-byte character, but the field ends there"},
		{"lead byte before ASCII", []byte{0x8B, 0x41, 0x93}, "byte 3 (0x93) begins a double-byte character"},
		{"lead byte before a control byte", []byte{0x8B, 0x09, 0x93, 0xA1}, "byte 1 (0x8B) begins a double-byte character, but the byte after it (0x09) cannot end one"},
		{"a byte that is no character", []byte{0x8B, 0xDF, 0x80}, "byte 3 (0x80) is no character in CP932"},
		{"a pair that is no character", []byte{0x85, 0x40, 0x93, 0xA1}, "bytes 1–2 (0x85 0x40) are no character in CP932"},
		{"a lost byte shifts into Latin letters (R田 from 山田)", []byte{0x52, 0x93, 0x63}, "mixes Latin letters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := bytes.Replace(good, kondo, tt.damaged, 1)
			rows, errs, err := ReadCSV(bytes.NewReader(raw), CP932, testNow)
			if err != nil || len(rows) != 0 || len(errs) != 1 || errs[0].Line != 2 || errs[0].Column != "family_name" || !strings.Contains(errs[0].Reason, tt.reason) {
				t.Errorf("rows %v, errors %v, %v; want line 2, column family_name: %q", rows, errs, err, tt.reason)
			}
		})
	}
	// Detected as CP932 too.
	if _, errs, _ := ReadCSV(bytes.NewReader(bytes.Replace(good, kondo, tests[0].damaged, 1)), "", testNow); len(errs) != 1 {
		t.Errorf("detected encoding: %v", errs)
	}
}

// TestReadCSVRefusesShiftedAddress: a byte lost inside the address of a
// Shift_JIS file shifts what follows into other, valid characters (the
// review's 東京都江東区 → 東京桃]東区); the address then no longer begins with
// the name of the local government the record gives, and the row is refused.
func TestReadCSVRefusesShiftedAddress(t *testing.T) {
	good := encode(t, CP932, sample)
	koto := []byte{0x8D, 0x5D, 0x93, 0x8C, 0x8B, 0xE6} // 江東区
	i := bytes.Index(good, koto)
	if i < 0 {
		t.Fatal("江東区 not found in the CP932 file")
	}
	for _, lost := range []int{i, i + 1, i - 1} { // 江's first or second byte, 都's second
		raw := append(append([]byte(nil), good[:lost]...), good[lost+1:]...)
		rows, errs, err := ReadCSV(bytes.NewReader(raw), CP932, testNow)
		if err != nil || len(rows) != 0 || len(errs) == 0 || errs[0].Column != "address" {
			t.Errorf("byte %d lost: rows %v, errors %v, %v; want the address refused", lost, rows, errs, err)
		}
	}
	// Written without the prefecture, or in full, the address is accepted.
	for _, addr := range []string{"江東区東陽四丁目11番28号", "東京都江東区東陽四丁目11番28号"} {
		r := sample
		r.Address = addr
		if errs := r.Validate(testNow); len(errs) != 0 {
			t.Errorf("%s: %v", addr, errs)
		}
	}
	r := sample
	r.Address = "東京都千代田区丸の内一丁目1番1号"
	if errs := r.Validate(testNow); len(errs) != 1 || errs[0].Column != "address" || !strings.Contains(errs[0].Reason, "131083") {
		t.Errorf("an address in another municipality: %v", errs)
	}
}
