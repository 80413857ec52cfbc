package policy

import (
	"maps"
	"strings"
	"time"

	"github.com/cedar-policy/cedar-go"

	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/profile"
)

// UsageApprovalPolicy ends the id of each profile policy that refuses a use
// of the register outside every usage approval in force (aomori-pref:7.1,
// koto-ward:12.1). A refusal by one says which approval and why: none, not
// yet started, over, or the terminal not named in it.
const UsageApprovalPolicy = "/within-usage-approval"

func init() {
	adminActions = append(adminActions, approval.Actions...)
	maps.Copy(actionJapanese, approval.ActionJapanese)
}

// addApprovals gives every Department of the snapshot approved_affairs (the
// affairs an approval in force lets it use) and every Terminal
// usage_affairs (the affairs an approval in force names it for). It returns
// the next instant after now an approval starts or ends, when the snapshot
// must be rebuilt.
func addApprovals(s *snapshot, facts approval.Facts, now time.Time) time.Time {
	depts, terms, next := facts.InForce(now)
	s.approvals, s.approved = facts, depts
	for u, ent := range s.entities {
		var affairs []string
		var key cedar.String
		switch u.Type {
		case typeDepartment:
			affairs, key = depts[string(u.ID)], "approved_affairs"
		case typeTerminal:
			affairs, key = terms[string(u.ID)], "usage_affairs"
		default:
			continue
		}
		attrs := ent.Attributes.Map()
		attrs[key] = uidSet(typeAffair, affairs)
		ent.Attributes = cedar.NewRecord(attrs)
		s.entities[u] = ent
	}
	return next
}

// outsideApproval explains, when policy id is a within-usage-approval
// policy, why the use of affair by actor at origin is outside every
// approval in force at now.
func (e *Engine) outsideApproval(s *snapshot, id string, actor auditlog.Actor, origin string, affair profile.Affair, now time.Time) (en, ja string, ok bool) {
	if !strings.HasSuffix(id, UsageApprovalPolicy) {
		return "", "", false
	}
	m, found := s.state.People[actor.ID]
	if !found {
		return "", "", false
	}
	_, terminal, _ := strings.Cut(origin, ":")
	en, ja = s.approvals.Explain(m.Department, e.deptName(m.Department), terminal, affair.ID, affair.Name, now)
	return en, ja, true
}

// earliest is the earlier of two instants, zero meaning never.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
