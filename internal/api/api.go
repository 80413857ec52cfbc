// Package api is the node's JSON API under /api/v1: lookup, search and
// history through the gate, the audit log's entries and proofs, and the
// governance registers a clerk's system works with (usage approvals,
// training, room entries, contracts and assets). Errors are problem details
// (RFC 9457) carrying the clerk's message in Japanese.
//
// A call acts as the operator signed in on the calling terminal (Identify:
// the web session); a demo node also serves its loopback clients without
// one, as the demo operator on the demo terminal. Every call goes through
// the gate, or a governance register, and its log.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/auditlog/tiles"
	"jukinet/internal/gate"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/resident"
)

// Handler serves /api/v1/.
type Handler struct {
	node     *node.Node
	logger   *slog.Logger
	mux      *routeMux
	identify Identify
	// tiles is the log the tile endpoints read (tiles.go).
	tiles tiles.Store
}

// Caller is who calls the API: an operator signed in at a terminal.
type Caller struct {
	Actor  auditlog.Actor
	Origin string // terminal:ID
	// MayAudit asks the policies whether the caller may read the audit
	// log, and which rule decided why; the audit endpoints ask it when
	// called (nil: they may not).
	MayAudit func(ctx context.Context) AuditVerdict
	// Verified says the operator verified themselves (the biometric) within
	// the profile's re-verification window: a change to a governance
	// register needs it, as the screens' forms do, so the API is no way
	// around the re-check.
	Verified bool
}

// Identify finds the signed-in caller of a request (the web session), or
// reports none.
type Identify func(r *http.Request) (Caller, bool)

type callerKey struct{}

// New returns the API of n, whose gate must be open. identify finds signed-in
// callers; without one (or nil) only a demo node's loopback clients are
// served, as the demo operator at the demo terminal.
func New(n *node.Node, logger *slog.Logger, identify Identify) *Handler {
	h := &Handler{node: n, logger: logger, mux: &routeMux{ServeMux: http.NewServeMux()}, identify: identify}
	if n != nil { // nil: Routes, which only registers
		h.tiles = auditlog.TileStore{DB: n.DB}
	}
	h.mux.HandleFunc("GET /api/v1/openapi.json", h.openAPI)
	h.mux.HandleFunc("GET /api/v1/residents/{code}", h.lookup)
	h.mux.HandleFunc("GET /api/v1/residents", h.lookupByNumber)
	h.mux.HandleFunc("GET /api/v1/residents/{code}/history", h.history)
	h.mux.HandleFunc("POST /api/v1/search", h.search)
	h.mux.HandleFunc("POST /api/v1/changes", h.change)
	h.mux.HandleFunc("GET /api/v1/audit/entries", h.entries)
	h.mux.HandleFunc("GET /api/v1/audit/entries/{seq}/proof", h.proof)
	h.mux.HandleFunc("GET /api/v1/audit/checkpoint", h.checkpoint)
	h.mux.HandleFunc("GET /api/v1/audit/tile/{path...}", h.tile)
	h.approvalRoutes()
	h.councilRoutes()
	h.disclosureRoutes()
	h.governanceRoutes()
	h.correspondenceRoutes()
	h.formRoutes()
	h.protectRoutes()
	// Not a route of the API: the answer to every path that is none.
	h.mux.ServeMux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		h.problem(w, r, http.StatusNotFound, "not_found", "no such API endpoint: "+r.Method+" "+r.URL.Path, "該当するAPIはありません")
	})
	return h
}

// DemoOperator and DemoTerminal are who a loopback client of a demo node is.
const (
	DemoOperator = "demo"
	DemoTerminal = "terminal:demo-loopback"
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.identify != nil {
		if c, ok := h.identify(r); ok {
			h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
			return
		}
	}
	if !h.node.Info.Demo {
		h.problem(w, r, http.StatusUnauthorized, "forbidden", "sign in first: the API acts as the operator signed in on this terminal",
			"ログインしてください（APIは、この端末でログインしている操作者として処理します）")
		return
	}
	if !isLoopback(r.RemoteAddr) {
		h.problem(w, r, http.StatusForbidden, "forbidden", "the demo API answers the loopback interface only", "デモ環境のAPIはこのサーバ上からのみ利用できます")
		return
	}
	demo := Caller{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: DemoOperator, Name: "デモ操作者"}, Origin: DemoTerminal,
		MayAudit: func(context.Context) AuditVerdict {
			return AuditVerdict{Allow: true, Policy: "jukinet:demo-loopback", Why: "a demo node's loopback client"}
		}}
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, demo)))
}

func callerOf(r *http.Request) Caller {
	c, _ := r.Context().Value(callerKey{}).(Caller)
	return c
}

// AuditVerdict is whether a caller may read the audit log, with the rule
// that decided and its reason (recorded with each read of entry bundles).
type AuditVerdict struct {
	Allow       bool
	Policy, Why string
	Japanese    string // the reason in Japanese, when the verdict gave one
}

// auditVerdict asks c's MayAudit; a caller without one may not.
func (c Caller) auditVerdict(ctx context.Context) AuditVerdict {
	if c.MayAudit == nil {
		return AuditVerdict{}
	}
	return c.MayAudit(ctx)
}

// mayAudit refuses the audit endpoints to callers the policies keep from
// the audit log.
func (h *Handler) mayAudit(w http.ResponseWriter, r *http.Request) bool {
	if callerOf(r).auditVerdict(r.Context()).Allow {
		return true
	}
	h.problem(w, r, http.StatusForbidden, "forbidden", "reading the audit log is not for your role", "監査ログを閲覧する権限がありません")
	return false
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// request is the gate request of an API call: its caller, with the affair,
// reason and case the call gives.
func request(r *http.Request, affair, reason, caseRef string) gate.Request {
	c := callerOf(r)
	return gate.Request{Actor: c.Actor, Origin: c.Origin, Affair: affair, Reason: reason, CaseRef: caseRef}
}

func queryRequest(r *http.Request) gate.Request {
	q := r.URL.Query()
	return request(r, q.Get("affair"), q.Get("reason"), q.Get("case"))
}

// Record is a resident's record in JSON.
type Record struct {
	ResidentCode      string `json:"resident_code"`
	IndividualNumber  string `json:"individual_number"`
	FamilyName        string `json:"family_name"`
	GivenName         string `json:"given_name"`
	FamilyNameKana    string `json:"family_name_kana"`
	GivenNameKana     string `json:"given_name_kana"`
	FormerSurname     string `json:"former_surname,omitempty"`
	FormerSurnameKana string `json:"former_surname_kana,omitempty"`
	Alias             string `json:"alias,omitempty"`
	AliasKana         string `json:"alias_kana,omitempty"`
	DateOfBirth       string `json:"date_of_birth"`
	DateOfBirthWareki string `json:"date_of_birth_wareki"`
	Sex               int    `json:"sex"`
	Address           string `json:"address"`
	LocalGovCode      string `json:"local_gov_code"`
	ChangeReason      string `json:"change_reason"`
	ChangeDate        string `json:"change_date"`
	Version           int    `json:"version"`
	Removed           bool   `json:"removed"`
	RetainUntil       string `json:"retain_until,omitempty"`
	AuditSeq          int64  `json:"audit_seq"`
	// Protected: the resident is under a support measure (支援措置); ignored
	// in a change's body (docs/protection.md).
	Protected bool `json:"protected,omitempty"`
}

func toJSON(r gate.Record) Record {
	out := Record{
		ResidentCode: string(r.ResidentCode), IndividualNumber: string(r.IndividualNumber),
		FamilyName: r.FamilyName, GivenName: r.GivenName, FamilyNameKana: r.FamilyNameKana, GivenNameKana: r.GivenNameKana,
		FormerSurname: r.FormerSurname, FormerSurnameKana: r.FormerSurnameKana, Alias: r.Alias, AliasKana: r.AliasKana,
		DateOfBirth: r.DateOfBirth.Format(time.DateOnly), DateOfBirthWareki: jptext.FormatWareki(r.DateOfBirth),
		Sex: int(r.Sex), Address: r.Address, LocalGovCode: string(r.LocalGov),
		ChangeReason: string(r.ChangeReason), ChangeDate: r.ChangeDate.Format(time.DateOnly),
		Version: r.Version, Removed: r.Removed, AuditSeq: r.AuditSeq, Protected: r.Protected,
	}
	if !r.RetainUntil.IsZero() {
		out.RetainUntil = r.RetainUntil.Format(time.DateOnly)
	}
	return out
}

func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) {
	rec, err := h.node.Gate.Lookup(r.Context(), queryRequest(r), gate.Key{ResidentCode: r.PathValue("code")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, toJSON(rec))
}

func (h *Handler) lookupByNumber(w http.ResponseWriter, r *http.Request) {
	number := r.URL.Query().Get("number")
	if number == "" {
		h.problem(w, r, http.StatusBadRequest, "invalid", "give ?number= (個人番号), or GET /api/v1/residents/{resident_code}", "個人番号を指定してください")
		return
	}
	rec, err := h.node.Gate.Lookup(r.Context(), queryRequest(r), gate.Key{IndividualNumber: number})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, toJSON(rec))
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	hist, err := h.node.Gate.History(r.Context(), queryRequest(r), gate.Key{ResidentCode: r.PathValue("code")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Record, len(hist))
	for i, v := range hist {
		out[i] = toJSON(v)
	}
	h.json(w, map[string]any{"versions": out})
}

// SearchRequest is the body of POST /api/v1/search: any set of items the
// profile's search forms allow (docs/search.md).
type SearchRequest struct {
	Name        string `json:"name"`                    // the whole name or the surname
	Kana        string `json:"kana,omitempty"`          // the reading's first kana
	DateOfBirth string `json:"date_of_birth,omitempty"` // 1970-03-02, S45.3.2 or 昭和45年3月2日
	Sex         int    `json:"sex,omitempty"`
	Address     string `json:"address,omitempty"`
	Limit       int    `json:"limit,omitempty"`
	Affair      string `json:"affair"`
	Reason      string `json:"reason"`
	Case        string `json:"case,omitempty"`
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	var req SearchRequest
	if !h.decode(w, r, &req, "検索条件の形式が正しくありません") {
		return
	}
	q := gate.SearchQuery{Name: req.Name, Kana: req.Kana, Sex: resident.Sex(req.Sex), Address: req.Address, Limit: req.Limit}
	if req.DateOfBirth != "" {
		d, err := jptext.ParseDate(req.DateOfBirth)
		if err != nil {
			h.problem(w, r, http.StatusBadRequest, "invalid", "date_of_birth: "+err.Error(), "生年月日の形式が正しくありません")
			return
		}
		q.DateOfBirth = d
	}
	res, err := h.node.Gate.SearchDetailed(r.Context(), request(r, req.Affair, req.Reason, req.Case), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	matches, total := res.Matches, res.Total
	type match struct {
		Record
		Score   int      `json:"score"`
		MatchOn string   `json:"match_on"`
		Why     string   `json:"why"`
		WhyJa   string   `json:"why_ja"`
		Matched []string `json:"matched"`
	}
	out := make([]match, len(matches))
	for i, m := range matches {
		out[i] = match{toJSON(m.Record), m.Score, m.MatchOn, m.Why, m.WhyJapanese, m.Matched}
	}
	answer := map[string]any{"total": total, "matches": out, "ambiguous": res.Ambiguous}
	if res.Withheld > 0 {
		// Residents under a support measure the request may not read.
		answer["withheld"], answer["withheld_ja"] = res.Withheld, res.WithheldJapanese
	}
	h.json(w, answer)
}

// ChangeRequest is the body of POST /api/v1/changes: the record as it is
// after the change, and for a 住民票コード変更 the code before it.
type ChangeRequest struct {
	Record       Record `json:"record"`
	PreviousCode string `json:"previous_code,omitempty"`
	Affair       string `json:"affair"`
	Reason       string `json:"reason"`
	Case         string `json:"case,omitempty"`
}

func (h *Handler) change(w http.ResponseWriter, r *http.Request) {
	var req ChangeRequest
	if !h.decode(w, r, &req, "変更内容の形式が正しくありません") {
		return
	}
	rec, err := fromJSON(req.Record)
	if err != nil {
		h.problem(w, r, http.StatusBadRequest, "invalid", err.Error(), "日付は YYYY-MM-DD の形式で入力してください")
		return
	}
	out, err := h.node.Gate.Apply(r.Context(), request(r, req.Affair, req.Reason, req.Case), gate.Change{Record: rec, PreviousCode: req.PreviousCode})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, toJSON(out))
}

func fromJSON(j Record) (resident.IdentityRecord, error) {
	dob, err := resident.ParseDate(j.DateOfBirth)
	if err != nil {
		return resident.IdentityRecord{}, fmt.Errorf("date_of_birth: %w", err)
	}
	changed, err := resident.ParseDate(j.ChangeDate)
	if err != nil {
		return resident.IdentityRecord{}, fmt.Errorf("change_date: %w", err)
	}
	reason, _ := resident.ParseChangeReason(j.ChangeReason)
	if reason == "" {
		reason = resident.ChangeReason(j.ChangeReason) // Validate reports it
	}
	return resident.IdentityRecord{
		ResidentCode: ids.ResidentCode(j.ResidentCode), IndividualNumber: ids.IndividualNumber(j.IndividualNumber),
		FamilyName: j.FamilyName, GivenName: j.GivenName, FamilyNameKana: j.FamilyNameKana, GivenNameKana: j.GivenNameKana,
		FormerSurname: j.FormerSurname, FormerSurnameKana: j.FormerSurnameKana, Alias: j.Alias, AliasKana: j.AliasKana,
		DateOfBirth: dob, Sex: resident.Sex(j.Sex), Address: j.Address, LocalGov: ids.LocalGovCode(j.LocalGovCode),
		ChangeReason: reason, ChangeDate: changed,
	}, nil
}

func (h *Handler) entries(w http.ResponseWriter, r *http.Request) {
	if !h.mayAudit(w, r) {
		return
	}
	q := r.URL.Query()
	f := auditlog.Filter{Resident: q.Get("resident"), Actor: q.Get("actor"), Action: q.Get("action"), After: -1}
	var err error
	if s := q.Get("after"); s != "" {
		if f.After, err = strconv.ParseInt(s, 10, 64); err != nil {
			h.problem(w, r, http.StatusBadRequest, "invalid", "after: not a number", "after は数値で指定してください")
			return
		}
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 || f.Limit > 1000 {
			h.problem(w, r, http.StatusBadRequest, "invalid", "limit: 1 to 1000", "limit は1〜1000で指定してください")
			return
		}
	}
	// Journaled entries get their rows first: the listing is of every
	// entry appended so far.
	if err := h.node.Log.Sync(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := auditlog.List(r.Context(), h.node.DB, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	type entry struct {
		Seq    int64           `json:"seq"`
		At     time.Time       `json:"at"`
		Actor  string          `json:"actor"`
		Action string          `json:"action"`
		Entry  *auditlog.Entry `json:"entry,omitempty"` // absent once pruned
	}
	out := make([]entry, len(list))
	for i, l := range list {
		out[i] = entry{l.Seq, l.At, l.Actor, l.Action, l.Entry}
	}
	h.json(w, map[string]any{"entries": out})
}

func (h *Handler) proof(w http.ResponseWriter, r *http.Request) {
	if !h.mayAudit(w, r) {
		return
	}
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		h.problem(w, r, http.StatusBadRequest, "invalid", "entry number: not a number", "記録番号は数値で指定してください")
		return
	}
	proof, err := auditlog.Prove(r.Context(), h.node.DB, seq)
	if err != nil {
		h.problem(w, r, http.StatusNotFound, "not_found", err.Error(), "この記録の証明はまだ作成できません")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(proof)
}

// decode reads a JSON body of at most 64 KiB into v, refusing unknown
// fields and anything after the one JSON object (a body is one value, or
// it is not what the client meant to send); on failure it answers with a
// problem and returns false. What the fields may hold is the gate's to
// check, by the field rules every door shares.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any, ja string) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
	if err != nil {
		h.problem(w, r, http.StatusBadRequest, "invalid", "body: "+err.Error(), ja)
		return false
	}
	// A key given twice is two answers to one question: which one did the
	// client mean? (encoding/json would silently take the last, and it
	// matches keys to fields without regard to case: "reason" and
	// "Reason" fill one field.)
	if key := duplicateKey(body); key != "" {
		h.problem(w, r, http.StatusBadRequest, "invalid", fmt.Sprintf("body: the key %q is given twice in one object", key),
			ja+fmt.Sprintf("（JSONの同じオブジェクトにキー「%s」が2回あります）", key))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		h.problem(w, r, http.StatusBadRequest, "invalid", "body: "+err.Error(), ja)
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		h.problem(w, r, http.StatusBadRequest, "invalid", "body: data after the JSON object: send exactly one object",
			ja+"（JSONオブジェクトの後に余分なデータがあります）")
		return false
	}
	return true
}

// foldKey is a key as encoding/json matches it to a struct field (ASCII
// letters upper-cased, every other rune the smallest of its case-fold set):
// two keys that fold alike fill the same field.
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		} else if r >= utf8.RuneSelf {
			for {
				next := unicode.SimpleFold(r)
				if next <= r {
					r = next
					break
				}
				r = next
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// duplicateKey returns the first key that appears twice (as foldKey
// spells keys) in one object of the JSON text body, or "" (also for text that is no JSON: the decoder
// says what is wrong with it).
func duplicateKey(body []byte) string {
	type level struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		top := (*level)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &level{keys: map[string]bool{}, expectKey: true})
			case '[':
				stack = append(stack, &level{})
			default: // '}' or ']': the value closed is done
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].keys != nil {
					stack[len(stack)-1].expectKey = true
				}
			}
		default:
			if top != nil && top.keys != nil && top.expectKey {
				key, _ := t.(string)
				if top.keys[foldKey(key)] {
					return key
				}
				top.keys[foldKey(key)], top.expectKey = true, false
			} else if top != nil && top.keys != nil {
				top.expectKey = true
			}
		}
	}
}

func (h *Handler) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		h.logger.Error("write API response", "err", err)
	}
}

// Problem is an RFC 9457 problem detail, with the clerk's message.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	DetailJa string `json:"detail_ja"`
	Instance string `json:"instance"`
}

var statusOf = map[apperr.Code]int{
	apperr.Invalid: http.StatusBadRequest, apperr.NotFound: http.StatusNotFound, apperr.Forbidden: http.StatusForbidden,
	apperr.Conflict: http.StatusConflict, apperr.Suspended: http.StatusForbidden, apperr.Unavailable: http.StatusServiceUnavailable,
	apperr.Internal: http.StatusInternalServerError,
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := apperr.CodeOf(err)
	var e *apperr.Error
	detail := "internal error"
	if errors.As(err, &e) {
		detail = e.Message
	}
	if code == apperr.Internal || code == apperr.Unavailable {
		h.logger.Error("API call failed", "path", r.URL.Path, "err", err)
	}
	h.problem(w, r, statusOf[code], string(code), detail, apperr.JapaneseOf(err))
}

func (h *Handler) problem(w http.ResponseWriter, r *http.Request, status int, code, detail, ja string) {
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(Problem{Type: "tag:jukinet,2026:problem:" + code, Title: http.StatusText(status), Status: status,
		Detail: detail, DetailJa: ja, Instance: r.URL.Path})
}
