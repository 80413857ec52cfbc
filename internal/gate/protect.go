package gate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
)

// Protector says which residents are under support measures (支援措置)
// now, from the same snapshot of facts its decisions use. A Decider that
// is also a Protector (the policy engine) has every read of a protected
// resident decided again with Question.Protected set; one that is not
// protects nobody.
type Protector interface {
	Protected(ctx context.Context, codes []string) ([]string, error)
}

// Alarm raises the immediate alert for a read of protected residents
// (allowed or refused), in the transaction of its audit entry e (sequence
// seq): if it fails, the entry is not written and nothing leaves the gate.
// The detector implements it (detect.Detector.Alarm).
type Alarm func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry, protected []string) error

// Signal values an entry's Detail may carry for the detection's weak
// signals, worked out by the gate, which alone sees the record read.
const (
	// SignalSameSurname: the resident read shares the operator's surname
	// (a relative, perhaps: detect.RuleKin).
	SignalSameSurname = "signal:same-surname"
)

// Kin says whether a resident's family name (kanji or kana) is the
// actor's own surname, from the staff register. The policy engine
// implements it; a Decider that does not finds no kin.
type Kin interface {
	SharesSurname(actor auditlog.Actor, familyName, familyNameKana string) bool
}

// signal returns the weak signals of reading r for req (for e.Detail).
func (g *Gate) signal(req Request, r Record) string {
	k, ok := g.decider.(Kin)
	if !ok || req.Actor.Kind != auditlog.ActorOperator || !k.SharesSurname(req.Actor, r.FamilyName, r.FamilyNameKana) {
		return ""
	}
	return SignalSameSurname
}

// protectedOf returns those of codes under protection now.
func (g *Gate) protectedOf(ctx context.Context, codes []string) ([]string, error) {
	p, ok := g.decider.(Protector)
	if !ok || len(codes) == 0 {
		return nil, nil
	}
	out, err := p.Protected(ctx, codes)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "whether the resident is under a support measure could not be read, so the request was refused",
			"支援措置の対象者かどうかを確認できなかったため、処理を中止しました")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// guard decides again a request that concerns protected residents, and
// makes e its entry: the verdict names the profile's protected-resident
// policy, allowed or refused.
func (g *Gate) guard(ctx context.Context, req Request, action string, e *auditlog.Entry) Verdict {
	v := g.decider.Decide(ctx, Question{Request: req, Action: action, Protected: true})
	e.Policy, e.Why, e.WhyJapanese = v.Policy, v.Why, v.Japanese
	if !v.Allow {
		e.Decision, e.Outcome = auditlog.Deny, auditlog.OutcomeDenied
	}
	return v
}

// recordProtected appends e with the immediate alert in its transaction:
// both are written, or neither and the request fails.
func (g *Gate) recordProtected(ctx context.Context, e auditlog.Entry, protected []string) error {
	if g.Alarm == nil {
		return apperr.New(apperr.Unavailable, "no alarm is wired to the gate: a read of a protected resident is refused",
			"支援措置の対象者の照会を通知できないため、処理を中止しました。システム管理者に連絡してください")
	}
	_, workErr, err := g.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		return g.Alarm(ctx, tx, seq, e, protected)
	})
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the audit log could not record this access, so it was refused",
			"アクセス記録（監査ログ）を書き込めなかったため、処理を中止しました。システム管理者に連絡してください。")
	}
	if workErr != nil {
		return apperr.Wrap(apperr.Unavailable, workErr, "the alert to the security officers could not be recorded, so the access was refused",
			"セキュリティ責任者への通知を記録できなかったため、処理を中止しました。システム管理者に連絡してください。")
	}
	return nil
}

// denyProtected records a refused read of protected residents, with its
// alert, and returns the refusal.
func (g *Gate) denyProtected(ctx context.Context, e auditlog.Entry, v Verdict, protected []string) error {
	if err := g.recordProtected(ctx, e, protected); err != nil {
		return err
	}
	if v.Suspended {
		return apperr.New(apperr.Suspended, "suspended: "+v.Why, v.Japanese)
	}
	return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
}

// withDetail appends s to an entry's detail.
func withDetail(detail, s string) string {
	if s == "" {
		return detail
	}
	if detail == "" {
		return s
	}
	return strings.TrimSpace(detail + "; " + s)
}

// withheldNote is the detail of a search or batch entry from whose answer
// protected residents were withheld.
func withheldNote(n int, policy string) string {
	return fmt.Sprintf("%d protected residents withheld (%s)", n, policy)
}
