package policy

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/cedar-policy/cedar-go"

	"jukinet/internal/auditlog"
	"jukinet/internal/facility"
	"jukinet/internal/staff"
)

// The rooms and installations record (internal/facility) adds its actions,
// sign-in among them: asked at sign-in so that the profile's
// installed-terminal forbid policies (koto-ward:11, aomori-pref:6.1) refuse
// a terminal that is not in an approved installation.
func init() {
	adminActions = append(adminActions, facility.Actions...)
	maps.Copy(actionJapanese, facility.ActionJapanese)
}

// addFacilities gives every Terminal of the snapshot the attribute the
// installed-terminal policies read: installed, true when the terminal is in
// an approved installation or when the node records no terminal-level room
// yet (the rule is off until the record exists: see internal/facility).
func addFacilities(s *snapshot, facts facility.Facts) {
	for u, ent := range s.entities {
		if u.Type != typeTerminal {
			continue
		}
		attrs := ent.Attributes.Map()
		attrs["installed"] = cedar.Boolean(!facts.Required || facts.Installed[string(u.ID)])
		ent.Attributes = cedar.NewRecord(attrs)
		s.entities[u] = ent
	}
}

// MaySignIn answers the sign-in: may vid open a session at terminal? Only
// the profile's installed-terminal forbid policies are asked (who may sign
// in at all is the authenticator's and the staff store's business): a
// refusal names the policy and the article.
func (e *Engine) MaySignIn(ctx context.Context, vid, terminal string) staff.Verdict {
	s, err := e.current(ctx)
	if err != nil {
		return staff.Verdict{Policy: "jukinet:unavailable", Why: "staff data could not be read: " + err.Error(), Japanese: "権限を確認できなかったため、処理を中止しました"}
	}
	who := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}, Origin: "terminal:" + terminal}
	req, _ := e.request(e.now(), who.Actor, who.Origin, uid(typeAction, facility.ActSignIn), uid(typeTerminal, terminal))
	_, diag := s.authorize(req)
	for _, r := range diag.Reasons {
		id := string(r.PolicyID)
		if !strings.HasSuffix(id, facility.InstalledTerminalPolicy) {
			continue
		}
		ja, _ := e.forbidden(id)
		return staff.Verdict{Policy: id, Why: fmt.Sprintf("terminal %s is not in an approved installation: forbidden by %s", terminal, id), Japanese: ja}
	}
	return staff.Verdict{Allow: true}
}
