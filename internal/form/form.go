// Package form keeps the forms register (帳票管理簿, koto-ward:14;
// aomori-pref:4.2, information assets being all information, aomori-pref:2):
// every document and file the node produces — the audit log's export, the
// status reports of usage approvals, the system audit report, the batch
// file of residents — gets a control number (管理番号) per fiscal year,
// printed on it (a PDF's footer on every page, a CSV's file name), and is
// recorded with who produced it, when, what kind, what it covers, how many
// residents it concerns and where it went, in the transaction of the
// export's own audit entry. A form is due back in the store, handed over
// or disposed of within the profile's period (Profile.FormDays); one that
// is not is overdue, on the node's clock. Its later steps — stored (保管),
// taken out (持出) with the day it is due back, returned (返却), handed over
// (交付) to a named body or person, disposed of (廃棄) with the method, who
// did it and who witnessed it — are each decided by the profile's policies
// (one action per article: manage-forms, dispose-forms) and logged.
//
// The number is reserved before the document is rendered, because it is
// printed on it, and issued when the export's entry is appended: a number
// whose export then failed stays in the register as void (欠番), with the
// reason, so that a gap in the numbers is explained.
//
// The package also keeps the record of program changes (koto-ward:14,
// aomori-pref:4.3): program.go.
package form

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The actions of the policies.
const (
	// ActManage records a form's storage, take-out, return and hand-over
	// (koto-ward:14; aomori-pref:4.2).
	ActManage = "manage-forms"
	// ActDispose records a form's disposal (koto-ward:14; aomori-pref:4.2).
	ActDispose = "dispose-forms"
	// ActView opens the register (asked, not logged).
	ActView = "view-forms"
	// ActApproveProgram approves a program change (koto-ward:14;
	// aomori-pref:4.3).
	ActApproveProgram = "approve-program-change"
)

// Actions are the register's actions, for the policy engine.
var Actions = []string{ActManage, ActDispose, ActView, ActApproveProgram}

// ActionJapanese names the register's actions in refusals.
var ActionJapanese = map[string]string{
	ActManage: "帳票の保管・持出・返却・交付の記録", ActDispose: "帳票の廃棄の記録",
	ActView: "帳票管理簿の閲覧", ActApproveProgram: "プログラム変更の承認",
}

// Kind is what a form is.
type Kind string

// The kinds of form: one per export path of the node.
const (
	KindAuditLog       Kind = "audit-log"       // 監査ログ（アクセス記録）
	KindUsageStatus    Kind = "usage-status"    // 利用状況（利用の承認の状況）
	KindSysauditReport Kind = "sysaudit-report" // システム監査報告書
	KindResidentExport Kind = "resident-export" // 本人確認情報の一括出力（バッチファイル）
	KindDisclosure     Kind = "disclosure"      // 本人確認情報の提供状況等の開示書
	KindBackup         Kind = "backup"          // バックアップ（電磁的記録媒体）
	// KindExisting is a form produced before the register began or outside
	// the node (a paper register's entries carried over), recorded later.
	KindExisting Kind = "existing"
	// KindImportReport is the normalisation report of a residents' import:
	// each value the import normalised, as the file gave it and as stored.
	KindImportReport Kind = "import-report" // 取込の正規化報告
)

// Kinds are the kinds with their names, in the register's order.
var Kinds = []struct {
	Kind              Kind
	Japanese, English string
}{
	{KindAuditLog, "監査ログ", "audit log"},
	{KindUsageStatus, "利用状況", "usage status"},
	{KindSysauditReport, "システム監査報告書", "system audit report"},
	{KindResidentExport, "本人確認情報の一括出力", "residents' batch file"},
	{KindDisclosure, "提供状況等の開示書", "disclosure to a resident"},
	{KindBackup, "バックアップ", "backup"},
	{KindExisting, "既存の帳票（後日登載）", "existing form (recorded later)"},
	{KindImportReport, "一括取込の正規化報告", "import normalisation report"},
}

// KindName names k in Japanese or English.
func KindName(k Kind, en bool) string {
	for _, x := range Kinds {
		if x.Kind == k {
			if en {
				return x.English
			}
			return x.Japanese
		}
	}
	return string(k)
}

// State is where a form is in its life.
type State string

// The states of a form.
const (
	Reserved   State = "reserved"    // a number taken, the document being made
	Void       State = "void"        // the export failed after its number was taken (欠番)
	Issued     State = "issued"      // produced, with whoever produced it (出力済)
	Stored     State = "stored"      // kept in the store (保管中)
	TakenOut   State = "taken-out"   // taken out with approval, due back (持出中)
	HandedOver State = "handed-over" // handed to another body or person (交付済)
	Disposed   State = "disposed"    // destroyed or erased (廃棄済)
)

// States are the states a clerk filters by, in order.
var States = []State{Issued, Stored, TakenOut, HandedOver, Disposed, Void}

// StateJapanese names a state.
var StateJapanese = map[State]string{
	Reserved: "番号確保（作成中）", Void: "欠番（出力されず）", Issued: "出力済（未保管）", Stored: "保管中",
	TakenOut: "持出中", HandedOver: "交付済", Disposed: "廃棄済",
}

// StepKind is a step of a form after its issue.
type StepKind string

// The steps.
const (
	StepStore    StepKind = "store"     // into the store (保管)
	StepTakeOut  StepKind = "take-out"  // out of the store, due back (持出)
	StepReturn   StepKind = "return"    // back into the store (返却)
	StepHandOver StepKind = "hand-over" // to another body or person (交付)
	StepDispose  StepKind = "dispose"   // destroyed or erased (廃棄)
)

// StepJapanese names a step.
var StepJapanese = map[StepKind]string{
	StepStore: "保管", StepTakeOut: "持出", StepReturn: "返却", StepHandOver: "交付", StepDispose: "廃棄",
}

// Method is how a form was disposed of.
type Method string

// The methods of disposal.
const (
	Shred      Method = "shred"      // 裁断（シュレッダー）
	Dissolve   Method = "dissolve"   // 溶解
	Incinerate Method = "incinerate" // 焼却
	Erase      Method = "erase"      // 電磁的記録の消去
	Destroy    Method = "destroy"    // 媒体の物理的破壊
)

// Methods are the methods of disposal with their names.
var Methods = []struct {
	Method            Method
	Japanese, English string
}{
	{Shred, "裁断（シュレッダー）", "shredding"}, {Dissolve, "溶解", "dissolution"}, {Incinerate, "焼却", "incineration"},
	{Erase, "電磁的記録の消去", "erasure"}, {Destroy, "媒体の物理的破壊", "physical destruction of the medium"},
}

// MethodName names a method.
func MethodName(m Method, en bool) string {
	for _, x := range Methods {
		if x.Method == m {
			if en {
				return x.English
			}
			return x.Japanese
		}
	}
	return string(m)
}

// What the text of a form and its steps may hold (docs/fields.md).
var (
	FieldDestination = resident.Field{Name: "destination", Japanese: "交付先・保管場所", Class: resident.ClassText, Max: 200}
	FieldDoneBy      = resident.Field{Name: "done_by", Japanese: "廃棄の実施者", Class: resident.ClassText, Max: 100}
	FieldNote        = resident.Field{Name: "note", Japanese: "備考", Class: resident.ClassText, Max: 400}
)

// Number is a form's control number: its fiscal year (2026 = 令和8年度,
// April 2026 to March 2027) and its serial in that year, written R8-000012.
type Number struct {
	FiscalYear int
	Serial     int
}

// IsZero says whether n is no number.
func (n Number) IsZero() bool { return n.Serial == 0 }

// String writes n as R8-000012: the era's letter and year of the fiscal
// year, and the serial.
func (n Number) String() string {
	if n.IsZero() {
		return ""
	}
	w, ok := jptext.ToWareki(time.Date(n.FiscalYear, time.April, 1, 0, 0, 0, 0, jptext.JST))
	if !ok {
		return fmt.Sprintf("%d-%06d", n.FiscalYear, n.Serial)
	}
	return fmt.Sprintf("%s%d-%06d", w.Era.Letter, w.Year, n.Serial)
}

// Japanese writes n for a document: 令和8年度 第000012号 style is long, so
// the label and the short form: 管理番号 R8-000012.
func (n Number) Japanese() string { return "管理番号 " + n.String() }

var numberRE = regexp.MustCompile(`^([A-Za-z])(\d{1,2})-(\d{1,9})$`)

// ParseNumber reads a control number written as String writes it.
func ParseNumber(s string) (Number, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	m := numberRE.FindStringSubmatch(s)
	bad := apperr.New(apperr.Invalid, fmt.Sprintf("form number %q: write it as on the form, e.g. R8-000012", s),
		fmt.Sprintf("管理番号「%s」を読み取れません。帳票に印字された形（例：R8-000012）で入力してください", s))
	if m == nil {
		return Number{}, bad
	}
	for _, e := range jptext.Eras {
		if e.Letter == m[1] {
			y, _ := strconv.Atoi(m[2])
			serial, _ := strconv.Atoi(m[3])
			if y < 1 || serial < 1 {
				return Number{}, bad
			}
			return Number{FiscalYear: e.Start.Year() + y - 1, Serial: serial}, nil
		}
	}
	return Number{}, bad
}

// FiscalYear is the fiscal year t falls in (April to March, in Japan).
func FiscalYear(t time.Time) int {
	t = t.In(jptext.JST)
	if t.Month() < time.April {
		return t.Year() - 1
	}
	return t.Year()
}

// Output is what an export tells the register of the form it produces.
type Output struct {
	Kind   Kind
	Format string // pdf, csv
	// Title is what it is, for people (監査ログ, 利用状況報告 第3号 …).
	Title string
	// Covers is the period or the filter it covers.
	Covers string
	// Residents is how many residents it concerns.
	Residents int
	// Destination is where it went; empty: to the person who produced it.
	Destination string
	// HandedOver says the form left the body at its issue, handed to its
	// destination (a disclosure given to the resident): it is recorded as
	// handed over (交付済), with nothing left to store or dispose of.
	HandedOver bool
}

// CheckDestination applies the field's rule to a destination given with an
// export (empty is allowed: the one who exports it).
func CheckDestination(s string) error {
	return resident.CheckValues(resident.Value{Field: FieldDestination, Text: strings.TrimSpace(s)})
}

// Form is one form of the register.
type Form struct {
	ID     int64
	Number Number
	State  State
	Output
	Bytes  int64
	Digest string // SHA-256 of the exact bytes, hex
	// Due is the day it is due back in the store or disposed of (midnight
	// JST): the issue day plus the profile's period, or a take-out's day.
	Due        time.Time
	ReservedBy string
	ReservedAt time.Time
	IssuedBy   string
	IssuedAt   time.Time
	IssuedSeq  int64
	VoidReason string
	Steps      []Step
}

// Open says whether the form is still the node's to account for: issued,
// taken out (not stored, handed over, disposed of or void).
func (f Form) Open() bool { return f.State == Issued || f.State == TakenOut }

// OverdueAt says whether the form is past its due day on the day of now:
// issued or taken out and not back in the store, handed over or disposed
// of by the end of its due day.
func (f Form) OverdueAt(now time.Time) bool {
	return f.Open() && !f.Due.IsZero() && f.Due.Before(jptext.Midnight(now))
}

// Step is one step of a form after its issue.
type Step struct {
	ID   int64
	Kind StepKind
	Day  time.Time // midnight JST
	// Place is where it was kept, or the person or body it went to.
	Place string
	// Until is the day a take-out is due back.
	Until time.Time
	// Method, DoneBy and Witness (a verification id) are a disposal's.
	Method     Method
	DoneBy     string
	Witness    string
	Note       string
	RecordedBy string
	RecordedAt time.Time
	Seq        int64
}

// Register keeps a node's forms register.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	node  string
	days  int
	// Now is the node's clock; nil means time.Now.
	Now func() time.Time
}

// New returns the forms register of the node named node; days is the
// profile's due period (Profile.FormDays).
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, node string, days int) *Register {
	if days <= 0 {
		days = 30
	}
	return &Register{db: d, log: log, authz: authz, node: node, days: days}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// DB is the register's database.
func (r *Register) DB() *db.DB { return r.db }

// Days is the due period of the register's forms, in days.
func (r *Register) Days() int { return r.days }

// next takes the next serial of the fiscal year in tx.
func next(ctx context.Context, tx *db.Tx, fy int) (int, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO form_counter (fiscal_year, last_serial) VALUES (?, 0) ON CONFLICT (fiscal_year) DO NOTHING`, fy); err != nil {
		return 0, fmt.Errorf("start the forms' numbers of fiscal year %d: %w", fy, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE form_counter SET last_serial = last_serial + 1 WHERE fiscal_year = ?`, fy); err != nil {
		return 0, fmt.Errorf("take a form number: %w", err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT last_serial FROM form_counter WHERE fiscal_year = ?`, fy).Scan(&n); err != nil {
		return 0, fmt.Errorf("take a form number: %w", err)
	}
	return n, nil
}

// Reserve takes the next control number for a document who is about to
// produce, to print on it. It is not logged: the number is issued, with
// its entry, by Issue, or left void by Void.
func (r *Register) Reserve(ctx context.Context, who staff.Who) (Number, error) {
	now := r.now()
	n := Number{FiscalYear: FiscalYear(now)}
	err := r.db.Transact(ctx, func(tx *db.Tx) error {
		var err error
		if n.Serial, err = next(ctx, tx, n.FiscalYear); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO form (fiscal_year, serial, state, reserved_by, reserved_at) VALUES (?, ?, ?, ?, ?)`,
			n.FiscalYear, n.Serial, string(Reserved), who.Actor.String(), now.UTC())
		return err
	})
	if err != nil {
		return Number{}, apperr.Wrap(apperr.Unavailable, err, "reserve a form number", "帳票の管理番号を取得できませんでした")
	}
	return n, nil
}

// Void leaves a reserved number unused, with the reason (the export failed
// or was refused after the number was taken), so that the gap in the
// numbers is explained. It is not logged: nothing left the node.
func (r *Register) Void(ctx context.Context, n Number, reason string) error {
	if len(reason) > 400 {
		reason = reason[:400]
	}
	reason = strings.ToValidUTF8(reason, "")
	_, err := r.db.Exec(ctx, `UPDATE form SET state = ?, void_reason = ? WHERE fiscal_year = ? AND serial = ? AND state = ?`,
		string(Void), reason, n.FiscalYear, n.Serial, string(Reserved))
	if err != nil {
		return fmt.Errorf("void form %s: %w", n, err)
	}
	return nil
}

// Digest is the SHA-256 of b, hex, as the register keeps it.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Issue records the form an export produced, in tx: the transaction of the
// export's audit entry (seq, at now). n is the number reserved for it; a
// zero n takes the next number in tx (for a file whose number is not in
// its content, such as a batch file of residents named by it). content is
// the exact bytes produced, or nil when digest and size are given in
// sum and size (a file streamed elsewhere).
func (r *Register) Issue(ctx context.Context, tx *db.Tx, seq int64, now time.Time, who staff.Who, n Number, out Output, sum string, size int64) (Form, error) {
	return r.issue(ctx, tx, seq, now, now, who, n, out, sum, size)
}

// issue is Issue of a form issued at issued (now for an export).
func (r *Register) issue(ctx context.Context, tx *db.Tx, seq int64, now, issued time.Time, who staff.Who, n Number, out Output, sum string, size int64) (Form, error) {
	if out.Destination == "" {
		out.Destination = "出力者 " + who.Actor.String()
	}
	due := jptext.Midnight(issued).AddDate(0, 0, r.days)
	state := Issued
	if out.HandedOver {
		state = HandedOver
	}
	f := Form{Number: n, State: state, Output: out, Bytes: size, Digest: sum, Due: due, IssuedBy: who.Actor.String(), IssuedAt: issued, IssuedSeq: seq}
	if n.IsZero() {
		f.Number.FiscalYear = FiscalYear(now)
		serial, err := next(ctx, tx, f.Number.FiscalYear)
		if err != nil {
			return Form{}, err
		}
		f.Number.Serial = serial
		if err := tx.QueryRow(ctx, `INSERT INTO form (fiscal_year, serial, state, kind, format, title, covers, residents, size_bytes, digest, destination, due_on,
			reserved_by, reserved_at, issued_by, issued_at, issued_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			f.Number.FiscalYear, f.Number.Serial, string(state), string(out.Kind), out.Format, out.Title, out.Covers, out.Residents, size, sum,
			out.Destination, due.Format(time.DateOnly), who.Actor.String(), now.UTC(), who.Actor.String(), issued.UTC(), seq).Scan(&f.ID); err != nil {
			return Form{}, fmt.Errorf("record form %s: %w", f.Number, err)
		}
		return f, nil
	}
	if err := tx.QueryRow(ctx, `UPDATE form SET state = ?, kind = ?, format = ?, title = ?, covers = ?, residents = ?, size_bytes = ?, digest = ?,
		destination = ?, due_on = ?, issued_by = ?, issued_at = ?, issued_seq = ? WHERE fiscal_year = ? AND serial = ? AND state = ? RETURNING id`,
		string(state), string(out.Kind), out.Format, out.Title, out.Covers, out.Residents, size, sum, out.Destination, due.Format(time.DateOnly),
		who.Actor.String(), issued.UTC(), seq, n.FiscalYear, n.Serial, string(Reserved)).Scan(&f.ID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Form{}, fmt.Errorf("form %s is not reserved", n)
		}
		return Form{}, fmt.Errorf("record form %s: %w", n, err)
	}
	return f, nil
}

// FieldTitle is the name of a form recorded later.
var FieldTitle = resident.Field{Name: "title", Japanese: "帳票名", Class: resident.ClassText, Max: 200}

// RecordExisting enters in the register a form that was produced before
// the register began or outside the node (a paper register's entries
// carried over, a printout of another system), once the policies allow who
// (manage-forms): issued on the day given (not after today), due within
// the profile's period from it, logged as form.register. It takes the next
// number of the fiscal year of today.
func (r *Register) RecordExisting(ctx context.Context, who staff.Who, out Output, issuedOn time.Time) (Form, error) {
	out.Kind = KindExisting
	out.Title, out.Covers, out.Destination = strings.TrimSpace(out.Title), strings.TrimSpace(out.Covers), strings.TrimSpace(out.Destination)
	if out.Format == "" {
		out.Format = "paper"
	}
	if err := resident.CheckValues(resident.Value{Field: FieldTitle, Text: out.Title, Required: true}, resident.Value{Field: FieldNote, Text: out.Covers},
		resident.Value{Field: FieldDestination, Text: out.Destination, Required: true}); err != nil {
		return Form{}, err
	}
	if out.Residents < 0 {
		return Form{}, apperr.New(apperr.Invalid, "residents: not below 0", "住民数は0以上で入力してください")
	}
	if err := checkDay("issued", "作成日", issuedOn, jptext.Midnight(r.now())); err != nil {
		return Form{}, err
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "form.register", Count: out.Residents,
		Detail: fmt.Sprintf("existing form %q (%s) made on %s, at %s", out.Title, out.Covers, issuedOn.Format(time.DateOnly), out.Destination)}
	var f Form
	err := staff.Administer(ctx, r.log, r.authz, who, ActManage, staff.Resource{Kind: "node", ID: r.node}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			var err error
			f, err = r.issue(ctx, tx, seq, now, issuedOn, who, Number{}, out, "", 0)
			return err
		})
	return f, err
}

// Export produces one form: the policies decide whether who may do action
// on res (a refusal is logged with e and produces no form); a number is
// reserved; render makes the document with the number on it; then e,
// naming the form, its size and digest, is appended with the form's issue
// and work in its transaction. It returns the form and the bytes, to be
// sent only now that the entry is durable. A failure after the number was
// taken leaves it void, with the reason.
func (r *Register) Export(ctx context.Context, who staff.Who, action string, res staff.Resource, e auditlog.Entry, out Output,
	render func(Number) ([]byte, error), work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) (Form, []byte, error) {
	if r.authz == nil {
		return Form{}, nil, apperr.New(apperr.Unavailable, "no authorizer: exports are refused", "権限の判定ができないため、出力できません")
	}
	if v := r.authz.MayAdminister(ctx, who, action, res); !v.Allow {
		// Logged as the refusal it is, and nothing is produced.
		err := staff.Administer(ctx, r.log, r.authz, who, action, res, e, func(context.Context, *db.Tx, int64, time.Time) error { return nil })
		if err == nil {
			err = apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
		}
		return Form{}, nil, err
	}
	n, err := r.Reserve(ctx, who)
	if err != nil {
		return Form{}, nil, err
	}
	b, err := render(n)
	if err != nil {
		r.Void(context.WithoutCancel(ctx), n, "render: "+err.Error())
		return Form{}, nil, err
	}
	sum := Digest(b)
	e.Detail = strings.TrimPrefix(e.Detail+fmt.Sprintf("; form %s, %s, %d bytes, sha256 %s", n, out.Format, len(b), sum), "; ")
	if e.Count == 0 {
		e.Count = out.Residents
	}
	var f Form
	err = staff.Administer(ctx, r.log, r.authz, who, action, res, e, func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
		if work != nil {
			if err := work(ctx, tx, seq, now); err != nil {
				return err
			}
		}
		var err error
		f, err = r.Issue(ctx, tx, seq, now, who, n, out, sum, int64(len(b)))
		return err
	})
	if err != nil {
		r.Void(context.WithoutCancel(ctx), n, err.Error())
		return Form{}, nil, err
	}
	return f, b, nil
}

// checkDay refuses a day that is missing or after today.
func checkDay(field, fieldJA string, day, today time.Time) error {
	switch {
	case day.IsZero():
		return apperr.New(apperr.Invalid, field+": required", fieldJA+"を入力してください")
	case day.After(today):
		return apperr.New(apperr.Invalid, fmt.Sprintf("%s %s is after today", field, day.Format(time.DateOnly)),
			fmt.Sprintf("%s %s は今日より後です", fieldJA, jptext.FormatWareki(day)))
	}
	return nil
}

// Check applies the rules to a step about to be recorded on the day now,
// trimming its text.
func (s *Step) Check(now time.Time) error {
	s.Place, s.DoneBy, s.Witness, s.Note = strings.TrimSpace(s.Place), strings.TrimSpace(s.DoneBy), strings.TrimSpace(s.Witness), strings.TrimSpace(s.Note)
	today := jptext.Midnight(now)
	if _, ok := StepJapanese[s.Kind]; !ok {
		return apperr.New(apperr.Invalid, fmt.Sprintf("step %q: use store, take-out, return, hand-over or dispose", s.Kind), "記録する手続（保管・持出・返却・交付・廃棄）を選んでください")
	}
	if err := checkDay("day", "実施日", s.Day, today); err != nil {
		return err
	}
	if err := resident.CheckValues(resident.Value{Field: FieldNote, Text: s.Note}); err != nil {
		return err
	}
	switch s.Kind {
	case StepStore, StepReturn:
		return resident.CheckValues(resident.Value{Field: FieldDestination, Text: s.Place, Required: true})
	case StepHandOver:
		return resident.CheckValues(resident.Value{Field: FieldDestination, Text: s.Place, Required: true})
	case StepTakeOut:
		if err := resident.CheckValues(resident.Value{Field: FieldDestination, Text: s.Place, Required: true}); err != nil {
			return err
		}
		if s.Until.IsZero() {
			return apperr.New(apperr.Invalid, "until: required", "返却予定日を入力してください")
		}
		if s.Until.Before(s.Day) {
			return apperr.New(apperr.Invalid, fmt.Sprintf("until %s is before the take-out on %s", s.Until.Format(time.DateOnly), s.Day.Format(time.DateOnly)),
				fmt.Sprintf("返却予定日 %s は持出日 %s より前です", jptext.FormatWareki(s.Until), jptext.FormatWareki(s.Day)))
		}
	case StepDispose:
		if !slices.ContainsFunc(Methods, func(m struct {
			Method            Method
			Japanese, English string
		}) bool {
			return m.Method == s.Method
		}) {
			return apperr.New(apperr.Invalid, fmt.Sprintf("method %q: use shred, dissolve, incinerate, erase or destroy", s.Method),
				"廃棄の方法（裁断・溶解・焼却・消去・物理的破壊）を選んでください")
		}
		if err := resident.CheckValues(resident.Value{Field: FieldDoneBy, Text: s.DoneBy, Required: true}); err != nil {
			return err
		}
		if s.Witness == "" {
			return apperr.New(apperr.Invalid, "witness: required", "立会者（照合ID）を入力してください")
		}
		if !staff.WellFormedID(s.Witness) {
			return apperr.New(apperr.Invalid, fmt.Sprintf("witness %q: use 1 to 64 letters, digits, '.', '_' or '-'", s.Witness),
				fmt.Sprintf("立会者「%s」は照合ID（英数字と . _ - の64文字以内）で入力してください", s.Witness))
		}
	}
	return nil
}

// from says which states a step may follow, and the state it leaves.
var transitions = map[StepKind]struct {
	from []State
	to   State
}{
	StepStore:    {[]State{Issued}, Stored},
	StepTakeOut:  {[]State{Stored}, TakenOut},
	StepReturn:   {[]State{TakenOut}, Stored},
	StepHandOver: {[]State{Issued, Stored, TakenOut}, HandedOver},
	StepDispose:  {[]State{Issued, Stored, TakenOut}, Disposed},
}

// Allows says whether a form in state st may be given the step k.
func Allows(st State, k StepKind) bool {
	tr, ok := transitions[k]
	return ok && slices.Contains(tr.from, st)
}

// Record records a step of the form numbered n, once the policies allow
// who (ActDispose for a disposal, ActManage otherwise). Bad input is
// refused before anything is logged; a step the form's state does not
// allow (a disposed form taken out) or a witness who is not an active
// staff member is refused in the transaction, logged, with nothing stored.
func (r *Register) Record(ctx context.Context, who staff.Who, n Number, s Step) error {
	now := r.now()
	if err := s.Check(now); err != nil {
		return err
	}
	action := ActManage
	if s.Kind == StepDispose {
		action = ActDispose
	}
	detail := fmt.Sprintf("%s of form %s on %s", s.Kind, n, s.Day.Format(time.DateOnly))
	switch s.Kind {
	case StepTakeOut:
		detail += fmt.Sprintf(" to %s, due back %s", s.Place, s.Until.Format(time.DateOnly))
	case StepDispose:
		detail += fmt.Sprintf(" by %s (%s), witnessed by %s", s.DoneBy, s.Method, s.Witness)
	default:
		detail += " to " + s.Place
	}
	if s.Note != "" {
		detail += ": " + s.Note
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "form." + string(s.Kind), Query: "form:" + n.String(), Detail: detail}
	return staff.Administer(ctx, r.log, r.authz, who, action, staff.Resource{Kind: "node", ID: r.node}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			return recordIn(ctx, tx, seq, now, who, n, s, true)
		})
}

// RecordIn records, in tx (the transaction of the caller's audit entry seq,
// at now), a step the node itself took on a file it keeps: a backup stored
// in its folder, an expired generation erased. No policy is asked and no
// witness named: the caller's entry says what the node did and why; the
// state the step may follow is checked as for Record.
func RecordIn(ctx context.Context, tx *db.Tx, seq int64, now time.Time, who staff.Who, n Number, s Step) error {
	return recordIn(ctx, tx, seq, now, who, n, s, false)
}

// recordIn is the transaction of Record and RecordIn; witnessed says a
// disposal names a witness who must be an active staff member.
func recordIn(ctx context.Context, tx *db.Tx, seq int64, now time.Time, who staff.Who, n Number, s Step, witnessed bool) error {
	var id int64
	var state string
	err := tx.QueryRow(ctx, `SELECT id, state FROM form WHERE fiscal_year = ? AND serial = ?`, n.FiscalYear, n.Serial).Scan(&id, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(n)
	}
	if err != nil {
		return fmt.Errorf("read form %s: %w", n, err)
	}
	tr := transitions[s.Kind]
	if !slices.Contains(tr.from, State(state)) {
		return apperr.New(apperr.Conflict, fmt.Sprintf("form %s is %s: it cannot be given the step %s", n, state, s.Kind),
			fmt.Sprintf("管理番号 %s の帳票は「%s」のため、%sを記録できません", n, StateJapanese[State(state)], StepJapanese[s.Kind]))
	}
	if s.Kind == StepDispose && witnessed {
		var active bool
		err := tx.QueryRow(ctx, `SELECT active FROM staff_person WHERE verification_id = ?`, s.Witness).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !active) {
			return apperr.New(apperr.Invalid, fmt.Sprintf("witness %s is not an active staff member", s.Witness),
				fmt.Sprintf("立会者の照合ID %s は職員として登録されていないか、異動・退職済みです", s.Witness))
		}
		if err != nil {
			return fmt.Errorf("find witness %s: %w", s.Witness, err)
		}
	}
	var until sql.NullString
	due := sql.NullString{}
	switch s.Kind {
	case StepTakeOut:
		until = sql.NullString{String: s.Until.Format(time.DateOnly), Valid: true}
		due = until
	}
	if _, err := tx.Exec(ctx, `INSERT INTO form_step (form_id, step, day, place, until_on, method, done_by, witness, note, recorded_by, recorded_at, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, string(s.Kind), s.Day.Format(time.DateOnly), s.Place, until, string(s.Method), s.DoneBy,
		s.Witness, s.Note, who.Actor.String(), now.UTC(), seq); err != nil {
		return fmt.Errorf("record %s of form %s: %w", s.Kind, n, err)
	}
	dest := s.Place
	if s.Kind == StepDispose {
		dest = MethodName(s.Method, false)
	}
	if _, err := tx.Exec(ctx, `UPDATE form SET state = ?, destination = ?, due_on = ? WHERE id = ?`, string(tr.to), dest, due, id); err != nil {
		return fmt.Errorf("record %s of form %s: %w", s.Kind, n, err)
	}
	return nil
}

func notFound(n Number) error {
	return apperr.New(apperr.NotFound, fmt.Sprintf("no form %s", n), fmt.Sprintf("管理番号 %s の帳票は登録されていません", n))
}

// Filter narrows the register's list.
type Filter struct {
	State State
	Kind  Kind
	// Overdue keeps only forms past their due day at Now.
	Overdue bool
	Now     time.Time
	// FiscalYear keeps one fiscal year's forms (0: all).
	FiscalYear int
}

const selectForms = `SELECT id, fiscal_year, serial, state, kind, format, title, covers, residents, size_bytes, digest, destination, due_on,
	reserved_by, reserved_at, issued_by, issued_at, issued_seq, void_reason FROM form`

func scanForms(rows *sql.Rows) ([]Form, error) {
	defer rows.Close()
	var out []Form
	for rows.Next() {
		var f Form
		var state, kind string
		var due sql.NullString
		var issuedAt sql.NullTime
		var issuedSeq sql.NullInt64
		if err := rows.Scan(&f.ID, &f.Number.FiscalYear, &f.Number.Serial, &state, &kind, &f.Format, &f.Title, &f.Covers, &f.Residents, &f.Bytes,
			&f.Digest, &f.Destination, &due, &f.ReservedBy, &f.ReservedAt, &f.IssuedBy, &issuedAt, &issuedSeq, &f.VoidReason); err != nil {
			return nil, fmt.Errorf("list forms: %w", err)
		}
		f.State, f.Kind = State(state), Kind(kind)
		if due.Valid {
			d, err := time.ParseInLocation(time.DateOnly, due.String, jptext.JST)
			if err != nil {
				return nil, fmt.Errorf("form %s: due %q: %w", f.Number, due.String, err)
			}
			f.Due = d
		}
		f.IssuedAt, f.IssuedSeq = issuedAt.Time, issuedSeq.Int64
		out = append(out, f)
	}
	return out, rows.Err()
}

// List returns the register's forms matching f, newest first.
func List(ctx context.Context, d *db.DB, f Filter) ([]Form, error) {
	var where []string
	var args []any
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	} else {
		// A number being made is no form yet.
		where, args = append(where, "state <> ?"), append(args, string(Reserved))
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(f.Kind))
	}
	if f.FiscalYear != 0 {
		where, args = append(where, "fiscal_year = ?"), append(args, f.FiscalYear)
	}
	if f.Overdue {
		where = append(where, "state IN (?, ?) AND due_on < ?")
		args = append(args, string(Issued), string(TakenOut), jptext.Midnight(f.Now).Format(time.DateOnly))
	}
	q := selectForms
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := d.Query(ctx, q+" ORDER BY fiscal_year DESC, serial DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("list forms: %w", err)
	}
	return scanForms(rows)
}

// Overdue returns the forms past their due day on the day of now, the
// longest overdue first.
func Overdue(ctx context.Context, d *db.DB, now time.Time) ([]Form, error) {
	all, err := List(ctx, d, Filter{Overdue: true, Now: now})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(all, func(a, b Form) int { return a.Due.Compare(b.Due) })
	return all, nil
}

// Get returns the form numbered n with its steps.
func Get(ctx context.Context, d *db.DB, n Number) (Form, error) {
	rows, err := d.Query(ctx, selectForms+` WHERE fiscal_year = ? AND serial = ?`, n.FiscalYear, n.Serial)
	if err != nil {
		return Form{}, fmt.Errorf("read form %s: %w", n, err)
	}
	list, err := scanForms(rows)
	if err != nil {
		return Form{}, err
	}
	if len(list) == 0 {
		return Form{}, notFound(n)
	}
	f := list[0]
	srows, err := d.Query(ctx, `SELECT id, step, day, place, until_on, method, done_by, witness, note, recorded_by, recorded_at, seq
		FROM form_step WHERE form_id = ? ORDER BY id`, f.ID)
	if err != nil {
		return Form{}, fmt.Errorf("read the steps of form %s: %w", n, err)
	}
	defer srows.Close()
	for srows.Next() {
		var s Step
		var kind, day, method string
		var until sql.NullString
		if err := srows.Scan(&s.ID, &kind, &day, &s.Place, &until, &method, &s.DoneBy, &s.Witness, &s.Note, &s.RecordedBy, &s.RecordedAt, &s.Seq); err != nil {
			return Form{}, fmt.Errorf("read the steps of form %s: %w", n, err)
		}
		s.Kind, s.Method = StepKind(kind), Method(method)
		if s.Day, err = time.ParseInLocation(time.DateOnly, day, jptext.JST); err != nil {
			return Form{}, fmt.Errorf("form %s: step day %q: %w", n, day, err)
		}
		if until.Valid {
			if s.Until, err = time.ParseInLocation(time.DateOnly, until.String, jptext.JST); err != nil {
				return Form{}, fmt.Errorf("form %s: until %q: %w", n, until.String, err)
			}
		}
		f.Steps = append(f.Steps, s)
	}
	return f, srows.Err()
}

// ByDigest returns the forms whose bytes had the SHA-256 digest sum: the
// way to tell which form a file found on a desk or a disk is.
func ByDigest(ctx context.Context, d *db.DB, sum string) ([]Form, error) {
	sum = strings.ToLower(strings.TrimSpace(sum))
	rows, err := d.Query(ctx, selectForms+` WHERE digest = ? ORDER BY fiscal_year DESC, serial DESC`, sum)
	if err != nil {
		return nil, fmt.Errorf("find forms by digest: %w", err)
	}
	return scanForms(rows)
}

// numberInText finds a control number where an audit entry names the form
// it issued ("form R8-000012", as Export and the backup write it).
var numberInText = regexp.MustCompile(`\bform ([A-Z]\d{1,2}-\d{6})\b`)

// NumbersIn returns the control numbers an audit entry's detail names.
func NumbersIn(detail string) []Number {
	var out []Number
	for _, m := range numberInText.FindAllStringSubmatch(detail, -1) {
		if n, err := ParseNumber(m[1]); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// AccountFor makes the register account for numbers known from elsewhere
// (after a restore, the forms issued after the backup are named only in the
// audit entries recovered from the witness): in tx, each number the
// register does not hold is entered as void with the reason, and each
// fiscal year's counter moves past the largest, so that no number is
// issued twice. It returns how many numbers it entered.
func AccountFor(ctx context.Context, tx *db.Tx, now time.Time, who staff.Who, numbers []Number, reason string) (int, error) {
	added := 0
	top := map[int]int{}
	for _, n := range numbers {
		if n.IsZero() {
			continue
		}
		top[n.FiscalYear] = max(top[n.FiscalYear], n.Serial)
		var held int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM form WHERE fiscal_year = ? AND serial = ?`, n.FiscalYear, n.Serial).Scan(&held); err != nil {
			return added, fmt.Errorf("look for form %s: %w", n, err)
		}
		if held > 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO form (fiscal_year, serial, state, reserved_by, reserved_at, void_reason) VALUES (?, ?, ?, ?, ?, ?)`,
			n.FiscalYear, n.Serial, string(Void), who.Actor.String(), now.UTC(), reason); err != nil {
			return added, fmt.Errorf("account for form %s: %w", n, err)
		}
		added++
	}
	for fy, serial := range top {
		if _, err := tx.Exec(ctx, `INSERT INTO form_counter (fiscal_year, last_serial) VALUES (?, ?)
			ON CONFLICT (fiscal_year) DO UPDATE SET last_serial = CASE WHEN form_counter.last_serial < excluded.last_serial THEN excluded.last_serial ELSE form_counter.last_serial END`,
			fy, serial); err != nil {
			return added, fmt.Errorf("move the forms' numbers of fiscal year %d past %d: %w", fy, serial, err)
		}
	}
	return added, nil
}
