package gate

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"jukinet/internal/apperr"
	"jukinet/internal/gate/internal/records"
)

// ProvideQuery is one row of a batch request: a resident by 住民票コード,
// or by the four items.
type ProvideQuery struct {
	Line   int
	Key    Key
	Search *SearchQuery
}

// Provision outcomes of a batch row.
const (
	Found     = "found"
	NotFound  = "not_found"
	Ambiguous = "ambiguous" // the four items fit more than one resident: nothing provided
	Invalid   = "invalid"
	// Withheld: the resident is under a support measure (支援措置) and the
	// request may not read them (no case reference, or an affair the
	// profile does not allow): nothing provided, the refusal logged.
	Withheld = "withheld"
)

// ProvideResult is the answer to one row.
type ProvideResult struct {
	Line   int
	Status string
	Record Record // set when found: only the affair's items
	Error  string
}

// Provide answers a batch of rows for a recipient (batch provision, 一括
// 提供): each row by code or by the four items, found only when exactly one
// resident fits best. The whole batch is one decision and one audit entry,
// which lists every resident provided (one provision record each) and is
// durable before anything is returned.
func (g *Gate) Provide(ctx context.Context, req Request, qs []ProvideQuery) ([]ProvideResult, error) {
	e, v := g.begin(ctx, req, "provide")
	e.Query = fmt.Sprintf("batch of %d rows", len(qs))
	if !v.Allow {
		return nil, g.deny(ctx, e, v)
	}
	out := make([]ProvideResult, len(qs))
	var wg sync.WaitGroup
	work := make(chan int)
	workers := 2 * runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = g.provideOne(ctx, qs[i], v)
			}
		}()
	}
	for i := range qs {
		work <- i
	}
	close(work)
	wg.Wait()
	var codes []string
	for _, r := range out {
		if r.Status == Found {
			codes = append(codes, string(r.Record.ResidentCode))
		}
	}
	protected, err := g.protectedOf(ctx, codes)
	if err != nil {
		return nil, g.fail(ctx, e, err)
	}
	var note string
	if len(protected) > 0 {
		pe := e
		pv := g.guard(ctx, req, "provide", &pe)
		if pv.Allow {
			e, v = pe, pv
		} else {
			// Withheld rows: the refusal is an entry of its own, with the alert.
			pe.Subjects, pe.Detail = protected, withheldNote(len(protected), pv.Policy)
			if err := g.recordProtected(ctx, pe, protected); err != nil {
				return nil, err
			}
			for i := range out {
				if out[i].Status == Found && slices.Contains(protected, string(out[i].Record.ResidentCode)) {
					out[i] = ProvideResult{Line: out[i].Line, Status: Withheld, Error: pv.Japanese}
				}
			}
			note, protected = withheldNote(len(protected), pv.Policy), nil
		}
	}
	found := 0
	for _, r := range out {
		if r.Status == Found {
			found++
			e.Subjects = append(e.Subjects, string(r.Record.ResidentCode))
		}
	}
	e.Count = found
	e.Detail = withDetail(fmt.Sprintf("%d rows, %d provided", len(qs), found), note)
	if found > 0 {
		e.Provision = g.provision(req, "batch", v)
	}
	if len(protected) > 0 {
		err = g.recordProtected(ctx, e, protected)
	} else {
		err = g.record(ctx, e)
	}
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Status == Found {
			out[i].Record = mask(out[i].Record, v)
			// The restriction travels with the record to the recipient.
			out[i].Record.Protected = slices.Contains(protected, string(out[i].Record.ResidentCode))
		}
	}
	return out, nil
}

func (g *Gate) provideOne(ctx context.Context, q ProvideQuery, v Verdict) ProvideResult {
	r := ProvideResult{Line: q.Line}
	if q.Search == nil {
		ver, err := g.find(ctx, q.Key)
		switch {
		case errors.Is(err, records.ErrNotFound):
			r.Status = NotFound
		case err != nil:
			r.Status, r.Error = Invalid, apperr.JapaneseOf(err)
		default:
			r.Status, r.Record = Found, fromVersion(ver)
		}
		return r
	}
	s := q.Search
	if s.Name == "" || s.DateOfBirth.IsZero() {
		r.Status, r.Error = Invalid, "氏名と生年月日が必要です"
		return r
	}
	if errs := s.check(); len(errs) > 0 {
		r.Status, r.Error = Invalid, fieldErrors(errs).Japanese
		return r
	}
	// A batch row names one resident by the whole name and date of birth,
	// as before the clerk's forms: a surname alone matches no one here.
	byName := records.Rules{Forms: []records.Form{{A: records.ItemName, B: records.ItemBirth}}}
	res, err := records.Search(ctx, g.db, records.Query{Name: s.Name, DateOfBirth: s.DateOfBirth, Sex: s.Sex, Address: s.Address}, byName, 2)
	found := res.Matches
	switch {
	case err != nil:
		r.Status, r.Error = Invalid, err.Error()
	case len(found) == 0:
		r.Status = NotFound
	case res.Capped || len(found) > 1 && found[1].Score == found[0].Score:
		r.Status = Ambiguous
	default:
		r.Status, r.Record = Found, fromVersion(found[0].Version)
	}
	return r
}
