// Package auditlog is the node's tamper-evident audit log. Every call to the
// gate and every decision appends an entry; entries are the leaves of a
// Merkle tree hashed as in RFC 6962 (golang.org/x/mod/sumdb/tlog), whose
// stored hashes are written in the same transaction as the entry. The node
// signs checkpoints of the tree (C2SP signed-note format, Ed25519), so a
// changed, removed, reordered or cut entry is found by Verify.
//
// Appends go through one committer goroutine that batches concurrent appends
// into one transaction (group commit) and wakes each caller only once its
// entry is durable.
package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"jukinet/internal/apperr"
)

// FormatVersion is the version of the entry encoding.
const FormatVersion = 1

// ActorKind says what kind of party made a request.
type ActorKind string

// The kinds of actor.
const (
	ActorOperator  ActorKind = "operator"  // 取扱者 at a terminal
	ActorConsole   ActorKind = "console"   // an OS user on the server itself
	ActorPeer      ActorKind = "peer"      // another node
	ActorSystem    ActorKind = "system"    // the node itself (checkpoints, pruning)
	ActorRecipient ActorKind = "recipient" // a body the node provides information to (別表)
	// ActorHost is a party that was not authenticated, known only by its
	// network address: what it claimed to be is never its actor.
	ActorHost ActorKind = "host"
	// ActorTerminal is an approved terminal (a device its client
	// certificate names) on which no operator was authenticated: a
	// refused sign-in attempt there is the terminal's, not the operator's
	// it claimed.
	ActorTerminal ActorKind = "terminal"
)

// Actor is who made a request.
type Actor struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id"`             // 照合ID, OS user name, node code …
	Name string    `json:"name,omitempty"` // display name, where known
}

// String is kind:id.
func (a Actor) String() string { return string(a.Kind) + ":" + a.ID }

// is reports whether s is a.String(), without building it.
func (a Actor) is(s string) bool {
	k := len(a.Kind)
	return len(s) == k+1+len(a.ID) && s[:k] == string(a.Kind) && s[k] == ':' && s[k+1:] == a.ID
}

// Decision values.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Outcome values.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeError  = "error"
)

// Provision describes data that left the gate (提供状況). Its date is the
// entry's time; the residents are the entry's subjects.
type Provision struct {
	Function  string   `json:"function"`  // 機能区分: lookup, search, history, export, batch
	Affair    string   `json:"affair"`    // 提供事務区分: the affair it was provided for
	Reason    string   `json:"reason"`    // 利用事由
	Provider  string   `json:"provider"`  // 提供元: this node
	Recipient string   `json:"recipient"` // 提供先: the actor and where they were
	Items     []string `json:"items"`     // which items were provided
}

// Entry is one audit log entry.
type Entry struct {
	Version  int       `json:"v"`
	Seq      int64     `json:"seq"` // leaf index; set by the log
	Time     time.Time `json:"time"`
	Node     string    `json:"node"`   // the node that wrote the entry
	Actor    Actor     `json:"actor"`  // who
	Origin   string    `json:"origin"` // from where: terminal:ID, node:CODE, host:NAME
	Action   string    `json:"action"` // lookup, search, history, apply, import, export, prune …
	Affair   string    `json:"affair,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	CaseRef  string    `json:"case_ref,omitempty"`
	Query    string    `json:"query,omitempty"` // what was asked
	Decision string    `json:"decision"`        // allow or deny
	Policy   string    `json:"policy"`          // the rule that decided
	Why      string    `json:"why,omitempty"`   // the decision's reason, for a person, in English
	// WhyJapanese is the decision's reason in Japanese, when the verdict
	// gave one (a refusal as the clerk was told it): screens and exports
	// show the reason in their language. Entries written before it was
	// kept, and verdicts with an English reason only, have none.
	WhyJapanese string `json:"why_ja,omitempty"`
	Outcome     string `json:"outcome"`         // ok, denied or error
	Error       string `json:"error,omitempty"` // the error, in English
	// ErrorCode and ErrorJapanese are the error's class (an apperr code:
	// invalid, not_found, forbidden, conflict …) and its message in
	// Japanese, as the clerk was shown it, when the error was a domain
	// error (SetError): screens and exports show the error in their
	// language. Entries written before they were kept have neither.
	ErrorCode     string `json:"error_code,omitempty"`
	ErrorJapanese string `json:"error_ja,omitempty"`
	Count         int    `json:"count"` // records returned or written
	// SubjectCount and SubjectDigest bind the entry's subject rows (the
	// residents it concerns) into the leaf: Subjects itself is stored beside
	// the entry, one row per resident, so large exports stay small leaves.
	SubjectCount  int        `json:"subjects"`
	SubjectDigest string     `json:"subjects_sha256,omitempty"`
	Provision     *Provision `json:"provision,omitempty"`
	Detail        string     `json:"detail,omitempty"` // free text: file digest, pruned range …
	// ClockRead is what the node's clock read when it was earlier than the
	// previous entry's time (the clock stepped back): Time is then the
	// previous entry's, so that times never go back in the log's order.
	ClockRead *time.Time `json:"clock_read,omitempty"`

	// Subjects are the resident codes the entry concerns. Not encoded:
	// stored as rows and bound by SubjectDigest.
	Subjects []string `json:"-"`
	// PackedSubjects are Subjects for an entry naming millions of
	// residents (an import): eleven-digit resident codes held as integers,
	// eight bytes each instead of a string each. An entry has one or the
	// other; the rows, the digest and the leaf are the same either way.
	// The log sorts the list in place.
	PackedSubjects []uint64 `json:"-"`
}

// maxPackedCode is the largest eleven-digit code.
const maxPackedCode = 99_999_999_999

// PackCode returns the eleven-digit code as an integer for PackedSubjects,
// and false if it is not eleven digits.
func PackCode(code string) (uint64, bool) {
	if len(code) != 11 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// appendCode appends the packed code v as its eleven digits.
func appendCode(b []byte, v uint64) []byte {
	var d [11]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:]...)
}

// unpackCodes returns packed codes as strings.
func unpackCodes(packed []uint64) []string {
	out := make([]string, len(packed))
	for i, v := range packed {
		out[i] = string(appendCode(nil, v))
	}
	return out
}

// packedSubjectsDigest is SubjectsDigest of packed codes: it sorts them in
// place and drops repeats, and returns the digest and the sorted codes.
func packedSubjectsDigest(packed []uint64) (digest string, sorted []uint64) {
	if len(packed) == 0 {
		return "", nil
	}
	if !slices.IsSorted(packed) {
		slices.Sort(packed)
	}
	sorted = slices.Compact(packed)
	h := sha256.New()
	line := make([]byte, 0, 12)
	for _, v := range sorted {
		h.Write(append(appendCode(line[:0], v), '\n'))
	}
	return hex.EncodeToString(h.Sum(nil)), sorted
}

// Clock is what the node's clock read when the entry was stamped: Time, or
// ClockRead when the clock read earlier than the entry before. Durations
// that must follow the clock (a session's limits, a lockout window) are
// timed from it, not from Time, which a stepped-back clock holds at the
// previous entry's.
func (e *Entry) Clock() time.Time {
	if e.ClockRead != nil {
		return *e.ClockRead
	}
	return e.Time
}

// SetError records err as the entry's error: its text (English) and, when
// err is a domain error (apperr), its code and its Japanese message.
func (e *Entry) SetError(err error) {
	e.Error, e.ErrorCode, e.ErrorJapanese = err.Error(), "", ""
	var ae *apperr.Error
	if errors.As(err, &ae) {
		e.ErrorCode, e.ErrorJapanese = string(ae.Code), ae.Japanese
	}
}

// SubjectsDigest is the SHA-256 of the sorted, de-duplicated codes, one per
// line; empty for no subjects.
func SubjectsDigest(codes []string) (digest string, sorted []string) {
	if len(codes) == 0 {
		return "", nil
	}
	// An import's codes come sorted: a million of them are then neither
	// copied nor sorted again.
	sorted = codes
	if !strictlyIncreasing(codes) {
		sorted = slices.Clone(codes)
		slices.Sort(sorted)
		sorted = slices.Compact(sorted)
	}
	h := sha256.New()
	for _, c := range sorted {
		h.Write([]byte(c))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)), sorted
}

// strictlyIncreasing reports whether codes are sorted with no repeats.
func strictlyIncreasing(codes []string) bool {
	for i := 1; i < len(codes); i++ {
		if codes[i-1] >= codes[i] {
			return false
		}
	}
	return true
}

// makeValidUTF8 replaces, in every text of the entry, bytes that are not
// UTF-8 by U+FFFD. Values are checked at their doors (docs/fields.md); this
// is the log's own guarantee: JSON writes such bytes as \ufffd escapes,
// which read back as U+FFFD and encode differently, so the entry would no
// longer be canonical and audit verify would call the log tampered with —
// one bad byte from a form would stop verification and detection.
func (e *Entry) makeValidUTF8() {
	fix := func(s *string) {
		if !utf8.ValidString(*s) {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
	}
	kind := string(e.Actor.Kind)
	fix(&kind)
	e.Actor.Kind = ActorKind(kind)
	for _, p := range []*string{&e.Node, &e.Actor.ID, &e.Actor.Name, &e.Origin, &e.Action, &e.Affair, &e.Reason, &e.CaseRef,
		&e.Query, &e.Decision, &e.Policy, &e.Why, &e.WhyJapanese, &e.Outcome, &e.Error, &e.ErrorCode, &e.ErrorJapanese, &e.Detail} {
		fix(p)
	}
	fixAll := func(list []string) []string {
		for i, v := range list {
			if !utf8.ValidString(v) {
				list = slices.Clone(list) // the caller's slice is left as it was
				for j := i; j < len(list); j++ {
					fix(&list[j])
				}
				break
			}
		}
		return list
	}
	e.Subjects = fixAll(e.Subjects)
	if p := e.Provision; p != nil {
		c := *p // a copy: the caller's provision is left as it was
		for _, s := range []*string{&c.Function, &c.Affair, &c.Reason, &c.Provider, &c.Recipient} {
			fix(s)
		}
		c.Items = fixAll(c.Items)
		e.Provision = &c
	}
}

// Encode returns the entry's canonical bytes: JSON with fields in a fixed
// order, times in UTC with nanoseconds. The leaf hash covers exactly these
// bytes.
func (e *Entry) Encode() ([]byte, error) {
	c := *e
	c.Time = c.Time.UTC()
	if c.ClockRead != nil {
		r := c.ClockRead.UTC()
		c.ClockRead = &r
	}
	if c.Provision != nil && c.Provision.Items == nil {
		p := *c.Provision
		p.Items = []string{}
		c.Provision = &p
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("encode audit entry: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// DecodeEntry parses canonical entry bytes. It refuses unknown fields,
// trailing data, a missing field and any encoding that is not canonical, so
// two different byte strings never decode to the same entry.
func DecodeEntry(b []byte) (*Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Entry
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("decode audit entry: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode audit entry: trailing data")
	}
	if e.Version != FormatVersion {
		return nil, fmt.Errorf("decode audit entry: version %d, want %d", e.Version, FormatVersion)
	}
	again, err := e.Encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, errors.New("decode audit entry: not in canonical form")
	}
	return &e, nil
}

// validate checks the fields every entry must have.
func (e *Entry) validate() error {
	var missing []string
	if e.Actor.Kind == "" || e.Actor.ID == "" {
		missing = append(missing, "actor")
	}
	if e.Action == "" {
		missing = append(missing, "action")
	}
	if e.Decision != Allow && e.Decision != Deny {
		missing = append(missing, "decision (allow or deny)")
	}
	if e.Outcome == "" {
		missing = append(missing, "outcome")
	}
	if len(missing) > 0 {
		return fmt.Errorf("audit entry lacks %s", strings.Join(missing, ", "))
	}
	return nil
}
