package profile

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// problemRE is how every problem starts: the file and the line.
var problemRE = regexp.MustCompile(`^(profile\.toml|policies\.cedar)(:\d+)?: `)

// FuzzParse: a profile and its policies either load, or are refused with
// Problems, each naming its file (and line); a profile that loads, written
// out again as TOML, loads again to the same profile: the checks accept
// what they accepted, whatever spelling it came in.
func FuzzParse(f *testing.F) {
	for _, id := range []string{"koto-ward", "aomori-pref"} {
		raw, err := builtinFS.ReadFile("builtin/" + id + "/profile.toml")
		if err != nil {
			f.Fatal(err)
		}
		pol, err := builtinFS.ReadFile("builtin/" + id + "/policies.cedar")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, pol)
	}
	// A small profile that loads: most mutations of it still parse, and
	// each costs little (a built-in one takes some 10 ms to check).
	raw, err := os.ReadFile("testdata/mini-profile.toml")
	if err != nil {
		f.Fatal(err)
	}
	pol, err := os.ReadFile("testdata/mini-policies.cedar")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := Parse("profile.toml", raw, "policies.cedar", pol); err != nil {
		f.Fatalf("the small seed profile does not load: %v", err)
	}
	f.Add(raw, pol)
	f.Add([]byte("id = \"x\"\nlevel = \"municipality\"\n[session]\nidle_minutes = 1\n"), []byte("permit (principal, action, resource);"))
	f.Add([]byte("id = \"x\"\n[[articles]]\nid = \"x:1\"\ntext = \"t\"\nnote = \"n\"\n[[roles]]\nid = \"nobody\"\nunknown = 1\n"), []byte("@id(\"x:1/a\") forbid (principal, action, resource);"))
	f.Fuzz(func(t *testing.T, raw, policies []byte) {
		p, err := Parse("profile.toml", raw, "policies.cedar", policies)
		if err != nil {
			var probs Problems
			if !errors.As(err, &probs) || len(probs) == 0 {
				t.Fatalf("refused with %T %v, not Problems", err, err)
			}
			for _, pr := range probs {
				if !problemRE.MatchString(pr) {
					t.Fatalf("a problem that names no file: %q", pr)
				}
			}
			return
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(p); err != nil {
			t.Fatalf("a loaded profile does not write as TOML: %v", err)
		}
		again, err := Parse("profile.toml", buf.Bytes(), "policies.cedar", policies)
		if err != nil {
			t.Fatalf("loaded, written out and refused:\n%v\n%s", err, buf.Bytes())
		}
		p.Digest, again.Digest = "", ""
		p.Policies, again.Policies = nil, nil
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("loaded %+v; written out it loads as %+v", p, again)
		}
		if strings.TrimSpace(p.ID) == "" {
			t.Fatal("a profile without an id loaded")
		}
	})
}
