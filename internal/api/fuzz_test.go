package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// bodies are the request bodies the API decodes, each with the Japanese
// message its handler answers a bad one with.
var bodies = []struct {
	new func() any
	ja  string
}{
	{func() any { return new(SearchRequest) }, "検索条件の形式が正しくありません"},
	{func() any { return new(ChangeRequest) }, "変更内容の形式が正しくありません"},
	{func() any { return new(ApplyRequest) }, "利用の申請の形式が正しくありません"},
	{func() any { return new(DecisionRequest) }, "承認・不承認の形式が正しくありません"},
	{func() any { return new(ReasonRequest) }, "取下げの形式が正しくありません"},
	{func() any { return new(ReportRequest) }, "状況報告の依頼の形式が正しくありません"},
	{func() any { return new(SubmissionRequest) }, "状況報告の提出の形式が正しくありません"},
	{func() any { return new(DocumentRequest) }, "報告・依頼の形式が正しくありません"},
	{func() any { return new(AnswerRequest) }, "回答の形式が正しくありません"},
	{func() any { return new(NoteRequest) }, "経過の記録の形式が正しくありません"},
	{func() any { return new(DisclosureRequest) }, "開示請求の形式が正しくありません"},
	{func() any { return new(DisclosureDecision) }, "決定の形式が正しくありません"},
	{func() any { return new(DisclosureIssue) }, "交付の形式が正しくありません"},
	{func() any { return new(FormStepRequest) }, "帳票の手続の記録の形式が正しくありません"},
	{func() any { return new(ProgramApprovalRequest) }, "承認の形式が正しくありません"},
	{func() any { return new(TrainingSessionRequest) }, "研修の記録の形式が正しくありません"},
	{func() any { return new(EntryRequest) }, "入退室の記録の形式が正しくありません"},
	{func() any { return new(ProtectionRequest) }, "支援措置の登録の形式が正しくありません"},
	{func() any { return new(ProtectionEndRequest) }, "支援措置の終了の形式が正しくありません"},
}

// decodeBody runs the API's decoder on body into v.
func decodeBody(body []byte, v any, ja string) (*httptest.ResponseRecorder, bool) {
	h := &Handler{}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/x", bytes.NewReader(body))
	return w, h.decode(w, r, v, ja)
}

// FuzzDecode: every JSON body the API takes is either refused with a 400
// problem whose Japanese text starts with the handler's message, or read
// as one object without a key given twice, which written out again reads
// back the same; a change's record whose dates are accepted writes them
// back as they came.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"name":"髙橋花子","date_of_birth":"S45.3.2","affair":"juki","reason":"窓口"}`), uint8(0))
	f.Add([]byte(`{"name":"a","name":"b"}`), uint8(0))
	f.Add([]byte(`{"name":"a"} {}`), uint8(0))
	f.Add([]byte(`{"nmae":"a"}`), uint8(0))
	f.Add([]byte(`{"reason":"窓口","Reason":"別の理由"}`), uint8(0))
	f.Add([]byte(`{"sex":1,"\u017fex":2}`), uint8(0)) // ſ folds to s as encoding/json matches names
	f.Add([]byte(`{"record":{"resident_code":"12345678903","date_of_birth":"1970-03-02","change_date":"2001-04-01","sex":2},"affair":"juki","reason":"転入届"}`), uint8(1))
	f.Add([]byte(`{"record":{"date_of_birth":"1970-3-2"}}`), uint8(1))
	f.Add([]byte(`{"sex":1e400}`), uint8(0))
	f.Add([]byte("{\"reason\":\"\xff\xfe\"}"), uint8(4))
	f.Add([]byte(`[{"a":1}]`), uint8(7))
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		b := bodies[int(kind)%len(bodies)]
		v := b.new()
		w, ok := decodeBody(body, v, b.ja)
		if !ok {
			if w.Code != http.StatusBadRequest || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
				t.Fatalf("refused with %d %s", w.Code, w.Header().Get("Content-Type"))
			}
			var p Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != http.StatusBadRequest || !strings.HasPrefix(p.DetailJa, b.ja) || p.Detail == "" {
				t.Fatalf("problem %s (%v)", w.Body.Bytes(), err)
			}
			return
		}
		if w.Body.Len() != 0 {
			t.Fatalf("accepted, yet answered %s", w.Body.Bytes())
		}
		if dup := refDuplicateKey(body, refFoldKey); dup != "" {
			t.Fatalf("accepted a body that gives the field %q twice", dup)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		v2 := b.new()
		if _, ok := decodeBody(again, v2, b.ja); !ok || !reflect.DeepEqual(v, v2) {
			t.Fatalf("read %+v; written out as %s it reads %+v", v, again, v2)
		}
		if c, isChange := v.(*ChangeRequest); isChange {
			rec, err := fromJSON(c.Record)
			if err != nil {
				return
			}
			if rec.DateOfBirth.Format(time.DateOnly) != c.Record.DateOfBirth || rec.ChangeDate.Format(time.DateOnly) != c.Record.ChangeDate {
				t.Fatalf("dates %q and %q read as %v and %v", c.Record.DateOfBirth, c.Record.ChangeDate, rec.DateOfBirth, rec.ChangeDate)
			}
		}
	})
}

// FuzzDuplicateKey: duplicateKey agrees with a recursive reference on every
// valid JSON text: a key given twice in one object is found, keys that
// repeat across objects or values that look like keys are not.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":2}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"b":1},{"b":2}],"c":3}`,
		`{"a":[1,2],"b":{"a":1},"a":3}`, `{"a":"x","b":["a","a"]}`, `[{"a":1,"\u0061":2}]`, `{"":1,"":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		if got, want := duplicateKey(body), refDuplicateKey(body, refFoldKey); got != want {
			t.Fatalf("duplicateKey(%s) = %q, reference %q", body, got, want)
		}
	})
}

// refFoldKey is a key as encoding/json matches it to a struct field: two keys
// with one fold fill the same field.
func refFoldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		if r < utf8.RuneSelf {
			b.WriteRune(unicode.ToUpper(r)) // a-z only change
			continue
		}
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b.WriteRune(r)
	}
	return b.String()
}

// refDuplicateKey is the first key given twice (as fold spells keys) in
// one object of a valid JSON text, found by a recursive descent, or "".
func refDuplicateKey(body []byte, fold func(string) string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	var value func() (string, bool) // the duplicate, and whether to stop
	value = func() (string, bool) {
		tok, err := dec.Token()
		if err != nil {
			return "", true
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", true
				}
				key := k.(string)
				if seen[fold(key)] {
					return key, true
				}
				seen[fold(key)] = true
				if d, stop := value(); stop {
					return d, true
				}
			}
			dec.Token() // '}'
		case json.Delim('['):
			for dec.More() {
				if d, stop := value(); stop {
					return d, true
				}
			}
			dec.Token() // ']'
		}
		return "", false
	}
	d, _ := value()
	return d
}
