package profile

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/cedar-policy/cedar-go"
)

//go:embed builtin
var builtinFS embed.FS

// Profile is a regulation turned into configuration: the organisation and
// the positions that fill its roles, the affairs catalogue, session and
// retention rules, the article map, and the Cedar policies that decide.
type Profile struct {
	ID         string `toml:"id"`
	Title      string `toml:"title"`    // the regulation's title, in Japanese
	TitleEN    string `toml:"title_en"` // an English rendering
	Body       string `toml:"body"`     // the body that issued it
	Number     string `toml:"number"`   // 例規番号, e.g. 江区区第2051号
	Level      Level  `toml:"level"`
	Regulation string `toml:"regulation"` // file name under shared/regulations

	Session   Session   `toml:"session"`
	Retention Retention `toml:"retention"`
	// Forms are the rules of the forms register (koto-ward:14).
	Forms Forms `toml:"forms"`
	// Search says which sets of items a four-item search may be made
	// with (docs/search.md).
	Search Search `toml:"search"`

	Roles       []Role       `toml:"roles"`
	Departments []Department `toml:"departments"`
	Council     *Council     `toml:"council"`
	Disclosure  Disclosure   `toml:"disclosure"`
	Assets      []AssetClass `toml:"assets"`
	Affairs     []Affair     `toml:"affairs"`
	Courses     []Course     `toml:"courses"`
	Articles    []Article    `toml:"articles"`

	// Policies are the profile's Cedar policies, by their @id annotation.
	Policies *cedar.PolicySet `toml:"-"`
	// PolicyText is the policies' source, as loaded.
	PolicyText string `toml:"-"`
	// Digest is the SHA-256 (hex) of the profile's file and its policies'
	// file as loaded: a start with another digest is a program change
	// (internal/form, koto-ward:14).
	Digest string `toml:"-"`
}

// DefaultFormDays is how many days a printed or exported form may stay out
// before it is due back in the store or disposed of, when the profile does
// not say.
const DefaultFormDays = 30

// Forms holds the rules of the forms register.
type Forms struct {
	// DueDays is how many days after it is issued a form is due to be
	// returned to the store, handed over or disposed of (0: DefaultFormDays).
	DueDays int `toml:"due_days"`
}

// FormDays is the profile's due period for forms, in days.
func (p *Profile) FormDays() int {
	if p.Forms.DueDays > 0 {
		return p.Forms.DueDays
	}
	return DefaultFormDays
}

// SearchItems are the items a search form is made of (docs/search.md).
var SearchItems = []string{"name", "surname", "kana", "birth", "address"}

// Search holds what a four-item search (基本4情報) must hold.
type Search struct {
	// Forms are the sets of items, two of SearchItems joined by "+"
	// ("surname+birth"), any of which is enough to search by; none: the
	// default forms (gate/internal/records.DefaultForms).
	Forms []string `toml:"forms"`
	// KanaPrefixMin is the fewest kana a search by the first letters of
	// the reading needs (0: 2).
	KanaPrefixMin int `toml:"kana_prefix_min"`
}

// checkSearchForm returns what is wrong with a search form, or "".
func checkSearchForm(f string) string {
	a, b, ok := strings.Cut(f, "+")
	if !ok || a == b || !slices.Contains(SearchItems, strings.TrimSpace(a)) || !slices.Contains(SearchItems, strings.TrimSpace(b)) {
		return fmt.Sprintf("search: form %q: write two different items of %s joined by +", f, strings.Join(SearchItems, ", "))
	}
	return ""
}

// Session holds the login and session rules.
type Session struct {
	IdleMinutes     int `toml:"idle_minutes"`     // lock after this long without activity
	AbsoluteHours   int `toml:"absolute_hours"`   // log off after this long in any case
	ReverifyMinutes int `toml:"reverify_minutes"` // sensitive actions need a verification this recent
	MaxFailedLogins int `toml:"max_failed_logins"`
	LockoutMinutes  int `toml:"lockout_minutes"`
}

// Disclosure holds how residents' disclosure requests (本人確認情報・提供状況
// の開示) are handled: the department that keeps the register receives and
// issues them and its head decides, within Days of the day received.
type Disclosure struct {
	Department string `toml:"department"`
	Days       int    `toml:"days"` // the decision is due this many days after the day received
}

// Retention holds retention periods.
type Retention struct {
	AuditYears     int `toml:"audit_years"`     // audit entries
	ProvisionYears int `toml:"provision_years"` // provision records (提供状況)
}

// LegalRetentionYears is the least a profile may keep audit entries and
// provision records (本人確認情報の提供状況の記録): 7 years, the period for
// which a resident may ask who received their information. The audit log
// holds the provision records, so it is kept as long.
const LegalRetentionYears = 7

// MinYears is the least a node of this profile may keep audit entries
// (jukinet.toml [audit] retention_years): the longer of the two periods.
func (r Retention) MinYears() int { return max(r.AuditYears, r.ProvisionYears, LegalRetentionYears) }

// RoleID names a role of the regulations (domain.md glossary).
type RoleID string

// The roles jukinet knows. A profile says which of them its regulation has
// and which position fills each.
const (
	ChiefSecurityOfficer       RoleID = "chief_security_officer"        // セキュリティ統括責任者
	DeputyChiefSecurityOfficer RoleID = "deputy_chief_security_officer" // セキュリティ統括責任者補佐
	SystemAdministrator        RoleID = "system_administrator"          // システム管理者
	DeputySystemAdministrator  RoleID = "deputy_system_administrator"   // システム副管理者
	SecurityOfficer            RoleID = "security_officer"              // セキュリティ責任者 (one per department)
	SectionHead                RoleID = "section_head"                  // 課長等 (one per department)
	TerminalManager            RoleID = "terminal_manager"              // 端末機管理者 (one per terminal)
	Auditor                    RoleID = "auditor"                       // 監査担当
)

// KnownRoles lists every role id, with whether it is held per department.
var KnownRoles = map[RoleID]bool{
	ChiefSecurityOfficer: false, DeputyChiefSecurityOfficer: false, SystemAdministrator: false,
	DeputySystemAdministrator: false, SecurityOfficer: true, SectionHead: true, TerminalManager: true, Auditor: false,
}

// Role is a role of the regulation and the position that fills it.
type Role struct {
	ID       RoleID   `toml:"id"`
	Name     string   `toml:"name"`     // Japanese
	NameEN   string   `toml:"name_en"`  // English
	Position string   `toml:"position"` // the post that fills it; empty for per-department roles
	Article  string   `toml:"article"`  // where the regulation sets it up
	Duties   []string `toml:"duties"`
}

// Department is a unit that uses the system.
type Department struct {
	ID     string `toml:"id"`
	Name   string `toml:"name"`
	NameEN string `toml:"name_en"`
	// Head is the position heading it; in koto-ward it is the department's
	// security officer (koto-ward:4.5), in aomori-pref the section head
	// (課長等, aomori-pref:6.1).
	Head string `toml:"head"`
}

// Council is the security council (セキュリティ会議).
type Council struct {
	Article   string   `toml:"article"`
	Chair     RoleID   `toml:"chair"`
	ViceChair RoleID   `toml:"vice_chair"`
	Members   []string `toml:"members"` // positions
	Duties    []string `toml:"duties"`
	// Quorum is how many of the council's seats (the chair, the vice chair
	// and each member) must be filled at a meeting for it to decide; 0
	// (the regulation sets none) means a majority of the seats.
	Quorum int `toml:"quorum"`
}

// Seats is how many seats the council has: the chair, the vice chair (when
// the profile names one) and each member.
func (c Council) Seats() int {
	n := 1 + len(c.Members)
	if c.ViceChair != "" {
		n++
	}
	return n
}

// QuorumNeeded is how many seats must be filled at a meeting for the
// council to decide: the profile's quorum, or a majority of the seats.
func (c Council) QuorumNeeded() int {
	if c.Quorum > 0 {
		return c.Quorum
	}
	return c.Seats()/2 + 1
}

// AssetClass is a class of information asset and the role that manages it.
type AssetClass struct {
	ID      string `toml:"id"`
	Name    string `toml:"name"`
	Manager RoleID `toml:"manager"`
	Article string `toml:"article"`
}

// Affair is an official affair (利用事務) for which the register may be used.
type Affair struct {
	ID          string   `toml:"id"`
	Name        string   `toml:"name"`
	NameEN      string   `toml:"name_en"`
	Basis       string   `toml:"basis"`       // legal basis: 別表 entry or 条例
	Departments []string `toml:"departments"` // departments that typically use it
	Items       []string `toml:"items"`       // record items the affair needs (shown on screen)
	// Changes says the affair may change the register (apply), not only read it.
	Changes bool `toml:"changes"`
	// CaseReference says whether a request for the affair must name its
	// case (案件番号: an application or file number): CaseRequired or
	// empty. A look-up without one where it is required is allowed but
	// raises the no-case-ref alert of the detection (docs/detection.md).
	CaseReference string `toml:"case_reference"`
	// ProtectedResidents says the affair may look up residents under
	// support measures (支援措置), with a case reference and an immediate
	// alert to the security officers (docs/protection.md); for any other
	// affair such a look-up is refused.
	ProtectedResidents bool `toml:"protected_residents"`
	// Reasons, when set, are the phrases a reason for the affair is
	// expected to contain (転入届, 児童手当の認定 …): a look-up whose reason
	// holds none of them counts, like one without a case reference, towards
	// the repeat rule of the detection.
	Reasons []string `toml:"reasons"`
}

// CaseRequired is the value of case_reference for an affair whose requests
// must name their case.
const CaseRequired = "required"

// NeedsCase says whether requests for the affair must name their case.
func (a Affair) NeedsCase() bool { return a.CaseReference == CaseRequired }

// FitsReason says whether reason fits the affair: it holds one of the
// affair's Reasons, or the affair lists none.
func (a Affair) FitsReason(reason string) bool {
	if len(a.Reasons) == 0 {
		return true
	}
	for _, r := range a.Reasons {
		if strings.Contains(reason, r) {
			return true
		}
	}
	return false
}

// Course is a training course (研修) the regulation requires of the people
// who work with the system (koto-ward:10, aomori-pref:9): who needs it, and
// for how long one attendance counts. A person who needs a course and has
// no valid attendance cannot use the register (docs/training.md).
type Course struct {
	ID     string `toml:"id"`
	Name   string `toml:"name"`    // Japanese
	NameEN string `toml:"name_en"` // English
	// Article is the article that requires it.
	Article string `toml:"article"`
	// Roles are the roles whose holders need it (node-wide or per department).
	Roles []RoleID `toml:"roles"`
	// Operators says every terminal operator (a person designated for any
	// affair) needs it.
	Operators bool `toml:"operators"`
	// ValidMonths is how long an attendance counts; 0 means
	// DefaultCourseMonths.
	ValidMonths int `toml:"valid_months"`
}

// DefaultCourseMonths is how long a course's attendance counts when the
// profile does not say: a year.
const DefaultCourseMonths = 12

// Months is how many months an attendance of the course counts.
func (c Course) Months() int {
	if c.ValidMonths == 0 {
		return DefaultCourseMonths
	}
	return c.ValidMonths
}

// Article is one article (or paragraph) of the regulation and the
// features that implement it.
type Article struct {
	ID       string   `toml:"id"` // PROFILE:ARTICLE[.PARAGRAPH]
	Heading  string   `toml:"heading"`
	Text     string   `toml:"text"` // the Japanese text, which rules
	Features []string `toml:"features"`
	Note     string   `toml:"note"` // for an article no single feature carries (purpose, terms)
}

// Items are the record items an affair may be given.
var Items = []string{"name", "kana", "former_surname", "alias", "date_of_birth", "sex", "address", "resident_code", "individual_number", "change"}

// Load returns the built-in profile with the given id. Each built-in
// profile is parsed once per process (its files are embedded in the
// binary and never change) and the same *Profile is returned to every
// caller: it is read only, and no caller may change it.
func Load(id string) (*Profile, error) {
	if _, err := Lookup(id); err != nil {
		return nil, err
	}
	v, _ := builtins.LoadOrStore(id, &builtin{})
	b := v.(*builtin)
	b.once.Do(func() { b.p, b.err = loadBuiltin(id) })
	return b.p, b.err
}

// builtins holds each built-in profile once parsed, by id.
var builtins sync.Map

type builtin struct {
	once sync.Once
	p    *Profile
	err  error
}

// loadBuiltin reads and parses the built-in profile id.
func loadBuiltin(id string) (*Profile, error) {
	dir := "builtin/" + id
	raw, err := builtinFS.ReadFile(dir + "/profile.toml")
	if err != nil {
		return nil, fmt.Errorf("load profile %s: %w", id, err)
	}
	pol, err := builtinFS.ReadFile(dir + "/policies.cedar")
	if err != nil {
		return nil, fmt.Errorf("load profile %s: %w", id, err)
	}
	return Parse(id+"/profile.toml", raw, id+"/policies.cedar", pol)
}

// MustLoad is Load for the built-in profiles, which tests check load.
func MustLoad(id string) *Profile {
	p, err := Load(id)
	if err != nil {
		panic(err)
	}
	return p
}

// CheckFile loads a profile from a file (and the policies.cedar beside it)
// and returns every problem found, each naming the file and line.
func CheckFile(path string) (*Profile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	polPath := filepath.Join(filepath.Dir(path), "policies.cedar")
	pol, err := os.ReadFile(polPath)
	if err != nil {
		return nil, fmt.Errorf("read the profile's policies (%s beside the profile): %w", polPath, err)
	}
	return Parse(path, raw, polPath, pol)
}

// Problems is every problem found in a profile.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }

// Parse reads a profile and its policies and checks them: unknown keys,
// unknown roles, departments, affairs, items and features, articles that
// do not belong to the profile, and policies that do not parse or lack a
// unique @id. It returns Problems listing each, with file and line.
func Parse(file string, raw []byte, policyFile string, policies []byte) (*Profile, error) {
	var p Profile
	md, err := toml.Decode(string(raw), &p)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, Problems{fmt.Sprintf("%s:%d: %s", file, perr.Position.Line, perr.Message)}
		}
		return nil, Problems{fmt.Sprintf("%s: %v", file, err)}
	}
	loc := newLocator(file, raw)
	var probs Problems
	add := func(line int, format string, args ...any) {
		probs = append(probs, fmt.Sprintf("%s:%d: %s", file, line, fmt.Sprintf(format, args...)))
	}
	for _, k := range md.Undecoded() {
		add(loc.key(k), "unknown key %q", k.String())
	}
	if p.ID == "" || !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(p.ID) {
		add(loc.top("id"), "id %q: use lower-case letters, digits and hyphens", p.ID)
	}
	if _, err := ParseLevel(string(p.Level)); err != nil {
		add(loc.top("level"), "%v", err)
	}
	if p.Session.IdleMinutes < 1 || p.Session.AbsoluteHours < 1 || p.Session.MaxFailedLogins < 1 || p.Session.LockoutMinutes < 1 || p.Session.ReverifyMinutes < 1 {
		add(loc.table("session"), "session: idle_minutes, absolute_hours, reverify_minutes, max_failed_logins and lockout_minutes must all be 1 or more")
	}
	if p.Retention.AuditYears < LegalRetentionYears || p.Retention.ProvisionYears < LegalRetentionYears {
		add(loc.table("retention"), "retention: audit_years = %d and provision_years = %d: both must be at least %d, the legal period for provision records (提供状況の記録は%d年間保存)",
			p.Retention.AuditYears, p.Retention.ProvisionYears, LegalRetentionYears, LegalRetentionYears)
	}

	if p.Disclosure.Days == 0 {
		p.Disclosure.Days = 14
	}
	if p.Disclosure.Days < 1 {
		add(loc.table("disclosure"), "disclosure: days = %d: the decision is due at least 1 day after the request", p.Disclosure.Days)
	}
	if p.Disclosure.Department != "" && !slices.ContainsFunc(p.Departments, func(d Department) bool { return d.ID == p.Disclosure.Department }) {
		add(loc.table("disclosure"), "disclosure: department %q is not one of the profile's departments", p.Disclosure.Department)
	}
	for _, f := range p.Search.Forms {
		if msg := checkSearchForm(f); msg != "" {
			add(loc.table("search"), "%s", msg)
		}
	}
	if p.Search.KanaPrefixMin < 0 || p.Search.KanaPrefixMin > 10 {
		add(loc.table("search"), "search: kana_prefix_min = %d: use 1 to 10 kana (0 or none: 2)", p.Search.KanaPrefixMin)
	}
	if p.Search.Forms != nil && len(p.Search.Forms) == 0 {
		add(loc.table("search"), "search: forms is empty: no search could be made; leave it out for the default forms")
	}
	if p.Forms.DueDays < 0 || p.Forms.DueDays > 366 {
		add(loc.table("forms"), "forms: due_days = %d: use 1 to 366 days (0 or none: %d)", p.Forms.DueDays, DefaultFormDays)
	}

	articles := map[string]bool{}
	for i, a := range p.Articles {
		line := loc.entry("articles", i, "id")
		if !strings.HasPrefix(a.ID, p.ID+":") || !regexp.MustCompile(`^[a-z0-9-]+:\d+(\.\d+)?$`).MatchString(a.ID) {
			add(line, "article %q: ids are %s:ARTICLE[.PARAGRAPH]", a.ID, p.ID)
		}
		if articles[a.ID] {
			add(line, "article %s is listed twice", a.ID)
		}
		articles[a.ID] = true
		if strings.TrimSpace(a.Text) == "" {
			add(line, "article %s has no text", a.ID)
		}
		if len(a.Features) == 0 && a.Note == "" {
			add(line, "article %s maps to no feature: name the features that implement it, or say in a note why none does", a.ID)
		}
		for _, f := range a.Features {
			if _, ok := FeatureByID(f); !ok {
				add(loc.entry("articles", i, "features"), "article %s: unknown feature %q", a.ID, f)
			}
		}
	}
	checkArticle := func(line int, what, id string) {
		if id != "" && !articles[id] {
			add(line, "%s refers to article %q, which is not in the article map", what, id)
		}
	}

	roles := map[RoleID]bool{}
	for i, r := range p.Roles {
		line := loc.entry("roles", i, "id")
		perDept, known := KnownRoles[r.ID]
		switch {
		case !known:
			add(line, "unknown role %q (known: %s)", r.ID, strings.Join(knownRoleNames(), ", "))
		case roles[r.ID]:
			add(line, "role %s is listed twice", r.ID)
		case !perDept && r.Position == "":
			add(line, "role %s needs the position that fills it", r.ID)
		}
		roles[r.ID] = true
		if r.Name == "" {
			add(line, "role %s needs its Japanese name", r.ID)
		}
		checkArticle(loc.entry("roles", i, "article"), "role "+string(r.ID), r.Article)
	}
	if !roles[SystemAdministrator] || !roles[ChiefSecurityOfficer] {
		add(loc.top("id"), "a profile needs the roles %s and %s", ChiefSecurityOfficer, SystemAdministrator)
	}

	depts := map[string]bool{}
	for i, d := range p.Departments {
		line := loc.entry("departments", i, "id")
		if d.ID == "" || depts[d.ID] {
			add(line, "department %q: ids must be present and unique", d.ID)
		}
		depts[d.ID] = true
		if d.Name == "" || d.Head == "" {
			add(line, "department %s needs its name and the position that heads it", d.ID)
		}
	}

	if c := p.Council; c != nil {
		line := loc.table("council")
		for _, r := range []RoleID{c.Chair, c.ViceChair} {
			if !roles[r] {
				add(line, "council: %q is not a role of this profile", r)
			}
		}
		if len(c.Members) == 0 {
			add(line, "council: no members")
		}
		if c.Quorum < 0 || c.Quorum > c.Seats() {
			add(line, "council: quorum %d is not between 1 and the council's %d seats (0: a majority)", c.Quorum, c.Seats())
		}
		checkArticle(line, "council", c.Article)
	}

	for i, a := range p.Assets {
		if !roles[a.Manager] {
			add(loc.entry("assets", i, "manager"), "asset class %s: %q is not a role of this profile", a.ID, a.Manager)
		}
		checkArticle(loc.entry("assets", i, "article"), "asset class "+a.ID, a.Article)
	}

	affairs := map[string]bool{}
	for i, a := range p.Affairs {
		line := loc.entry("affairs", i, "id")
		if a.ID == "" || affairs[a.ID] {
			add(line, "affair %q: ids must be present and unique", a.ID)
		}
		affairs[a.ID] = true
		if a.Name == "" || a.Basis == "" {
			add(line, "affair %s needs its name and its legal basis", a.ID)
		}
		for _, d := range a.Departments {
			if !depts[d] {
				add(loc.entry("affairs", i, "departments"), "affair %s: unknown department %q", a.ID, d)
			}
		}
		if len(a.Items) == 0 {
			add(loc.entry("affairs", i, "items"), "affair %s: list the record items it needs", a.ID)
		}
		if a.CaseReference != "" && a.CaseReference != "optional" && a.CaseReference != CaseRequired {
			add(loc.entry("affairs", i, "case_reference"), "affair %s: case_reference = %q: use \"required\" or \"optional\" (or leave it out)", a.ID, a.CaseReference)
		}
		for _, r := range a.Reasons {
			if strings.TrimSpace(r) == "" {
				add(loc.entry("affairs", i, "reasons"), "affair %s: reasons: an empty phrase fits every reason", a.ID)
			}
		}
		for _, it := range a.Items {
			if !slices.Contains(Items, it) {
				add(loc.entry("affairs", i, "items"), "affair %s: unknown item %q (items: %s)", a.ID, it, strings.Join(Items, ", "))
			}
		}
	}

	courses := map[string]bool{}
	for i, c := range p.Courses {
		line := loc.entry("courses", i, "id")
		if !regexp.MustCompile(`^[a-z0-9-]{1,32}$`).MatchString(c.ID) || courses[c.ID] {
			add(line, "course %q: ids must be unique, 1 to 32 lower-case letters, digits and hyphens", c.ID)
		}
		courses[c.ID] = true
		if c.Name == "" {
			add(line, "course %s needs its Japanese name", c.ID)
		}
		if len(c.Roles) == 0 && !c.Operators {
			add(line, "course %s: say who needs it (roles = [...] and/or operators = true)", c.ID)
		}
		for _, r := range c.Roles {
			if !roles[r] {
				add(loc.entry("courses", i, "roles"), "course %s: %q is not a role of this profile", c.ID, r)
			}
		}
		if c.ValidMonths < 0 || c.ValidMonths > 120 {
			add(loc.entry("courses", i, "valid_months"), "course %s: valid_months = %d: use 1 to 120 (or leave it out for %d)", c.ID, c.ValidMonths, DefaultCourseMonths)
		}
		checkArticle(loc.entry("courses", i, "article"), "course "+c.ID, c.Article)
	}

	ps, polProbs := parsePolicies(policyFile, policies, p.ID, articles)
	probs = append(probs, polProbs...)
	if len(probs) > 0 {
		return nil, probs
	}
	p.Policies, p.PolicyText = ps, string(policies)
	sum := sha256.New()
	fmt.Fprintf(sum, "profile.toml %d\n", len(raw))
	sum.Write(raw)
	fmt.Fprintf(sum, "policies.cedar %d\n", len(policies))
	sum.Write(policies)
	p.Digest = hex.EncodeToString(sum.Sum(nil))
	return &p, nil
}

// parsePolicies parses Cedar policies, naming each by its @id annotation,
// which must be unique and start with an article of the profile (or
// "jukinet:" for a rule of the product itself).
func parsePolicies(file string, src []byte, profileID string, articles map[string]bool) (*cedar.PolicySet, Problems) {
	list, err := cedar.NewPolicyListFromBytes(file, src)
	if err != nil {
		return nil, Problems{fmt.Sprintf("%s: %v", file, err)}
	}
	var probs Problems
	ps := cedar.NewPolicySet()
	for _, pol := range list {
		pos := pol.Position()
		id := string(pol.Annotations()["id"])
		switch {
		case id == "":
			probs = append(probs, fmt.Sprintf("%s:%d: policy has no @id(\"ARTICLE/name\") annotation", file, pos.Line))
			continue
		case strings.HasPrefix(id, "jukinet:"):
		case !articles[strings.SplitN(id, "/", 2)[0]]:
			probs = append(probs, fmt.Sprintf("%s:%d: policy %q must start with an article of %s (e.g. %s:12.1/…) or jukinet:", file, pos.Line, id, profileID, profileID))
		}
		if !ps.Add(cedar.PolicyID(id), pol) {
			probs = append(probs, fmt.Sprintf("%s:%d: policy id %q is used twice", file, pos.Line, id))
		}
	}
	return ps, probs
}

func knownRoleNames() []string {
	var names []string
	for r := range KnownRoles {
		names = append(names, string(r))
	}
	slices.Sort(names)
	return names
}

// Role returns the profile's role with the given id.
func (p *Profile) Role(id RoleID) (Role, bool) {
	for _, r := range p.Roles {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

// Department returns the department with the given id.
func (p *Profile) Department(id string) (Department, bool) {
	for _, d := range p.Departments {
		if d.ID == id {
			return d, true
		}
	}
	return Department{}, false
}

// Course returns the training course with the given id.
func (p *Profile) Course(id string) (Course, bool) {
	for _, c := range p.Courses {
		if c.ID == id {
			return c, true
		}
	}
	return Course{}, false
}

// Affair returns the affair with the given id.
func (p *Profile) Affair(id string) (Affair, bool) {
	for _, a := range p.Affairs {
		if a.ID == id {
			return a, true
		}
	}
	return Affair{}, false
}

// locator finds the lines of keys in a TOML file, for messages. Each line
// is read once (newLocator): every profile load asks for the lines of many
// keys, and matching every line again for each was most of a load's time.
type locator struct {
	file  string
	lines []string
	parts []lineParts // per line
}

// lineParts is what a line of TOML holds, as far as the locator cares.
type lineParts struct {
	header string // the table a [table] or [[array]] header names
	array  bool   // the header is [[array]]
	key    string // the key the line assigns (key = …, "key" = …)
}

var (
	headerRE = regexp.MustCompile(`^\s*\[\[?\s*([^\]]+?)\s*\]\]?`)
	assignRE = regexp.MustCompile(`^\s*(?:"([^"]*)"|([^"=\s]+))\s*=`)
)

func newLocator(file string, raw []byte) locator {
	l := locator{file: file, lines: strings.Split(string(raw), "\n")}
	l.parts = make([]lineParts, len(l.lines))
	for i, s := range l.lines {
		if m := headerRE.FindStringSubmatch(s); m != nil {
			l.parts[i] = lineParts{header: m[1], array: strings.HasPrefix(strings.TrimSpace(s), "[[")}
		} else if m := assignRE.FindStringSubmatch(s); m != nil {
			l.parts[i].key = m[1] + m[2]
		}
	}
	return l
}

// top is the line of a top-level key.
func (l locator) top(key string) int { return l.in("", -1, key) }

// table is the line of a [table] header.
func (l locator) table(name string) int {
	for i, p := range l.parts {
		if p.header != "" && p.header == name {
			return i + 1
		}
	}
	return 0
}

// entry is the line of key in the index-th [[array]] entry (or of the
// entry's header when the key is not set).
func (l locator) entry(array string, index int, key string) int { return l.in(array, index, key) }

func (l locator) in(table string, index int, key string) int {
	current, n, header := "", -1, 0
	for i, p := range l.parts {
		if p.header != "" {
			current = p.header
			if current == table && p.array {
				n++
				if n == index {
					header = i + 1
				}
			}
			continue
		}
		if current == table && (index < 0 || n == index) && key != "" && p.key == key {
			return i + 1
		}
	}
	return header
}

// key is the line of an undecoded key.
func (l locator) key(k toml.Key) int {
	if len(k) == 1 {
		return l.top(k[0])
	}
	table := strings.Join(k[:len(k)-1], ".")
	if line := l.in(table, -1, k[len(k)-1]); line > 0 {
		return line
	}
	// A key inside an array of tables: the first entry that sets it.
	for i := 0; ; i++ {
		line := l.in(table, i, k[len(k)-1])
		if line == 0 {
			return l.table(table)
		}
		if l.parts[line-1].key == k[len(k)-1] {
			return line
		}
	}
}
