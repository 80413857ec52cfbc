package correspondence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/resident"
)

// ErrReplay is a document received again: an id this node holds, or a
// sequence not greater than the sender's last. Receive's error wraps it
// in a *ReplayError.
var ErrReplay = errors.New("replayed document")

// ReplayError says why a document is a replay.
type ReplayError struct {
	ID  string
	Why string
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("document %.60s refused as a replay: %s", e.ID, e.Why)
}

// Unwrap makes a ReplayError an ErrReplay.
func (e *ReplayError) Unwrap() error { return ErrReplay }

// checkReceived holds a received document to the field rules a clerk's
// document is held to; text a peer claims is quoted at most 40
// characters long.
func checkReceived(d Document) error {
	sender, recipient, seq, err := ParseID(d.ID)
	switch {
	case err != nil:
		return err
	case sender != d.Sender || recipient != d.Recipient || seq != d.Seq:
		return apperr.New(apperr.Invalid, fmt.Sprintf("id %.40q does not match sender %.10s, recipient %.10s, sequence %d", d.ID, d.Sender, d.Recipient, d.Seq), "文書番号が送付元・送付先・番号と一致しません")
	case !d.Kind.Valid():
		return apperr.New(apperr.Invalid, fmt.Sprintf("kind %.40q", d.Kind), "報告・依頼の種類が不明です")
	case d.Kind.Request() && d.Due.IsZero():
		return apperr.New(apperr.Invalid, "a request without its due day", "依頼に回答期限がありません")
	case d.Kind == KindAnswer:
		if _, _, _, err := ParseID(d.Answers); err != nil {
			return err
		}
	}
	subject, body, err := CheckText(d.Subject, d.Body)
	if err != nil {
		return err
	}
	if subject != d.Subject || body != d.Body {
		return apperr.New(apperr.Invalid, "subject or body not in their stored form", "件名または本文の形式が正しくありません")
	}
	if refs, err := CheckReferences(d.References); err != nil {
		return err
	} else if len(refs) != len(d.References) {
		return apperr.New(apperr.Invalid, "duplicate references", "参照が重複しています")
	}
	return resident.CheckValues(resident.Value{Field: FieldStaffName, Text: d.SentByName}, resident.Value{Field: FieldReference, Text: d.SentBy, Required: true})
}

// Receive records document d, received from the peer body in the signed
// note msg (already verified as the sender's), and returns this node's
// signed acknowledgement, made with signer; logged (correspondence.receive,
// actor the peer). A document that breaks the field rules is refused
// (apperr Invalid), one received before or out of sequence too
// (*ReplayError); nothing is stored then. An answer closes the request
// this node sent that it names.
func (r *Register) Receive(ctx context.Context, peer auditlog.Actor, d Document) ([]byte, error) {
	if err := checkReceived(d); err != nil {
		return nil, err
	}
	var ackNote []byte
	e := auditlog.Entry{Node: r.node, Actor: peer, Origin: "node:" + peer.ID, Action: "correspondence.receive", Query: "document:" + d.ID,
		Detail: fmt.Sprintf("%s %s from %s: %s", d.Kind, d.ID, d.Sender, d.Subject), Decision: auditlog.Allow, Policy: "jukinet:correspondence",
		Why: "signed by the sending body's key", Outcome: auditlog.OutcomeOK}
	err := r.appendWork(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		var held int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM corr_document WHERE id = ?`, d.ID).Scan(&held); err != nil {
			return fmt.Errorf("look for document %s: %w", d.ID, err)
		}
		if held > 0 {
			return &ReplayError{ID: d.ID, Why: "this id was received before"}
		}
		var last int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM corr_document WHERE direction = 'in' AND sender = ? AND recipient = ?`, d.Sender, d.Recipient).Scan(&last); err != nil {
			return fmt.Errorf("read the last document of %s: %w", d.Sender, err)
		}
		if d.Seq <= last {
			return &ReplayError{ID: d.ID, Why: fmt.Sprintf("sequence %d is not after %s's last, %d", d.Seq, d.Sender, last)}
		}
		ack := Ack{ID: d.ID, Sender: d.Sender, Recipient: d.Recipient, Seq: d.Seq, DocSHA256: Digest([]byte(d.Note)), ReceivedAt: e.Time.UTC().Format(time.RFC3339Nano)}
		var err error
		if ackNote, err = SignAck(ack, r.signer); err != nil {
			return fmt.Errorf("sign the acknowledgement: %w", err)
		}
		d.Direction, d.State, d.RecordedAt, d.RecordedSeq = In, Received, e.Time, seq
		if err := insert(ctx, tx, d); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE corr_document SET ack_note = ?, acked_at = ? WHERE id = ?`, string(ackNote), e.Time, d.ID); err != nil {
			return fmt.Errorf("keep the acknowledgement of %s: %w", d.ID, err)
		}
		if d.Kind == KindAnswer {
			res, err := tx.Exec(ctx, `UPDATE corr_document SET answered_by = ?, answered_at = ? WHERE id = ? AND direction = 'out' AND recipient = ? AND answered_by = ''`,
				d.ID, e.Time, d.Answers, d.Sender)
			if err != nil {
				return fmt.Errorf("close request %s: %w", d.Answers, err)
			}
			if k, _ := res.RowsAffected(); k > 0 {
				e.Detail += "; answers request " + d.Answers
			}
		}
		return nil
	})
	return ackNote, err
}

// Resent returns the acknowledgement already given for the document in
// msg when this node holds that very note from the sender (a retry whose
// acknowledgement was lost): ok is false otherwise.
func Resent(ctx context.Context, q db.Querier, d Document) (ack []byte, ok bool, err error) {
	held, err := get(ctx, q, d.ID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if held.Direction != In || held.Sender != d.Sender || held.Note != d.Note || held.AckNote == "" {
		return nil, false, nil
	}
	return []byte(held.AckNote), true, nil
}

// Acknowledged records the recipient's signed acknowledgement of the
// document id sent by this node, verified with the recipient's key:
// acknowledged when it verifies, delivered (with the reason) when not;
// logged (correspondence.acknowledged, or correspondence.delivered).
func (r *Register) Acknowledged(ctx context.Context, id string, ackNote []byte, recipient note.Verifier) error {
	d, err := Get(ctx, r.db, id)
	if err != nil {
		return err
	}
	_, verr := OpenAck(ackNote, d, recipient)
	e := auditlog.Entry{Node: r.node, Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: d.Recipient}, Origin: "node:" + d.Recipient,
		Action: "correspondence.acknowledged", Query: "document:" + d.ID, Detail: fmt.Sprintf("%s %s acknowledged by %s", d.Kind, d.ID, d.Recipient),
		Decision: auditlog.Allow, Policy: "jukinet:correspondence", Why: "the acknowledgement is signed by the recipient's key", Outcome: auditlog.OutcomeOK}
	state, lastErr := Acknowledged, ""
	if verr != nil {
		state, lastErr = Delivered, verr.Error()
		e.Action, e.Outcome, e.Why = "correspondence.delivered", auditlog.OutcomeError, "the acknowledgement does not verify"
		e.Error = lastErr
	}
	return r.appendWork(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `UPDATE corr_document SET state = ?, ack_note = ?, acked_at = ?, attempts = attempts + 1, last_try = ?, last_error = ?
			WHERE id = ? AND direction = 'out'`, string(state), string(ackNote), e.Time, e.Time, lastErr, id)
		return err
	})
}

// Refused records that the recipient refused the document id sent by
// this node (it will not be sent again), with the recipient's answer;
// logged (correspondence.refused).
func (r *Register) Refused(ctx context.Context, id, answer string) error {
	d, err := Get(ctx, r.db, id)
	if err != nil {
		return err
	}
	answer = strings.ToValidUTF8(answer, "?")
	if len(answer) > 300 {
		answer = answer[:300]
	}
	e := auditlog.Entry{Node: r.node, Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "federation"}, Origin: "node:" + r.node,
		Action: "correspondence.refused", Query: "document:" + d.ID, Detail: fmt.Sprintf("%s %s refused by %s", d.Kind, d.ID, d.Recipient),
		Decision: auditlog.Deny, Policy: "recipient:" + d.Recipient, Why: answer, Outcome: auditlog.OutcomeDenied}
	return r.appendWork(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `UPDATE corr_document SET state = ?, attempts = attempts + 1, last_try = ?, last_error = ? WHERE id = ? AND direction = 'out'`,
			string(Refused), e.Time, answer, id)
		return err
	})
}

// Attempted records a failed attempt to deliver the document id (the
// recipient unreachable): it stays queued and is tried again. Not logged:
// the attempts are counted on the document.
func (r *Register) Attempted(ctx context.Context, id, why string) error {
	if len(why) > 300 {
		why = why[:300]
	}
	_, err := r.db.Exec(ctx, `UPDATE corr_document SET attempts = attempts + 1, last_try = ?, last_error = ? WHERE id = ? AND direction = 'out'`,
		r.now(), strings.ToValidUTF8(why, "?"), id)
	if err != nil {
		return fmt.Errorf("record an attempt to deliver %s: %w", id, err)
	}
	return nil
}
