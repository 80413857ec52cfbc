package federation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"encoding/json"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/backup"
	"jukinet/internal/db"
	"jukinet/internal/form"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// A node restored from a backup holds its register and audit log as they
// were when the backup was taken: it is behind. Recover brings it back as
// far as anyone can:
//
//   - the audit log: its witness keeps a copy of every entry it cosigned
//     (entries.go); the node asks for the entries after its own size,
//     checks that the checkpoint carries its own signature and the
//     witness's, that the entries extend its log exactly to that root and
//     resident map, and writes them verbatim. Entries written after the last
//     cosigned checkpoint and before the data was lost are known to nobody:
//     the node says so in an explicit audit.gap entry, which the witness
//     cosigns next and raises as the alert log-gap.
//   - the records: the changes that reached the upstream come back by the
//     consistency check with repair from the upstream (CheckPull); the
//     node's change sequence moves past the last change the upstream
//     acknowledged, so that no new change is taken there for a replay; and
//     the report names the changes whose audit entries came back but whose
//     records are found neither here nor upstream.

// RecoverReport is what Recover did.
type RecoverReport struct {
	Witness      string    // the witness's code
	LocalSize    int64     // entries the restored log held
	CosignedSize int64     // the size of the witness's last cosigned checkpoint
	Recovered    int       // entries written back
	LastSeq      int64     // the last entry held after recovery, -1 if none
	LastAt       time.Time // and when it was written
	RecoveredSeq int64     // the audit.recovered entry
	GapSeq       int64     // the audit.gap entry

	// Records (only with an upstream).
	Upstream     string
	LocalChanges int64 // the last change sequence the restored node held
	Acked        int64 // the last change of this node the upstream applied
	Checks       []CheckReport
	NotFound     []LostChange

	// Sources are the downstream nodes asked to send their changes again
	// from the last one held here (markSourcesRestored).
	Sources int

	// Forms are the control numbers the recovered entries name (forms
	// issued after the backup); FormsVoided how many of them the restored
	// forms register did not hold and now holds as void, so that no number
	// is issued twice.
	Forms       []form.Number
	FormsVoided int

	// Backup is the record jukinet restore left in the folder, if any.
	Backup *RestoredMark

	// Cosigned says the witness cosigned the log with the gap; WitnessErr
	// why not.
	Cosigned   bool
	WitnessErr string
}

// LostChange is a change this node made, whose audit entry came back from
// the witness, that is neither in the register here nor upstream.
type LostChange struct {
	Seq    int64 // its audit entry
	Time   time.Time
	Action string
	Codes  []string // the residents whose records lack it
}

// ErrNotRecovered refuses to serve a node whose witness holds a larger
// cosigned log than its own: it was restored from a backup and must be
// recovered first.
var ErrNotRecovered = errors.New("this node's log is behind its witness")

// ErrNotBehind refuses to recover a node whose log is not behind its
// witness, unless told it was restored (RecoverOptions.Restored): a healthy
// node would otherwise record a gap it does not have.
var ErrNotBehind = errors.New("this node's log is not behind its witness")

// RecoverOptions tune Recover.
type RecoverOptions struct {
	// Restored says the node was restored from a backup even though its
	// log is not behind its witness (a backup taken after the last
	// cosigned checkpoint): the gap is recorded all the same.
	Restored bool
}

// Recover recovers a node restored from a backup (its server stopped): the
// audit entries its witness holds, an explicit gap, and the records that
// reached the upstream. who is the operator at the console.
func Recover(ctx context.Context, n *node.Node, who staff.Who, opt RecoverOptions) (*RecoverReport, error) {
	mark, err := readRestored(n.Dir)
	if err != nil {
		return nil, err
	}
	if mark != nil {
		opt.Restored = true
	}
	p, err := witness(ctx, n)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, apperr.New(apperr.Invalid, "this node has no witness to recover its log from: register its upstream (jukinet peer add --role upstream), or for the national node name one (jukinet federation witness)",
			"監査ログを復旧する立会ノードがありません。上位ノードを登録してください")
	}
	rep := &RecoverReport{Witness: p.Code, LastSeq: -1, Backup: mark}
	if rep.LocalSize, err = n.Log.Size(ctx); err != nil {
		return nil, err
	}
	s := NewSender(n, nil)
	ans, err := s.askRecover(ctx, p, rep.LocalSize, recoverPage)
	if err != nil {
		return nil, err
	}
	entries := ans.Entries
	for ans.Size > rep.LocalSize+int64(len(entries)) {
		if len(ans.Entries) == 0 {
			return nil, fmt.Errorf("%s returned no entries from %d, though it cosigned %d", p.Code, rep.LocalSize+int64(len(entries)), ans.Size)
		}
		if ans, err = s.askRecover(ctx, p, rep.LocalSize+int64(len(entries)), recoverPage); err != nil {
			return nil, err
		}
		entries = append(entries, ans.Entries...)
	}
	if ans.Checkpoint != "" {
		cp, err := checkCosigned(n, p, []byte(ans.Checkpoint))
		if err != nil {
			return nil, err
		}
		rep.CosignedSize = cp.Size
		switch {
		case cp.Size <= rep.LocalSize:
			// The backup is as new as the witness's view: the log must
			// still be the one cosigned.
			if err := sameTree(ctx, n.DB, cp); err != nil {
				return nil, err
			}
			if !opt.Restored {
				return nil, fmt.Errorf("%w: it holds %d entries, witness %s cosigned %d. Run jukinet recover only on a node restored from a backup; if this one was (a backup taken after the last cosigned checkpoint), add --restored (監査ログは立会ノードより遅れていません。バックアップから復元した場合のみ --restored を付けて実行してください)",
					ErrNotBehind, rep.LocalSize, p.Code, cp.Size)
			}
		case int64(len(entries)) < cp.Size-rep.LocalSize:
			return nil, fmt.Errorf("%s returned %d entries from %d, short of its cosigned checkpoint of size %d", p.Code, len(entries), rep.LocalSize, cp.Size)
		default:
			entries = entries[:cp.Size-rep.LocalSize]
			wv, _ := note.NewVerifier(p.NoteKey)
			err := auditlog.WriteRecovered(ctx, n.DB, auditlog.Recovered{Checkpoint: cp, Note: []byte(ans.Checkpoint), Witness: wv.Name(), Entries: entries, At: n.Now()})
			if err != nil {
				return nil, fmt.Errorf("recover the audit log from %s: %w", p.Code, err)
			}
			rep.Recovered = len(entries)
			rep.Forms = formsNamed(entries)
		}
	}
	if err := lastEntry(ctx, n.DB, rep); err != nil {
		return nil, err
	}
	// The records, before the explicit entries: the report needs the
	// register as the repair leaves it.
	if up, err := upstream(ctx, n); err != nil {
		return nil, err
	} else if up != nil {
		if err := recoverRecords(ctx, n, up, rep, ans.Acked, entries); err != nil {
			return rep, err
		}
	}
	// The changes its downstream nodes sent after the backup: they send
	// them again.
	if rep.Sources, err = markSourcesRestored(ctx, n); err != nil {
		return rep, err
	}
	if err := recordRecovery(ctx, n, who, rep); err != nil {
		return rep, err
	}
	// Recovered: serve no longer refuses for the restore's record.
	if mark != nil {
		if err := os.Rename(filepath.Join(n.Dir, backup.RestoredFile), filepath.Join(n.Dir, RecoveredFile)); err != nil {
			return rep, fmt.Errorf("mark the node recovered: %w", err)
		}
	}
	// The log with its gap, cosigned: the witness raises the alert.
	if _, err := n.Log.Checkpoint(ctx); err != nil {
		return rep, err
	}
	if ok, err := s.WitnessOnce(ctx); err != nil {
		rep.WitnessErr = err.Error()
	} else {
		rep.Cosigned = ok
	}
	return rep, nil
}

// checkCosigned checks that a checkpoint the witness returned carries this
// node's signature and the witness's, and parses it.
func checkCosigned(n *node.Node, p *Peer, signed []byte) (*auditlog.Checkpoint, error) {
	wv, err := note.NewVerifier(p.NoteKey)
	if err != nil {
		return nil, fmt.Errorf("the key of witness %s: %w", p.Code, err)
	}
	nn, err := note.Open(signed, note.VerifierList(n.Verifier, wv))
	if err != nil {
		return nil, fmt.Errorf("the checkpoint %s returned does not verify: %w", p.Code, err)
	}
	mine, theirs := false, false
	for _, sig := range nn.Sigs {
		mine = mine || sig.Name == n.Verifier.Name() && sig.Hash == n.Verifier.KeyHash()
		theirs = theirs || sig.Name == wv.Name() && sig.Hash == wv.KeyHash()
	}
	if !mine || !theirs {
		return nil, fmt.Errorf("the checkpoint %s returned lacks this node's signature or the witness's cosignature", p.Code)
	}
	return auditlog.OpenCheckpoint(signed, n.Verifier)
}

// sameTree checks that the log's tree at the checkpoint's size has its root.
func sameTree(ctx context.Context, d *db.DB, cp *auditlog.Checkpoint) error {
	root, err := tlog.TreeHash(cp.Size, auditlog.StoredHashes(ctx, d))
	if err != nil {
		return err
	}
	if root != cp.Root {
		return fmt.Errorf("this log differs from the one its witness cosigned at size %d: it was rewritten, and cannot be recovered", cp.Size)
	}
	return nil
}

// lastEntry notes the last entry of the log and its time.
func lastEntry(ctx context.Context, d *db.DB, rep *RecoverReport) error {
	var seq sql.NullInt64
	if err := d.QueryRow(ctx, `SELECT MAX(seq) FROM audit_entry`).Scan(&seq); err != nil {
		return fmt.Errorf("read the last audit entry: %w", err)
	}
	if !seq.Valid {
		return nil
	}
	rep.LastSeq = seq.Int64
	var at time.Time
	if err := d.QueryRow(ctx, `SELECT at FROM audit_entry WHERE seq = ?`, seq.Int64).Scan(&at); err != nil {
		return fmt.Errorf("read the last audit entry: %w", err)
	}
	rep.LastAt = at.UTC()
	return nil
}

// recordRecovery appends the two explicit entries: what came back, and
// the gap nobody can fill.
func recordRecovery(ctx context.Context, n *node.Node, who staff.Who, rep *RecoverReport) error {
	base := auditlog.Entry{Node: Code(n), Actor: who.Actor, Origin: who.Origin, Decision: auditlog.Allow, Policy: "jukinet:recovery",
		Why: "a node restored from a backup recovers what its witness and upstream hold", Outcome: auditlog.OutcomeOK}
	e := base
	e.Action, e.Count = ActionRecovered, rep.Recovered
	e.Query = fmt.Sprintf("witness=%s size=%d", rep.Witness, rep.CosignedSize)
	e.Detail = fmt.Sprintf("%d audit entries (%d to %d) came back from witness %s, up to its cosigned checkpoint of size %d; the restored log held %d",
		rep.Recovered, rep.LocalSize, rep.LocalSize+int64(rep.Recovered)-1, rep.Witness, rep.CosignedSize, rep.LocalSize)
	if rep.Sources > 0 {
		e.Detail += fmt.Sprintf("; %d downstream nodes will send again the changes after the last held here", rep.Sources)
	}
	if b := rep.Backup; b != nil {
		e.Detail += fmt.Sprintf("; restored from the backup %.200s (sha256 %.16s…, taken %s, %d entries)", filepath.Base(b.From), b.SHA256, b.TakenAt.UTC().Format(time.RFC3339), b.Entries)
	}
	if rep.Upstream != "" {
		pulled := 0
		for _, c := range rep.Checks {
			pulled += c.Pulled
		}
		e.Detail += fmt.Sprintf("; %d residents repaired from upstream %s, which had applied this node's changes up to %d (the restored node held %d); %d changes not found anywhere",
			pulled, rep.Upstream, rep.Acked, rep.LocalChanges, len(rep.NotFound))
	}
	if len(rep.Forms) > 0 {
		e.Detail += fmt.Sprintf("; the recovered entries name %d forms (last %s): those the forms register lacks are entered void, their numbers never issued again",
			len(rep.Forms), rep.Forms[len(rep.Forms)-1])
	}
	var err error
	var workErr error
	rep.RecoveredSeq, workErr, err = n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		var err error
		rep.FormsVoided, err = form.AccountFor(ctx, tx, e.Time, who, rep.Forms,
			fmt.Sprintf("復元により帳票管理簿の記録が失われた（監査ログから回復、回復の記録 %d）", seq))
		return err
	})
	if err == nil {
		err = workErr
	}
	if err != nil {
		return fmt.Errorf("record the recovery: %w", err)
	}
	g := base
	g.Action = ActionGap
	g.Query = fmt.Sprintf("after=%d", rep.LastSeq)
	g.Detail = fmt.Sprintf("the last entry recovered is %d, written %s; an unknown number of entries after it, written before the data was lost, are lost: nobody holds them",
		rep.LastSeq, rep.LastAt.Format(time.RFC3339Nano))
	if rep.GapSeq, err = n.Log.Append(ctx, g); err != nil {
		return fmt.Errorf("record the gap: %w", err)
	}
	return nil
}

// recoverRecords moves the node's change sequence past what the upstream
// acknowledged (acked, from the witness's answer when it is the upstream), repairs its copy from the upstream's, and looks for the
// changes of the recovered entries that are nowhere.
func recoverRecords(ctx context.Context, n *node.Node, up *Peer, rep *RecoverReport, acked int64, recovered []auditlog.ShippedEntry) error {
	rep.Upstream = up.Code
	if up.Code != rep.Witness {
		acked = 0 // the witness is not the upstream: it applies none of this node's changes
	}
	rep.Acked = acked
	err := n.DB.Transact(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM fed_outbox`).Scan(&rep.LocalChanges); err != nil {
			return fmt.Errorf("read the outbox: %w", err)
		}
		// The upstream skips changes at or below the last it applied: the
		// next change here must be numbered after it.
		if _, err := tx.Exec(ctx, `INSERT INTO fed_delivery (peer, last_acked) SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM fed_delivery WHERE peer = ?)`, up.Code, up.Code); err != nil {
			return fmt.Errorf("move the delivery cursor: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE fed_delivery SET last_acked = ? WHERE peer = ? AND last_acked < ?`, acked, up.Code, acked); err != nil {
			return fmt.Errorf("move the delivery cursor: %w", err)
		}
		// The cursor moved is what numbers the next change after acked
		// (records.nextOutboxSeq: after the largest sequence given or
		// acknowledged).
		return nil
	})
	if err != nil {
		return err
	}
	lgs, err := bodiesSent(ctx, n)
	if err != nil {
		return err
	}
	for _, lg := range lgs {
		c, err := CheckPull(ctx, n, lg)
		if err != nil {
			return fmt.Errorf("repair the records of %s from %s: %w", lg, up.Code, err)
		}
		rep.Checks = append(rep.Checks, c)
	}
	rep.NotFound, err = changesNotFound(ctx, n, recovered)
	return err
}

// bodiesSent are the local governments whose records this node sends
// upstream: a municipality its own, a prefecture its municipalities'.
func bodiesSent(ctx context.Context, n *node.Node) ([]string, error) {
	if n.Info.Level == profile.Municipality {
		return []string{Code(n)}, nil
	}
	peers, err := Peers(ctx, n.DB)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range peers {
		if p.Role == Downstream && p.Level == string(profile.Municipality) {
			out = append(out, p.Code)
		}
	}
	return out, nil
}

// changesNotFound looks, for each change among the recovered entries (a
// change applied, an import, changes received from below), whether the
// register now holds it: the resident's record is held, and for a change
// applied, its current version is that change (reason and date) or a later
// one. The register has been repaired from the upstream by then, so a
// change missing here is missing there too.
func changesNotFound(ctx context.Context, n *node.Node, recovered []auditlog.ShippedEntry) ([]LostChange, error) {
	type change struct {
		seq          int64
		at           time.Time
		action       string
		codes        []string
		reason, date string // of a change applied
	}
	var changes []change
	var codes []string
	for _, s := range recovered {
		if s.Payload == nil {
			continue
		}
		e, err := auditlog.DecodeEntry(s.Payload)
		if err != nil || e.Outcome != auditlog.OutcomeOK || e.Count == 0 {
			continue
		}
		c := change{seq: e.Seq, at: e.Time, action: e.Action}
		switch e.Action {
		case "apply":
			for _, f := range strings.Fields(e.Query) {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "resident_code":
					c.codes = []string{v}
				case "reason":
					c.reason = v
				case "date":
					c.date = v
				}
			}
		case "import", "replicate":
			c.codes = s.Subjects
		default:
			continue
		}
		changes = append(changes, c)
		codes = append(codes, c.codes...)
	}
	if len(changes) == 0 {
		return nil, nil
	}
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "federation"}, Origin: "node:" + Code(n),
		Affair: RegisterAffair(n.Profile), Reason: "復旧: 変更の所在の確認"}
	held, err := n.Gate.Current(ctx, req, "", codes)
	if err != nil {
		return nil, err
	}
	current := map[string]gate.Record{}
	for _, r := range held {
		current[string(r.ResidentCode)] = r
	}
	var lost []LostChange
	for _, c := range changes {
		var missing []string
		for _, code := range c.codes {
			r, ok := current[code]
			if ok && c.action == "apply" {
				date := r.ChangeDate.Format(time.DateOnly)
				ok = date > c.date || date == c.date && string(r.ChangeReason) == c.reason
			}
			if !ok {
				missing = append(missing, code)
			}
		}
		if len(missing) > 0 {
			lost = append(lost, LostChange{Seq: c.seq, Time: c.at, Action: c.action, Codes: missing})
		}
	}
	return lost, nil
}

// CheckRecovered refuses (ErrNotRecovered) a node whose witness cosigned a
// larger log than it holds: it was restored from a backup, and serving it
// would write entries over the ones its witness holds (a fork the witness
// then refuses). A witness that cannot be reached is an error of another
// kind: serve warns and starts.
func CheckRecovered(ctx context.Context, n *node.Node) error {
	mark, err := readRestored(n.Dir)
	if err != nil {
		return err
	}
	if mark != nil {
		return fmt.Errorf("%w: it was restored from the backup %s and not recovered since. Run jukinet recover --data %s first (バックアップから復元したノードです。先に jukinet recover を実行してください)",
			ErrNotRecovered, filepath.Base(mark.From), n.Dir)
	}
	p, err := witness(ctx, n)
	if err != nil || p == nil || p.URL == "" {
		return err
	}
	size, err := n.Log.Size(ctx)
	if err != nil {
		return err
	}
	ans, err := NewSender(n, nil).askRecover(ctx, p, size, 0)
	if err != nil {
		return err
	}
	if ans.Size > size {
		return fmt.Errorf("%w: witness %s cosigned %d entries, this log holds %d — it was restored from a backup. Stop, and run jukinet recover --data %s first (監査ログが立会ノードの確認済みの件数より少ないため、バックアップから復元されたノードです。先に jukinet recover を実行してください)",
			ErrNotRecovered, p.Code, ans.Size, size, n.Dir)
	}
	return nil
}

// RecoveredFile is what the restore's record (backup.RestoredFile) is
// renamed to once the node is recovered.
const RecoveredFile = "recovered.json"

// RestoredMark is the record jukinet restore leaves in a restored node's
// folder (backup.RestoredFile): while it is there, the node was not
// recovered, and serve refuses it.
type RestoredMark struct {
	From       string    `json:"from"`
	SHA256     string    `json:"sha256"`
	TakenAt    time.Time `json:"taken_at"`
	Entries    int64     `json:"entries"`
	RestoredAt time.Time `json:"restored_at"`
}

// readRestored reads the restore's record in dir, nil when there is none.
func readRestored(dir string) (*RestoredMark, error) {
	b, err := os.ReadFile(filepath.Join(dir, backup.RestoredFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the restore's record: %w", err)
	}
	var m RestoredMark
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("the restore's record %s: %w", filepath.Join(dir, backup.RestoredFile), err)
	}
	return &m, nil
}

// markSourcesRestored marks every downstream source of a node restored
// from a backup (fed_inbox.restored_at): their changes after the last one
// held here were lost with the data, so a batch that starts after it asks
// the source to send again from there (the code "rewind"), rather than
// raising sequence-gap and stopping the source. The mark goes once a
// batch of the source applies. It returns how many sources it marked.
func markSourcesRestored(ctx context.Context, n *node.Node) (int, error) {
	var marked int64
	err := n.DB.Transact(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO fed_inbox (source, last_seq) SELECT code, 0 FROM fed_peer
			WHERE role = 'downstream' AND NOT EXISTS (SELECT 1 FROM fed_inbox WHERE source = fed_peer.code)`); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE fed_inbox SET restored_at = ? WHERE source IN (SELECT code FROM fed_peer WHERE role = 'downstream')`, n.Now().UTC())
		if err != nil {
			return err
		}
		marked, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ask the downstream nodes to send their changes again: %w", err)
	}
	return int(marked), nil
}

// formsNamed returns the control numbers of the forms the recovered entries
// say they issued, in the log's order.
func formsNamed(entries []auditlog.ShippedEntry) []form.Number {
	var out []form.Number
	for _, s := range entries {
		if s.Payload == nil {
			continue
		}
		e, err := auditlog.DecodeEntry(s.Payload)
		if err != nil || e.Outcome != auditlog.OutcomeOK {
			continue
		}
		out = append(out, form.NumbersIn(e.Detail)...)
	}
	return out
}
