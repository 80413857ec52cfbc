package correspondence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// The first lines of the signed texts.
const (
	docHeader = "jukinet-correspondence v1"
	ackHeader = "jukinet-correspondence-ack v1"
)

// wireDoc is a document as signed and sent.
type wireDoc struct {
	ID         string   `json:"id"`
	Sender     string   `json:"sender"`
	Recipient  string   `json:"recipient"`
	Seq        int64    `json:"seq"`
	Kind       string   `json:"kind"`
	Subject    string   `json:"subject"`
	Body       string   `json:"body"`
	References []string `json:"refs,omitempty"`
	Answers    string   `json:"answers,omitempty"`
	Due        string   `json:"due,omitempty"`
	SentBy     string   `json:"sent_by"`
	SentByName string   `json:"sent_by_name,omitempty"`
	SentAt     string   `json:"sent_at"`
}

// Sign makes the signed note of a document (C2SP signed note, header
// jukinet-correspondence v1, the document as JSON).
func Sign(d Document, signer note.Signer) ([]byte, error) {
	w := wireDoc{ID: d.ID, Sender: d.Sender, Recipient: d.Recipient, Seq: d.Seq, Kind: string(d.Kind), Subject: d.Subject, Body: d.Body,
		References: d.References, Answers: d.Answers, SentBy: d.SentBy, SentByName: d.SentByName, SentAt: d.SentAt.UTC().Format(time.RFC3339Nano)}
	if !d.Due.IsZero() {
		w.Due = d.Due.Format(time.DateOnly)
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: docHeader + "\n" + string(body) + "\n"}, signer)
}

// Open verifies a document's signed note against verifiers and decodes
// it; signer is the name of the key that signed it. The document's text
// is not yet checked against the field rules (Receive does).
func Open(msg []byte, verifiers note.Verifiers) (d Document, signer string, err error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return d, "", fmt.Errorf("signature: %w", err)
	}
	header, body, ok := strings.Cut(n.Text, "\n")
	if !ok || header != docHeader {
		return d, "", errors.New("not a jukinet document")
	}
	var w wireDoc
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return d, "", fmt.Errorf("decode the document: %w", err)
	}
	d = Document{ID: w.ID, Sender: w.Sender, Recipient: w.Recipient, Seq: w.Seq, Kind: Kind(w.Kind), Subject: w.Subject, Body: w.Body,
		References: w.References, Answers: w.Answers, SentBy: w.SentBy, SentByName: w.SentByName, Note: string(msg)}
	if d.SentAt, err = time.Parse(time.RFC3339Nano, w.SentAt); err != nil {
		return d, "", fmt.Errorf("sent_at %.40q: %w", w.SentAt, err)
	}
	// Kept and sent on in UTC: a time whose UTC year is not a four-digit
	// year (0000-01-01T00:00:00+01:00) could not be read back.
	if y := d.SentAt.UTC().Year(); y < 1 || y > 9999 {
		return d, "", fmt.Errorf("sent_at %.40q: the year in UTC is %d, not between 1 and 9999", w.SentAt, y)
	}
	if w.Due != "" {
		if d.Due, err = ParseDue(w.Due); err != nil {
			return d, "", fmt.Errorf("due %.40q: %w", w.Due, err)
		}
	}
	return d, n.Sigs[0].Name, nil
}

// Ack is the recipient's acknowledgement of a document, signed with its
// key: which document (by id and the SHA-256 of its signed note) it
// recorded, and when.
type Ack struct {
	ID         string `json:"id"`
	Sender     string `json:"sender"`
	Recipient  string `json:"recipient"`
	Seq        int64  `json:"seq"`
	DocSHA256  string `json:"document_sha256"`
	ReceivedAt string `json:"received_at"`
}

// Digest is the SHA-256 of a document's signed note, in hex.
func Digest(msg []byte) string {
	h := sha256.Sum256(msg)
	return hex.EncodeToString(h[:])
}

// SignAck signs an acknowledgement.
func SignAck(a Ack, signer note.Signer) ([]byte, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: ackHeader + "\n" + string(body) + "\n"}, signer)
}

// OpenAck verifies an acknowledgement of document d (sent by this node)
// with the recipient's key: it must name d and the digest of d's note.
func OpenAck(msg []byte, d Document, recipient note.Verifier) (Ack, error) {
	var a Ack
	n, err := note.Open(msg, note.VerifierList(recipient))
	if err != nil {
		return a, fmt.Errorf("the acknowledgement's signature: %w", err)
	}
	header, body, ok := strings.Cut(n.Text, "\n")
	if !ok || header != ackHeader {
		return a, errors.New("not an acknowledgement")
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return a, fmt.Errorf("decode the acknowledgement: %w", err)
	}
	if a.ID != d.ID || a.Sender != d.Sender || a.Recipient != d.Recipient || a.Seq != d.Seq || a.DocSHA256 != Digest([]byte(d.Note)) {
		return a, fmt.Errorf("the acknowledgement names %.60s (digest %.16s…), not %s as sent", a.ID, a.DocSHA256, d.ID)
	}
	return a, nil
}
