package policy

import (
	"iter"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// policyList is the policies of a snapshot whose action scope can match
// one action. Cedar evaluates every policy of a set for every request; a
// policy scoped to other actions is never satisfied and raises no error
// (its scope is checked before its conditions), so a decision made with
// the list is the decision made with the whole set — the same effect, the
// same deciding policies — for a fraction of the work. The governance
// areas (training, outsourcing, rooms, assets) doubled the profiles'
// policies, most of them about actions a lookup never is
// (TestIndexDecidesAsTheWholeSet, docs/benchmarks.md).
type policyList []policyEntry

type policyEntry struct {
	id cedar.PolicyID
	p  *cedar.Policy
}

// All iterates the list, for cedar.Authorize.
func (l policyList) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, e := range l {
			if !yield(e.id, e.p) {
				return
			}
		}
	}
}

// indexByAction lists, for every Action entity of ents, the policies of
// ps whose action scope it satisfies: the action itself, or an action
// group it belongs to (its ancestors in ents). A scope it cannot read
// keeps the policy in every list.
func indexByAction(ps *cedar.PolicySet, ents cedar.EntityMap) map[cedar.EntityUID]policyList {
	out := map[cedar.EntityUID]policyList{}
	for u := range ents {
		if u.Type != typeAction {
			continue
		}
		in := ancestors(ents, u)
		in[u] = true
		var l policyList
		for id, p := range ps.All() {
			if actionScopeMatches((*xast.Policy)(p.AST()).Action, u, in) {
				l = append(l, policyEntry{id, p})
			}
		}
		out[u] = l
	}
	return out
}

// ancestors are the entities u is in, transitively.
func ancestors(ents cedar.EntityMap, u cedar.EntityUID) map[cedar.EntityUID]bool {
	seen := map[cedar.EntityUID]bool{}
	queue := []cedar.EntityUID{u}
	for len(queue) > 0 {
		e, ok := ents[queue[0]]
		queue = queue[1:]
		if !ok {
			continue
		}
		for p := range e.Parents.All() {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return seen
}

// actionScopeMatches says whether an action scope holds for the action
// self, which is in each entity of in (itself and its groups).
func actionScopeMatches(scope xast.IsActionScopeNode, self cedar.EntityUID, in map[cedar.EntityUID]bool) bool {
	switch s := scope.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		return s.Entity == self
	case xast.ScopeTypeIn:
		return in[s.Entity]
	case xast.ScopeTypeInSet:
		for _, e := range s.Entities {
			if in[e] {
				return true
			}
		}
		return false
	}
	return true
}
