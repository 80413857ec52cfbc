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
	} {
		if got := duplicateKey([]byte(tt.body)); got != tt.want {
			t.Errorf("duplicateKey(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
