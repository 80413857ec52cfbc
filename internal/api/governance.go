package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/asset"
	"jukinet/internal/contract"
	"jukinet/internal/facility"
	"jukinet/internal/jptext"
	"jukinet/internal/staff"
	"jukinet/internal/training"
)

// The governance registers through the API: what a clerk's system calls
// (a door clerk's system recording entries, a card reader's batch, the
// department's system applying for a use). The API only translates JSON
// to the registers' calls: each register decides by the profile's
// policies, writes its audit entry and makes its change in one
// transaction, exactly as for the screens and the CLI.
//
// Who may do what:
//   - a read asks the policies the same question the screen asks (the view
//     action on the node) and is refused with the policies' reason;
//   - a change needs, besides the register's own decision, an operator who
//     verified themselves (the biometric) within the profile's
//     re-verification window, as the screens' forms do: the API must not
//     be a way around the re-check. Without it the answer is 403 of type
//     reverify, saying how to verify again.
func (h *Handler) governanceRoutes() {
	h.mux.HandleFunc("GET /api/v1/training", h.trainingStandings)
	h.mux.HandleFunc("POST /api/v1/training/sessions", h.recordTraining)
	h.mux.HandleFunc("POST /api/v1/facility/entries", h.recordEntry)
	h.mux.HandleFunc("POST /api/v1/facility/entries/import", h.importEntries)
	h.mux.HandleFunc("GET /api/v1/contracts", h.contracts)
	h.mux.HandleFunc("GET /api/v1/assets", h.assets)
}

// who is the caller as the registers know them.
func who(r *http.Request) staff.Who {
	c := callerOf(r)
	return staff.Who{Actor: c.Actor, Origin: c.Origin}
}

// nodeResource is the node as the policies know it: what the screens ask
// the view actions about.
func (h *Handler) nodeResource() staff.Resource {
	return staff.Resource{Kind: "node", ID: string(h.node.Info.LocalGov.Code)}
}

// mayView answers 403 unless the policies let the caller take the view
// action on the node, the question the screen asks (not logged, as the
// screen's is not).
func (h *Handler) mayView(w http.ResponseWriter, r *http.Request, action string) bool {
	v := h.node.Policy.MayAdminister(r.Context(), who(r), action, h.nodeResource())
	if v.Allow {
		return true
	}
	h.problem(w, r, http.StatusForbidden, "forbidden", "not for your role: "+v.Why, "この情報を閲覧する権限がありません。"+v.Japanese)
	return false
}

// verified answers 403 (type reverify) unless the caller verified within
// the profile's re-verification window; a change asks it before its body
// is read.
func (h *Handler) verified(w http.ResponseWriter, r *http.Request) bool {
	if callerOf(r).Verified {
		return true
	}
	mins := h.node.Profile.Session.ReverifyMinutes
	h.problem(w, r, http.StatusForbidden, "reverify",
		fmt.Sprintf("a change needs an operator signed in on this terminal who verified themselves (biometric) within the last %d minutes: verify again at /unlock?reverify=1, then repeat the call", mins),
		fmt.Sprintf("変更の操作には、この端末でログインし、%d分以内に生体認証で本人確認をしていることが必要です。/unlock?reverify=1 で本人確認をしてから、もう一度送信してください", mins))
	return false
}

// changeBody reads the body of a change into v once the caller is
// verified; false when a problem was answered.
func (h *Handler) changeBody(w http.ResponseWriter, r *http.Request, v any, ja string) bool {
	return h.verified(w, r) && h.decode(w, r, v, ja)
}

// created answers 201 with v, and the new resource's address when it has one.
func (h *Handler) created(w http.ResponseWriter, location string, v any) {
	if location != "" {
		w.Header().Set("Location", location)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	h.json(w, v)
}

// day reads a day given in JSON: YYYY-MM-DD, a day in Japan (midnight
// JST). A machine's day has one spelling; the screens take the others
// (令和8年12月1日, R8.12.1).
func day(field, fieldJA, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, apperr.New(apperr.Invalid, field+": required, as YYYY-MM-DD", fieldJA+"を 2026-12-01 の形で指定してください")
	}
	t, err := time.ParseInLocation(time.DateOnly, s, jptext.JST)
	if err != nil {
		return time.Time{}, apperr.New(apperr.Invalid, fmt.Sprintf("%s %q: not a day: use YYYY-MM-DD, e.g. 2026-12-01", field, s),
			fmt.Sprintf("%s「%s」を読み取れません。2026-12-01 の形で指定してください", fieldJA, s))
	}
	return t, nil
}

// instant reads an instant given in JSON: RFC 3339 with its offset
// (2026-12-01T09:15:00+09:00).
func instant(field, fieldJA, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, apperr.New(apperr.Invalid, field+": required, as RFC 3339", fieldJA+"を 2026-12-01T09:15:00+09:00 の形で指定してください")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, apperr.New(apperr.Invalid, fmt.Sprintf("%s %q: not an RFC 3339 time: use e.g. 2026-12-01T09:15:00+09:00", field, s),
			fmt.Sprintf("%s「%s」を読み取れません。2026-12-01T09:15:00+09:00 の形で指定してください", fieldJA, s))
	}
	return t, nil
}

// dayJSON writes a day (midnight JST) as YYYY-MM-DD; "" for none.
func dayJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(jptext.JST).Format(time.DateOnly)
}

// instantJSON writes an instant as RFC 3339 in Japan time; "" for none.
func instantJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(jptext.JST).Format(time.RFC3339)
}

// pathID reads the positive number a path names.
func pathID(r *http.Request, name, ja string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("%s %q: not a number", name, r.PathValue(name)), ja+"は数値で指定してください")
	}
	return id, nil
}

// orEmpty makes a nil list an empty JSON array.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// CourseStanding is where a person stands on one course they need.
type CourseStanding struct {
	Course string `json:"course"`
	Name   string `json:"name"`
	// Last is the last day attended ("" when never); Until the instant the
	// attendance stops counting.
	Last  string `json:"last_attended,omitempty"`
	Until string `json:"valid_until,omitempty"`
	Valid bool   `json:"valid"`
}

// TrainingStanding is one person's training: the courses they need, until
// when it counts, and what is missing.
type TrainingStanding struct {
	VerificationID string `json:"verification_id"`
	Name           string `json:"name"`
	Department     string `json:"department"`
	DepartmentName string `json:"department_name,omitempty"`
	Valid          bool   `json:"valid"`
	// Until is the instant the first course stops counting ("" when a
	// course is missing).
	Until string `json:"valid_until,omitempty"`
	// ExpiresSoon: valid now, and stops counting within 30 days.
	ExpiresSoon bool             `json:"expires_within_30_days"`
	Problem     string           `json:"problem,omitempty"`
	ProblemJa   string           `json:"problem_ja,omitempty"`
	Courses     []CourseStanding `json:"courses"`
}

// trainingStandings answers who is trained until when, who expires within
// 30 days and who may not operate, on the node's clock (training.Statuses:
// the record and the staff the policies know).
func (h *Handler) trainingStandings(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, training.ActView) {
		return
	}
	ctx := r.Context()
	st, err := h.node.Policy.State(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	facts, err := training.Load(ctx, h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.node.Now()
	all := training.Statuses(h.node.Profile, st, facts)
	out := make([]TrainingStanding, 0, len(all))
	for _, s := range all {
		row := TrainingStanding{VerificationID: s.VerificationID, Name: s.Name, Department: s.Department, Valid: s.Valid(now),
			Until: instantJSON(s.Expires()), Courses: []CourseStanding{}}
		if d, ok := h.node.Profile.Department(s.Department); ok {
			row.DepartmentName = d.Name
		}
		row.ExpiresSoon = row.Valid && s.Expires().Before(now.Add(training.Expiring))
		row.Problem, row.ProblemJa = training.Explain(s.Standings, now)
		for _, c := range s.Standings {
			row.Courses = append(row.Courses, CourseStanding{Course: c.Course.ID, Name: c.Course.Name, Last: dayJSON(c.Last), Until: instantJSON(c.Until), Valid: c.Valid(now)})
		}
		out = append(out, row)
	}
	expiring := []string{}
	for _, s := range training.ExpiringSoon(all, now) {
		expiring = append(expiring, s.VerificationID)
	}
	h.json(w, map[string]any{"as_of": instantJSON(now), "people": out, "expiring": expiring})
}

// TrainingSessionRequest is the body of POST /api/v1/training/sessions.
type TrainingSessionRequest struct {
	Course    string   `json:"course"`
	Date      string   `json:"date"` // the day held, YYYY-MM-DD
	Trainer   string   `json:"trainer"`
	Material  string   `json:"material"`
	Attendees []string `json:"attendees"` // verification ids
}

// TrainingSession is a session recorded, as stored.
type TrainingSession struct {
	ID int64 `json:"id"`
	TrainingSessionRequest
	RecordedBy string `json:"recorded_by"`
	RecordedAt string `json:"recorded_at"`
}

// recordTraining records a session held (manage-training, logged as
// training.session).
func (h *Handler) recordTraining(w http.ResponseWriter, r *http.Request) {
	var req TrainingSessionRequest
	if !h.changeBody(w, r, &req, "研修の記録の形式が正しくありません") {
		return
	}
	held, err := day("date", "実施日", req.Date)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s := training.Session{Course: req.Course, Day: held, Trainer: req.Trainer, Material: req.Material, Attendees: req.Attendees}
	id, err := h.node.Training.Record(r.Context(), who(r), s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Answer what was stored (the register trims the text and drops
	// repeated attendees).
	all, err := training.Sessions(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, s := range all {
		if s.ID == id {
			h.created(w, "", TrainingSession{ID: id, TrainingSessionRequest: TrainingSessionRequest{Course: s.Course, Date: dayJSON(s.Day),
				Trainer: s.Trainer, Material: s.Material, Attendees: orEmpty(s.Attendees)}, RecordedBy: s.RecordedBy, RecordedAt: instantJSON(s.RecordedAt)})
			return
		}
	}
	h.fail(w, r, fmt.Errorf("training session %d: recorded, but not found", id))
}

// EntryRequest is the body of POST /api/v1/facility/entries: one passage
// through a room's door.
type EntryRequest struct {
	Room      string `json:"room"`
	Person    string `json:"person,omitempty"`  // the staff member's verification id
	Visitor   string `json:"visitor,omitempty"` // or a visitor …
	Escort    string `json:"escort,omitempty"`  // … and the staff member escorting them
	Purpose   string `json:"purpose"`
	Direction string `json:"direction"` // in or out
	Time      string `json:"time"`      // RFC 3339
}

// Entry is a passage recorded, as stored.
type Entry struct {
	EntryRequest
	// Authorised says whether the person (a visitor: the escort) is
	// authorised for the room. An unauthorised entry is recorded, and the
	// detection raises an alert on it.
	Authorised bool   `json:"authorised"`
	Source     string `json:"source"` // door
}

// recordEntry records an entry or exit at the door (record-entry, logged
// as facility.entry).
func (h *Handler) recordEntry(w http.ResponseWriter, r *http.Request) {
	var req EntryRequest
	if !h.changeBody(w, r, &req, "入退室の記録の形式が正しくありません") {
		return
	}
	at, err := instant("time", "入退室の日時", req.Time)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	e, err := h.node.Facilities.RecordEntry(r.Context(), who(r), facility.Entry{Room: req.Room, Person: req.Person, Visitor: req.Visitor,
		Escort: req.Escort, Purpose: req.Purpose, Dir: facility.Direction(req.Direction), At: at})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.created(w, "", Entry{EntryRequest: EntryRequest{Room: e.Room, Person: e.Person, Visitor: e.Visitor, Escort: e.Escort, Purpose: e.Purpose,
		Direction: string(e.Dir), Time: instantJSON(e.At)}, Authorised: e.Authorised, Source: e.Source})
}

// maxCSV is the largest card-reader file taken in one call.
const maxCSV = 8 << 20

// importEntries imports a card reader's CSV (the body, text/csv), all or
// nothing, through the register (facility.ImportCSV: bad lines named by
// line and column; logged as facility.import).
func (h *Handler) importEntries(w http.ResponseWriter, r *http.Request) {
	if !h.verified(w, r) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "text/csv" && mt != "text/plain") {
			h.problem(w, r, http.StatusUnsupportedMediaType, "invalid", fmt.Sprintf("content type %q: send the card reader's file as text/csv", ct),
				"カードリーダーの記録は CSV（text/csv）で送信してください")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCSV))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.problem(w, r, http.StatusRequestEntityTooLarge, "invalid", fmt.Sprintf("body: larger than %d MiB: split the file", maxCSV>>20),
				fmt.Sprintf("ファイルが大きすぎます（%dMiBまで）。分けて送信してください", maxCSV>>20))
			return
		}
		h.problem(w, r, http.StatusBadRequest, "invalid", "body: "+err.Error(), "カードリーダーの記録を読み取れませんでした")
		return
	}
	stored, unauthorised, err := h.node.Facilities.ImportCSV(r.Context(), who(r), bytes.NewReader(body))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, map[string]int{"stored": stored, "unauthorised": unauthorised})
}

// Contract is an outsourcing contract as the API shows it.
type Contract struct {
	ID         int64  `json:"id"`
	Vendor     string `json:"vendor"`
	Scope      string `json:"scope"`
	Start      string `json:"start"`
	End        string `json:"end"`
	Survey     string `json:"survey"`
	ApprovedBy string `json:"approved_by"`
	ApprovedAt string `json:"approved_at"`
	// InForce on the node's clock; NotYet before its first day; Over
	// past its last day or its early end.
	InForce bool             `json:"in_force"`
	NotYet  bool             `json:"not_yet"`
	Over    bool             `json:"over"`
	Clauses []ContractClause `json:"clauses"`
	// Missing are the mandatory clauses not recorded: while any is, the
	// contract's people are refused every action.
	Missing []string         `json:"missing_clauses"`
	People  []string         `json:"people"`
	Reports []ContractReport `json:"reports"`
	Ended   *ContractEnding  `json:"ended,omitempty"`
}

// ContractClause is a mandatory clause recorded with where the contract holds it.
type ContractClause struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Reference string `json:"reference"`
}

// ContractReport is a report of the vendor's handling.
type ContractReport struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	Day        string `json:"day"`
	Summary    string `json:"summary"`
	RecordedBy string `json:"recorded_by"`
	RecordedAt string `json:"recorded_at"`
}

// ContractEnding is a contract's early end (契約の解除).
type ContractEnding struct {
	Day    string `json:"day"`
	From   string `json:"from"` // the instant it stopped being in force
	Reason string `json:"reason"`
	By     string `json:"by"`
}

// contracts lists the outsourcing contracts (view-contracts).
func (h *Handler) contracts(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, contract.ActView) {
		return
	}
	all, err := contract.List(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.node.Now()
	out := make([]Contract, 0, len(all))
	for _, c := range all {
		j := Contract{ID: c.ID, Vendor: c.Vendor, Scope: c.Scope, Start: dayJSON(c.Start), End: dayJSON(c.End), Survey: c.Survey,
			ApprovedBy: c.ApprovedBy, ApprovedAt: instantJSON(c.ApprovedAt), InForce: c.InForce(now), NotYet: now.Before(c.Start),
			Over: !now.Before(c.Until()), Clauses: []ContractClause{}, Missing: []string{}, People: orEmpty(c.People), Reports: []ContractReport{}}
		for _, cl := range contract.Clauses {
			if ref, ok := c.Clauses[cl.ID]; ok {
				j.Clauses = append(j.Clauses, ContractClause{ID: cl.ID, Name: cl.Name, Reference: ref})
			} else {
				j.Missing = append(j.Missing, cl.ID)
			}
		}
		for _, rep := range c.Reports {
			j.Reports = append(j.Reports, ContractReport{ID: rep.ID, Kind: rep.Kind, Day: dayJSON(rep.Day), Summary: rep.Summary,
				RecordedBy: rep.RecordedBy, RecordedAt: instantJSON(rep.RecordedAt)})
		}
		if c.Ended != nil {
			j.Ended = &ContractEnding{Day: dayJSON(c.Ended.Day), From: instantJSON(c.Ended.From), Reason: c.Ended.Reason, By: c.Ended.By}
		}
		out = append(out, j)
	}
	h.json(w, map[string]any{"contracts": out})
}

// Asset is an information asset as the API shows it.
type Asset struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Location    string `json:"location"`
	Manager     string `json:"manager"`
	ManagerName string `json:"manager_name"`
	HoldsData   bool   `json:"holds_data"`
	InstalledOn string `json:"installed_on"`
	// Department is a terminal's department (terminals only).
	Department   string           `json:"department,omitempty"`
	RegisteredBy string           `json:"registered_by"`
	RegisteredAt string           `json:"registered_at"`
	InUse        bool             `json:"in_use"`
	Retired      *AssetRetirement `json:"retired,omitempty"`
}

// AssetRetirement is the end of an asset's use.
type AssetRetirement struct {
	Day     string        `json:"day"`
	Reason  string        `json:"reason,omitempty"`
	By      string        `json:"by,omitempty"`
	Erasure *AssetErasure `json:"erasure,omitempty"`
}

// AssetErasure is how an asset's media were erased or destroyed.
type AssetErasure struct {
	Method      string `json:"method"`
	By          string `json:"by"`
	Witness     string `json:"witness"`
	WitnessName string `json:"witness_name"`
	Day         string `json:"day"`
}

// assets lists the register of information assets, the terminals approved
// in staff included (view-assets).
func (h *Handler) assets(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, asset.ActView) {
		return
	}
	all, err := h.node.Assets.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Asset, 0, len(all))
	for _, a := range all {
		j := Asset{ID: a.ID, Kind: string(a.Kind), Name: a.Name, Location: a.Location, Manager: a.Manager, ManagerName: a.ManagerName,
			HoldsData: a.HoldsData, InstalledOn: dayJSON(a.InstalledOn), Department: a.Department, RegisteredBy: a.RegisteredBy,
			RegisteredAt: instantJSON(a.RegisteredAt), InUse: a.InUse()}
		if ret := a.Retired; ret != nil {
			j.Retired = &AssetRetirement{Day: dayJSON(ret.Day), Reason: ret.Reason, By: ret.By}
			if e := ret.Erasure; e != nil {
				j.Retired.Erasure = &AssetErasure{Method: string(e.Method), By: e.By, Witness: e.Witness, WitnessName: e.WitnessName, Day: dayJSON(e.Day)}
			}
		}
		out = append(out, j)
	}
	h.json(w, map[string]any{"assets": out})
}
