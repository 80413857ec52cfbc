package policy

import (
	"strings"
	"time"

	"github.com/cedar-policy/cedar-go"

	"jukinet/internal/contract"
)

// The ends of the ids of the profile policies that refuse a contractor
// (aomori-pref:10): no contract covering them holds every clause, or none
// is in force. A refusal by one names the clause or the period.
const (
	ContractClausesPolicy = "/contract-clauses"
	ContractInForcePolicy = "/contract-in-force"
)

// addContracts gives every Person of the snapshot the outsourcing facts the
// contract policies read: contractor (a contract covers them),
// contract_clauses (one covering them holds all five clauses of
// aomori-pref:10.2), and contract_from and contract_until (Unix seconds:
// the period of the contract they are judged by, which the policies compare
// with context.now, so a contract's end ends their access that minute). It
// returns the instant after now at which another contract's start or end
// may change whom a contractor is judged by, when the snapshot is rebuilt.
func addContracts(s *snapshot, facts contract.Facts, now time.Time) time.Time {
	s.contracts = facts
	var refresh time.Time
	for u, ent := range s.entities {
		if u.Type != typePerson {
			continue
		}
		covers := facts[string(u.ID)]
		chosen, complete, next := contract.Choose(covers, now)
		if !next.IsZero() && (refresh.IsZero() || next.Before(refresh)) {
			refresh = next
		}
		var from, until int64
		if len(covers) > 0 {
			from, until = chosen.Start.Unix(), chosen.Until().Unix()
		}
		attrs := ent.Attributes.Map()
		attrs["contractor"] = cedar.Boolean(len(covers) > 0)
		attrs["contract_clauses"] = cedar.Boolean(complete)
		attrs["contract_from"] = cedar.Long(from)
		attrs["contract_until"] = cedar.Long(until)
		ent.Attributes = cedar.NewRecord(attrs)
		s.entities[u] = ent
	}
	return refresh
}

// uncovered explains, when policy id is a contract policy, why the
// contracts covering vid do not let them act at now.
func (s *snapshot) uncovered(id, vid string, now time.Time) (en, ja string, ok bool) {
	if !strings.HasSuffix(id, ContractClausesPolicy) && !strings.HasSuffix(id, ContractInForcePolicy) {
		return "", "", false
	}
	en, ja = contract.Explain(s.contracts[vid], now)
	return en, ja, en != ""
}
