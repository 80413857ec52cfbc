// Package federation makes jukinet a network: a municipality notifies every
// change of identity information to its prefecture, which forwards it to
// the national node (住民基本台帳法第30条の7). Changes go into an outbox in
// the change's own transaction and are delivered upstream in ordered batches
// signed with the sender's node key; the receiver checks the signature, the
// sender's right to the local government codes, and the sequence, and
// applies each change exactly once through its own gate. A forged batch, a
// code the sender may not send or a gap stops that source and raises an
// alert instead of applying anything.
package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/gate"
	"jukinet/internal/ids"
	"jukinet/internal/protect"
	"jukinet/internal/resident"
)

// batchHeader is the first line of a batch's signed text.
const batchHeader = "jukinet-changes v1"

// Batch is a run of changes from one source to its upstream.
type Batch struct {
	Source  string       `json:"source"` // the sender's local government code
	Target  string       `json:"target"` // the receiver's code (or "national")
	Changes []WireChange `json:"changes"`
	// Protections are the support measures (支援措置) the sender marked,
	// ended or received since its last delivery: the restriction travels
	// with the records, and the receiver stores and enforces it as its own
	// (internal/protect). A receiver that predates them ignores the field.
	Protections []protect.Wire `json:"protections,omitempty"`
}

// WireChange is one change as sent.
type WireChange struct {
	Seq          int64      `json:"seq"`
	PreviousCode string     `json:"previous_code,omitempty"`
	Repair       bool       `json:"repair,omitempty"` // queued again by a consistency check
	Record       WireRecord `json:"record"`
}

// WireRecord is an identity record as sent: every item as text.
type WireRecord struct {
	ResidentCode      string `json:"resident_code"`
	IndividualNumber  string `json:"individual_number"`
	FamilyName        string `json:"family_name"`
	GivenName         string `json:"given_name"`
	FamilyNameKana    string `json:"family_name_kana"`
	GivenNameKana     string `json:"given_name_kana"`
	FormerSurname     string `json:"former_surname,omitempty"`
	FormerSurnameKana string `json:"former_surname_kana,omitempty"`
	Alias             string `json:"alias,omitempty"`
	AliasKana         string `json:"alias_kana,omitempty"`
	DateOfBirth       string `json:"date_of_birth"`
	Sex               int    `json:"sex"`
	Address           string `json:"address"`
	LocalGov          string `json:"local_gov_code"`
	ChangeReason      string `json:"change_reason"`
	ChangeDate        string `json:"change_date"`
}

func wireRecord(r resident.IdentityRecord) WireRecord {
	return WireRecord{
		ResidentCode: string(r.ResidentCode), IndividualNumber: string(r.IndividualNumber),
		FamilyName: r.FamilyName, GivenName: r.GivenName, FamilyNameKana: r.FamilyNameKana, GivenNameKana: r.GivenNameKana,
		FormerSurname: r.FormerSurname, FormerSurnameKana: r.FormerSurnameKana, Alias: r.Alias, AliasKana: r.AliasKana,
		DateOfBirth: r.DateOfBirth.Format(time.DateOnly), Sex: int(r.Sex), Address: r.Address, LocalGov: string(r.LocalGov),
		ChangeReason: string(r.ChangeReason), ChangeDate: r.ChangeDate.Format(time.DateOnly),
	}
}

func (w WireRecord) record() (resident.IdentityRecord, error) {
	birth, err := time.Parse(time.DateOnly, w.DateOfBirth)
	if err != nil {
		return resident.IdentityRecord{}, fmt.Errorf("date_of_birth %q: %w", w.DateOfBirth, err)
	}
	changed, err := time.Parse(time.DateOnly, w.ChangeDate)
	if err != nil {
		return resident.IdentityRecord{}, fmt.Errorf("change_date %q: %w", w.ChangeDate, err)
	}
	reason, ok := resident.ParseChangeReason(w.ChangeReason)
	if !ok {
		return resident.IdentityRecord{}, fmt.Errorf("change_reason %q: unknown", w.ChangeReason)
	}
	return resident.IdentityRecord{
		ResidentCode: ids.ResidentCode(w.ResidentCode), IndividualNumber: ids.IndividualNumber(w.IndividualNumber),
		FamilyName: w.FamilyName, GivenName: w.GivenName, FamilyNameKana: w.FamilyNameKana, GivenNameKana: w.GivenNameKana,
		FormerSurname: w.FormerSurname, FormerSurnameKana: w.FormerSurnameKana, Alias: w.Alias, AliasKana: w.AliasKana,
		DateOfBirth: birth, Sex: resident.Sex(w.Sex), Address: w.Address, LocalGov: ids.LocalGovCode(w.LocalGov),
		ChangeReason: reason, ChangeDate: changed,
	}, nil
}

// sign makes the signed text of a batch.
func sign(b Batch, signer note.Signer) ([]byte, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: batchHeader + "\n" + string(body) + "\n"}, signer)
}

// open verifies a batch against the verifiers and decodes it; signer is the
// name of the key that signed it.
func open(msg []byte, verifiers note.Verifiers) (b Batch, signer string, err error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return b, "", fmt.Errorf("signature: %w", err)
	}
	header, body, ok := strings.Cut(n.Text, "\n")
	if !ok || header != batchHeader {
		return b, "", errors.New("not a jukinet change batch")
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return b, "", fmt.Errorf("decode batch: %w", err)
	}
	return b, n.Sigs[0].Name, nil
}

// toGate converts a received batch for the gate.
func toGate(b Batch) ([]gate.Replicated, error) {
	out := make([]gate.Replicated, len(b.Changes))
	for i, c := range b.Changes {
		rec, err := c.Record.record()
		if err != nil {
			return nil, fmt.Errorf("change %d: %w", c.Seq, err)
		}
		out[i] = gate.Replicated{Seq: c.Seq, PreviousCode: c.PreviousCode, Repair: c.Repair, Record: rec}
	}
	return out, nil
}

// SignBatch signs a batch as its source would (for tools and tests).
func SignBatch(b Batch, signer note.Signer) ([]byte, error) { return sign(b, signer) }

// WireRecordOf is a record as a batch carries it.
func WireRecordOf(r resident.IdentityRecord) WireRecord { return wireRecord(r) }
