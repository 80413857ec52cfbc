package auditlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// ResidentProofFormat names the machine-readable disclosure proof.
const ResidentProofFormat = "jukinet-resident-proof/v1"

// ResidentProof is the machine-readable proof of every entry of the log
// that concerns one resident, up to a signed checkpoint: each entry with
// its inclusion proof, and the resident's leaf in the resident map with its
// path to the map root the checkpoint signs (docs/design/resident-map.md).
// It is what a disclosure document (本人確認情報の提供状況の開示) carries, so
// that the resident can check offline that what is listed is in the log
// and that nothing concerning them was left out.
type ResidentProof struct {
	Format   string `json:"format"`
	Resident string `json:"resident"` // 住民票コード
	// Checkpoint is the node's signed checkpoint; Cosigned the same
	// checkpoint with the witnesses' cosignatures, when it has them.
	Checkpoint string   `json:"checkpoint"`
	Cosigned   []string `json:"cosigned,omitempty"`
	// Entries are all the entries concerning the resident below the
	// checkpoint's size, in the order of the log.
	Entries []ProvedEntry `json:"entries"`
	Map     ProvedMap     `json:"map"`
}

// ProvedEntry is one entry of a resident's proof.
type ProvedEntry struct {
	Seq  int64  `json:"seq"`
	Leaf []byte `json:"leaf"` // the leaf hash
	// Content is the entry as logged; always present (a proof is refused
	// for a resident some of whose entries were pruned).
	Content string   `json:"content,omitempty"`
	Proof   [][]byte `json:"proof"` // the inclusion proof to the checkpoint's root
}

// ProvedMap is the resident's path in the resident map: the siblings from
// the root down, and what the path ends in (the resident's own leaf when
// any entry concerns them; else an empty subtree or another resident's
// leaf, by its key and value hash only).
type ProvedMap struct {
	Siblings   [][]byte `json:"siblings"`
	Found      bool     `json:"found"`
	OtherKey   []byte   `json:"other_key,omitempty"`
	OtherValue []byte   `json:"other_value,omitempty"`
}

// ErrMapBehind means the resident map does not describe the latest
// checkpoint yet (a checkpoint signed before the map existed): the next
// checkpoint brings it up.
var ErrMapBehind = errors.New("the resident map does not describe the latest checkpoint yet")

// ErrPrunedEntries means some of a resident's entries were pruned at the
// end of their retention period: the log no longer shows which entries
// concerned them, so no complete proof can be written
// (docs/design/resident-map.md).
var ErrPrunedEntries = errors.New("entries concerning the resident were pruned")

// ProveResident writes the proof of every entry concerning the resident
// code up to the latest checkpoint, read in one snapshot of the log.
func ProveResident(ctx context.Context, d *db.DB, code string) (*ResidentProof, error) {
	var out *ResidentProof
	err := d.ReadTx(ctx, func(q db.Querier) error {
		cp, err := LatestCheckpoint(ctx, q)
		if err != nil {
			return err
		}
		if cp == nil {
			return errors.New("no signed checkpoint yet: the node signs one every minute and on shutdown")
		}
		st, path, size, err := StoredResident(ctx, q, code)
		if err != nil {
			return err
		}
		if size != cp.Size || cp.ResidentMap == nil {
			return fmt.Errorf("%w (map at %d, checkpoint at %d)", ErrMapBehind, size, cp.Size)
		}
		p := &ResidentProof{Format: ResidentProofFormat, Resident: code, Checkpoint: string(cp.Note), Entries: []ProvedEntry{}}
		rows, err := q.Query(ctx, `SELECT n.note FROM audit_cosignature n WHERE n.size = ? ORDER BY n.witness`, cp.Size)
		if err != nil {
			return fmt.Errorf("read the cosignatures of checkpoint %d: %w", cp.Size, err)
		}
		for rows.Next() {
			var text string
			if err := rows.Scan(&text); err != nil {
				rows.Close()
				return fmt.Errorf("read the cosignatures of checkpoint %d: %w", cp.Size, err)
			}
			p.Cosigned = append(p.Cosigned, text)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the cosignatures of checkpoint %d: %w", cp.Size, err)
		}
		rows, err = q.Query(ctx, `SELECT s.seq, e.payload, e.leaf_hash FROM audit_subject s JOIN audit_entry e ON e.seq = s.seq
			WHERE s.resident_code = ? AND s.seq < ? ORDER BY s.seq`, code, cp.Size)
		if err != nil {
			return fmt.Errorf("read the entries of %s: %w", code, err)
		}
		for rows.Next() {
			var e ProvedEntry
			var payload []byte
			if err := rows.Scan(&e.Seq, &payload, &e.Leaf); err != nil {
				rows.Close()
				return fmt.Errorf("read the entries of %s: %w", code, err)
			}
			e.Content = string(payload)
			p.Entries = append(p.Entries, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the entries of %s: %w", code, err)
		}
		if int64(len(p.Entries)) != st.Entries {
			// Pruned entries lose their subject rows: the map still counts them.
			return fmt.Errorf("%w: resident %s: %d entries in the log, %d in the resident map", ErrPrunedEntries, code, len(p.Entries), st.Entries)
		}
		hashes := StoredHashes(ctx, q) // each tile read once: the proofs share their upper hashes
		for i := range p.Entries {
			proof, err := tlog.ProveRecord(cp.Size, p.Entries[i].Seq, hashes)
			if err != nil {
				return fmt.Errorf("prove entry %d: %w", p.Entries[i].Seq, err)
			}
			p.Entries[i].Proof = make([][]byte, len(proof))
			for j, h := range proof {
				p.Entries[i].Proof[j] = h[:]
			}
		}
		p.Map.Found = path.Found
		p.Map.Siblings = make([][]byte, len(path.Siblings))
		for i, h := range path.Siblings {
			p.Map.Siblings[i] = h[:]
		}
		if path.Other != nil {
			p.Map.OtherKey, p.Map.OtherValue = path.Other.Key[:], path.Other.Value[:]
		}
		out = p
		return nil
	})
	return out, err
}

// ResidentResult is what a checked resident proof establishes.
type ResidentResult struct {
	Resident   string
	Checkpoint *Checkpoint
	// Witnesses are the names of the witnesses whose cosignature was
	// checked.
	Witnesses []string
	// Entries are the entries concerning the resident, in the order of the
	// log; an entry's Content is nil when it was pruned.
	Entries []ProvedContent
}

// ProvedContent is one proved entry: its number, and its content unless pruned.
type ProvedContent struct {
	Seq     int64
	Content *Entry
}

// CheckResidentProof checks a resident proof with the node's public key
// and, for each witness key given, the witness's cosignature of the same
// checkpoint: the checkpoint's signatures, every entry's content against
// its leaf and its inclusion in the checkpoint's tree, the order of the
// entries, and the chain over them against the resident's leaf and its
// path to the checkpoint's map root. It fails when an entry was left out,
// added or changed.
func CheckResidentProof(doc []byte, node note.Verifier, witnesses ...note.Verifier) (*ResidentResult, error) {
	var p ResidentProof
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, fmt.Errorf("not a resident proof: %w", err)
	}
	if p.Format != ResidentProofFormat {
		return nil, fmt.Errorf("not a resident proof: format %q, want %q", p.Format, ResidentProofFormat)
	}
	cp, err := OpenCheckpoint([]byte(p.Checkpoint), node)
	if err != nil {
		return nil, fmt.Errorf("the checkpoint: %w", err)
	}
	if cp.ResidentMap == nil {
		return nil, errors.New("the checkpoint carries no resident map root")
	}
	res := &ResidentResult{Resident: p.Resident, Checkpoint: cp}
	signedText, _, _ := strings.Cut(p.Checkpoint, "\n\n")
	for _, w := range witnesses {
		ok := false
		for _, c := range p.Cosigned {
			n, err := note.Open([]byte(c), note.VerifierList(w))
			if err == nil && n.Text == signedText+"\n" {
				ok = true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("the checkpoint of size %d is not cosigned by the witness %s", cp.Size, w.Name())
		}
		res.Witnesses = append(res.Witnesses, w.Name())
	}
	var st ResidentState
	for i, e := range p.Entries {
		if len(e.Leaf) != tlog.HashSize {
			return nil, fmt.Errorf("entry %d: a leaf hash of %d bytes", e.Seq, len(e.Leaf))
		}
		var leaf tlog.Hash
		copy(leaf[:], e.Leaf)
		if i > 0 && e.Seq <= p.Entries[i-1].Seq {
			return nil, fmt.Errorf("entry %d: listed after entry %d: entries must be in the order of the log", e.Seq, p.Entries[i-1].Seq)
		}
		if e.Seq < 0 || e.Seq >= cp.Size {
			return nil, fmt.Errorf("entry %d: outside the checkpoint's %d entries", e.Seq, cp.Size)
		}
		pc := ProvedContent{Seq: e.Seq}
		// Every entry is listed in full: a proof cannot tell an entry
		// pruned at the end of its retention from one whose content was
		// blanked out of the document, so it takes neither.
		if e.Content == "" {
			return nil, fmt.Errorf("entry %d: its content is missing: a resident's proof lists every entry in full", e.Seq)
		}
		if tlog.RecordHash([]byte(e.Content)) != leaf {
			return nil, fmt.Errorf("entry %d: its content does not match its leaf hash", e.Seq)
		}
		c, err := DecodeEntry([]byte(e.Content))
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", e.Seq, err)
		}
		if c.Seq != e.Seq {
			return nil, fmt.Errorf("entry %d: the content is entry %d", e.Seq, c.Seq)
		}
		pc.Content = c
		proof := make(tlog.RecordProof, len(e.Proof))
		for j, h := range e.Proof {
			if len(h) != tlog.HashSize {
				return nil, fmt.Errorf("entry %d: a proof hash of %d bytes", e.Seq, len(h))
			}
			copy(proof[j][:], h)
		}
		if err := tlog.CheckRecord(proof, cp.Size, cp.Root, e.Seq, leaf); err != nil {
			return nil, fmt.Errorf("entry %d is not in the tree of the checkpoint (size %d): %w", e.Seq, cp.Size, err)
		}
		st.Add(e.Seq, leaf)
		res.Entries = append(res.Entries, pc)
	}
	path := MapProof{Found: p.Map.Found}
	for _, h := range p.Map.Siblings {
		if len(h) != len(MapHash{}) {
			return nil, fmt.Errorf("resident map proof: a sibling of %d bytes", len(h))
		}
		var s MapHash
		copy(s[:], h)
		path.Siblings = append(path.Siblings, s)
	}
	if p.Map.OtherKey != nil {
		if len(p.Map.OtherKey) != len(MapHash{}) || len(p.Map.OtherValue) != len(MapHash{}) {
			return nil, errors.New("resident map proof: a malformed other leaf")
		}
		var o ResidentLeaf
		copy(o.Key[:], p.Map.OtherKey)
		copy(o.Value[:], p.Map.OtherValue)
		path.Other = &o
	}
	var value *MapHash
	if st.Entries > 0 {
		v := st.Value()
		value = &v
	}
	if err := CheckKey(*cp.ResidentMap, ResidentKey(p.Resident), value, path); err != nil {
		return nil, fmt.Errorf("%w: the entries listed are not all the entries concerning %s at the checkpoint (size %d)", err, p.Resident, cp.Size)
	}
	return res, nil
}
