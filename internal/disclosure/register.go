package disclosure

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/form"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/protect"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The register of disclosure requests (本人確認情報・提供状況の開示請求):
// a resident, or their representative, asks in writing to see what the node
// holds of them and who looked at or received it; the department that
// keeps the register receives the request (how the requester's identity was
// checked, what is asked), its head decides within the profile's period
// (disclose, disclose in part, refuse — with the reason), and the
// department issues the document: a PDF for people and the resident's
// proof (auditlog.ResidentProof) that every access is listed and none left
// out. Every step is decided by the profile's policies and logged as an
// entry concerning the resident, so their next disclosure shows it too.

// The actions of the policies.
const (
	// ActReceive records a request received, and issues the document once
	// decided: the staff of the department that keeps the register.
	ActReceive = "receive-disclosure"
	// ActDecide decides a request: the head of that department.
	ActDecide = "decide-disclosure"
	// ActView opens the register (asked, not logged).
	ActView = "view-disclosures"
)

// Actions are the register's actions, for the policy engine.
var Actions = []string{ActReceive, ActDecide, ActView}

// ActionJapanese names the actions in refusals.
var ActionJapanese = map[string]string{
	ActReceive: "開示請求の受付・開示書の交付", ActDecide: "開示・不開示の決定", ActView: "開示請求の閲覧",
}

// Requester says who made the request.
type Requester string

// The requesters.
const (
	Self           Requester = "self"           // 本人
	Representative Requester = "representative" // 代理人（法定代理人・任意代理人）
)

// Japanese names the requester.
func (r Requester) Japanese() string {
	switch r {
	case Self:
		return "本人"
	case Representative:
		return "代理人"
	}
	return string(r)
}

// IDCheck is how the requester's identity was checked at the counter.
type IDCheck string

// The identity checks.
const (
	MyNumberCard  IDCheck = "my-number-card" // 個人番号カード
	DriverLicence IDCheck = "driver-licence" // 運転免許証
	Passport      IDCheck = "passport"       // 旅券
	OtherDocument IDCheck = "other"          // その他の書類（2点以上）
)

// IDChecks are the checks, in the order the form offers them.
var IDChecks = []IDCheck{MyNumberCard, DriverLicence, Passport, OtherDocument}

// Japanese names the check.
func (c IDCheck) Japanese() string {
	switch c {
	case MyNumberCard:
		return "個人番号カード"
	case DriverLicence:
		return "運転免許証"
	case Passport:
		return "旅券"
	case OtherDocument:
		return "その他の書類（2点以上）"
	}
	return string(c)
}

// Item is what may be asked.
type Item string

// The items.
const (
	ItemIdentity   Item = "identity"   // 本人確認情報
	ItemProvisions Item = "provisions" // 本人確認情報の提供状況
	ItemAccesses   Item = "accesses"   // 利用の記録（照会・検索・異動）
)

// Items are the items, in the order of the form.
var Items = []Item{ItemIdentity, ItemProvisions, ItemAccesses}

// Japanese names the item.
func (i Item) Japanese() string {
	switch i {
	case ItemIdentity:
		return "本人確認情報"
	case ItemProvisions:
		return "本人確認情報の提供状況"
	case ItemAccesses:
		return "利用の記録（照会・検索・異動）"
	}
	return string(i)
}

// Decision is what the head decided.
type Decision string

// The decisions.
const (
	Disclose Decision = "disclose" // 開示
	Partial  Decision = "partial"  // 部分開示
	Refuse   Decision = "refuse"   // 不開示
)

// Japanese names the decision.
func (d Decision) Japanese() string {
	switch d {
	case Disclose:
		return "開示"
	case Partial:
		return "部分開示"
	case Refuse:
		return "不開示"
	}
	return string(d)
}

// State is where a request stands.
type State string

// The states of a request.
const (
	Received State = "received" // 受付済み（決定待ち）
	Decided  State = "decided"  // 決定済み（交付待ち）
	Issued   State = "issued"   // 交付済み
	Closed   State = "closed"   // 不開示で終了
)

// Japanese names the state.
func (s State) Japanese() string {
	switch s {
	case Received:
		return "決定待ち"
	case Decided:
		return "交付待ち"
	case Issued:
		return "交付済み"
	case Closed:
		return "不開示（終了）"
	}
	return string(s)
}

// What a request's text may hold (docs/fields.md).
var (
	FieldRequesterName = resident.Field{Name: "requester-name", Japanese: "請求者の氏名", Class: resident.ClassText, Max: 100}
	FieldAuthority     = resident.Field{Name: "authority", Japanese: "代理権の確認", Class: resident.ClassText, Max: 200}
	FieldReason        = resident.Field{Name: "reason", Japanese: "決定の理由", Class: resident.ClassText, Max: 400}
	FieldDelivery      = resident.Field{Name: "delivery", Japanese: "交付の方法", Class: resident.ClassText, Max: 100}
)

// Request is one disclosure request and what became of it.
type Request struct {
	ID       int64
	Resident string // 住民票コード
	// Requester is the resident or a representative; RequesterName names a
	// representative (empty for the resident); Authority says how their
	// authority was confirmed (委任状, 戸籍謄本 …).
	Requester     Requester
	RequesterName string
	Authority     string
	IDCheck       IDCheck
	Items         []Item
	// Received is the day the request was received; Due the last day of
	// the decision (Received plus the profile's period).
	Received   time.Time
	Due        time.Time
	ReceivedBy string
	ReceivedAt time.Time

	Decision  Decision
	Reason    string
	DecidedBy string
	DecidedAt time.Time

	// IssuedBy and IssuedAt record the document's delivery; Delivery how
	// (窓口交付, 郵送); Entries how many entries the proof listed, ProofSHA256
	// the digest of the proof file issued and CheckpointSize the checkpoint
	// it was proved against.
	IssuedBy       string
	IssuedAt       time.Time
	Delivery       string
	Entries        int64
	ProofSHA256    string
	CheckpointSize int64
	// FormNumber is the issued document's control number in the forms
	// register (R8-000012).
	FormNumber string
}

// State is where the request stands.
func (r Request) State() State {
	switch {
	case !r.IssuedAt.IsZero():
		return Issued
	case r.Decision == Refuse:
		return Closed
	case r.Decision != "":
		return Decided
	}
	return Received
}

// Overdue says whether, at now, the request's decision is past its due day.
func (r Request) Overdue(now time.Time) bool {
	return r.Decision == "" && !now.Before(r.Due.AddDate(0, 0, 1))
}

// Register keeps a node's disclosure requests.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	prof  *profile.Profile
	node  string
	// Now is the register's clock (the node's).
	Now func() time.Time
	// Forms is the forms register (帳票管理簿): each document issued or
	// reprinted is a form with its control number printed on it.
	Forms *form.Register
	// Alarm raises the immediate alert of a request concerning a resident
	// under a support measure (支援措置), in the transaction of its entry
	// (detect.Alarm; the node sets it). Without it such a request is refused.
	Alarm func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry, protected []string) error
}

// protected says whether the resident is under a support measure now.
func (r *Register) protected(ctx context.Context, code string) (bool, error) {
	facts, err := protect.Load(ctx, r.db)
	if err != nil {
		return false, err
	}
	in, _ := facts.InForce(r.now())
	_, ok := in[code]
	return ok, nil
}

// New returns the register of the node named node.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, prof *profile.Profile, node string) *Register {
	return &Register{db: d, log: log, authz: authz, prof: prof, node: node}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// DB is the register's database.
func (r *Register) DB() *db.DB { return r.db }

// Department is the department that keeps the register, from the profile.
func (r *Register) Department() (profile.Department, bool) {
	return r.prof.Department(r.prof.Disclosure.Department)
}

// department is the request's resource: the department that keeps the register.
func (r *Register) department() staff.Resource {
	return staff.Resource{Kind: "department", ID: r.prof.Disclosure.Department}
}

// administer makes one change about the resident once the policies allow
// it, in the transaction of its audit entry, which concerns the resident.
func (r *Register) administer(ctx context.Context, who staff.Who, action, verb, code, query, detail string,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	return staff.Administer(ctx, r.log, r.authz, who, action, r.department(), r.entry(who, verb, code, query, detail), work)
}

// Receive records a request received and returns its number. The
// requester's identity check and the items asked are required; a
// representative needs their name and how their authority was confirmed.
// The decision is due the profile's number of days after the day received.
func (r *Register) Receive(ctx context.Context, who staff.Who, q Request) (int64, error) {
	code, err := ids.ParseResidentCode(strings.TrimSpace(q.Resident))
	if err != nil {
		return 0, apperr.New(apperr.Invalid, err.Error(),
			fmt.Sprintf("住民票コード「%s」が正しくありません（11桁、検査数字を含む）", q.Resident))
	}
	q.Resident = string(code)
	q.RequesterName, q.Authority = strings.TrimSpace(q.RequesterName), strings.TrimSpace(q.Authority)
	switch q.Requester {
	case Self:
	case Representative:
		if q.RequesterName == "" || q.Authority == "" {
			return 0, apperr.New(apperr.Invalid, "a representative's request needs their name and how their authority was confirmed",
				"代理人による請求には、代理人の氏名と代理権の確認方法（委任状など）が必要です")
		}
	default:
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("requester %q: self or representative", q.Requester), "請求者が本人か代理人かを選んでください")
	}
	if !slices.Contains(IDChecks, q.IDCheck) {
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("identity check %q: one of my-number-card, driver-licence, passport, other", q.IDCheck),
			"請求者の本人確認の方法を選んでください")
	}
	q.Items = tidyItems(q.Items)
	if len(q.Items) == 0 {
		return 0, apperr.New(apperr.Invalid, "no item asked: identity, provisions or accesses", "開示を求める事項を一つ以上選んでください")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldRequesterName, Text: q.RequesterName},
		resident.Value{Field: FieldAuthority, Text: q.Authority}); err != nil {
		return 0, err
	}
	today := jptext.Midnight(r.now())
	if q.Received.IsZero() {
		q.Received = today
	}
	if q.Received.After(today) {
		return 0, apperr.New(apperr.Invalid, "the day received is in the future", "受付日が未来の日付です")
	}
	q.Due = q.Received.AddDate(0, 0, r.prof.Disclosure.Days)
	// A resident under a support measure (支援措置) is asked about only by
	// herself: a representative may be the very person she fled. Every
	// request concerning her alerts the security officers at once.
	protected, err := r.protected(ctx, q.Resident)
	if err != nil {
		return 0, err
	}
	if protected && r.Alarm == nil {
		return 0, apperr.New(apperr.Unavailable, "no alarm for protected residents: the request is refused",
			"支援措置の対象者に関する通知ができないため、受け付けられません")
	}
	if protected && q.Requester == Representative {
		e := r.entry(who, "receive", q.Resident, "requester:representative", "refused: the resident is under a support measure; only she may ask")
		e.Decision, e.Outcome, e.Policy = auditlog.Deny, auditlog.OutcomeDenied, "disclosure:protected-resident-self-only"
		e.Why = "the resident is under a support measure: a representative's request is refused"
		e.WhyJapanese = "この住民は支援措置の対象者のため、代理人による開示請求は受け付けられません"
		if _, werr, err := r.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
			return r.Alarm(ctx, tx, seq, e, []string{q.Resident})
		}); err != nil || werr != nil {
			return 0, fmt.Errorf("log the refused request: %w", errors.Join(err, werr))
		}
		return 0, apperr.New(apperr.Forbidden, "the resident is under a support measure: only she may ask, in person",
			"この住民は支援措置の対象者です。代理人による開示請求は受け付けられません。本人が窓口で本人確認のうえ請求してください（セキュリティ責任者に通知しました）")
	}
	var id int64
	err = r.administer(ctx, who, ActReceive, "receive", q.Resident, "requester:"+string(q.Requester),
		fmt.Sprintf("request received %s: %s; decision due %s", q.Received.Format(time.DateOnly), joinItems(q.Items), q.Due.Format(time.DateOnly)),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if protected {
				e := r.entry(who, "receive", q.Resident, "requester:"+string(q.Requester), "")
				e.Time, e.Decision, e.Policy = now, auditlog.Allow, ActReceive
				if err := r.Alarm(ctx, tx, seq, &e, []string{q.Resident}); err != nil {
					return fmt.Errorf("alert the security officers: %w", err)
				}
			}
			return tx.QueryRow(ctx, `INSERT INTO disclosure_request (resident_code, requester, requester_name, authority, id_check, items,
				received_day, due_day, received_by, received_at, received_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				q.Resident, string(q.Requester), q.RequesterName, q.Authority, string(q.IDCheck), joinItems(q.Items),
				q.Received.Format(time.DateOnly), q.Due.Format(time.DateOnly), who.Actor.String(), now, seq).Scan(&id)
		})
	return id, err
}

func tidyItems(items []Item) []Item {
	var out []Item
	for _, it := range Items {
		if slices.Contains(items, it) {
			out = append(out, it)
		}
	}
	return out
}

func joinItems(items []Item) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = string(it)
	}
	return strings.Join(s, ",")
}

// Decide records the head's decision on a request not yet decided, with
// its reason (required unless the decision is to disclose in full).
func (r *Register) Decide(ctx context.Context, who staff.Who, id int64, d Decision, reason string) error {
	reason = strings.TrimSpace(reason)
	if !slices.Contains([]Decision{Disclose, Partial, Refuse}, d) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("decision %q: disclose, partial or refuse", d), "開示・部分開示・不開示のいずれかを選んでください")
	}
	if d != Disclose && reason == "" {
		return apperr.New(apperr.Invalid, "a partial disclosure or a refusal needs its reason", "部分開示・不開示の決定には理由が必要です")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldReason, Text: reason}); err != nil {
		return err
	}
	q, err := Get(ctx, r.db, id)
	if err != nil {
		return err
	}
	return r.administer(ctx, who, ActDecide, string(d), q.Resident, fmt.Sprintf("request:%d", id), fmt.Sprintf("request %d: %s %s", id, d, reason),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE disclosure_request SET decision = ?, reason = ?, decided_by = ?, decided_at = ?, decided_seq = ?
				WHERE id = ? AND decision IS NULL`, string(d), reason, who.Actor.String(), now, seq, id)
			if err != nil {
				return fmt.Errorf("decide request %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("request %d is already decided", id), fmt.Sprintf("開示請求 第%d号は決定済みです", id))
			}
			return nil
		})
}

// IssuedDocument is what Issue and Reissue hand over: the request as
// recorded, the resident's proof as written (JSON), and the document for
// the resident (PDF) with its form in the forms register.
type IssuedDocument struct {
	Request Request
	Proof   *auditlog.ResidentProof
	JSON    []byte
	PDF     []byte
	Form    form.Form
}

// Render makes the document for the resident with its control number.
type Render func(doc *IssuedDocument, n form.Number) ([]byte, error)

// Issue issues the document of a request decided to be disclosed (in full
// or in part): it signs a checkpoint of the log as it is now, proves every
// entry concerning the resident up to it, renders the document with its
// control number, and records the delivery with the proof's digest and
// count, and the document's form, in the transaction of its audit entry;
// only then does it return the proof and the document to hand over.
func (r *Register) Issue(ctx context.Context, who staff.Who, id int64, delivery string, render Render) (*IssuedDocument, error) {
	delivery = strings.TrimSpace(delivery)
	if delivery == "" {
		delivery = "窓口交付"
	}
	if err := resident.CheckValues(resident.Value{Field: FieldDelivery, Text: delivery}); err != nil {
		return nil, err
	}
	q, err := Get(ctx, r.db, id)
	if err != nil {
		return nil, err
	}
	switch q.State() {
	case Received:
		return nil, apperr.New(apperr.Conflict, fmt.Sprintf("request %d is not decided yet", id), fmt.Sprintf("開示請求 第%d号はまだ決定されていません。先に開示・不開示を決定してください", id))
	case Closed:
		return nil, apperr.New(apperr.Conflict, fmt.Sprintf("request %d was refused: nothing is issued", id), fmt.Sprintf("開示請求 第%d号は不開示と決定されたため、交付するものはありません", id))
	case Issued:
		return nil, apperr.New(apperr.Conflict, fmt.Sprintf("request %d was issued already", id), fmt.Sprintf("開示請求 第%d号は交付済みです", id))
	}
	// A checkpoint of the log as it is now, so the document is complete up
	// to the moment of issue.
	if _, err := r.log.Checkpoint(ctx); err != nil {
		return nil, fmt.Errorf("sign a checkpoint for the disclosure: %w", err)
	}
	proof, raw, err := Prove(ctx, r.db, q.Resident)
	if err != nil {
		return nil, err
	}
	size := CheckpointSize(proof)
	digest := fmt.Sprintf("%x", sha256.Sum256(raw))
	issued := q
	issued.Delivery, issued.Entries, issued.ProofSHA256, issued.CheckpointSize = delivery, int64(len(proof.Entries)), digest, size
	doc := &IssuedDocument{Request: issued, Proof: proof, JSON: raw}
	e := r.entry(who, "issue", q.Resident, fmt.Sprintf("request:%d", id),
		fmt.Sprintf("request %d issued (%s): %d entries up to checkpoint %d, proof sha256 %s", id, delivery, len(proof.Entries), size, digest))
	work := func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
		res, err := tx.Exec(ctx, `UPDATE disclosure_request SET issued_by = ?, issued_at = ?, issued_seq = ?, delivery = ?, entries = ?,
			proof_sha256 = ?, checkpoint_size = ?, proof = ?, pdf = ?, form_number = ? WHERE id = ? AND issued_at IS NULL`,
			who.Actor.String(), now, seq, delivery, len(proof.Entries), digest, size, raw, doc.PDF, doc.Form.Number.String(), id)
		if err != nil {
			return fmt.Errorf("record the issue of request %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.Conflict, fmt.Sprintf("request %d was issued already", id), fmt.Sprintf("開示請求 第%d号は交付済みです", id))
		}
		return nil
	}
	// The document goes to the resident as it is issued: its form is
	// recorded as handed over, to the resident by the delivery named.
	if err := r.document(ctx, who, doc, "請求者（"+delivery+"）", true, e, render, work); err != nil {
		return nil, err
	}
	if doc.Request, err = Get(ctx, r.db, id); err != nil {
		return nil, err
	}
	return doc, nil
}

// entry is the audit entry of a step of a request, concerning its resident.
func (r *Register) entry(who staff.Who, verb, code, query, detail string) auditlog.Entry {
	return auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "disclosure." + verb, Query: query, Detail: detail,
		Affair: "本人確認情報の提供状況の開示", Subjects: []string{code}, Count: 1}
}

// document renders doc's PDF as a form of the forms register (its number
// printed on it; handed over to destination at once when handedOver) and
// appends e with work and the form's issue in one transaction; without a
// forms register it is refused, as every export is.
func (r *Register) document(ctx context.Context, who staff.Who, doc *IssuedDocument, destination string, handedOver bool, e auditlog.Entry, render Render,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	if r.Forms == nil {
		return apperr.New(apperr.Unavailable, "no forms register: documents are refused", "帳票管理簿がないため、開示書を出力できません")
	}
	out := form.Output{Kind: form.KindDisclosure, Format: "pdf", Title: fmt.Sprintf("本人確認情報の提供状況等の開示書（開示請求 第%d号）", doc.Request.ID),
		Covers: fmt.Sprintf("開示請求 第%d号、記録 %d件", doc.Request.ID, len(doc.Proof.Entries)), Residents: 1, Destination: destination,
		HandedOver: handedOver}
	f, pdf, err := r.Forms.Export(ctx, who, ActReceive, r.department(), e, out, func(n form.Number) ([]byte, error) {
		b, err := render(doc, n)
		doc.PDF, doc.Form.Number = b, n
		return b, err
	}, work)
	if err != nil {
		return err
	}
	doc.PDF, doc.Form = pdf, f
	return nil
}

// Download hands over the document as issued — the same PDF, its form
// already handed over to the requester, and the same proof file — for the
// clerk who issued it to print or save it, logged as disclosure.download
// (no new form: the bytes are those of the issued one).
func (r *Register) Download(ctx context.Context, who staff.Who, id int64) (*IssuedDocument, error) {
	q, err := Get(ctx, r.db, id)
	if err != nil {
		return nil, err
	}
	if q.State() != Issued {
		return nil, apperr.New(apperr.Conflict, fmt.Sprintf("request %d is not issued", id), fmt.Sprintf("開示請求 第%d号はまだ交付されていません", id))
	}
	doc := &IssuedDocument{Request: q}
	var number string
	err = r.administer(ctx, who, ActReceive, "download", q.Resident, fmt.Sprintf("request:%d", id),
		fmt.Sprintf("request %d: the issued document and proof handed out again (proof sha256 %s)", id, q.ProofSHA256),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := tx.QueryRow(ctx, `SELECT proof, pdf, form_number FROM disclosure_request WHERE id = ?`, id).Scan(&doc.JSON, &doc.PDF, &number); err != nil {
				return fmt.Errorf("read the document of request %d: %w", id, err)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	var p auditlog.ResidentProof
	if err := json.Unmarshal(doc.JSON, &p); err != nil {
		return nil, fmt.Errorf("the stored proof of request %d: %w", id, err)
	}
	doc.Proof = &p
	if n, err := form.ParseNumber(number); err == nil {
		doc.Form.Number = n
	}
	return doc, nil
}

// Reissue hands over an issued request's document again — the proof
// stored at its issue, unchanged, and its PDF as a new form — for a
// reprint (a resident who lost it, a copy for the file), logged as
// disclosure.reprint before it is returned.
func (r *Register) Reissue(ctx context.Context, who staff.Who, id int64, destination string, render Render) (*IssuedDocument, error) {
	q, err := Get(ctx, r.db, id)
	if err != nil {
		return nil, err
	}
	if q.State() != Issued {
		return nil, apperr.New(apperr.Conflict, fmt.Sprintf("request %d is not issued", id), fmt.Sprintf("開示請求 第%d号はまだ交付されていません", id))
	}
	var raw []byte
	if err := r.db.QueryRow(ctx, `SELECT proof FROM disclosure_request WHERE id = ?`, id).Scan(&raw); err != nil {
		return nil, fmt.Errorf("read the proof of request %d: %w", id, err)
	}
	var p auditlog.ResidentProof
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("the stored proof of request %d: %w", id, err)
	}
	doc := &IssuedDocument{Request: q, Proof: &p, JSON: raw}
	e := r.entry(who, "reprint", q.Resident, fmt.Sprintf("request:%d", id), fmt.Sprintf("request %d reprinted, proof sha256 %s", id, q.ProofSHA256))
	// A reprint stays with whoever printed it unless a destination is
	// named: the forms register follows it to its storage or disposal.
	if err := r.document(ctx, who, doc, destination, false, e, render, nil); err != nil {
		return nil, err
	}
	return doc, nil
}

const requestColumns = `id, resident_code, requester, requester_name, authority, id_check, items, received_day, due_day, received_by, received_at,
	decision, reason, decided_by, decided_at, issued_by, issued_at, delivery, entries, proof_sha256, checkpoint_size, form_number`

func scanRequest(row interface{ Scan(...any) error }) (Request, error) {
	var q Request
	var requester, check, items, received, due string
	var decision, reason, decidedBy, issuedBy, delivery, digest, number sql.NullString
	var decidedAt, issuedAt sql.NullTime
	var entries, size sql.NullInt64
	err := row.Scan(&q.ID, &q.Resident, &requester, &q.RequesterName, &q.Authority, &check, &items, &received, &due, &q.ReceivedBy, &q.ReceivedAt,
		&decision, &reason, &decidedBy, &decidedAt, &issuedBy, &issuedAt, &delivery, &entries, &digest, &size, &number)
	if err != nil {
		return q, err
	}
	q.Requester, q.IDCheck = Requester(requester), IDCheck(check)
	for _, it := range strings.Split(items, ",") {
		if it != "" {
			q.Items = append(q.Items, Item(it))
		}
	}
	if q.Received, err = time.ParseInLocation(time.DateOnly, received, jptext.JST); err != nil {
		return q, fmt.Errorf("request %d: received day %q: %w", q.ID, received, err)
	}
	if q.Due, err = time.ParseInLocation(time.DateOnly, due, jptext.JST); err != nil {
		return q, fmt.Errorf("request %d: due day %q: %w", q.ID, due, err)
	}
	q.Decision, q.Reason, q.DecidedBy, q.DecidedAt = Decision(decision.String), reason.String, decidedBy.String, decidedAt.Time
	q.IssuedBy, q.IssuedAt, q.Delivery, q.Entries, q.ProofSHA256, q.CheckpointSize = issuedBy.String, issuedAt.Time, delivery.String, entries.Int64, digest.String, size.Int64
	q.FormNumber = number.String
	return q, nil
}

// Get returns one request.
func Get(ctx context.Context, q db.Querier, id int64) (Request, error) {
	r, err := scanRequest(q.QueryRow(ctx, `SELECT `+requestColumns+` FROM disclosure_request WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, apperr.New(apperr.NotFound, fmt.Sprintf("disclosure request %d is not recorded", id), fmt.Sprintf("開示請求 第%d号はありません", id))
	}
	if err != nil {
		return r, fmt.Errorf("read disclosure request %d: %w", id, err)
	}
	return r, nil
}

// List returns every request, the newest first.
func List(ctx context.Context, q db.Querier) ([]Request, error) {
	rows, err := q.Query(ctx, `SELECT `+requestColumns+` FROM disclosure_request ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list disclosure requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("list disclosure requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Overdue returns the requests whose decision is past its due day at now.
func Overdue(ctx context.Context, q db.Querier, now time.Time) ([]Request, error) {
	all, err := List(ctx, q)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(r Request) bool { return !r.Overdue(now) }), nil
}

// Prove writes the resident's proof (every entry concerning them up to the
// latest checkpoint) and its JSON, as issued.
func Prove(ctx context.Context, d *db.DB, code string) (*auditlog.ResidentProof, []byte, error) {
	p, err := auditlog.ProveResident(ctx, d, code)
	if err != nil {
		if errors.Is(err, auditlog.ErrPrunedEntries) {
			return nil, nil, apperr.New(apperr.Conflict, err.Error(),
				"この住民に関する記録の一部は、保存期間の経過により内容が削除されているため、漏れのないことの証明を作成できません。削除前の記録の開示は、紙の記録により対応してください")
		}
		if errors.Is(err, auditlog.ErrMapBehind) {
			return nil, nil, apperr.New(apperr.Unavailable, err.Error()+": try again in a minute",
				"監査ログの住民別索引が最新のチェックポイントに追いついていません。1分ほど待ってから、もう一度交付してください")
		}
		return nil, nil, err
	}
	raw, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		return nil, nil, fmt.Errorf("write the proof of %s: %w", code, err)
	}
	return p, raw, nil
}

// CheckpointSize is the size the proof's checkpoint states (its second
// line); 0 when it does not parse. The verifier checks it with the
// signature; this is for the register's record.
func CheckpointSize(p *auditlog.ResidentProof) int64 {
	lines := strings.SplitN(p.Checkpoint, "\n", 3)
	if len(lines) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(lines[1], 10, 64)
	return n
}
