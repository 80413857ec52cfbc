package api

import "testing"

func TestDuplicateKey(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"a":2}`, "a"},
		{`{"a":{"b":1,"b":2}}`, "b"},
		{`{"a":[{"b":1},{"b":2}],"c":3}`, ""}, // the same key in two objects of an array
		{`{"a":[1,2],"b":{"a":1},"a":3}`, "a"},
		{`{"a":"x","b":["a","a"]}`, ""}, // values that look like keys
		{`not json`, ""},
		{`{"reason":"a","Reason":"b"}`, "Reason"},    // encoding/json fills one field with both
		{`{"sex":1,"\u017fex":2}`, "\u017fex"},       // ſ folds to s
		{`{"a":{"k":1},"b":{"K":2}}`, ""},            // in two objects
		{`{"name":"a","\u212aey":1,"key":2}`, "key"}, // the Kelvin sign folds to k
	} {
		if got := duplicateKey([]byte(tt.body)); got != tt.want {
			t.Errorf("duplicateKey(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
