// Package auth signs operators in: a verification id (照合ID) plus a WebAuthn
// credential with user verification required — the authenticator checks
// the finger or face, the server keeps only a public key (koto-ward:12.2,
// 13). Credentials are enrolled through one-time links the system
// administrator issues. Sessions are kept server-side, bound to the terminal
// they began on, locked when idle and ended after an absolute time, as the
// profile's [session] rules say; repeated failures lock the verification id
// out for a while. Every sign-in, failure, lock-out and sign-out is an
// audit-log entry.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
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
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// Config is how the node is reached by browsers.
type Config struct {
	RPID    string   // WebAuthn relying party id: the host name (localhost in the demo)
	Origins []string // allowed origins, e.g. http://localhost:8080
	Demo    bool     // a demo node: one-click sign-in of demo staff is allowed
}

// Service signs operators in and keeps their sessions.
type Service struct {
	db    *db.DB
	log   *auditlog.Log
	staff *staff.Store
	authz staff.Authorizer
	prof  *profile.Profile
	node  string
	wa    *webauthn.WebAuthn
	cfg   Config
	// Now is the clock; tests move it.
	Now func() time.Time
}

// New returns the sign-in service of a node.
func New(d *db.DB, log *auditlog.Log, st *staff.Store, authz staff.Authorizer, node string, cfg Config) (*Service, error) {
	wa, err := webauthn.New(&webauthn.Config{RPID: cfg.RPID, RPDisplayName: "jukinet " + node, RPOrigins: cfg.Origins})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &Service{db: d, log: log, staff: st, authz: authz, prof: st.Profile(), node: node, wa: wa, cfg: cfg, Now: time.Now}, nil
}

// Session is a signed-in operator at a terminal.
type Session struct {
	VerificationID string
	Terminal       string
	Demo           bool // one-click demo sign-in
	CreatedAt      time.Time
	LastSeenAt     time.Time
	VerifiedAt     time.Time
	// Locked means the session was idle too long: the operator must verify
	// again (Reverify) before going on.
	Locked bool
}

// Who is the session's operator as the staff store and gate name them.
func (s *Session) Who() staff.Who {
	return staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: s.VerificationID}, Origin: "terminal:" + s.Terminal}
}

// RecentlyVerified says the operator verified within the profile's
// re-verification window, as sensitive actions require.
func (s *Service) RecentlyVerified(sess *Session) bool {
	return s.Now().Sub(sess.VerifiedAt) <= time.Duration(s.prof.Session.ReverifyMinutes)*time.Minute
}

// touchEvery is how often a session's activity is written.
const touchEvery = time.Minute

// clockSlack is how far the clock may read before a session's latest
// instant (its start, activity or verification) without ending it: a
// correction of the clock by less extends no limit by more than the idle
// lock's own precision (touchEvery).
const clockSlack = touchEvery

// The errors a clerk may see.
var (
	ErrNoSession = apperr.New(apperr.Forbidden, "not signed in", "ログインしてください")
	ErrExpired   = apperr.New(apperr.Forbidden, "the session ended; sign in again", "セッションの有効期限が切れました。もう一度ログインしてください")
)

func newToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// waUser adapts a staff member to go-webauthn.
type waUser struct {
	person staff.Person
	creds  []webauthn.Credential
	ids    map[string]int64 // credential id → register entry
}

// WebAuthnID is an opaque handle: a hash, not the verification id itself.
func (u *waUser) WebAuthnID() []byte {
	h := sha256.Sum256([]byte("jukinet-user:" + u.person.VerificationID))
	return h[:]
}
func (u *waUser) WebAuthnName() string                       { return u.person.VerificationID }
func (u *waUser) WebAuthnDisplayName() string                { return u.person.Name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (s *Service) user(ctx context.Context, vid string) (*waUser, error) {
	p, err := s.staff.Person(ctx, vid)
	if err != nil {
		return nil, err
	}
	stored, err := s.staff.ActiveCredentials(ctx, vid)
	if err != nil {
		return nil, err
	}
	u := &waUser{person: p, ids: map[string]int64{}}
	for _, c := range stored {
		var wc webauthn.Credential
		if err := json.Unmarshal([]byte(c.Data), &wc); err != nil {
			return nil, fmt.Errorf("read credential %d of %s: %w", c.ID, vid, err)
		}
		u.creds = append(u.creds, wc)
		u.ids[string(wc.ID)] = c.ID
	}
	return u, nil
}

// entry is an audit entry of a sign-in event.
func (s *Service) entry(action, vid, terminal string) auditlog.Entry {
	return auditlog.Entry{Node: s.node, Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}, Origin: "terminal:" + terminal,
		Action: "auth." + action, Decision: auditlog.Allow, Policy: "jukinet:sign-in", Outcome: auditlog.OutcomeOK}
}

// refuse logs a refused sign-in step and returns the clerk's error.
func (s *Service) refuse(ctx context.Context, action, vid, terminal string, fail bool, en, ja string) error {
	e := s.entry(action, vid, terminal)
	e.Decision, e.Outcome, e.Why, e.WhyJapanese = auditlog.Deny, auditlog.OutcomeDenied, en, ja
	_, workErr, err := s.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		if !fail {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO auth_failure (verification_id, at) VALUES (?, ?)`, vid, e.Clock())
		return err
	})
	if err != nil || workErr != nil {
		return apperr.New(apperr.Unavailable, "the audit log could not record the sign-in", "アクセス記録を書き込めなかったため、ログインできません")
	}
	return apperr.New(apperr.Forbidden, en, ja)
}

// Client is where a request comes from, as its connection says: the
// network address and the verified client certificate's subject, if any
// (CertSubject, or the subject of Cert, written out only when a refusal
// names it: not for every request).
type Client struct {
	Addr, CertSubject string
	Cert              *x509.Certificate
}

// subject is the verified client certificate's subject, or "".
func (c Client) subject() string {
	if c.CertSubject == "" && c.Cert != nil {
		return c.Cert.Subject.String()
	}
	return c.CertSubject
}

type clientKey struct{}

// WithClient gives ctx the request's client, so that a sign-in attempt
// from a device that is not an approved terminal is logged as the
// device's, not as the operator's it names.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// Why a sign-in step was refused before anyone was authenticated: the
// audit entry's reason (the clerk may see less, see ErrCannotSignIn).
const (
	whyNotATerminal     = "not-a-terminal"
	whyTerminalNotInUse = "terminal-not-approved"
	whyDemoSignIn       = "demo-sign-in-refused"
	whyUnknownCeremony  = "unknown-ceremony"
	whyOtherTerminal    = "ceremony-of-another-terminal"
	whyExpiredCeremony  = "ceremony-expired"
	whyUnknownID        = "unknown-verification-id"
	whyNoCredential     = "no-credential"
	whyLockedOut        = "locked-out"
	whyNotVerified      = "assertion-not-verified"
)

// ErrCannotSignIn is the one answer to a sign-in begun at an approved
// terminal with a verification id that is unknown, departed, without a
// credential or locked out: different answers would let anyone at a
// terminal find out which ids exist. The audit entry keeps the true
// reason for the system administrator.
var ErrCannotSignIn = apperr.New(apperr.Forbidden, "cannot sign in with this verification id: check it, and if it is right ask the system administrator",
	"この照合IDではログインできません。照合IDを確かめ、正しい場合はシステム管理者に連絡してください")

// refuseDevice refuses a sign-in step on which nobody was authenticated:
// begun on a device that is not an approved terminal in use, begun with an
// id that cannot sign in, or finished with an answer that did not verify.
// Anyone at the device could have sent it, so the entry is the device's
// (the approved terminal, or the host's address), fixed-size, and repeats
// of a kind from the device are counted (auditlog.Refuse) — never the
// operator's it claims: that would be enough to raise a false denials
// alert against a real person, and to fill the permanent log with ids.
// The claimed id is named only when the device is an approved terminal
// and the id a registered one; otherwise a stand-in or nothing. When
// count, the failure still counts towards the id's lock-out.
func (s *Service) refuseDevice(ctx context.Context, action, vid, terminal, why string, count bool, answer error) error {
	// The refusal is recorded even when the sender has gone.
	ctx = context.WithoutCancel(ctx)
	c, _ := ctx.Value(clientKey{}).(Client)
	r := auditlog.Refusal{Node: s.node, Action: "auth." + action, Why: why, Addr: c.Addr, CertSubject: c.subject()}
	if s.approved(ctx, terminal) {
		r.Terminal = terminal
		if vid != "" {
			r.Claimed = auditlog.ClaimUnregistered
			if s.registered(ctx, vid) {
				r.Claimed = vid
				if count {
					if _, err := s.db.Exec(ctx, `INSERT INTO auth_failure (verification_id, at) VALUES (?, ?)`, vid, s.Now()); err != nil {
						return fmt.Errorf("count a failed sign-in of %s: %w", vid, err)
					}
				}
			}
		}
	}
	if err := s.log.Refuse(ctx, r); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the audit log could not record the sign-in", "アクセス記録を書き込めなかったため、ログインできません")
	}
	return answer
}

// registered says whether vid is the verification id of an active staff
// member. Only a registered id is ever named in a refusal.
func (s *Service) registered(ctx context.Context, vid string) bool {
	if !wellFormedID(vid) {
		return false
	}
	_, err := s.staff.Person(ctx, vid)
	return err == nil
}

// wellFormedID is the staff store's rule for a verification id: what does
// not match cannot be registered, and is not even looked up — PostgreSQL
// refuses a NUL in a query's text, and a clerk's typo is no database error.
func wellFormedID(vid string) bool { return staff.WellFormedID(vid) }

// approved says whether terminal is an approved terminal in use.
func (s *Service) approved(ctx context.Context, terminal string) bool {
	if terminal == "" {
		return false
	}
	t, err := s.staff.Terminal(ctx, terminal)
	return err == nil && t.RetiredAt.IsZero()
}

// signInDecider is the policy engine's sign-in question: do the
// profile's policies forbid a sign-in at this terminal (a terminal not in
// an approved installation, internal/facility)?
type signInDecider interface {
	MaySignIn(ctx context.Context, vid, terminal string) staff.Verdict
}

// installed refuses a sign-in at a terminal the profile's policies forbid
// (koto-ward:11, aomori-pref:6.1): the device's refusal, logged with the
// policy's id as the reason, and the clerk told which rule.
func (s *Service) installed(ctx context.Context, vid, terminal string) error {
	d, ok := s.authz.(signInDecider)
	if !ok {
		return nil
	}
	v := d.MaySignIn(ctx, vid, terminal)
	if v.Allow {
		return nil
	}
	return s.refuseDevice(ctx, "login", vid, terminal, v.Policy, false,
		apperr.New(apperr.Forbidden, v.Why, v.Japanese+"（"+v.Policy+"）"))
}

// lockedOut says whether vid failed too often within the lockout window.
func (s *Service) lockedOut(ctx context.Context, vid string) (bool, error) {
	var n int
	since := s.Now().Add(-time.Duration(s.prof.Session.LockoutMinutes) * time.Minute)
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM auth_failure WHERE verification_id = ? AND at > ?`, vid, since).Scan(&n); err != nil {
		return false, fmt.Errorf("count failed sign-ins: %w", err)
	}
	return n >= s.prof.Session.MaxFailedLogins, nil
}

// ceremony is a begun WebAuthn ceremony.
type ceremony struct {
	kind, vid, terminal string
	data                webauthn.SessionData
}

func (s *Service) saveCeremony(ctx context.Context, c ceremony) (string, error) {
	id, _ := newToken()
	data, err := json.Marshal(c.data)
	if err != nil {
		return "", err
	}
	err = s.db.Transact(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM auth_ceremony WHERE expires_at < ?`, s.Now()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO auth_ceremony (id, kind, verification_id, terminal_id, data, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, c.kind, c.vid, c.terminal, string(data), s.Now().Add(5*time.Minute))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("save ceremony: %w", err)
	}
	return id, nil
}

// takeCeremony loads a ceremony and deletes it: each is used once. A
// refused ceremony comes with the reason to log (why).
func (s *Service) takeCeremony(ctx context.Context, id, kind, terminal string) (c ceremony, why string, err error) {
	var data string
	var expires time.Time
	err = s.db.Transact(ctx, func(tx *db.Tx) error {
		err := tx.QueryRow(ctx, `SELECT kind, verification_id, terminal_id, data, expires_at FROM auth_ceremony WHERE id = ?`, id).Scan(&c.kind, &c.vid, &c.terminal, &data, &expires)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM auth_ceremony WHERE id = ?`, id)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return c, whyUnknownCeremony, apperr.New(apperr.Invalid, "unknown or used sign-in attempt; start again", "認証の手続きが見つかりません。最初からやり直してください")
	case err != nil:
		return c, "", fmt.Errorf("load ceremony: %w", err)
	case c.kind != kind || c.terminal != terminal:
		return c, whyOtherTerminal, apperr.New(apperr.Forbidden, "the sign-in attempt began on another terminal", "別の端末で開始された認証です")
	case s.Now().After(expires):
		return c, whyExpiredCeremony, apperr.New(apperr.Invalid, "the sign-in attempt expired; start again", "認証の有効時間が過ぎました。もう一度やり直してください")
	}
	if err := json.Unmarshal([]byte(data), &c.data); err != nil {
		return c, "", fmt.Errorf("read ceremony: %w", err)
	}
	return c, "", nil
}

// BeginLogin starts a sign-in of vid at terminal: it returns the options
// for navigator.credentials.get (JSON) and the ceremony's id. An id that
// cannot sign in — unknown, departed, without a credential, locked out —
// gets the one answer ErrCannotSignIn, and the device the entry.
func (s *Service) BeginLogin(ctx context.Context, vid, terminal string) ([]byte, string, error) {
	if terminal == "" {
		return nil, "", s.refuseDevice(ctx, "login", vid, terminal, whyNotATerminal, false,
			apperr.New(apperr.Forbidden, "this device is not an approved terminal", "この端末は承認された端末ではありません"))
	}
	if !s.approved(ctx, terminal) {
		return nil, "", s.refuseDevice(ctx, "login", vid, terminal, whyTerminalNotInUse, false,
			apperr.New(apperr.Forbidden, fmt.Sprintf("terminal %s is not an approved terminal in use", terminal), fmt.Sprintf("端末 %s は設置の承認を受けていないか、廃止されています", terminal)))
	}
	if err := s.installed(ctx, vid, terminal); err != nil {
		return nil, "", err
	}
	if !wellFormedID(vid) {
		return nil, "", s.refuseDevice(ctx, "login", vid, terminal, whyUnknownID, false, ErrCannotSignIn)
	}
	u, err := s.user(ctx, vid)
	if apperr.CodeOf(err) == apperr.NotFound {
		// The same reads as for an id that exists, so that the answer does
		// not come sooner for an id that does not.
		if _, err := s.lockedOut(ctx, vid); err != nil {
			return nil, "", err
		}
		return nil, "", s.refuseDevice(ctx, "login", vid, terminal, whyUnknownID, false, ErrCannotSignIn)
	} else if err != nil {
		return nil, "", err
	}
	if locked, err := s.lockedOut(ctx, vid); err != nil {
		return nil, "", err
	} else if locked {
		return nil, "", s.refuseDevice(ctx, "login", vid, terminal, whyLockedOut, false, ErrCannotSignIn)
	}
	if len(u.creds) == 0 {
		return nil, "", s.refuseDevice(ctx, "login", vid, terminal, whyNoCredential, false, ErrCannotSignIn)
	}
	opts, data, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("begin sign-in: %w", err)
	}
	id, err := s.saveCeremony(ctx, ceremony{kind: "login", vid: vid, terminal: terminal, data: *data})
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(opts)
	return b, id, err
}

// FinishLogin checks the authenticator's answer (r's body) and opens a
// session; it returns the session's token for the cookie.
//
// Until the answer's signature verifies with one of the operator's
// credentials nobody is authenticated: a refused ceremony (used, unknown,
// expired, of another terminal) or an answer that does not verify is the
// device's entry (refuseDevice), though it still counts towards the id's
// lock-out (auth_failure, which is all the lock-out reads). Once it
// verifies, the operator's authenticator was used: the session, and a
// refusal for a missing user verification or a cloned authenticator, are
// the operator's.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID, terminal string, r *http.Request) (string, error) {
	c, why, err := s.takeCeremony(ctx, ceremonyID, "login", terminal)
	if why != "" {
		return "", s.refuseDevice(ctx, "login", c.vid, terminal, why, c.vid != "", err)
	} else if err != nil {
		return "", err
	}
	u, err := s.user(ctx, c.vid)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "", s.refuseDevice(ctx, "login", c.vid, terminal, whyUnknownID, false, err)
	} else if err != nil {
		return "", err
	}
	cred, err := s.wa.FinishLogin(u, c.data, r)
	if err != nil {
		return "", s.refuseDevice(ctx, "login", c.vid, terminal, whyNotVerified, true,
			apperr.New(apperr.Forbidden, "verification failed: "+errorDetail(err), "生体認証を確認できませんでした。もう一度お試しください"))
	}
	if !cred.Flags.UserVerified {
		return "", s.refuse(ctx, "login", c.vid, terminal, true, "the authenticator did not verify the user", "生体認証（本人確認）が行われませんでした")
	}
	if cred.Authenticator.CloneWarning {
		return "", s.refuse(ctx, "login", c.vid, terminal, true, "the credential's signature counter went back: a cloned authenticator?", "認証器の複製の疑いがあるため、ログインできません。システム管理者に連絡してください")
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return "", err
	}
	return s.open(ctx, c.vid, terminal, false, func(ctx context.Context, tx *db.Tx) error {
		return staff.UpdateCredentialData(ctx, tx, cred.ID, string(data))
	})
}

// DemoLogin signs a demo staff member in with one click, no authenticator:
// demo nodes only (never a node made by init).
func (s *Service) DemoLogin(ctx context.Context, vid, terminal string) (string, error) {
	if !s.cfg.Demo {
		return "", s.refuseDevice(ctx, "login", vid, terminal, whyDemoSignIn, false,
			apperr.New(apperr.Forbidden, "one-click sign-in exists only on demo nodes", "ワンクリックログインはデモ環境でのみ使えます"))
	}
	if !s.approved(ctx, terminal) {
		return "", s.refuseDevice(ctx, "login", vid, terminal, whyNotATerminal, false,
			apperr.New(apperr.Forbidden, "this device is not an approved terminal", "この端末は承認された端末ではありません"))
	}
	if err := s.installed(ctx, vid, terminal); err != nil {
		return "", err
	}
	if !wellFormedID(vid) {
		return "", ErrCannotSignIn
	}
	if _, err := s.staff.Person(ctx, vid); err != nil {
		return "", err
	}
	return s.open(ctx, vid, terminal, true, nil)
}

// open starts a session in the transaction of its audit entry.
func (s *Service) open(ctx context.Context, vid, terminal string, demo bool, also func(context.Context, *db.Tx) error) (string, error) {
	token, hash := newToken()
	e := s.entry("login", vid, terminal)
	e.Why = "verified with a WebAuthn credential (user verification)"
	if demo {
		e.Why = "one-click demo sign-in (demo node)"
	}
	_, workErr, err := s.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		if also != nil {
			if err := also(ctx, tx); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO auth_session (token_hash, verification_id, terminal_id, demo, created_at, last_seen_at, verified_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			hash, vid, terminal, demo, e.Clock(), e.Clock(), e.Clock())
		return err
	})
	if err != nil {
		return "", apperr.Wrap(apperr.Unavailable, err, "the audit log could not record the sign-in", "アクセス記録を書き込めなかったため、ログインできません")
	}
	if workErr != nil {
		return "", fmt.Errorf("open session: %w", workErr)
	}
	return token, nil
}

// Session returns the session of token at terminal. A session from another
// terminal is refused; one past the absolute limit is ended; one idle too
// long comes back Locked.
func (s *Service) Session(ctx context.Context, token, terminal string) (*Session, error) {
	if token == "" {
		return nil, ErrNoSession
	}
	hash := hashToken(token)
	var sess Session
	var ended sql.NullTime
	// Whether the operator is still an active staff member is read in the
	// same query (one round trip per request, not two); it is decided
	// below, after the terminal and the time limits, as before.
	var active bool
	err := s.db.QueryRow(ctx, `SELECT s.verification_id, s.terminal_id, s.demo, s.created_at, s.last_seen_at, s.verified_at, s.ended_at,
		EXISTS (SELECT 1 FROM staff_person p WHERE p.verification_id = s.verification_id AND p.active = ?)
		FROM auth_session s WHERE s.token_hash = ?`, true, hash).
		Scan(&sess.VerificationID, &sess.Terminal, &sess.Demo, &sess.CreatedAt, &sess.LastSeenAt, &sess.VerifiedAt, &ended, &active)
	if errors.Is(err, sql.ErrNoRows) || ended.Valid {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	now := s.Now()
	if sess.Terminal != terminal {
		return nil, s.refuse(ctx, "session", sess.VerificationID, terminal, false, fmt.Sprintf("a session of terminal %s used from %s", sess.Terminal, terminal),
			"このセッションは別の端末で開始されたものです。この端末でログインしてください")
	}
	// A clock that went back (stepped, not slewed) cannot time the session:
	// its idle and absolute limits and the re-verification window would
	// count from instants the clock has yet to reach again, and the session
	// would outlive them. It ends; the operator signs in again.
	latest := sess.CreatedAt
	for _, t := range []time.Time{sess.LastSeenAt, sess.VerifiedAt} {
		if t.After(latest) {
			latest = t
		}
	}
	if now.Before(latest.Add(-clockSlack)) {
		s.end(ctx, hash, &sess, "the clock went back (to "+now.UTC().Format(time.RFC3339)+" from "+latest.UTC().Format(time.RFC3339)+")")
		return nil, ErrExpired
	}
	if now.Sub(sess.CreatedAt) > time.Duration(s.prof.Session.AbsoluteHours)*time.Hour {
		s.end(ctx, hash, &sess, "absolute time limit")
		return nil, ErrExpired
	}
	if !active {
		s.end(ctx, hash, &sess, "staff member left")
		return nil, ErrExpired
	}
	if now.Sub(sess.LastSeenAt) > time.Duration(s.prof.Session.IdleMinutes)*time.Minute {
		sess.Locked = true
		return &sess, nil
	}
	// Activity is written at most once a minute: a write per request would
	// cost a durable commit each. The idle lock is exact to that minute.
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if _, err := s.db.Exec(ctx, `UPDATE auth_session SET last_seen_at = ? WHERE token_hash = ?`, now, hash); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return &sess, nil
}

func (s *Service) end(ctx context.Context, hash string, sess *Session, reason string) error {
	e := s.entry("logout", sess.VerificationID, sess.Terminal)
	e.Why = reason
	_, workErr, err := s.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `UPDATE auth_session SET ended_at = ?, end_reason = ? WHERE token_hash = ? AND ended_at IS NULL`, e.Clock(), reason, hash)
		return err
	})
	if err == nil {
		err = workErr
	}
	return err
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token, terminal string) error {
	sess, err := s.Session(ctx, token, terminal)
	if err != nil {
		return nil // nothing to end
	}
	return s.end(ctx, hashToken(token), sess, "signed out")
}

// BeginReverify starts a new user verification for a session (to unlock
// it, or before a sensitive action).
func (s *Service) BeginReverify(ctx context.Context, sess *Session) ([]byte, string, error) {
	u, err := s.user(ctx, sess.VerificationID)
	if err != nil {
		return nil, "", err
	}
	opts, data, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("begin verification: %w", err)
	}
	id, err := s.saveCeremony(ctx, ceremony{kind: "reverify", vid: sess.VerificationID, terminal: sess.Terminal, data: *data})
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(opts)
	return b, id, err
}

// FinishReverify checks the answer and marks the session verified now. A
// demo session verifies with a click (ceremonyID "demo").
func (s *Service) FinishReverify(ctx context.Context, token string, sess *Session, ceremonyID string, r *http.Request) error {
	e := s.entry("reverify", sess.VerificationID, sess.Terminal)
	if sess.Demo && ceremonyID == "demo" {
		e.Why = "one-click demo verification"
	} else {
		c, _, err := s.takeCeremony(ctx, ceremonyID, "reverify", sess.Terminal)
		if err != nil {
			return err
		}
		u, err := s.user(ctx, c.vid)
		if err != nil || c.vid != sess.VerificationID {
			return s.refuse(ctx, "reverify", sess.VerificationID, sess.Terminal, true, "verification of another operator", "別の操作者の認証です")
		}
		cred, err := s.wa.FinishLogin(u, c.data, r)
		if err != nil || !cred.Flags.UserVerified {
			return s.refuse(ctx, "reverify", sess.VerificationID, sess.Terminal, true, "verification failed", "生体認証を確認できませんでした")
		}
		e.Why = "verified again with a WebAuthn credential"
	}
	hash := hashToken(token)
	_, workErr, err := s.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `UPDATE auth_session SET verified_at = ?, last_seen_at = ? WHERE token_hash = ? AND ended_at IS NULL`, e.Clock(), e.Clock(), hash)
		return err
	})
	if err == nil {
		err = workErr
	}
	return err
}

// errorDetail is the library's reason for a failed ceremony.
func errorDetail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return strings.TrimSpace(pe.Details + ": " + pe.DevInfo)
	}
	return err.Error()
}
