package resident

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// testNow is the time every check in these tests runs at: never the real
// clock, so the suite passes on any day.
var testNow = time.Date(2026, time.June, 1, 10, 0, 0, 0, time.UTC)

var sample = IdentityRecord{
	ResidentCode: "12345678903", IndividualNumber: "123456789018",
	FamilyName: "髙橋", GivenName: "花子", FamilyNameKana: "タカハシ", GivenNameKana: "ハナコ",
	FormerSurname: "山田", FormerSurnameKana: "ヤマダ",
	DateOfBirth: Date(1970, time.March, 2), Sex: SexFemale,
	Address: "東京都江東区東陽四丁目11番28号", LocalGov: "131083",
	ChangeReason: ReasonMoveIn, ChangeDate: Date(2001, time.April, 1),
}

func TestCSVWriter(t *testing.T) {
	for _, enc := range []Encoding{UTF8, CP932} {
		var buf bytes.Buffer
		w := NewCSVWriter(&buf, enc)
		if err := w.Write(sample); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		raw := buf.Bytes()
		if enc == CP932 {
			var err error
			raw, _, err = transform.Bytes(japanese.ShiftJIS.NewDecoder(), raw)
			if err != nil {
				t.Fatal(err)
			}
		}
		rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
			t.Fatalf("%s: rows = %q", enc, rows)
		}
		want := "12345678903,123456789018,髙橋,花子,タカハシ,ハナコ,山田,ヤマダ,,,1970-03-02,2,東京都江東区東陽四丁目11番28号,131083,転入,2001-04-01"
		if got := strings.Join(rows[1], ","); got != want {
			t.Errorf("%s: row = %s\nwant %s", enc, got, want)
		}
		if !bytes.Contains(buf.Bytes(), []byte("\r\n")) {
			t.Errorf("%s: no CRLF line ends", enc)
		}
	}
}

func TestCSVWriterRefusesUnencodable(t *testing.T) {
	r := sample
	r.FamilyName = "𠮷田"
	w := NewCSVWriter(&bytes.Buffer{}, CP932)
	err := w.Write(r)
	if err == nil || !strings.Contains(err.Error(), "line 2, column family_name") {
		t.Errorf("err = %v, want line 2, column family_name", err)
	}
}

func TestParseChangeReason(t *testing.T) {
	for _, in := range []string{"転入", "move_in"} {
		if r, ok := ParseChangeReason(in); !ok || r != ReasonMoveIn {
			t.Errorf("ParseChangeReason(%q) = %q, %v", in, r, ok)
		}
	}
	if _, ok := ParseChangeReason("引越し"); ok {
		t.Error("ParseChangeReason(引越し) accepted")
	}
}
