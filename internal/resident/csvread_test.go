package resident

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func encode(t *testing.T, enc Encoding, recs ...IdentityRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewCSVWriter(&buf, enc)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadCSVRoundTrip(t *testing.T) {
	other := sample
	other.ResidentCode, other.IndividualNumber, other.FamilyName = "10000000006", "983205673214", "渡邊"
	for _, enc := range []Encoding{UTF8, CP932} {
		raw := encode(t, enc, sample, other)
		for _, given := range []Encoding{"", enc} { // detected, then given
			rows, bad, err := ReadCSV(bytes.NewReader(raw), given, testNow)
			if err != nil || len(bad) > 0 {
				t.Fatalf("%s/%q: %v %v", enc, given, err, bad)
			}
			if len(rows) != 2 || rows[0].Record != sample || rows[1].Record != other || rows[1].Line != 3 {
				t.Errorf("%s/%q: rows %+v", enc, given, rows)
			}
		}
	}
	// A UTF-8 BOM is accepted.
	raw := append([]byte{0xEF, 0xBB, 0xBF}, encode(t, UTF8, sample)...)
	if rows, bad, _ := ReadCSV(bytes.NewReader(raw), "", testNow); len(rows) != 1 || len(bad) > 0 {
		t.Errorf("BOM: %v %v", rows, bad)
	}
}

func TestReadCSVReportsEveryBadRow(t *testing.T) {
	good := string(encode(t, UTF8, sample))
	lines := strings.Split(strings.TrimRight(good, "\r\n"), "\r\n")
	row := lines[1]
	bad := []string{
		lines[0],
		row,
		strings.Replace(row, "12345678903", "12345678904", 1),   // line 3: check digit
		strings.Replace(row, ",1970-03-02,", ",1970-02-30,", 1), // line 4: no such date
		strings.Replace(row, ",タカハシ,", ",たかはし,", 1),             // line 5: hiragana kana
		strings.Replace(row, ",2,東京都", ",3,東京都", 1),             // line 6: sex
		strings.Replace(row, ",131083,", ",130001,", 1),         // line 7: prefecture
		strings.Replace(row, ",転入,", ",引越,", 1),                 // line 8: reason
		row + ",extra", // line 9: columns
		strings.Replace(row, ",2001-04-01", ",1960-04-01", 1),   // line 10: change before birth
		strings.Replace(row, "123456789018", "123456789019", 1), // line 11: number
		strings.Replace(row, "髙橋,花子", ",花子", 1),                 // line 12: family name missing
	}
	rows, errs, err := ReadCSV(strings.NewReader(strings.Join(bad, "\r\n")+"\r\n"), "", testNow)
	if err != nil || len(rows) != 1 || rows[0].Line != 2 {
		t.Fatalf("rows %v, err %v: want only the good row, line 2", rows, err)
	}
	want := []string{
		"line 3, column resident_code: check digit is 4, expected 3",
		"line 4, column date_of_birth:",
		"line 5, column family_name_kana: only full-width katakana",
		"line 6, column sex:",
		"line 7, column local_gov_code:",
		"line 8, column change_reason:",
		"line 9: has 17 columns, want 16",
		"line 10, column change_date: before the date of birth",
		"line 11, column individual_number: check digit",
		"line 12, column family_name: required",
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("missing %q in:\n%s", w, all)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(errs), len(want), all)
	}
}

func TestReadCSVWrongEncodingOneErrorPerRow(t *testing.T) {
	raw := encode(t, CP932, sample, sample)
	_, errs, _ := ReadCSV(bytes.NewReader(raw), UTF8, testNow)
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "line 2, column family_name: not valid UTF-8 text; if the file is Shift_JIS, give --encoding cp932") {
		t.Errorf("errors: %v", errs)
	}
}

func TestReadCSVHeader(t *testing.T) {
	for _, in := range []string{"", "a,b\n", "resident_code\n"} {
		_, errs, _ := ReadCSV(strings.NewReader(in), "", testNow)
		if len(errs) != 1 || errs[0].Line != 1 {
			t.Errorf("ReadCSV(%q) = %v", in, errs)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(strings.Join(CSVHeader, ",") + "\n12345678903,123456789018,髙橋,花子,タカハシ,ハナコ,,,,,1970-03-02,2,東京都江東区,131083,転入,2001-04-01\n"))
	f.Add([]byte(strings.Join(CSVHeader, ",") + "\na\"b,123456789018\n")) // a stray quote in the first field
	f.Add([]byte("\xef\xbb\xbfresident_code\n"))
	f.Add([]byte{0x82, 0xa0, '\n'})
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, errs, err := ReadCSV(bytes.NewReader(b), "", testNow)
		if err != nil {
			t.Fatal(err) // read errors are row errors, never an error
		}
		for _, r := range rows {
			if v := r.Record.Validate(testNow); len(v) > 0 {
				t.Fatalf("returned an invalid row: %v", v)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Error() == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}

// TestReadCSVManyRows: across many batches, good rows come back in file
// order with their lines, a CSV syntax error is reported and reading goes
// on, and the error list stops at MaxRowErrors with a last line saying so.
func TestReadCSVManyRows(t *testing.T) {
	good := string(encode(t, UTF8, sample))
	lines := strings.Split(strings.TrimRight(good, "\r\n"), "\r\n")
	header, row := lines[0], lines[1]
	badDate := strings.Replace(row, ",1970-03-02,", ",1970-02-30,", 1)

	// 5,000 rows: every 7th has a bad date, row 2,500 a stray quote.
	file := []string{header}
	var wantGood, wantBad []int
	for i := 0; i < 5000; i++ {
		line := i + 2
		switch {
		case i == 2500:
			file = append(file, `a"b`+row)
			wantBad = append(wantBad, line)
		case i%7 == 0:
			file = append(file, badDate)
			wantBad = append(wantBad, line)
		default:
			file = append(file, row)
			wantGood = append(wantGood, line)
		}
	}
	rows, bad, err := ReadCSV(strings.NewReader(strings.Join(file, "\r\n")+"\r\n"), "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(wantGood) || len(bad) != len(wantBad) {
		t.Fatalf("%d good rows, %d bad; want %d and %d", len(rows), len(bad), len(wantGood), len(wantBad))
	}
	for i, r := range rows {
		if r.Line != wantGood[i] || r.Record != sample {
			t.Fatalf("row %d: line %d, want %d", i, r.Line, wantGood[i])
		}
	}
	for i, e := range bad {
		if e.Line != wantBad[i] {
			t.Fatalf("error %d: %v, want line %d", i, e, wantBad[i])
		}
	}
	if e := bad[2500/7+1]; e.Line != 2502 || !strings.Contains(e.Reason, "quote") {
		t.Errorf("the stray quote: %v", e)
	}

	// 3,000 bad rows: the list stops at MaxRowErrors, and says so.
	file = []string{header}
	for i := 0; i < 3000; i++ {
		file = append(file, badDate)
	}
	_, bad, err = ReadCSV(strings.NewReader(strings.Join(file, "\r\n")+"\r\n"), "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != MaxRowErrors+1 || bad[MaxRowErrors-1].Line != MaxRowErrors+1 || bad[MaxRowErrors].Reason != ErrTooManyRowErrors.Error() {
		t.Errorf("%d errors, the last two %v and %v", len(bad), bad[len(bad)-2], bad[len(bad)-1])
	}
}

// TestReadCSVDamagedCP932: a lead byte in a Shift_JIS file followed by a
// byte that cannot end a character is refused on its field, naming the
// byte, not imported with a damaged name.
func TestReadCSVDamagedCP932(t *testing.T) {
	raw := encode(t, CP932, sample)
	name := bytes.Index(raw, []byte{0xee, 0xe0}) // 髙, the family name's first kanji in CP932
	if name < 0 {
		t.Fatal("髙 not found in the CP932 file")
	}
	raw[name+1] = 0xff // no trail byte
	rows, errs, err := ReadCSV(bytes.NewReader(raw), CP932, testNow)
	if err != nil || len(rows) != 0 || len(errs) != 1 || errs[0].Line != 2 || errs[0].Column != "family_name" || !strings.Contains(errs[0].Reason, "byte 1 (0xEE)") {
		t.Errorf("rows %v, errors %v, %v", rows, errs, err)
	}
	// The same damage arriving through any other door (JSON decodes bad
	// UTF-8 to U+FFFD too) fails validation, kana included, once per field.
	r := sample
	r.GivenName, r.GivenNameKana = "花\uFFFD", "ハ\uFFFDコ"
	var cols []string
	for _, e := range r.Validate(testNow) {
		cols = append(cols, e.Column)
	}
	if strings.Join(cols, ",") != "given_name,given_name_kana" {
		t.Errorf("Validate: %v", r.Validate(testNow))
	}
}

// FuzzReadCSVCP932: a file read as Shift_JIS (given or detected) gives
// valid rows that write back in Shift_JIS and read again as the same
// records on the same lines, and errors on real lines; a field whose bytes
// are not Shift_JIS is refused with a Japanese reason for the screen.
func FuzzReadCSVCP932(f *testing.F) {
	other := sample
	other.FamilyName, other.Alias, other.AliasKana, other.Address = "渡邊", "ＡＢＣ", "エービーシー", "東京都江東区東陽四丁目11番28号　ハイツ①"
	f.Add(sjisOf(f, sample, other), true)
	f.Add(sjisOf(f, sample), false)
	f.Add([]byte(strings.Join(CSVHeader, ",")+"\r\n"+"12345678903,123456789018,\x82\xa0\x82,\x81\x40,\x88\x9f\x82\xa2,,,,,,1970-03-02,2,\x93\x8c,131083,\x93\x5d\x93\xfc,2001-04-01\r\n"), true)
	f.Add([]byte(strings.Join(CSVHeader, ",")+"\r\n"+"12345678903,123456789018,\x8a\x5c\x96\x5c\x8e\x71,a,b,c,,,,,1970-03-02,2,x,131083,01,2001-04-01\r\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, given bool) {
		enc := Encoding("")
		if given {
			enc = CP932
		}
		rows, errs, err := ReadCSV(bytes.NewReader(b), enc, testNow)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range errs {
			if e.Line < 1 || e.Reason == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
		if len(rows) == 0 || !given {
			return
		}
		recs := make([]IdentityRecord, len(rows))
		for i, r := range rows {
			if v := r.Record.Validate(testNow); len(v) > 0 {
				t.Fatalf("returned an invalid row: %v", v)
			}
			recs[i] = r.Record
		}
		var buf bytes.Buffer
		w := NewCSVWriter(&buf, CP932)
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				t.Fatalf("a record read from Shift_JIS does not write in Shift_JIS: %v", err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		again, bad, err := ReadCSV(&buf, CP932, testNow)
		if err != nil || len(bad) > 0 || len(again) != len(recs) {
			t.Fatalf("written back, %d rows read again as %d, %v %v", len(recs), len(again), bad, err)
		}
		for i := range again {
			if again[i].Record != recs[i] {
				t.Fatalf("row %d: read %+v, written and read again %+v", i, recs[i], again[i].Record)
			}
		}
	})
}

// TestCP932FieldErrorsAreJapanese: a Shift_JIS field whose bytes pair
// wrongly is refused with the reason in Japanese too (the import screen
// shows it).
func TestCP932FieldErrorsAreJapanese(t *testing.T) {
	for _, field := range []string{"\x82", "\x82\x0a", "\x81\xff", "\xa0", "\xfd"} {
		if _, err := decodeCP932(field); err != nil && err.Japanese() == "" {
			t.Errorf("decodeCP932(%q): %v without a Japanese reason", field, err)
		}
	}
}

// FuzzCSVRoundTrip: every record that passes Validate writes in the import
// layout and reads back as NormaliseRecord gives it (unchanged when it is
// already normal: no spaces around a value), in UTF-8 and, when its text
// can be written in it, in Shift_JIS.
func FuzzCSVRoundTrip(f *testing.F) {
	f.Add("髙橋", "花子", "タカハシ", "ハナコ", "山田", "", "東京都江東区東陽四丁目11番28号", int32(0), int32(11353), uint8(2), uint8(0))
	f.Add("Smith, \"J\"", "ジョン\r\n", "スミス", "ジョン", "", "別名", "横浜市中区,山下町", int32(-20000), int32(100), uint8(1), uint8(3))
	f.Add("𠮷野", "葛󠄀", "ヨシノ", "カツ", "", "", "東京都", int32(5000), int32(5001), uint8(1), uint8(5))
	f.Fuzz(func(t *testing.T, family, given, familyKana, givenKana, former, alias, address string, birth, change int32, sex, reason uint8) {
		r := sample
		r.FamilyName, r.GivenName, r.FamilyNameKana, r.GivenNameKana = family, given, familyKana, givenKana
		r.FormerSurname, r.FormerSurnameKana, r.Alias, r.AliasKana, r.Address = former, "", alias, "", address
		epoch := Date(1970, time.January, 1)
		r.DateOfBirth, r.ChangeDate = epoch.AddDate(0, 0, int(birth)), epoch.AddDate(0, 0, int(change))
		r.Sex = Sex(sex % 4)
		r.ChangeReason = ChangeReasons[int(reason)%len(ChangeReasons)].Reason
		if len(r.Validate(testNow)) > 0 {
			return
		}
		for _, enc := range []Encoding{UTF8, CP932} {
			var buf bytes.Buffer
			w := NewCSVWriter(&buf, enc)
			if err := w.Write(r); err != nil {
				if enc == CP932 {
					continue // not writable in Shift_JIS: the writer says so
				}
				t.Fatalf("%s: %v", enc, err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			rows, bad, err := ReadCSV(&buf, enc, testNow)
			if err != nil || len(bad) > 0 || len(rows) != 1 || rows[0].Line != 2 {
				t.Fatalf("%s: %+v read back as %+v, %v, %v", enc, r, rows, bad, err)
			}
			if want := NormaliseRecord(r); rows[0].Record != want {
				t.Fatalf("%s: %+v read back as %+v, want %+v", enc, r, rows[0].Record, want)
			}
			if (NormaliseRecord(r) == r) != (len(rows[0].Changes) == 0) {
				t.Fatalf("%s: %+v read back with changes %+v", enc, r, rows[0].Changes)
			}
		}
	})
}

func sjisOf(f *testing.F, recs ...IdentityRecord) []byte {
	var buf bytes.Buffer
	w := NewCSVWriter(&buf, CP932)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}
