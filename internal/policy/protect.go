package policy

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/cedar-policy/cedar-go"

	"jukinet/internal/auditlog"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/protect"
)

// Protected residents (支援措置, internal/protect) add their actions, and
// their facts: the residents protected now, in the snapshot, so that the
// gate knows at decision time whether a request concerns one, and the
// profile's protected-resident forbid policy reads context.protected and
// context.case_ref with the affair's protected_residents.
func init() {
	adminActions = append(adminActions, protect.Actions...)
	maps.Copy(actionJapanese, protect.ActionJapanese)
}

// addProtections keeps the residents protected at now in the snapshot and
// returns the next instant after now a protection starts or ends, when the
// snapshot must be rebuilt.
func addProtections(s *snapshot, facts protect.Facts, now time.Time) time.Time {
	in, next := facts.InForce(now)
	s.protected = in
	return next
}

// Protected answers the gate: which of codes are residents protected now.
// It reads the snapshot the gate's decision just used (rebuilt when it
// changed, or when a protection started or ended since), with no query of
// its own.
func (e *Engine) Protected(ctx context.Context, codes []string) ([]string, error) {
	e.mu.Lock()
	s := e.snap
	e.mu.Unlock()
	if s == nil || (!s.refresh.IsZero() && !e.now().Before(s.refresh)) {
		var err error
		if s, err = e.current(ctx); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, c := range codes {
		if _, ok := s.protected[c]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// registerContext adds what the register's policies read of a request to
// its context: whether it concerns a protected resident, and whether it
// names a case.
func registerContext(c cedar.Record, q gate.Question) cedar.Record {
	m := c.Map()
	m["protected"] = cedar.Boolean(q.Protected)
	m["case_ref"] = cedar.Boolean(strings.TrimSpace(q.CaseRef) != "")
	return cedar.NewRecord(m)
}

// protectionPolicy is the id of the profile's protected-resident policy,
// or "" when it has none.
func (e *Engine) protectionPolicy() string {
	for id := range e.prof.Policies.All() {
		if strings.HasSuffix(string(id), protect.Policy) {
			return string(id)
		}
	}
	return ""
}

// protectedAllowed is the verdict on an allowed read of a protected
// resident: it names the protected-resident policy (the audit entry
// records that protection applied) and, in Why, the case and the permit.
func (e *Engine) protectedAllowed(v gate.Verdict, q gate.Question, affair profile.Affair) gate.Verdict {
	pid := e.protectionPolicy()
	if pid == "" {
		return v
	}
	v.Why = fmt.Sprintf("protected resident (支援措置): %s with case reference %q, an affair that may look up protected residents; permitted by %s",
		v.Why, strings.TrimSpace(q.CaseRef), v.Policy)
	v.Policy = pid
	return v
}

// unprotected explains, when policy id is a protected-resident policy, what
// the read of a protected resident lacked: the case reference, or an
// affair the profile allows for protected residents (naming those).
func (e *Engine) unprotected(id string, q gate.Question, affair profile.Affair) (en, ja string, ok bool) {
	if !strings.HasSuffix(id, protect.Policy) {
		return "", "", false
	}
	var allowed, allowedEN []string
	for _, a := range e.prof.Affairs {
		if a.ProtectedResidents {
			allowed, allowedEN = append(allowed, "「"+a.Name+"」"), append(allowedEN, a.ID)
		}
	}
	if !affair.ProtectedResidents {
		return fmt.Sprintf("the affair %s may not look up residents under support measures (those that may: %s)", affair.ID, strings.Join(allowedEN, ", ")),
			fmt.Sprintf("利用事務「%s」では支援措置の対象者を照会できません（照会できる利用事務：%s）", affair.Name, strings.Join(allowed, "")), true
	}
	return "the resident is under a support measure and the request names no case reference",
		"支援措置の対象者の照会には案件番号が必要です。案件番号を入力して照会してください（照会はセキュリティ責任者に直ちに通知されます）", true
}

// SharesSurname answers the gate's weak signal (gate.Kin): whether a
// resident's family name, in kanji or kana, is the operator's own surname
// (the first word of their name in the staff register), compared by the
// search keys that fold variant kanji and kana spellings.
func (e *Engine) SharesSurname(actor auditlog.Actor, familyName, familyNameKana string) bool {
	e.mu.Lock()
	s := e.snap
	e.mu.Unlock()
	if s == nil || actor.Kind != auditlog.ActorOperator {
		return false
	}
	m, ok := s.state.People[actor.ID]
	if !ok {
		return false
	}
	same := func(staffName, resident string, key func(string) string) bool {
		family, _, _ := strings.Cut(strings.TrimSpace(strings.ReplaceAll(staffName, "　", " ")), " ")
		return family != "" && strings.TrimSpace(resident) != "" && key(family) == key(resident)
	}
	return same(m.Name, familyName, jptext.NameKey) || same(m.NameKana, familyNameKana, jptext.KanaKey)
}
