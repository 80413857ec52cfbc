package federation

import (
	"crypto/x509"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/resident"
)

// Provider answers registered recipient bodies (別表) at a prefecture or the
// national node: one-by-one lookups and batch files, through the gate.
type Provider struct {
	n      *node.Node
	ca     *x509.Certificate
	logger *slog.Logger
}

// NewProvider returns the provider of node n; ca is the node's own CA,
// which issued the recipients' certificates.
func NewProvider(n *node.Node, ca *x509.Certificate, logger *slog.Logger) *Provider {
	if logger == nil {
		logger = slog.Default()
	}
	return &Provider{n: n, ca: ca, logger: logger}
}

// recipient is the body a request's client certificate names (CN
// recipient:ID, issued by this node's CA), or "".
func (p *Provider) recipient(r *http.Request) string {
	if r.TLS == nil || p.ca == nil {
		return ""
	}
	for _, chain := range r.TLS.VerifiedChains {
		if len(chain) > 1 && chain[len(chain)-1].Equal(p.ca) {
			if id, ok := strings.CutPrefix(chain[0].Subject.CommonName, "recipient:"); ok {
				return id
			}
		}
	}
	return ""
}

func (p *Provider) request(r *http.Request, id string) gate.Request {
	q := r.URL.Query()
	return gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: id}, Origin: "body:" + id,
		Affair: q.Get("affair"), Reason: q.Get("reason"), CaseRef: q.Get("case")}
}

func problem(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error(), "error_ja": apperr.JapaneseOf(err)})
}

func statusOf(err error) int {
	switch apperr.CodeOf(err) {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Forbidden, apperr.Suspended:
		return http.StatusForbidden
	}
	return http.StatusServiceUnavailable
}

// ServeLookup answers GET /provision/v1/residents/{code}?affair=&reason=.
func (p *Provider) ServeLookup(w http.ResponseWriter, r *http.Request) {
	id := p.recipient(r)
	if id == "" {
		problem(w, http.StatusUnauthorized, apperr.New(apperr.Forbidden, "present the recipient certificate this node issued", "提供先の証明書が必要です"))
		return
	}
	rec, err := p.n.Gate.Lookup(r.Context(), p.request(r, id), gate.Key{ResidentCode: r.PathValue("code")})
	if err != nil {
		problem(w, statusOf(err), err)
		return
	}
	writeCSV(w, []gate.ProvideResult{{Line: 1, Status: gate.Found, Record: rec}})
}

// ServeBatch answers POST /provision/v1/batch?affair=&reason=: a CSV of
// resident_code, or of name,date_of_birth[,sex][,address], in; a CSV of
// results out, one per row.
func (p *Provider) ServeBatch(w http.ResponseWriter, r *http.Request) {
	id := p.recipient(r)
	if id == "" {
		problem(w, http.StatusUnauthorized, apperr.New(apperr.Forbidden, "present the recipient certificate this node issued", "提供先の証明書が必要です"))
		return
	}
	qs, err := ReadBatch(http.MaxBytesReader(w, r.Body, 256<<20))
	if err != nil {
		problem(w, http.StatusBadRequest, err)
		return
	}
	results, err := p.n.Gate.Provide(r.Context(), p.request(r, id), qs)
	if err != nil {
		problem(w, statusOf(err), err)
		return
	}
	writeCSV(w, results)
}

// ReadBatch reads a batch request file.
func ReadBatch(r io.Reader) ([]gate.ProvideQuery, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "read the batch's header: "+err.Error(), "一括提供のファイルの見出し行を読めません")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	_, byCode := col["resident_code"]
	_, byName := col["name"]
	_, byBirth := col["date_of_birth"]
	if !byCode && !(byName && byBirth) {
		return nil, apperr.New(apperr.Invalid, "the header needs resident_code, or name and date_of_birth (and optionally sex, address)",
			"見出しは resident_code、または name・date_of_birth（任意で sex・address）としてください")
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var qs []gate.ProvideQuery
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, apperr.New(apperr.Invalid, fmt.Sprintf("line %d: %v", line, err), fmt.Sprintf("%d行目を読めません", line))
		}
		q := gate.ProvideQuery{Line: line}
		if byCode {
			q.Key = gate.Key{ResidentCode: get(row, "resident_code")}
		} else {
			s := gate.SearchQuery{Name: get(row, "name"), Address: get(row, "address")}
			if d := get(row, "date_of_birth"); d != "" {
				s.DateOfBirth, _ = jptext.ParseDate(d)
			}
			switch get(row, "sex") {
			case "1", "男":
				s.Sex = resident.SexMale
			case "2", "女":
				s.Sex = resident.SexFemale
			}
			q.Search = &s
		}
		qs = append(qs, q)
	}
	return qs, nil
}

// writeCSV writes the results, one row per request row.
func writeCSV(w http.ResponseWriter, results []gate.ProvideResult) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	cw.Write([]string{"line", "status", "resident_code", "family_name", "given_name", "family_name_kana", "given_name_kana",
		"date_of_birth", "sex", "address", "change_reason", "change_date", "error", "protected"})
	date := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	}
	for _, r := range results {
		row := []string{strconv.Itoa(r.Line), r.Status, "", "", "", "", "", "", "", "", "", "", r.Error, ""}
		if r.Status == gate.Found {
			x := r.Record
			sex := ""
			if x.Sex != 0 {
				sex = strconv.Itoa(int(x.Sex))
			}
			row = []string{strconv.Itoa(r.Line), r.Status, string(x.ResidentCode), x.FamilyName, x.GivenName, x.FamilyNameKana, x.GivenNameKana,
				date(x.DateOfBirth), sex, x.Address, string(x.ChangeReason), date(x.ChangeDate), "", ""}
			if x.Protected {
				// The restriction travels with the record: the recipient
				// treats it as under a support measure (支援措置).
				row[len(row)-1] = "1"
			}
		}
		cw.Write(row)
	}
	cw.Flush()
}
