package policy

import (
	"context"
	"fmt"
	"slices"

	"github.com/cedar-policy/cedar-go"

	"jukinet/internal/auditlog"
)

// IndexMismatches decides, on the engine's current snapshot, every request
// of each principal (and the console) × every action × every affair,
// department, terminal, principal, a node and a credential as resource ×
// each terminal (and a host) as origin, with and without the principal
// among the subjects — once with the profile's whole policy set and once
// with the action's list (index.go) — and returns how many it decided and
// each request where the two differ in effect, deciding policies or
// errors.
func (e *Engine) IndexMismatches(ctx context.Context, principals ...string) (int, []string, error) {
	s, err := e.current(ctx)
	if err != nil {
		return 0, nil, err
	}
	var actions, resources []cedar.EntityUID
	origins := []string{"host:console"}
	for u := range s.entities {
		switch u.Type {
		case typeAction:
			actions = append(actions, u)
		case typeAffair, typeDepartment:
			resources = append(resources, u)
		case typeTerminal:
			resources = append(resources, u)
			origins = append(origins, "terminal:"+string(u.ID))
		}
	}
	actors := []auditlog.Actor{{Kind: auditlog.ActorConsole, ID: "root"}}
	for _, vid := range principals {
		actors = append(actors, auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid})
		resources = append(resources, uid(typePerson, vid))
	}
	resources = append(resources, uid("Node", "node"), uid("Credential", "1"))
	ids := func(d cedar.Diagnostic) string {
		var r, errs []string
		for _, x := range d.Reasons {
			r = append(r, string(x.PolicyID))
		}
		for _, x := range d.Errors {
			errs = append(errs, string(x.PolicyID)+": "+x.Message)
		}
		slices.Sort(r)
		slices.Sort(errs)
		return fmt.Sprint(r, errs)
	}
	now := e.now()
	n := 0
	var out []string
	for _, a := range actors {
		for _, act := range actions {
			for _, res := range resources {
				for _, origin := range origins {
					for _, subjects := range [][]auditlog.Actor{nil, {a}} {
						req, _ := e.request(now, a, origin, act, res, subjects...)
						wd, wdiag := s.policies.IsAuthorized(s.entities, req)
						ld, ldiag := s.authorize(req)
						n++
						if wd != ld || ids(wdiag) != ids(ldiag) {
							out = append(out, fmt.Sprintf("%s %s on %s from %s (subjects %v): whole set %v %s, list %v %s",
								a, act, res, origin, subjects, wd, ids(wdiag), ld, ids(ldiag)))
						}
					}
				}
			}
		}
	}
	return n, out, nil
}
