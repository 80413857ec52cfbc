// Package correspondence keeps the reports (報告) and requests (依頼・要請)
// one body sends another over the network (koto-ward:15: the mayor asks
// Tokyo, other municipalities and J-LIS for reports on the measures taken
// for identity information and requests measures; a municipality reports
// incidents, audit results and the state of use to its prefecture, and the
// prefecture to the national node).
//
// A document has an id unique in the network (SENDER-RECIPIENT-SEQ, the
// sequence counting the sender's documents to that recipient from 1), a
// kind, a subject, a body, references to what it concerns (an incident, an
// audit, a usage status report, the audit entry of an access: never more
// personal data than needed), the sending and receiving bodies, the staff
// member who sent it, and for a request the day its answer is due.
//
// Sending is decided by the profile's policies (send-correspondence, per
// article) and made in the transaction of its audit entry
// (correspondence.send): the document is signed as a C2SP signed note
// with the node's key and queued (state queued) before it leaves. The
// federation's correspondent (internal/federation) delivers the queue to
// the recipient peer over mutual TLS, in sequence order per recipient,
// and records the recipient's signed acknowledgement (acknowledged) or
// its refusal (refused). The receiving node stores a document once
// (correspondence.receive): an id it already holds, or a sequence not
// greater than the sender's last, is a replay and refused.
//
// A request stays open until an answer (a report of kind answer naming it)
// is sent, by the body that received it, or received, by the body that
// sent it; one not answered by the end of its due day is overdue on the
// node's clock.
package correspondence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The actions of the policies.
const (
	// ActSend drafts and sends a report or a request to another body, or
	// the answer to a request received (koto-ward:15; aomori-pref:4.2).
	ActSend = "send-correspondence"
	// ActView opens the correspondence (asked, not logged).
	ActView = "view-correspondence"
)

// Actions are the record's actions, for the policy engine.
var Actions = []string{ActSend, ActView}

// ActionJapanese names the actions in refusals.
var ActionJapanese = map[string]string{
	ActSend: "他機関への報告・依頼の送付", ActView: "他機関との報告・依頼の閲覧",
}

// Kind is a kind of document.
type Kind string

// The kinds of document: four reports, three requests.
const (
	KindIncident Kind = "incident" // 事案の報告
	KindAudit    Kind = "audit"    // 監査結果の報告
	KindUsage    Kind = "usage"    // 利用状況の報告
	KindAnswer   Kind = "answer"   // 依頼への回答
	KindOther    Kind = "other"    // その他の報告
	// KindInvestigate asks the recipient to investigate an access (the
	// audit entry it references).
	KindInvestigate Kind = "investigate" // 調査の依頼
	// KindReportRequest asks for a report on the measures taken (koto-ward:15).
	KindReportRequest Kind = "report-request" // 報告の求め
	// KindMeasures requests measures (koto-ward:15).
	KindMeasures Kind = "measures" // 措置の要請
)

// Kinds are every kind, reports first.
var Kinds = []Kind{KindIncident, KindAudit, KindUsage, KindOther, KindAnswer, KindInvestigate, KindReportRequest, KindMeasures}

// Request says whether the kind is a request, tracked to an answer.
func (k Kind) Request() bool {
	return k == KindInvestigate || k == KindReportRequest || k == KindMeasures
}

// Valid says whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Japanese names the kind.
func (k Kind) Japanese() string {
	switch k {
	case KindIncident:
		return "事案の報告"
	case KindAudit:
		return "監査結果の報告"
	case KindUsage:
		return "利用状況の報告"
	case KindAnswer:
		return "依頼への回答"
	case KindOther:
		return "その他の報告"
	case KindInvestigate:
		return "アクセスの調査の依頼"
	case KindReportRequest:
		return "報告の求め"
	case KindMeasures:
		return "措置の要請"
	}
	return string(k)
}

// English names the kind.
func (k Kind) English() string {
	switch k {
	case KindIncident:
		return "Incident report"
	case KindAudit:
		return "Audit result"
	case KindUsage:
		return "Usage status"
	case KindAnswer:
		return "Answer to a request"
	case KindOther:
		return "Other report"
	case KindInvestigate:
		return "Request to investigate an access"
	case KindReportRequest:
		return "Request for a report"
	case KindMeasures:
		return "Request for measures"
	}
	return string(k)
}

// Direction says whether this node sent or received a document.
type Direction string

// The directions.
const (
	Out Direction = "out"
	In  Direction = "in"
)

// State is where a document is.
type State string

// The states. An outgoing document is queued until the recipient
// acknowledges it (acknowledged) or refuses it (refused); delivered means
// the recipient took it but its acknowledgement did not verify. A
// received one is received.
const (
	Queued       State = "queued"
	Delivered    State = "delivered"
	Acknowledged State = "acknowledged"
	Refused      State = "refused"
	Received     State = "received"
)

// Japanese names the state.
func (s State) Japanese() string {
	return map[State]string{Queued: "送信待ち", Delivered: "配達済み（受領未確認）", Acknowledged: "受領確認済み", Refused: "受領拒否", Received: "受信"}[s]
}

// English names the state.
func (s State) English() string {
	return map[State]string{Queued: "Queued", Delivered: "Delivered (unconfirmed)", Acknowledged: "Acknowledged", Refused: "Refused", Received: "Received"}[s]
}

// What a document's text may hold (docs/fields.md); the same at the
// sender's doors and at the receiver.
var (
	FieldSubject   = resident.Field{Name: "subject", Japanese: "件名", Class: resident.ClassText, Max: 100}
	FieldBody      = resident.Field{Name: "body", Japanese: "本文", Class: resident.ClassText, Max: 4000}
	FieldReference = resident.Field{Name: "refs", Japanese: "参照", Class: resident.ClassText, Max: 80}
	FieldStaffName = resident.Field{Name: "sent_by_name", Japanese: "送付者", Class: resident.ClassText, Max: 100}
)

// MaxReferences is the most references a document carries.
const MaxReferences = 10

// The kinds of reference. None names a resident: an access is referenced
// by its audit entry, which the recipient reads in its own log.
const (
	RefIncident     = "incident"      // an incident (事案) of the sender
	RefAlert        = "alert"         // a detection alert
	RefAudit        = "audit"         // a system audit (監査)
	RefStatusReport = "status-report" // a usage status report (利用状況報告)
	RefAuditEntry   = "audit-entry"   // an entry of an audit log: an access
	RefDocument     = "document"      // another document of the correspondence
)

// RefKinds are the kinds of reference, in the order forms offer them.
var RefKinds = []string{RefIncident, RefAlert, RefAudit, RefStatusReport, RefAuditEntry, RefDocument}

// Document is a report or a request between bodies.
type Document struct {
	ID         string
	Direction  Direction
	Sender     string // the sending body's code
	Recipient  string
	Seq        int64
	Kind       Kind
	Subject    string
	Body       string
	References []string // kind:value
	// Answers is, for an answer, the id of the request it answers.
	Answers string
	// Due is, for a request, the last day for its answer (midnight JST).
	Due        time.Time
	SentBy     string // the staff member who sent it (actor)
	SentByName string
	SentAt     time.Time
	// Note is the signed note that carries it.
	Note        string
	State       State
	RecordedAt  time.Time
	RecordedSeq int64
	Attempts    int
	LastTry     time.Time
	LastError   string
	AckNote     string
	AckedAt     time.Time
	// AnsweredBy and AnsweredAt are, for a request, its answer.
	AnsweredBy string
	AnsweredAt time.Time
}

// Answered says whether the request has its answer.
func (d Document) Answered() bool { return d.AnsweredBy != "" }

// Overdue says whether d is a request whose due day is over at now,
// unanswered.
func (d Document) Overdue(now time.Time) bool {
	return d.Kind.Request() && !d.Answered() && !d.Due.IsZero() && !now.Before(d.Due.AddDate(0, 0, 1))
}

// RequestState names a request's state: open, answered or overdue ("" for
// a report).
func (d Document) RequestState(now time.Time) string {
	switch {
	case !d.Kind.Request():
		return ""
	case d.Answered():
		return "answered"
	case d.Overdue(now):
		return "overdue"
	}
	return "open"
}

// Peer is the other body of a document: the recipient of one sent, the
// sender of one received.
func (d Document) Peer() string {
	if d.Direction == Out {
		return d.Recipient
	}
	return d.Sender
}

// Draft is what a clerk writes: the document before it is numbered, signed
// and queued.
type Draft struct {
	Recipient  string
	Kind       Kind
	Subject    string
	Body       string
	References []string
	Answers    string
	Due        time.Time
}

// Body is a body this node may write to: a registered peer with an address.
type Body struct {
	Code string
	Name string
	Role string // upstream, downstream
}

// Register keeps a node's correspondence.
type Register struct {
	db     *db.DB
	log    *auditlog.Log
	authz  staff.Authorizer
	prof   *profile.Profile
	node   string
	signer note.Signer
	// Now is the node's clock (a request is not due in the past; what is
	// overdue); nil means time.Now.
	Now func() time.Time
	// Wake, when set, is told that a document was queued, so that the
	// correspondent delivers it at once.
	Wake func()
}

// New returns the correspondence of the node named node, whose documents
// signer signs.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, prof *profile.Profile, node string, signer note.Signer) *Register {
	return &Register{db: d, log: log, authz: authz, prof: prof, node: node, signer: signer}
}

// Node is the code this node signs its documents as.
func (r *Register) Node() string { return r.node }

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Bodies lists the bodies this node may write to: its registered peers
// with an address (the federation's peers, read here, never written).
func Bodies(ctx context.Context, q db.Querier) ([]Body, error) {
	rows, err := q.Query(ctx, `SELECT code, name, role FROM fed_peer WHERE url <> '' ORDER BY role DESC, code`)
	if err != nil {
		return nil, fmt.Errorf("list the bodies to write to: %w", err)
	}
	defer rows.Close()
	var out []Body
	for rows.Next() {
		var b Body
		if err := rows.Scan(&b.Code, &b.Name, &b.Role); err != nil {
			return nil, fmt.Errorf("list the bodies to write to: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// CheckText checks a subject and a body (which may hold line breaks)
// against their fields, and returns them trimmed, line breaks as \n.
func CheckText(subject, body string) (string, string, error) {
	subject = strings.TrimSpace(subject)
	body = strings.TrimSpace(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(body))
	if err := resident.CheckValues(resident.Value{Field: FieldSubject, Text: subject, Required: true},
		resident.Value{Field: FieldBody, Text: strings.ReplaceAll(body, "\n", " "), Required: true}); err != nil {
		return "", "", err
	}
	return subject, body, nil
}

// ParseReferences reads references written as kind:value, separated by
// spaces, commas or line breaks; each kind must be known, each value a
// number or (a document) a document id.
func ParseReferences(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == '\n' || r == '\r' || r == '\t' || r == '、' || r == '　'
	})
	return CheckReferences(fields)
}

// CheckReferences checks references (kind:value) and returns them without
// duplicates.
func CheckReferences(refs []string) ([]string, error) {
	var out []string
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		if ref == "" || slices.Contains(out, ref) {
			continue
		}
		if err := resident.CheckValues(resident.Value{Field: FieldReference, Text: ref}); err != nil {
			return nil, err
		}
		kind, value, ok := strings.Cut(ref, ":")
		bad := apperr.New(apperr.Invalid, fmt.Sprintf("reference %q: write kind:number, kind one of %s", ref, strings.Join(RefKinds, ", ")),
			fmt.Sprintf("参照「%s」を読み取れません。incident:3（事案）、audit:2（監査）、status-report:1（利用状況報告）、audit-entry:1234（アクセスの記録）の形で入力してください", ref))
		if !ok || !slices.Contains(RefKinds, kind) {
			return nil, bad
		}
		if kind == RefDocument {
			if _, _, _, err := ParseID(value); err != nil {
				return nil, bad
			}
		} else if n, err := strconv.ParseInt(value, 10, 64); err != nil || n <= 0 {
			return nil, bad
		}
		out = append(out, ref)
	}
	if len(out) > MaxReferences {
		return nil, apperr.New(apperr.Invalid, fmt.Sprintf("at most %d references", MaxReferences), fmt.Sprintf("参照は%d件までです", MaxReferences))
	}
	return out, nil
}

// ID is a document's id: the sender, the recipient and the sender's
// sequence towards it.
func ID(sender, recipient string, seq int64) string {
	return fmt.Sprintf("%s-%s-%d", sender, recipient, seq)
}

// ParseID reads a document id.
func ParseID(id string) (sender, recipient string, seq int64, err error) {
	parts := strings.Split(id, "-")
	if len(parts) == 3 {
		seq, err = strconv.ParseInt(parts[2], 10, 64)
		if err == nil && seq > 0 && codeLike(parts[0]) && codeLike(parts[1]) {
			return parts[0], parts[1], seq, nil
		}
	}
	return "", "", 0, apperr.New(apperr.Invalid, fmt.Sprintf("document id %.40q: want SENDER-RECIPIENT-NUMBER, e.g. 131083-130001-1", id),
		fmt.Sprintf("文書番号「%.40s」を読み取れません（例: 131083-130001-1）", id))
}

// codeLike says whether s may be a node's code: six digits or national.
func codeLike(s string) bool {
	if s == "national" {
		return true
	}
	if len(s) != 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParseDue reads a request's due day as clerks write it (jptext.ParseDay:
// 令和8年12月15日, R8.12.15, 2026-12-15 …); none is no due day.
func ParseDue(s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, nil
	}
	return jptext.ParseDay("due", "回答期限", s)
}

// check checks a draft at now and returns it tidied.
func check(d Draft, now time.Time) (Draft, error) {
	if !d.Kind.Valid() {
		return d, apperr.New(apperr.Invalid, fmt.Sprintf("kind %q: one of %v", d.Kind, Kinds), "報告・依頼の種類を選んでください")
	}
	var err error
	if d.Subject, d.Body, err = CheckText(d.Subject, d.Body); err != nil {
		return d, err
	}
	if d.References, err = CheckReferences(d.References); err != nil {
		return d, err
	}
	switch {
	case d.Kind.Request() && d.Due.IsZero():
		return d, apperr.New(apperr.Invalid, "due: a request needs the day its answer is due", "依頼には回答期限を入力してください")
	case d.Kind.Request() && d.Due.Before(jptext.Midnight(now)):
		return d, apperr.New(apperr.Invalid, fmt.Sprintf("due %s is in the past", d.Due.Format(time.DateOnly)),
			fmt.Sprintf("回答期限（%s）が過ぎた日です", jptext.FormatWareki(d.Due)))
	case !d.Kind.Request():
		d.Due = time.Time{}
	}
	if d.Kind == KindAnswer {
		if _, _, _, err := ParseID(d.Answers); err != nil {
			return d, apperr.New(apperr.Invalid, "answers: name the request answered", "回答する依頼を選んでください")
		}
	} else {
		d.Answers = ""
	}
	if d.Kind == KindInvestigate && !slices.ContainsFunc(d.References, func(s string) bool { return strings.HasPrefix(s, RefAuditEntry+":") }) {
		return d, apperr.New(apperr.Invalid, "a request to investigate an access references its audit entry (audit-entry:N)",
			"アクセスの調査の依頼には、そのアクセスの記録（audit-entry:番号）を参照として入力してください")
	}
	return d, nil
}

// Send numbers, signs and queues a document from this node to d's
// recipient, as who; decided by the policies (send-correspondence) and
// logged (correspondence.send), the document in the sender's log before
// it leaves. An answer also closes the request it answers.
func (r *Register) Send(ctx context.Context, who staff.Who, d Draft) (Document, error) {
	d.Recipient = strings.TrimSpace(d.Recipient)
	d, err := check(d, r.now())
	if err != nil {
		return Document{}, err
	}
	var out Document
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "correspondence.send", Query: "to:" + d.Recipient}
	err = r.administer(ctx, who, ActSend, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		bodies, err := Bodies(ctx, tx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(bodies, func(b Body) bool { return b.Code == d.Recipient }) {
			return apperr.New(apperr.Invalid, fmt.Sprintf("recipient %.40q: not a registered peer with an address (jukinet federation status lists them)", d.Recipient),
				fmt.Sprintf("送付先「%.40s」は接続先として登録されていないか、接続先URLがありません", d.Recipient))
		}
		if d.Kind == KindAnswer {
			req, err := get(ctx, tx, d.Answers)
			if err != nil {
				return err
			}
			switch {
			case req.Direction != In || !req.Kind.Request():
				return apperr.New(apperr.Invalid, fmt.Sprintf("%s is not a request this node received", d.Answers), fmt.Sprintf("%s はこのノードが受けた依頼ではありません", d.Answers))
			case req.Sender != d.Recipient:
				return apperr.New(apperr.Invalid, fmt.Sprintf("the answer to %s goes to %s, its sender", d.Answers, req.Sender), fmt.Sprintf("%s への回答の送付先は依頼元（%s）です", d.Answers, req.Sender))
			case req.Answered():
				return apperr.New(apperr.Conflict, fmt.Sprintf("%s is already answered by %s", d.Answers, req.AnsweredBy), fmt.Sprintf("%s には回答済みです（%s）", d.Answers, req.AnsweredBy))
			}
		}
		var last int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM corr_document WHERE direction = 'out' AND recipient = ?`, d.Recipient).Scan(&last); err != nil {
			return fmt.Errorf("number the document: %w", err)
		}
		out = Document{ID: ID(r.node, d.Recipient, last+1), Direction: Out, Sender: r.node, Recipient: d.Recipient, Seq: last + 1,
			Kind: d.Kind, Subject: d.Subject, Body: d.Body, References: d.References, Answers: d.Answers, Due: d.Due,
			SentBy: who.Actor.String(), SentByName: who.Actor.Name, SentAt: e.Time, State: Queued, RecordedAt: e.Time, RecordedSeq: seq}
		msg, err := Sign(out, r.signer)
		if err != nil {
			return fmt.Errorf("sign the document: %w", err)
		}
		out.Note = string(msg)
		e.Query = "document:" + out.ID
		e.Detail = fmt.Sprintf("%s %s to %s: %s", out.Kind, out.ID, out.Recipient, out.Subject)
		if err := insert(ctx, tx, out); err != nil {
			return err
		}
		if d.Kind == KindAnswer {
			if _, err := tx.Exec(ctx, `UPDATE corr_document SET answered_by = ?, answered_at = ? WHERE id = ? AND direction = 'in'`, out.ID, e.Time, d.Answers); err != nil {
				return fmt.Errorf("close request %s: %w", d.Answers, err)
			}
		}
		return nil
	})
	if err == nil && r.Wake != nil {
		r.Wake()
	}
	return out, err
}

// Answer sends the answer to the request id received, as who.
func (r *Register) Answer(ctx context.Context, who staff.Who, id, subject, body string, refs []string) (Document, error) {
	req, err := Get(ctx, r.db, id)
	if err != nil {
		return Document{}, err
	}
	if req.Direction != In || !req.Kind.Request() {
		return Document{}, apperr.New(apperr.Invalid, fmt.Sprintf("%s is not a request this node received", id), fmt.Sprintf("%s はこのノードが受けた依頼ではありません", id))
	}
	return r.Send(ctx, who, Draft{Recipient: req.Sender, Kind: KindAnswer, Subject: subject, Body: body, References: refs, Answers: id})
}

func insert(ctx context.Context, tx *db.Tx, d Document) error {
	due := ""
	if !d.Due.IsZero() {
		due = d.Due.Format(time.DateOnly)
	}
	_, err := tx.Exec(ctx, `INSERT INTO corr_document (id, direction, sender, recipient, seq, kind, subject, body, refs, answers, due_on,
		sent_by, sent_by_name, sent_at, note, state, recorded_at, recorded_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, string(d.Direction), d.Sender, d.Recipient, d.Seq, string(d.Kind), d.Subject, d.Body, strings.Join(d.References, " "), d.Answers, due,
		d.SentBy, d.SentByName, d.SentAt, d.Note, string(d.State), d.RecordedAt, d.RecordedSeq)
	if err != nil {
		return fmt.Errorf("record document %s: %w", d.ID, err)
	}
	return nil
}

// administer asks the policies whether who may take action; a refusal
// is logged and returned, otherwise work runs in the transaction of entry
// e (which work may complete).
func (r *Register) administer(ctx context.Context, who staff.Who, action string, e auditlog.Entry, work auditlog.Work) error {
	if r.authz == nil {
		return apperr.New(apperr.Unavailable, "no authorizer: changes are refused", "権限の判定ができないため、変更できません")
	}
	v := r.authz.MayAdminister(ctx, who, action, staff.Resource{Kind: "node", ID: r.node})
	e.Decision, e.Outcome, e.Policy, e.Why, e.WhyJapanese = auditlog.Allow, auditlog.OutcomeOK, v.Policy, v.Why, v.Japanese
	if !v.Allow {
		e.Decision, e.Outcome = auditlog.Deny, auditlog.OutcomeDenied
		if _, err := r.log.Append(ctx, e); err != nil {
			return logFailed(err)
		}
		return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
	}
	return r.appendWork(ctx, e, work)
}

func (r *Register) appendWork(ctx context.Context, e auditlog.Entry, work auditlog.Work) error {
	_, workErr, err := r.log.AppendWith(ctx, e, work)
	if err != nil {
		return logFailed(err)
	}
	if workErr != nil {
		if ae, ok := errors.AsType[*apperr.Error](workErr); ok {
			return ae
		}
		if errors.Is(workErr, ErrReplay) {
			return workErr
		}
		return apperr.Wrap(apperr.Internal, workErr, e.Action, "報告・依頼を記録できませんでした")
	}
	return nil
}

func logFailed(err error) error {
	return apperr.Wrap(apperr.Unavailable, err, "the audit log could not record this, so nothing was done",
		"アクセス記録（監査ログ）を書き込めなかったため、処理を行いませんでした。")
}

const columns = `id, direction, sender, recipient, seq, kind, subject, body, refs, answers, due_on, sent_by, sent_by_name, sent_at, note, state,
	recorded_at, recorded_seq, attempts, last_try, last_error, ack_note, acked_at, answered_by, answered_at`

func scan(row interface{ Scan(...any) error }) (Document, error) {
	var d Document
	var dir, kind, refs, due, state string
	var lastTry, ackedAt, answeredAt sql.NullTime
	err := row.Scan(&d.ID, &dir, &d.Sender, &d.Recipient, &d.Seq, &kind, &d.Subject, &d.Body, &refs, &d.Answers, &due, &d.SentBy, &d.SentByName, &d.SentAt,
		&d.Note, &state, &d.RecordedAt, &d.RecordedSeq, &d.Attempts, &lastTry, &d.LastError, &d.AckNote, &ackedAt, &d.AnsweredBy, &answeredAt)
	if err != nil {
		return d, err
	}
	d.Direction, d.Kind, d.State = Direction(dir), Kind(kind), State(state)
	d.References = strings.Fields(refs)
	if due != "" {
		if t, err := time.ParseInLocation(time.DateOnly, due, jptext.JST); err == nil {
			d.Due = t
		}
	}
	d.LastTry, d.AckedAt, d.AnsweredAt = lastTry.Time, ackedAt.Time, answeredAt.Time
	return d, nil
}

// Get returns the document id.
func Get(ctx context.Context, q db.Querier, id string) (Document, error) { return get(ctx, q, id) }

func get(ctx context.Context, q db.Querier, id string) (Document, error) {
	d, err := scan(q.QueryRow(ctx, `SELECT `+columns+` FROM corr_document WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, apperr.New(apperr.NotFound, fmt.Sprintf("document %.40q is not recorded", id), fmt.Sprintf("文書「%.40s」は記録されていません", id))
	}
	if err != nil {
		return d, fmt.Errorf("read document %.40q: %w", id, err)
	}
	return d, nil
}

// List returns the documents of one direction ("" for both), the latest
// first.
func List(ctx context.Context, q db.Querier, dir Direction) ([]Document, error) {
	where, args := "", []any{}
	if dir != "" {
		where, args = " WHERE direction = ?", []any{string(dir)}
	}
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM corr_document`+where+` ORDER BY recorded_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list documents: %w", err)
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list documents: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Overdue lists the requests past their due day at now, unanswered — those
// received (this node owes the answer) and those sent (it awaits one) —
// the longest overdue first.
func Overdue(ctx context.Context, q db.Querier, now time.Time) ([]Document, error) {
	all, err := List(ctx, q, "")
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, d := range all {
		if d.Overdue(now) {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b Document) int { return a.Due.Compare(b.Due) })
	return out, nil
}

// Queue lists the documents waiting to leave, by recipient and sequence:
// the correspondent delivers each recipient's in order.
func Queue(ctx context.Context, q db.Querier) ([]Document, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM corr_document WHERE direction = 'out' AND state = 'queued' ORDER BY recipient, seq`)
	if err != nil {
		return nil, fmt.Errorf("read the queue of documents: %w", err)
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("read the queue of documents: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
