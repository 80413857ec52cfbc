package profile

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestBuiltinProfilesLoad(t *testing.T) {
	for _, id := range IDs() {
		p, err := Load(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		info, _ := Lookup(id)
		if p.ID != id || p.Level != info.Level || p.Title != info.Title {
			t.Errorf("%s: profile says %s/%s/%s, registry %s/%s/%s", id, p.ID, p.Level, p.Title, info.ID, info.Level, info.Title)
		}
		if len(p.Articles) < 20 || len(p.Affairs) < 4 || p.Policies == nil {
			t.Errorf("%s: %d articles, %d affairs", id, len(p.Articles), len(p.Affairs))
		}
	}
	koto := MustLoad("koto-ward")
	// koto-ward:4.5 names 19 user departments; the profile adds the system
	// administrator's own.
	if n := len(koto.Departments); n != 20 {
		t.Errorf("koto-ward: %d departments, want 19 + 情報システム課", n)
	}
	if r, _ := koto.Role(ChiefSecurityOfficer); r.Position != "第1順位の副区長" {
		t.Errorf("koto-ward chief security officer = %q", r.Position)
	}
	if koto.Council == nil || len(koto.Council.Members) != 9 || koto.Council.Chair != ChiefSecurityOfficer {
		t.Errorf("koto-ward council = %+v", koto.Council)
	}
	// koto-ward:5.2–5.5: chair, vice chair and nine members; the article
	// sets no quorum, so a majority of the eleven seats decides.
	if koto.Council.Seats() != 11 || koto.Council.QuorumNeeded() != 6 {
		t.Errorf("koto-ward council: %d seats, quorum %d; want 11 and 6", koto.Council.Seats(), koto.Council.QuorumNeeded())
	}
	aomori := MustLoad("aomori-pref")
	if r, ok := aomori.Role(DeputySystemAdministrator); !ok || r.Position != "総務部行政経営課長" {
		t.Errorf("aomori-pref deputy system administrator = %+v", r)
	}
	if aomori.Council != nil {
		t.Error("aomori-pref's regulation has no security council")
	}
	managers := map[string]RoleID{}
	for _, a := range aomori.Assets {
		managers[a.ID] = a.Manager
	}
	if managers["equipment-programs"] != DeputySystemAdministrator || managers["information"] != SystemAdministrator {
		t.Errorf("aomori-pref asset split = %v (aomori-pref:4.2, 4.3)", managers)
	}
}

// TestArticlesCoverTheRegulations checks every article of each regulation's
// text appears in its profile, with the text of the regulation file when
// the shared folder is there.
func TestArticlesCoverTheRegulations(t *testing.T) {
	want := map[string]int{"koto-ward": 16, "aomori-pref": 12}
	for id, n := range want {
		p := MustLoad(id)
		seen := map[string]bool{}
		for _, a := range p.Articles {
			seen[strings.SplitN(strings.TrimPrefix(a.ID, id+":"), ".", 2)[0]] = true
		}
		for i := 1; i <= n; i++ {
			if !seen[strconv.Itoa(i)] {
				t.Errorf("%s: article %d is not in the article map", id, i)
			}
		}
		regulation := filepath.Join("..", "..", "..", "shared", "regulations", p.Regulation)
		raw, err := os.ReadFile(regulation)
		if err != nil {
			t.Logf("%s: regulation text not found beside the repository (%v); article texts not compared", id, err)
			continue
		}
		text := strings.Join(strings.Fields(string(raw)), "")
		for _, a := range p.Articles {
			first := strings.Join(strings.Fields(strings.SplitN(a.Text, "\n", 2)[0]), "")
			if !strings.Contains(text, first) {
				t.Errorf("%s: the text of %s is not in %s: %q", id, a.ID, p.Regulation, first)
			}
		}
	}
}

func TestCheckReportsFileAndLine(t *testing.T) {
	raw, _ := builtinFS.ReadFile("builtin/koto-ward/profile.toml")
	pol, _ := builtinFS.ReadFile("builtin/koto-ward/policies.cedar")
	for _, c := range []struct {
		name, from, to string
		policy         string
		want           string
	}{
		{"unknown role", `id = "auditor"`, `id = "mayor"`, "", `unknown role "mayor"`},
		{"unknown key", `heading = "目的"`, `heading = "目的"` + "\ncolour = \"red\"", "", `unknown key "articles.colour"`},
		{"unknown feature", `features = ["profile.load"]`, `features = ["profile.telepathy"]`, "", `unknown feature "profile.telepathy"`},
		{"unknown department in affair", `departments = ["kazei"]`, `departments = ["kazei", "nowhere"]`, "", `unknown department "nowhere"`},
		{"bad item", `items = ["name", "kana", "date_of_birth", "sex", "address"]`, `items = ["name", "blood_type"]`, "", `unknown item "blood_type"`},
		{"article without features", `features = ["facilities"]`, `features = [] # none`, "", "maps to no feature"},
		{"audit retention below the law", "audit_years = 7", "audit_years = 1", "", "at least 7, the legal period"},
		{"provision retention below the law", "provision_years = 7", "provision_years = 6", "", "at least 7, the legal period"},
		{"council quorum beyond its seats", `vice_chair = "deputy_chief_security_officer"`, `vice_chair = "deputy_chief_security_officer"` + "\nquorum = 12", "", "quorum 12 is not between 1 and the council's 11 seats"},
		{"policy does not parse", "", "", "permit (principal, action, resource) when { principal.", "policies.cedar"},
		{"policy without id", "", "", "permit (principal, action, resource);", "no @id"},
		{"policy of an unknown article", "", "", `@id("koto-ward:99/x") permit (principal, action, resource);`, `must start with an article of koto-ward`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := string(raw)
			if c.from != "" {
				if !strings.Contains(src, c.from) {
					t.Fatalf("fixture %q not in the profile", c.from)
				}
				src = strings.Replace(src, c.from, c.to, 1)
			}
			policies := string(pol)
			if c.policy != "" {
				policies += "\n" + c.policy + "\n"
			}
			_, err := Parse("koto-ward/profile.toml", []byte(src), "koto-ward/policies.cedar", []byte(policies))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to mention %q", err, c.want)
			}
			// Every problem names a file and, for the profile, a line.
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, "koto-ward/profile.toml:") && strings.HasPrefix(line, "koto-ward/profile.toml:0:") {
					t.Errorf("no line number: %s", line)
				}
			}
			if c.from != "" {
				// The line of the change, or of a key of the same entry.
				changed := strings.Count(src[:strings.Index(src, c.to)], "\n") + 1
				line := lineIn(err.Error())
				if line < changed-8 || line > changed+8 {
					t.Errorf("error names line %d; the broken rule is on line %d: %v", line, changed, err)
				}
			}
		})
	}
}

// TestFeatureTestsExist checks every test the feature catalogue names is a
// real test function, and every built feature names at least one.
func TestFeatureTestsExist(t *testing.T) {
	root := filepath.Join("..", "..")
	tests := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
				tests[filepath.ToSlash(rel)+"."+fn.Name.Name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Features {
		if f.Status == Built && len(f.Tests) == 0 {
			t.Errorf("feature %s is built but names no test", f.ID)
		}
		if f.Status == Planned && len(f.Tests) > 0 {
			t.Errorf("feature %s is planned but names tests", f.ID)
		}
		for _, name := range f.Tests {
			if !tests[name] {
				t.Errorf("feature %s names test %s, which does not exist", f.ID, name)
			}
		}
	}
}

// lineIn returns the line number of the first "file:LINE:" in msg.
func lineIn(msg string) int {
	parts := strings.SplitN(msg, ":", 3)
	if len(parts) < 3 {
		return 0
	}
	n, _ := strconv.Atoi(parts[1])
	return n
}

// TestCourses: the built-in courses are read with their defaults (12
// months unless the profile says otherwise), and a course with an unknown
// role, nobody who needs it, a bad validity or a repeated id is refused
// naming the file and line.
func TestCourses(t *testing.T) {
	p := MustLoad("koto-ward")
	c, ok := p.Course("operation")
	if !ok || !c.Operators || c.Months() != DefaultCourseMonths || c.Article != "koto-ward:10" {
		t.Errorf("koto-ward operation course = %+v", c)
	}
	if c, ok := MustLoad("aomori-pref").Course("security"); !ok || c.Article != "aomori-pref:9.1" {
		t.Errorf("aomori-pref security course = %+v", c)
	}
	raw, _ := builtinFS.ReadFile("builtin/koto-ward/profile.toml")
	pol, _ := builtinFS.ReadFile("builtin/koto-ward/policies.cedar")
	good := strings.Replace(string(raw), `id = "security"`+"\n", `id = "security"`+"\nvalid_months = 24\nroles = [\"security_officer\"]\n", 1)
	p, err := Parse("koto-ward/profile.toml", []byte(good), "koto-ward/policies.cedar", pol)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := p.Course("security"); c.Months() != 24 || len(c.Roles) != 1 {
		t.Errorf("a course's own validity and roles: %+v", c)
	}
	for _, c := range []struct{ from, to, want string }{
		{"operators = true\n", "roles = [\"mayor\"]\n", `course operation: "mayor" is not a role of this profile`},
		{"operators = true\n", "\n", "course operation: say who needs it"},
		{"operators = true\n", "operators = true\nvalid_months = -1\n", "valid_months = -1: use 1 to 120"},
		{`id = "security"`, `id = "operation"`, `course "operation": ids must be unique`},
	} {
		src := strings.Replace(string(raw), c.from, c.to, 1)
		_, err := Parse("koto-ward/profile.toml", []byte(src), "koto-ward/policies.cedar", pol)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "koto-ward/profile.toml:") {
			t.Errorf("%s → %s: error = %v, want %q", c.from, c.to, err, c.want)
		}
	}
}
