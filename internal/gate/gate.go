// Package gate is the only door to the identity register. Every call says
// who is asking, from where, for which affair (利用事務) and why; a Decider
// allows or denies it; and nothing leaves the gate, and no change enters
// it, before the call's audit entry is durable. Denied and failed calls are
// logged too, and a failure to log fails the call.
package gate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/gate/internal/records"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
)

// Request is who asks, from where, for what.
type Request struct {
	Actor   auditlog.Actor
	Origin  string // terminal:ID, node:CODE or host:NAME
	Affair  string // 利用事務
	Reason  string // why, in the asker's words
	CaseRef string // optional case or application number
}

// What the text of a request may hold (docs/fields.md): the same classes
// as the record's fields, applied by the gate to every door's requests.
var (
	FieldAffair  = resident.Field{Name: "affair", Japanese: "利用事務", Class: resident.ClassText, Max: 100}
	FieldReason  = resident.Field{Name: "reason", Japanese: "利用の理由", Class: resident.ClassText, Max: 200}
	FieldCaseRef = resident.Field{Name: "case", Japanese: "案件番号", Class: resident.ClassText, Max: 64}
	// A search's name is kanji or kana as a clerk types it, half-width
	// included (the search keys fold it), so it is text, not a name.
	FieldSearchName    = resident.Field{Name: "name", Japanese: "氏名", Class: resident.ClassText, Max: 2*resident.MaxName + 1}
	FieldSearchAddress = resident.Field{Name: "address", Japanese: "住所", Class: resident.ClassText, Max: resident.MaxAddress}
	// A search's kana is the first letters of a reading, in any kana.
	FieldSearchKana = resident.Field{Name: "kana", Japanese: "カナ", Class: resident.ClassText, Max: 2*resident.MaxName + 1}
)

// check returns what is wrong with the request's text. Presence is the
// decider's to judge (RequiredFields): an empty or blank field passes here.
func (req Request) check() []resident.FieldError {
	var errs []resident.FieldError
	for _, f := range []struct {
		f resident.Field
		v string
	}{{FieldAffair, req.Affair}, {FieldReason, req.Reason}, {FieldCaseRef, req.CaseRef}} {
		if strings.TrimSpace(f.v) == "" {
			continue // missing: the decider denies it as such
		}
		if e := f.f.Check(f.v, false); e != nil {
			errs = append(errs, *e)
		}
	}
	return errs
}

// check returns what is wrong with the query's text.
func (q SearchQuery) check() []resident.FieldError {
	var errs []resident.FieldError
	for _, f := range []struct {
		f resident.Field
		v string
	}{{FieldSearchName, q.Name}, {FieldSearchKana, q.Kana}, {FieldSearchAddress, q.Address}} {
		if strings.TrimSpace(f.v) == "" {
			continue // a missing name is the search's own error
		}
		if e := f.f.Check(f.v, false); e != nil {
			errs = append(errs, *e)
		}
	}
	return errs
}

// refused stands in, in the audit log, for a value the field rules
// refused: its length and a hash, never the value itself, so a
// megabyte-long or disguised value is not written into the permanent log.
func refused(v string) string {
	sum := sha256.Sum256([]byte(v))
	return fmt.Sprintf("(refused: %d bytes, sha256 %x)", len(v), sum[:8])
}

// short is v for the audit log when it is a short printable token (a code,
// a date, a change reason), else its stand-in.
func short(v string) string {
	if len(v) <= 32 && utf8.ValidString(v) && !strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsGraphic(r) }) {
		return v
	}
	return refused(v)
}

// Question is what a Decider is asked.
type Question struct {
	Request
	Action string // lookup, search, history, apply, import, export
	// Protected says the request concerns a resident under a support
	// measure (支援措置): the gate asks again with it set once it knows
	// (Protector), and the profile's protected-resident policy decides.
	Protected bool
}

// Verdict is a Decider's answer; Policy names the rule that decided.
type Verdict struct {
	Allow  bool
	Policy string
	Why    string
	// Japanese is the reason shown to a clerk when denied.
	Japanese string
	// Suspended says a suspension (利用停止) denied the request.
	Suspended bool
	// Items are the record items the affair may see (profile.Items names);
	// nil means all. The gate blanks the others in what it returns and
	// records exactly these as provided.
	Items []string
	// Field names the request's input a denial is about, when one is
	// missing (affair, reason): a form shows the denial next to it.
	Field string

	invalid *apperr.Error // the request broke the field rules: the decider was not asked
}

// Decider decides whether a request may proceed. The policy engine
// implements it; until then RequiredFields does.
type Decider interface {
	Decide(ctx context.Context, q Question) Verdict
}

// Record is one version of a resident's record as the gate hands it out.
type Record struct {
	resident.IdentityRecord
	Version     int
	Removed     bool
	RetainUntil time.Time
	AuditSeq    int64 // the audit entry that made this version
	// Protected says the resident is under a support measure (支援措置):
	// every door shows it, and a provision carries it to the recipient.
	Protected bool
}

func fromVersion(v records.Version) Record {
	return Record{IdentityRecord: v.IdentityRecord, Version: v.Version, Removed: v.Removed, RetainUntil: v.RetainUntil, AuditSeq: v.AuditSeq}
}

// Gate is the door to the register.
type Gate struct {
	db      *db.DB
	log     *auditlog.Log
	decider Decider
	node    ids.LocalGov
	level   profile.Level
	// SearchLimit caps how many residents one search lists; a search with
	// more matches is refused as too broad.
	SearchLimit int
	// SearchRules are the profile's search forms ([search]): which items
	// are enough to search by. The zero value allows the default forms.
	SearchRules profile.Search
	// Now is the clock the rules that depend on the day use (a date of
	// birth may not be in the future); nil means time.Now.
	Now func() time.Time
	// Alarm raises the immediate alert of every read of a protected
	// resident, in the transaction of its entry; without it such a read is
	// refused (docs/protection.md).
	Alarm Alarm

	checks checkCache // consistency-check snapshots
}

// New returns the gate of a node.
func New(d *db.DB, log *auditlog.Log, decider Decider, node ids.LocalGov, level profile.Level) *Gate {
	return &Gate{db: d, log: log, decider: decider, node: node, level: level, SearchLimit: 20}
}

// items is what a lookup provides, for the provision record.
var items = []string{"name", "kana", "former_surname", "alias", "date_of_birth", "sex", "address", "resident_code", "individual_number", "change"}

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Gate) nodeID() string {
	if g.level == profile.National {
		return "national"
	}
	return string(g.node.Code)
}

// begin asks the decider and prepares the call's entry. A request whose
// text breaks the field rules is refused before the decider is asked, and
// logged with stand-ins for the refused values.
func (g *Gate) begin(ctx context.Context, req Request, action string) (auditlog.Entry, Verdict) {
	var v Verdict
	if errs := req.check(); len(errs) > 0 {
		v = Verdict{Policy: "jukinet:field-rules", invalid: fieldErrors(errs)}
		v.Why, v.Japanese = v.invalid.Message, v.invalid.Japanese
		for _, fe := range errs {
			switch fe.Column {
			case FieldAffair.Name:
				req.Affair = refused(req.Affair)
			case FieldReason.Name:
				req.Reason = refused(req.Reason)
			case FieldCaseRef.Name:
				req.CaseRef = refused(req.CaseRef)
			}
		}
	} else {
		v = g.decider.Decide(ctx, Question{Request: req, Action: action})
	}
	e := auditlog.Entry{
		Node: g.nodeID(), Actor: req.Actor, Origin: req.Origin, Action: action,
		Affair: req.Affair, Reason: req.Reason, CaseRef: req.CaseRef,
		Policy: v.Policy, Why: v.Why, WhyJapanese: v.Japanese, Decision: auditlog.Allow, Outcome: auditlog.OutcomeOK,
	}
	// A request too malformed to name its actor is still logged.
	if e.Actor.Kind == "" {
		e.Actor.Kind = "unknown"
	}
	if e.Actor.ID == "" {
		e.Actor.ID = "(none)"
	}
	if !v.Allow {
		e.Decision, e.Outcome = auditlog.Deny, auditlog.OutcomeDenied
	}
	if v.invalid != nil {
		e.Outcome = auditlog.OutcomeError
		e.SetError(v.invalid)
	}
	return e, v
}

// record appends e and turns a logging failure into the call's failure.
func (g *Gate) record(ctx context.Context, e auditlog.Entry) error {
	if _, err := g.log.Append(ctx, e); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the audit log could not record this access, so it was refused",
			"アクセス記録（監査ログ）を書き込めなかったため、処理を中止しました。システム管理者に連絡してください。")
	}
	return nil
}

// deny logs a denied call and returns its error.
func (g *Gate) deny(ctx context.Context, e auditlog.Entry, v Verdict) error {
	if err := g.record(ctx, e); err != nil {
		return err
	}
	if v.invalid != nil {
		return v.invalid
	}
	if v.Suspended {
		return apperr.New(apperr.Suspended, "suspended: "+v.Why, v.Japanese)
	}
	err := apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
	if v.Field != "" {
		err.At(v.Field)
	}
	return err
}

// fail logs a call that failed on its input and returns err.
func (g *Gate) fail(ctx context.Context, e auditlog.Entry, err error) error {
	e.Outcome = auditlog.OutcomeError
	e.SetError(err)
	if logErr := g.record(ctx, e); logErr != nil {
		return logErr
	}
	return err
}

func (g *Gate) provision(req Request, function string, v Verdict) *auditlog.Provision {
	provided := items
	if v.Items != nil {
		provided = v.Items
	}
	return &auditlog.Provision{Function: function, Affair: req.Affair, Reason: req.Reason, Provider: g.nodeID(),
		Recipient: req.Actor.String() + "@" + req.Origin, Items: provided}
}

// mask blanks the items of r the verdict does not allow.
func mask(r Record, v Verdict) Record {
	if v.Items == nil {
		return r
	}
	has := func(item string) bool { return slices.Contains(v.Items, item) }
	if !has("name") {
		r.FamilyName, r.GivenName = "", ""
	}
	if !has("kana") {
		r.FamilyNameKana, r.GivenNameKana = "", ""
	}
	if !has("former_surname") {
		r.FormerSurname, r.FormerSurnameKana = "", ""
	}
	if !has("alias") {
		r.Alias, r.AliasKana = "", ""
	}
	if !has("date_of_birth") {
		r.DateOfBirth = time.Time{}
	}
	if !has("sex") {
		r.Sex = 0
	}
	if !has("address") {
		r.Address = ""
	}
	if !has("resident_code") {
		r.ResidentCode = ""
	}
	if !has("individual_number") {
		r.IndividualNumber = ""
	}
	if !has("change") {
		r.ChangeReason, r.ChangeDate = "", time.Time{}
	}
	return r
}

// Key names one resident: by 住民票コード or by 個人番号.
type Key struct {
	ResidentCode     string
	IndividualNumber string
}

func (k Key) String() string {
	if k.ResidentCode != "" {
		return "resident_code=" + short(k.ResidentCode)
	}
	return "individual_number=" + short(k.IndividualNumber)
}

// attempted returns the resident code a key names, if it is well-formed,
// so that every attempt on a resident — denied or failed too — is found
// when the log is searched by resident.
func (k Key) attempted() []string {
	if c, err := ids.ParseResidentCode(k.ResidentCode); err == nil {
		return []string{string(c)}
	}
	return nil
}

func (g *Gate) find(ctx context.Context, k Key) (records.Version, error) {
	switch {
	case k.ResidentCode != "" && k.IndividualNumber == "":
		c, err := ids.ParseResidentCode(k.ResidentCode)
		if err != nil {
			return records.Version{}, invalidID(err, "resident_code")
		}
		return records.LookupCode(ctx, g.db, c)
	case k.IndividualNumber != "" && k.ResidentCode == "":
		n, err := ids.ParseIndividualNumber(k.IndividualNumber)
		if err != nil {
			return records.Version{}, invalidID(err, "individual_number")
		}
		return records.LookupNumber(ctx, g.db, n)
	}
	return records.Version{}, apperr.New(apperr.Invalid, "give a resident code or an individual number, not both", "住民票コードまたは個人番号のどちらか一方を入力してください")
}

// invalidID is the error of an identifier that cannot be read, about the
// input named field (resident_code, individual_number).
func invalidID(err error, field string) error {
	if e, ok := err.(*ids.Error); ok {
		return apperr.New(apperr.Invalid, e.Error(), e.Japanese()).At(field)
	}
	return apperr.New(apperr.Invalid, err.Error(), "入力が正しくありません").At(field)
}

func notFound(k fmt.Stringer) error {
	return apperr.New(apperr.NotFound, "no resident matches "+k.String(), "該当する住民は見つかりませんでした")
}

// Lookup returns the current record of one resident.
func (g *Gate) Lookup(ctx context.Context, req Request, k Key) (Record, error) {
	e, v := g.begin(ctx, req, "lookup")
	e.Query, e.Subjects = k.String(), k.attempted()
	if !v.Allow {
		return Record{}, g.deny(ctx, e, v)
	}
	ver, err := g.find(ctx, k)
	if errors.Is(err, records.ErrNotFound) {
		return Record{}, g.fail(ctx, e, notFound(k))
	}
	if err != nil {
		return Record{}, g.fail(ctx, e, err)
	}
	code := string(ver.ResidentCode)
	protected, err := g.protectedOf(ctx, []string{code})
	if err != nil {
		return Record{}, g.fail(ctx, e, err)
	}
	e.Subjects = append(e.Subjects, code)
	if len(protected) > 0 {
		if v = g.guard(ctx, req, "lookup", &e); !v.Allow {
			return Record{}, g.denyProtected(ctx, e, v, protected)
		}
	}
	e.Count, e.Provision = 1, g.provision(req, "lookup", v)
	out := mask(fromVersion(ver), v)
	e.Detail = withDetail(e.Detail, g.signal(req, fromVersion(ver)))
	if len(protected) > 0 {
		out.Protected = true
		err = g.recordProtected(ctx, e, protected)
	} else {
		err = g.record(ctx, e)
	}
	if err != nil {
		return Record{}, err
	}
	return out, nil
}

// History returns every version of one resident's record, oldest first.
func (g *Gate) History(ctx context.Context, req Request, k Key) ([]Record, error) {
	e, v := g.begin(ctx, req, "history")
	e.Query, e.Subjects = k.String(), k.attempted()
	if !v.Allow {
		return nil, g.deny(ctx, e, v)
	}
	ver, err := g.find(ctx, k)
	if errors.Is(err, records.ErrNotFound) {
		return nil, g.fail(ctx, e, notFound(k))
	}
	if err != nil {
		return nil, g.fail(ctx, e, err)
	}
	hist, err := records.History(ctx, g.db, ver.ResidentID)
	if err != nil {
		return nil, g.fail(ctx, e, err)
	}
	codes := map[string]bool{}
	for _, h := range hist {
		codes[string(h.ResidentCode)] = true
	}
	all := make([]string, 0, len(codes))
	for c := range codes {
		all = append(all, c)
	}
	slices.Sort(all)
	e.Subjects = append(e.Subjects, all...)
	protected, err := g.protectedOf(ctx, all)
	if err != nil {
		return nil, g.fail(ctx, e, err)
	}
	if len(protected) > 0 {
		if v = g.guard(ctx, req, "history", &e); !v.Allow {
			return nil, g.denyProtected(ctx, e, v, protected)
		}
	}
	out := make([]Record, len(hist))
	for i, h := range hist {
		out[i] = mask(fromVersion(h), v)
		out[i].Protected = len(protected) > 0
	}
	e.Count, e.Provision = len(out), g.provision(req, "history", v)
	e.Detail = withDetail(e.Detail, g.signal(req, fromVersion(ver)))
	if len(protected) > 0 {
		err = g.recordProtected(ctx, e, protected)
	} else {
		err = g.record(ctx, e)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SearchQuery is a four-item search (基本4情報) by any set of items the
// profile allows (docs/search.md): a name (the whole name or the surname,
// in kanji, kana or Latin letters in any order; 旧氏 and 通称 alike), the
// first kana of the reading, the date of birth, a part of the address; the
// sex only narrows.
type SearchQuery struct {
	Name        string // the whole name or the surname
	Kana        string // the first kana of the reading (前方一致)
	DateOfBirth time.Time
	Sex         resident.Sex // 0: any
	Address     string       // any part
	Limit       int          // 0: the gate's limit; never more than it
}

// String is the query as the audit entry records it: every item given,
// as typed (after the field rules accepted it).
func (q SearchQuery) String() string {
	s := "name=" + q.Name + " birth="
	if !q.DateOfBirth.IsZero() {
		s += q.DateOfBirth.Format(time.DateOnly)
	}
	if q.Kana != "" {
		s += " kana=" + q.Kana
	}
	if q.Sex != 0 {
		s += fmt.Sprintf(" sex=%d", int(q.Sex))
	}
	if q.Address != "" {
		s += " address=" + q.Address
	}
	return s
}

func (q SearchQuery) records() records.Query {
	return records.Query{Name: q.Name, Kana: q.Kana, DateOfBirth: q.DateOfBirth, Sex: q.Sex, Address: q.Address}
}

// Match is a search result.
type Match struct {
	Record
	Score   int
	MatchOn string // the part of the record the name or kana matched (name, kana, surname, former, alias, latin …)
	// Matched lists the items it matched by, each "item" or "item:kind"
	// with ":note" when not as typed (name:name:variant, birth, address).
	Matched []string
	// Why and WhyJapanese say why it matched: "name (variant kanji), date
	// of birth match", 「氏名（異体字）・生年月日が一致」. Results are ranked by it.
	Why, WhyJapanese string
}

// QueryError is a search refused before it is looked for: too few items,
// a kana prefix too short, or too many matches. Fields are the query's
// fields to fill or change (name, kana, birth, address, sex), so a form
// can point at them.
type QueryError struct {
	Err    *apperr.Error
	Fields []string
}

func (e *QueryError) Error() string { return e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

// SearchRules are the profile's search rules as the register applies them.
func SearchRules(p profile.Search) records.Rules {
	var r records.Rules
	if p.Forms != nil {
		r.Forms = []records.Form{}
		for _, f := range p.Forms {
			if form, err := records.ParseForm(f); err == nil { // the profile's parser refused bad ones
				r.Forms = append(r.Forms, form)
			}
		}
	}
	r.KanaPrefixMin = p.KanaPrefixMin
	return r
}

// formLabel names a form in Japanese and English: 氏名＋生年月日.
func formLabel(f records.Form) (ja, en string) {
	aj, ae := records.ItemLabel(f.A)
	bj, be := records.ItemLabel(f.B)
	short := func(ja string) string {
		return strings.TrimSuffix(strings.TrimSuffix(ja, "（または氏）"), "（読みの先頭）")
	}
	return short(aj) + "＋" + short(bj), ae + " + " + be
}

// checkSufficient refuses a query no allowed form is made of, saying
// which items to add, and a kana prefix that is too short or not kana.
func checkSufficient(rules records.Rules, q SearchQuery) error {
	if strings.TrimSpace(q.Kana) != "" {
		k := jptext.KanaKey(q.Kana)
		if strings.ContainsFunc(k, func(r rune) bool { return !(r >= 'ァ' && r <= 'ヺ' || r == 'ー') }) {
			return &QueryError{apperr.New(apperr.Invalid, "kana: type the first letters of the reading in katakana or hiragana",
				"カナ：読みの先頭をカタカナかひらがなで入力してください"), []string{"kana"}}
		}
		if n := utf8.RuneCountInString(k); n < rules.KanaMin() {
			return &QueryError{apperr.New(apperr.Invalid, fmt.Sprintf("kana: type at least %d letters of the reading (%d given)", rules.KanaMin(), n),
				fmt.Sprintf("カナ：読みの先頭を%d文字以上入力してください（%d文字です）", rules.KanaMin(), n)), []string{"kana"}}
		}
	}
	bad := rules.Check(q.records())
	if bad == nil {
		return nil
	}
	var fields []string
	var altJA, altEN []string
	for _, add := range bad.Add {
		var j, e []string
		for _, it := range add {
			lj, le := records.ItemLabel(it)
			j, e = append(j, lj), append(e, le)
			if f := fieldOf(it); !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
		altJA, altEN = append(altJA, strings.Join(j, "と")), append(altEN, strings.Join(e, " and "))
	}
	if len(bad.Given) == 0 {
		var fj, fe []string
		for _, f := range rules.Forms {
			j, e := formLabel(f)
			fj, fe = append(fj, j), append(fe, e)
		}
		if rules.Forms == nil {
			for _, f := range records.DefaultForms {
				j, e := formLabel(f)
				fj, fe = append(fj, j), append(fe, e)
			}
		}
		return &QueryError{apperr.New(apperr.Invalid, "give the items to search by: one of "+strings.Join(fe, ", "),
			"検索する項目を入力してください（"+strings.Join(fj, "、")+"のいずれか）"), fields}
	}
	var gj, ge []string
	for _, it := range bad.Given {
		j, e := records.ItemLabel(it)
		gj, ge = append(gj, j), append(ge, e)
	}
	return &QueryError{apperr.New(apperr.Invalid,
		fmt.Sprintf("%s alone is not enough to search by: add %s", strings.Join(ge, " and "), strings.Join(altEN, ", or ")),
		fmt.Sprintf("%sだけでは検索できません。%sを追加してください", strings.Join(gj, "と"), strings.Join(altJA, "、または"))), fields}
}

// fieldOf is the query field an item is typed in.
func fieldOf(it records.Item) string {
	switch it {
	case records.ItemName, records.ItemSurname:
		return "name"
	case records.ItemBirth:
		return "birth"
	}
	return string(it)
}

// tooBroad is the answer to a search with more matches than it may list:
// not a cut list, but a request for another item.
func tooBroad(total int, capped bool, limit int) error {
	count, countJA := fmt.Sprintf("%d matches", total), fmt.Sprintf("%d件", total)
	if capped {
		count, countJA = fmt.Sprintf("more than %d matches", records.CandidateCap), fmt.Sprintf("%d件以上", records.CandidateCap)
	}
	return &QueryError{apperr.New(apperr.Invalid,
		fmt.Sprintf("too many matches (%s, at most %d are listed): add an item (date of birth, address, sex) to narrow the search", count, limit),
		fmt.Sprintf("該当が多すぎます（%s。一覧は%d件まで）。条件を追加してください（生年月日・住所・性別など）", countJA, limit)),
		[]string{"name", "kana", "birth", "address", "sex"}}
}

// Search finds residents by the four items, best first, and total counts
// them (all returned, and logged as provided: more than the limit is
// refused as too broad).
// Protected residents the request may not read are withheld (SearchDetailed).
func (g *Gate) Search(ctx context.Context, req Request, q SearchQuery) (matches []Match, total int, err error) {
	res, err := g.SearchDetailed(ctx, req, q)
	return res.Matches, res.Total, err
}

// SearchResult is a search's answer.
type SearchResult struct {
	Matches []Match
	Total   int // every match (those withheld not counted): all are in Matches
	// Ambiguous says the best matches rank the same: more than one
	// resident matches as well as the first, and another item would tell
	// them apart.
	Ambiguous bool
	// Withheld is how many residents under support measures (支援措置)
	// matched and were left out of the answer because the request may not
	// read them (no case reference, or an affair the profile does not
	// allow); WithheldJapanese says why, and what would be needed.
	Withheld         int
	WithheldJapanese string
}

// SearchDetailed is Search, saying what was withheld. A query no form of
// the profile is made of is refused saying what to add; one with more
// matches than the limit is refused as too broad (a QueryError), never
// answered with a cut list. A match under a support measure is returned
// only if the request may read protected residents (a case reference, an
// affair the profile allows), and then with the immediate alert in the
// entry's transaction. Otherwise it is withheld: the refusal is its own
// audit entry (denied, naming the protected-resident policy and the
// residents, with the alert), and the search's entry provides the rest.
func (g *Gate) SearchDetailed(ctx context.Context, req Request, q SearchQuery) (SearchResult, error) {
	e, v := g.begin(ctx, req, "search")
	bad := q.check()
	if len(bad) > 0 {
		e.Query = "refused query: name=" + refused(q.Name) + " kana=" + refused(q.Kana) + " address=" + refused(q.Address)
	} else {
		e.Query = q.String()
	}
	if !v.Allow {
		return SearchResult{}, g.deny(ctx, e, v)
	}
	if len(bad) > 0 {
		return SearchResult{}, g.fail(ctx, e, fieldErrors(bad))
	}
	rules := SearchRules(g.SearchRules)
	if err := checkSufficient(rules, q); err != nil {
		return SearchResult{}, g.fail(ctx, e, err)
	}
	if today := g.now().In(jptext.JST); q.DateOfBirth.After(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)) {
		// No one is born after today: a typo (R12 for R2), refused before
		// it is searched for and logged as a provision of nobody.
		return SearchResult{}, g.fail(ctx, e, &QueryError{apperr.New(apperr.Invalid,
			fmt.Sprintf("date_of_birth: %s is after today (%s)", q.DateOfBirth.Format(time.DateOnly), today.Format(time.DateOnly)),
			fmt.Sprintf("生年月日：%s は未来の日付です（本日は %s）", jptext.FormatWareki(q.DateOfBirth), jptext.FormatWareki(today))), []string{"birth"}})
	}
	limit := g.SearchLimit
	if q.Limit > 0 && q.Limit < limit {
		limit = q.Limit
	}
	res0, err := records.Search(ctx, g.db, q.records(), rules, 0)
	if err != nil {
		return SearchResult{}, g.fail(ctx, e, err)
	}
	if res0.Capped || res0.Total > limit {
		e.Detail = withDetail(e.Detail, fmt.Sprintf("too broad: %d matches, limit %d", res0.Total, limit))
		return SearchResult{}, g.fail(ctx, e, tooBroad(res0.Total, res0.Capped, limit))
	}
	found, total := res0.Matches, res0.Total
	codes := make([]string, len(found))
	for i, m := range found {
		codes[i] = string(m.ResidentCode)
	}
	protected, err := g.protectedOf(ctx, codes)
	if err != nil {
		return SearchResult{}, g.fail(ctx, e, err)
	}
	var res SearchResult
	if len(protected) > 0 {
		pe := e
		pv := g.guard(ctx, req, "search", &pe)
		if pv.Allow {
			e, v = pe, pv
		} else {
			// Withheld: the refusal is an entry of its own, with the alert.
			pe.Subjects, pe.Detail = protected, withheldNote(len(protected), pv.Policy)
			if err := g.recordProtected(ctx, pe, protected); err != nil {
				return SearchResult{}, err
			}
			res.Withheld, res.WithheldJapanese = len(protected), pv.Japanese
			e.Detail = withDetail(e.Detail, withheldNote(len(protected), pv.Policy))
			total -= len(protected)
			kept := found[:0]
			for _, m := range found {
				if !slices.Contains(protected, string(m.ResidentCode)) {
					kept = append(kept, m)
				}
			}
			found, protected = kept, nil
		}
	}
	for _, m := range found {
		r := mask(fromVersion(m.Version), v)
		r.Protected = slices.Contains(protected, string(m.ResidentCode))
		ja, en := records.Why(m.Reasons)
		res.Matches = append(res.Matches, Match{Record: r, Score: m.Score, MatchOn: m.MatchOn, Matched: matchedItems(m.Reasons), Why: en, WhyJapanese: ja})
		e.Subjects = append(e.Subjects, string(m.ResidentCode))
	}
	res.Ambiguous = len(res.Matches) > 1 && res.Matches[0].Score == res.Matches[1].Score
	e.Count, res.Total = len(res.Matches), total
	if len(res.Matches) > 0 {
		e.Provision = g.provision(req, "search", v)
	}
	if len(protected) > 0 {
		err = g.recordProtected(ctx, e, protected)
	} else {
		err = g.record(ctx, e)
	}
	if err != nil {
		return SearchResult{}, err
	}
	return res, nil
}

// matchedItems lists a match's reasons as "item", "item:kind" or
// "item:kind:note".
func matchedItems(reasons []records.Reason) []string {
	out := make([]string, len(reasons))
	for i, r := range reasons {
		s := string(r.Item)
		if r.Kind != string(r.Item) && r.Kind != "birth" {
			s += ":" + r.Kind
		}
		if r.Note != "" {
			s += ":" + r.Note
		}
		out[i] = s
	}
	return out
}

// inScope reports whether the node holds records of local government lg.
func (g *Gate) inScope(lg ids.LocalGovCode) bool {
	switch g.level {
	case profile.Municipality:
		return lg == g.node.Code
	case profile.Prefecture:
		return len(lg) == 6 && lg[:2] == g.node.Code[:2]
	}
	return true
}

func (g *Gate) scopeError(lg ids.LocalGovCode) string {
	if g.level == profile.Prefecture {
		return fmt.Sprintf("%s is not in %s; this node holds that prefecture's municipalities only", lg, g.node.FullName())
	}
	return fmt.Sprintf("%s is not %s (%s), whose records this node holds", lg, g.node.Code, g.node.FullName())
}

// Change is one change to the register.
type Change struct {
	Record resident.IdentityRecord
	// PreviousCode is the resident's code before a 住民票コード変更.
	PreviousCode string
}

// Apply records one change as a new version (or a new resident), in the
// same transaction as its audit entry.
func (g *Gate) Apply(ctx context.Context, req Request, c Change) (Record, error) {
	e, v := g.begin(ctx, req, "apply")
	e.Query = fmt.Sprintf("resident_code=%s reason=%s date=%s", short(string(c.Record.ResidentCode)), short(string(c.Record.ChangeReason)), c.Record.ChangeDate.Format(time.DateOnly))
	if c.PreviousCode != "" {
		e.Query += " previous=" + short(c.PreviousCode)
	}
	if !v.Allow {
		return Record{}, g.deny(ctx, e, v)
	}
	if errs := c.Record.Validate(g.now()); len(errs) > 0 {
		return Record{}, g.fail(ctx, e, fieldErrors(errs))
	}
	if !g.inScope(c.Record.LocalGov) {
		return Record{}, g.fail(ctx, e, apperr.New(apperr.Invalid, g.scopeError(c.Record.LocalGov), "このノードが保有しない地方公共団体の記録です"))
	}
	var out records.Version
	_, workErr, err := g.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		ver, outcome, err := records.Apply(ctx, tx, c.Record, ids.ResidentCode(c.PreviousCode), seq)
		if err != nil {
			return err
		}
		out = ver
		e.Subjects = []string{string(ver.ResidentCode)}
		if c.PreviousCode != "" {
			e.Subjects = append(e.Subjects, c.PreviousCode)
		}
		if outcome != records.Unchanged {
			e.Count = 1
			if err := records.Notify(ctx, tx, seq, c.PreviousCode, e.Time); err != nil {
				return err
			}
		}
		e.Detail = map[records.Outcome]string{records.Added: "added", records.Changed: fmt.Sprintf("version %d", ver.Version), records.Unchanged: "unchanged"}[outcome]
		return nil
	})
	if err != nil {
		return Record{}, apperr.Wrap(apperr.Unavailable, err, "the audit log could not record this change, so it was not made",
			"アクセス記録（監査ログ）を書き込めなかったため、変更は行われませんでした。")
	}
	if workErr != nil {
		return Record{}, changeError(workErr)
	}
	return fromVersion(out), nil
}

func changeError(err error) error {
	if ce := (*records.ChangeError)(nil); errors.As(err, &ce) {
		return apperr.New(apperr.Conflict, ce.Reason, ce.Japanese)
	}
	return apperr.Wrap(apperr.Internal, err, "change failed", "変更を記録できませんでした")
}

// fieldErrors is the error of a record or request that breaks the field
// rules: each field named, with its rule, in English and Japanese.
func fieldErrors(errs []resident.FieldError) *apperr.Error { return resident.Invalid(errs) }

// RequiredFields is the interim Decider: it allows a request whose actor,
// origin, affair and reason are present and well-formed, and denies any
// other. The policy engine replaces it.
type RequiredFields struct {
	// ConsoleAllowed lets OS users on the server itself use the register
	// (jukinet lookup); jukinet.toml can turn it off.
	ConsoleAllowed bool
}

// Decide checks the request's fields.
func (d RequiredFields) Decide(ctx context.Context, q Question) Verdict {
	const policy = "interim.required-fields"
	deny := func(en, ja string) Verdict { return Verdict{Policy: policy, Why: en, Japanese: ja} }
	switch q.Actor.Kind {
	case auditlog.ActorOperator, auditlog.ActorPeer, auditlog.ActorSystem, auditlog.ActorRecipient:
	case auditlog.ActorConsole:
		if !d.ConsoleAllowed {
			// Named for the setting that decides, not for the field check.
			return Verdict{Policy: "jukinet:console-disabled", Why: "console access is disabled in jukinet.toml ([console] lookup = false)",
				Japanese: "このノードではサーバ上からの照会が無効になっています（jukinet.toml の [console] lookup = false）"}
		}
	default:
		return deny("the actor must be an operator, a console user, a peer node or the node itself", "利用者の種別が正しくありません")
	}
	if !wellFormed(q.Actor.ID, 64) {
		return deny("the actor's id is missing or malformed", "利用者のIDがありません")
	}
	kind, id, ok := strings.Cut(q.Origin, ":")
	if !ok || (kind != "terminal" && kind != "node" && kind != "host" && kind != "body") || !wellFormed(id, 64) {
		return deny("the origin must be terminal:ID, node:CODE, host:NAME or body:ID", "端末またはノードが特定できません")
	}
	if strings.TrimSpace(q.Affair) == "" {
		v := deny("the affair (利用事務) is missing", "利用事務を選択してください")
		v.Field = FieldAffair.Name
		return v
	}
	if strings.TrimSpace(q.Reason) == "" {
		v := deny("the reason is missing", "利用の理由を入力してください")
		v.Field = FieldReason.Name
		return v
	}
	// The gate checks the fields before it asks; a decider asked directly
	// applies the same rules.
	if errs := q.Request.check(); len(errs) > 0 {
		e := fieldErrors(errs)
		return deny(e.Message, e.Japanese)
	}
	return Verdict{Allow: true, Policy: policy, Why: "actor, origin, affair and reason given"}
}

// wellFormed: present, not too long, printable.
func wellFormed(s string, max int) bool {
	if strings.TrimSpace(s) == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}
