package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/staff"
)

// EnrolmentValidity is how long a one-time enrolment link works.
const EnrolmentValidity = 24 * time.Hour

// IssueEnrolment creates a one-time link with which vid registers a
// credential. Only who may enrol credentials (the system administrator,
// koto-ward:13) may issue one; the issue is logged. It returns the token.
func (s *Service) IssueEnrolment(ctx context.Context, who staff.Who, vid string) (string, error) {
	if _, err := s.staff.Person(ctx, vid); err != nil {
		return "", err
	}
	v := s.authz.MayAdminister(ctx, who, staff.ActEnrol, staff.Resource{Kind: "person", ID: vid})
	return s.issue(ctx, who, vid, v)
}

// IssueFirstEnrolment creates the enrolment link of the node's first
// system administrator, as the node itself: only while that person is the
// only staff member and has never had a credential (jukinet init).
func (s *Service) IssueFirstEnrolment(ctx context.Context, vid string) (string, error) {
	people, err := s.staff.People(ctx)
	if err != nil {
		return "", err
	}
	creds, err := s.staff.Credentials(ctx)
	if err != nil {
		return "", err
	}
	v := staff.Verdict{Allow: true, Policy: "jukinet:bootstrap", Why: "the first system administrator's enrolment"}
	if len(people) != 1 || people[0].VerificationID != vid || len(creds) > 0 {
		v = staff.Verdict{Policy: "jukinet:bootstrap", Why: "the node already has staff with credentials",
			Japanese: "最初のシステム管理者の登録用リンクは、職員が一人で照合情報が未登録のときだけ発行できます"}
	}
	return s.issue(ctx, staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "node"}, Origin: "host:init"}, vid, v)
}

func (s *Service) issue(ctx context.Context, who staff.Who, vid string, v staff.Verdict) (string, error) {
	e := auditlog.Entry{Node: s.node, Actor: who.Actor, Origin: who.Origin, Action: "auth.issue-enrolment", Query: "person:" + vid,
		Decision: auditlog.Allow, Policy: v.Policy, Why: v.Why, WhyJapanese: v.Japanese, Outcome: auditlog.OutcomeOK}
	if !v.Allow {
		e.Decision, e.Outcome = auditlog.Deny, auditlog.OutcomeDenied
		if _, err := s.log.Append(ctx, e); err != nil {
			return "", apperr.Wrap(apperr.Unavailable, err, "audit log", "アクセス記録を書き込めませんでした")
		}
		return "", apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
	}
	token, hash := newToken()
	e.Detail = "valid until " + s.Now().Add(EnrolmentValidity).UTC().Format(time.RFC3339)
	_, workErr, err := s.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `INSERT INTO auth_enrolment (token_hash, verification_id, issued_by, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			hash, vid, who.Actor.String(), e.Clock(), e.Clock().Add(EnrolmentValidity))
		return err
	})
	if err == nil {
		err = workErr
	}
	if err != nil {
		return "", fmt.Errorf("issue enrolment link: %w", err)
	}
	return token, nil
}

// enrolment is an issued link.
type enrolment struct {
	vid, issuedBy string
	expires       time.Time
	used          bool
}

func (s *Service) enrolment(ctx context.Context, token string) (enrolment, error) {
	var en enrolment
	var used sql.NullTime
	err := s.db.QueryRow(ctx, `SELECT verification_id, issued_by, expires_at, used_at FROM auth_enrolment WHERE token_hash = ?`, hashToken(token)).
		Scan(&en.vid, &en.issuedBy, &en.expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return en, apperr.New(apperr.NotFound, "unknown enrolment link", "この登録用リンクは無効です")
	case err != nil:
		return en, fmt.Errorf("read enrolment link: %w", err)
	case used.Valid:
		return en, apperr.New(apperr.Conflict, "this enrolment link was already used", "この登録用リンクは使用済みです。システム管理者に新しいリンクを依頼してください")
	case s.Now().After(en.expires):
		return en, apperr.New(apperr.Invalid, "this enrolment link expired", "この登録用リンクは有効期限切れです。システム管理者に新しいリンクを依頼してください")
	}
	return en, nil
}

// EnrolmentFor returns the verification id an enrolment link is for.
func (s *Service) EnrolmentFor(ctx context.Context, token string) (string, error) {
	en, err := s.enrolment(ctx, token)
	return en.vid, err
}

// BeginEnrol starts registering a credential through an enrolment link:
// options for navigator.credentials.create (user verification required).
func (s *Service) BeginEnrol(ctx context.Context, token, terminal string) ([]byte, string, error) {
	en, err := s.enrolment(ctx, token)
	if err != nil {
		return nil, "", err
	}
	u, err := s.user(ctx, en.vid)
	if err != nil {
		return nil, "", err
	}
	exclude := make([]protocol.CredentialDescriptor, len(u.creds))
	for i, c := range u.creds {
		exclude[i] = c.Descriptor()
	}
	opts, data, err := s.wa.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: protocol.VerificationRequired, ResidentKey: protocol.ResidentKeyRequirementDiscouraged}),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, "", fmt.Errorf("begin enrolment: %w", err)
	}
	id, err := s.saveCeremony(ctx, ceremony{kind: "enrol", vid: en.vid, terminal: terminal, data: *data})
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(opts)
	return b, id, err
}

// FinishEnrol checks the authenticator's new credential and enters it in
// the enrolment register, as registered by whoever issued the link.
func (s *Service) FinishEnrol(ctx context.Context, token, ceremonyID, terminal, label string, r *http.Request) error {
	en, err := s.enrolment(ctx, token)
	if err != nil {
		return err
	}
	c, _, err := s.takeCeremony(ctx, ceremonyID, "enrol", terminal)
	if err != nil {
		return err
	}
	if c.vid != en.vid {
		return apperr.New(apperr.Forbidden, "the ceremony is for another person", "別の職員の登録手続きです")
	}
	u, err := s.user(ctx, en.vid)
	if err != nil {
		return err
	}
	cred, err := s.wa.FinishRegistration(u, c.data, r)
	if err != nil {
		return s.refuse(ctx, "enrol", en.vid, terminal, false, "registration failed: "+errorDetail(err), "照合情報を登録できませんでした。もう一度お試しください")
	}
	if !cred.Flags.UserVerified {
		return s.refuse(ctx, "enrol", en.vid, terminal, false, "the authenticator did not verify the user", "生体認証（本人確認）に対応した認証器を使ってください")
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	kind, id, _ := strings.Cut(en.issuedBy, ":")
	issuer := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorKind(kind), ID: id}, Origin: "terminal:" + terminal}
	if label == "" {
		label = "生体認証器"
	}
	// Claim the link first: it is used once, even if the registration
	// then fails (a new link is issued for another try).
	res, err := s.db.Exec(ctx, `UPDATE auth_enrolment SET used_at = ? WHERE token_hash = ? AND used_at IS NULL`, s.Now(), hashToken(token))
	if err != nil {
		return fmt.Errorf("use enrolment link: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.New(apperr.Conflict, "this enrolment link was already used", "この登録用リンクは使用済みです")
	}
	reg := staff.Credential{CredentialID: cred.ID, Data: string(data), Label: label}
	if issuer.Actor.Kind == auditlog.ActorSystem {
		return s.staff.RegisterFirstCredential(ctx, en.vid, reg)
	}
	return s.staff.RegisterCredential(ctx, issuer, en.vid, reg)
}
