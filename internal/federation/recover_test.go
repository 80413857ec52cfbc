package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/auditlog"
	"jukinet/internal/backup"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/form"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/resident"
)

// restore opens a backed-up node folder, as a node restored on a new disk.
func restore(t *testing.T, dir string) *node.Node {
	t.Helper()
	ctx := context.Background()
	n, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open the restored node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	n.Now = clocktest.New().Now
	if err := n.OpenGate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return n
}

// witnessed signs a checkpoint and has the prefecture cosign it.
func witnessed(t *testing.T, n *node.Node) int64 {
	t.Helper()
	ctx := context.Background()
	cp, err := n.Log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := NewSender(n, nil).WitnessOnce(ctx); err != nil || !ok {
		t.Fatalf("witness checkpoint %d: %v %v", cp.Size, ok, err)
	}
	return cp.Size
}

func lookupN(t *testing.T, n *node.Node, recs []resident.IdentityRecord) {
	t.Helper()
	for _, r := range recs {
		if _, err := n.Gate.Lookup(context.Background(), consoleReq(n), gate.Key{ResidentCode: string(r.ResidentCode)}); err != nil {
			t.Fatal(err)
		}
	}
}

func moveTo(t *testing.T, n *node.Node, r resident.IdentityRecord, address string, years int) resident.IdentityRecord {
	t.Helper()
	r.Address, r.ChangeReason, r.ChangeDate = address, resident.ReasonMoveWithin, r.ChangeDate.AddDate(years, 0, 0)
	if _, err := n.Gate.Apply(context.Background(), consoleReq(n), gate.Change{Record: r}); err != nil {
		t.Fatal(err)
	}
	return r
}

func payloads(t *testing.T, d *db.DB, to int64) map[int64][]byte {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT seq, payload FROM audit_entry WHERE seq < ? ORDER BY seq`, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64][]byte{}
	for rows.Next() {
		var seq int64
		var p []byte
		rows.Scan(&seq, &p)
		out[seq] = p
	}
	return out
}

// recoveryScenario is a municipality witnessed by its prefecture, backed
// up, working on (changes that reach the prefecture, lookups, witnessed),
// then lost: the test gets the restored node.
type recoveryScenario struct {
	nw             *network
	restored       *node.Node
	backupSize     int64 // entries in the backup
	cosigned       int64 // the last size the prefecture cosigned
	lostSize       int64 // entries the lost node held
	original       map[int64][]byte
	moved          []resident.IdentityRecord // changes that reached the prefecture
	added          []resident.IdentityRecord // residents added after the backup, delivered
	undelivered    resident.IdentityRecord   // a change witnessed but never delivered
	undeliveredSeq int64                     // its audit entry
	recs           []resident.IdentityRecord
	forms          []form.Number // forms issued from the backup on: the backups' own
}

func newRecoveryScenario(t *testing.T) *recoveryScenario {
	t.Helper()
	ctx := context.Background()
	sc := &recoveryScenario{nw: newNetwork(t)}
	a := sc.nw.aomori
	s := NewSender(a, nil)
	sc.recs = importN(t, a, "022012", 30, 40)
	if _, err := s.DeliverOnce(ctx); err != nil {
		t.Fatal(err)
	}
	lookupN(t, a, sc.recs[:3])
	witnessed(t, a)
	// The backup.
	res, err := backup.Take(ctx, a, backup.Options{Folder: t.TempDir(), Who: console})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	sc.backupSize = res.Manifest.Entries
	sc.forms = append(sc.forms, res.Form)
	// More work: changes that reach the prefecture, lookups, witnessed.
	sc.moved = append(sc.moved, moveTo(t, a, sc.recs[1], "青森県青森市新町一丁目1番1号", 1), moveTo(t, a, sc.recs[2], "青森県青森市長島二丁目2番2号", 1))
	sc.added = importN(t, a, "022012", 2, 41)
	if sent, err := s.DeliverOnce(ctx); err != nil || sent != 4 {
		t.Fatalf("deliver after the backup: %d %v", sent, err)
	}
	lookupN(t, a, sc.recs[5:8])
	// A second backup: its form is named only in the log the witness keeps.
	again, err := backup.Take(ctx, a, backup.Options{Folder: t.TempDir(), Who: console})
	if err != nil {
		t.Fatalf("second backup: %v", err)
	}
	sc.forms = append(sc.forms, again.Form)
	sc.undelivered = moveTo(t, a, sc.recs[3], "青森県青森市本町三丁目3番3号", 1)
	l, _ := auditlog.List(ctx, a.DB, auditlog.Filter{Action: "apply", After: -1})
	sc.undeliveredSeq = l[len(l)-1].Entry.Seq
	sc.cosigned = witnessed(t, a)
	// Entries nobody witnessed, then the disk fails.
	lookupN(t, a, sc.recs[10:12])
	sc.lostSize, _ = a.Log.Size(ctx)
	sc.original = payloads(t, a.DB, sc.cosigned)
	a.Close()
	opt := backup.RestoreOptions{From: res.Path, Dir: filepath.Join(t.TempDir(), "restored"), Now: clocktest.New().Now}
	if onPostgres[t] {
		opt.DatabaseURL = dbtest.PostgresURL(t)
	}
	rr, err := backup.Restore(ctx, opt)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	sc.restored = restore(t, rr.Dir)
	return sc
}

// TestRecoverAfterRestore: a municipality restored from a backup gets back
// every audit entry its prefecture cosigned (verbatim, and audit verify
// passes), records the recovery and the gap explicitly — cosigned by the
// prefecture, which raises the alert log-gap —, gets back the changes that
// reached the prefecture, names the change found nowhere, and its next
// change reaches the prefecture (not taken there for a replay).
func TestRecoverAfterRestore(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		sc := newRecoveryScenario(t)
		r := sc.restored
		if size, _ := r.Log.Size(ctx); size != sc.backupSize {
			t.Fatalf("the restored log holds %d entries, want the backup's %d", size, sc.backupSize)
		}
		// Serving is refused until it is recovered.
		if err := CheckRecovered(ctx, r); !errors.Is(err, ErrNotRecovered) || !strings.Contains(err.Error(), "jukinet recover") {
			t.Fatalf("a restored node behind its witness may serve: %v", err)
		}
		rep, err := Recover(ctx, r, console, RecoverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Recovered != int(sc.cosigned-sc.backupSize) || rep.CosignedSize != sc.cosigned || rep.LastSeq != sc.cosigned-1 {
			t.Errorf("recovered %d entries up to %d (last %d), want %d up to %d", rep.Recovered, rep.CosignedSize, rep.LastSeq, sc.cosigned-sc.backupSize, sc.cosigned)
		}
		got := payloads(t, r.DB, sc.cosigned)
		for seq := int64(0); seq < sc.cosigned; seq++ {
			if !bytes.Equal(got[seq], sc.original[seq]) {
				t.Fatalf("entry %d differs from the lost node's", seq)
			}
		}
		if _, err := auditlog.Verify(ctx, r.DB, r.Verifier); err != nil {
			t.Fatalf("audit verify after recovery: %v", err)
		}
		// The explicit entries, cosigned, and the gap an alert upstream.
		for seq, action := range map[int64]string{rep.RecoveredSeq: ActionRecovered, rep.GapSeq: ActionGap} {
			l, _ := auditlog.List(ctx, r.DB, auditlog.Filter{Action: action, After: -1})
			if len(l) != 1 || l[0].Entry.Seq != seq {
				t.Errorf("%s: %+v, want one entry at %d", action, l, seq)
			}
		}
		l, _ := auditlog.List(ctx, r.DB, auditlog.Filter{Action: ActionGap, After: -1})
		if len(l) == 1 && !strings.Contains(l[0].Entry.Detail, fmt.Sprintf("the last entry recovered is %d", sc.cosigned-1)) || !strings.Contains(l[0].Entry.Detail, "unknown number") {
			t.Errorf("the gap entry says %q", l[0].Entry.Detail)
		}
		if !rep.Cosigned {
			t.Errorf("the witness did not cosign the recovered log: %s", rep.WitnessErr)
		}
		if a := alerts(t, sc.nw.pref); len(a) != 1 || a[0] != AlertLogGap {
			t.Errorf("alerts at the prefecture: %v, want [%s]", a, AlertLogGap)
		}
		if err := CheckRecovered(ctx, r); err != nil {
			t.Errorf("the recovered node may not serve: %v", err)
		}
		if _, err := os.Stat(filepath.Join(r.Dir, RecoveredFile)); err != nil {
			t.Errorf("the restore's record was not marked recovered: %v", err)
		}
		if l, _ := auditlog.List(ctx, r.DB, auditlog.Filter{Action: ActionRecovered, After: -1}); len(l) != 1 || !strings.Contains(l[0].Entry.Detail, "restored from the backup") {
			t.Errorf("the recovery entry does not name the backup: %+v", l)
		}
		// The records: the changes that reached the prefecture are back.
		for _, m := range append(sc.moved, sc.added...) {
			got, err := r.Gate.Lookup(ctx, consoleReq(r), gate.Key{ResidentCode: string(m.ResidentCode)})
			if err != nil || got.Address != m.Address {
				t.Errorf("%s after recovery: %q %v, want %q", m.ResidentCode, got.Address, err, m.Address)
			}
		}
		if rep.Acked != rep.LocalChanges+4 {
			t.Errorf("the prefecture applied changes up to %d, the backup held %d: want 4 between", rep.Acked, rep.LocalChanges)
		}
		// The change that never left is named, with its entry.
		// The forms issued after the backup are accounted for: void in the
		// register, and their numbers never issued again.
		if len(rep.Forms) != len(sc.forms) || rep.FormsVoided != len(sc.forms) {
			t.Errorf("forms accounted for: %v (%d voided), want %v", rep.Forms, rep.FormsVoided, sc.forms)
		}
		for _, num := range sc.forms {
			if f, err := form.Get(ctx, r.DB, num); err != nil || f.State != form.Void || !strings.Contains(f.VoidReason, "復元") {
				t.Errorf("form %s after recovery: %+v, %v", num, f, err)
			}
		}
		if next, err := r.Forms.Reserve(ctx, console); err != nil || next.Serial <= sc.forms[len(sc.forms)-1].Serial {
			t.Errorf("the next control number after recovery is %s (%v): at or below %s, issued before the loss", next, err, sc.forms[len(sc.forms)-1])
		}
		if len(rep.NotFound) != 1 || rep.NotFound[0].Seq != sc.undeliveredSeq || len(rep.NotFound[0].Codes) != 1 || rep.NotFound[0].Codes[0] != string(sc.undelivered.ResidentCode) {
			t.Errorf("changes not found: %+v, want entry %d of %s", rep.NotFound, sc.undeliveredSeq, sc.undelivered.ResidentCode)
		}
		// Entered again, it reaches the prefecture: the change sequence
		// went on after the prefecture's.
		again := moveTo(t, r, sc.undelivered, sc.undelivered.Address, 0)
		if sent, err := NewSender(r, nil).DeliverOnce(ctx); err != nil || sent != 1 {
			t.Fatalf("deliver the change entered again: %d %v", sent, err)
		}
		up, err := sc.nw.pref.Gate.Lookup(ctx, consoleReq(sc.nw.pref), gate.Key{ResidentCode: string(again.ResidentCode)})
		if err != nil || up.Address != again.Address {
			t.Errorf("the prefecture's copy: %q %v, want %q", up.Address, err, again.Address)
		}
		// And the log goes on being witnessed.
		lookupN(t, r, sc.recs[20:22])
		witnessed(t, r)
		if _, err := auditlog.Verify(ctx, r.DB, r.Verifier); err != nil {
			t.Fatalf("audit verify after more work: %v", err)
		}
	})
}

// TestRecoverRefusals: entries that do not hash to the cosigned root are
// refused (nothing written); another node cannot have a node's entries; a
// restored node that skipped recovery and wrote entries is refused by the
// witness as a fork.
func TestRecoverRefusals(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		sc := newRecoveryScenario(t)
		r, pref := sc.restored, sc.nw.pref

		// The witness's copy altered: one entry's content changed.
		seq := sc.backupSize + 1
		var payload []byte
		if err := pref.DB.QueryRow(ctx, `SELECT payload FROM fed_witness_entry WHERE peer = '022012' AND seq = ?`, seq).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		altered := bytes.Replace(payload, []byte(`"outcome":"ok"`), []byte(`"outcome":"no"`), 1)
		if bytes.Equal(altered, payload) {
			t.Fatalf("entry %d: nothing to alter in %s", seq, payload)
		}
		if _, err := pref.DB.Exec(ctx, `UPDATE fed_witness_entry SET payload = ? WHERE peer = '022012' AND seq = ?`, altered, seq); err != nil {
			t.Fatal(err)
		}
		if _, err := Recover(ctx, r, console, RecoverOptions{}); !errors.Is(err, auditlog.ErrRecoveredMismatch) {
			t.Errorf("entries that do not make the cosigned root: %v", err)
		}
		if size, _ := r.Log.Size(ctx); size != sc.backupSize {
			t.Errorf("a refused recovery wrote entries: %d, want %d", size, sc.backupSize)
		}
		if _, err := pref.DB.Exec(ctx, `UPDATE fed_witness_entry SET payload = ? WHERE peer = '022012' AND seq = ?`, payload, seq); err != nil {
			t.Fatal(err)
		}

		// Another node asks for 青森市's entries: refused, and an alert.
		askOver := func(conn Conn, signer *node.Node, source string) (RecoverAnswer, *refusal) {
			body := fmt.Sprintf(`{"source":%q,"target":"020001","from":0,"max_bytes":1000000,"at":%q}`, source, signer.Now().UTC().Format(time.RFC3339))
			msg, err := note.Sign(&note.Note{Text: recoverHeader + "\n" + body + "\n"}, signer.Signer)
			if err != nil {
				t.Fatal(err)
			}
			return sc.nw.recv.Recover(ctx, msg, conn)
		}
		ask := func(signer *node.Node, source string) (RecoverAnswer, *refusal) {
			return askOver(Conn{}, signer, source)
		}
		before := len(alerts(t, pref))
		if ans, ref := ask(sc.nw.hachinohe, "022012"); ref == nil || ref.Alert != AlertSignature || len(ans.Entries) != 0 {
			t.Errorf("八戸市 asked for 青森市's entries: %d entries, %+v", len(ans.Entries), ref)
		}
		if a := alerts(t, pref); len(a) != before+1 {
			t.Errorf("no alert for another node's request: %v", a)
		}
		if ans, ref := ask(sc.nw.hachinohe, "022039"); ref != nil || ans.Size != 0 || len(ans.Entries) != 0 {
			t.Errorf("八戸市 asking for its own (none): %+v %+v", ans, ref)
		}
		if ans, ref := ask(r, "022012"); ref != nil || ans.Size != sc.cosigned || int64(len(ans.Entries)) != sc.cosigned {
			t.Errorf("青森市 asking for its own: %d entries of %d, %+v", len(ans.Entries), ans.Size, ref)
		}
		// Over TLS, its own signature without its own node certificate
		// is not enough.
		if ans, ref := askOver(Conn{TLS: true}, r, "022012"); ref == nil || ref.Alert != AlertSignature || len(ans.Entries) != 0 {
			t.Errorf("青森市's request over TLS without its certificate: %d entries, %+v", len(ans.Entries), ref)
		}

		// Skipping recovery: the restore's record removed, serve still
		// refuses, since the witness cosigned more than the log holds.
		if err := os.Remove(filepath.Join(r.Dir, backup.RestoredFile)); err != nil {
			t.Fatal(err)
		}
		if err := CheckRecovered(ctx, r); !errors.Is(err, ErrNotRecovered) || !strings.Contains(err.Error(), fmt.Sprintf("cosigned %d entries", sc.cosigned)) {
			t.Errorf("a restored node behind its witness, without the restore's record: %v", err)
		}
		// Writing anyway: the restored node writes entries past the
		// witnessed size and has them witnessed: a fork.
		for size, _ := r.Log.Size(ctx); size <= sc.cosigned+3; size, _ = r.Log.Size(ctx) {
			lookupN(t, r, sc.recs[:1])
		}
		if err := CheckRecovered(ctx, r); err != nil {
			t.Logf("with more entries than cosigned, the start check alone does not see it: %v", err)
		}
		if _, err := r.Log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		before = len(alerts(t, pref))
		if ok, err := NewSender(r, nil).WitnessOnce(ctx); ok || err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("the witness cosigned a restored log that skipped recovery: %v %v", ok, err)
		}
		if a := alerts(t, pref); len(a) != before+1 || a[len(a)-1] != AlertFork {
			t.Errorf("alerts at the witness: %v, want one more %s", a, AlertFork)
		}
		var held int64
		pref.DB.QueryRow(ctx, `SELECT COUNT(*) FROM fed_witness_entry WHERE peer = '022012' AND seq >= ?`, sc.cosigned).Scan(&held)
		if held != 0 {
			t.Errorf("the witness kept %d entries of the refused history", held)
		}
	})
}

// TestWitnessKeepsEntriesFromItsOldState: a witness that cosigned before
// it kept entries (no frontier, no copy) takes the node's frontier with its
// next entries, checked against the root it cosigned, and cosigns on; a
// frontier that does not make that root is refused as a fork.
func TestWitnessKeepsEntriesFromItsOldState(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		a := nw.aomori
		importN(t, a, "022012", 5, 50)
		first := witnessed(t, a)
		// As a witness of before: the last size and root only.
		if _, err := nw.pref.DB.Exec(ctx, `UPDATE fed_witnessed SET frontier = NULL`); err != nil {
			t.Fatal(err)
		}
		if _, err := nw.pref.DB.Exec(ctx, `DELETE FROM fed_witness_entry`); err != nil {
			t.Fatal(err)
		}
		// A frontier that does not make the cosigned root.
		bad, err := note.Sign(&note.Note{Text: entriesHeader + "\n" + fmt.Sprintf(`{"source":"022012","target":"020001","from":%d,"frontier":[%s],"entries":[]}`,
			first, strings.TrimSuffix(strings.Repeat(`"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",`, bitsOf(first)), ",")) + "\n"}, a.Signer)
		if err != nil {
			t.Fatal(err)
		}
		if _, ref := nw.recv.Entries(ctx, bad, Conn{}); ref == nil || ref.Alert != AlertFork {
			t.Errorf("a frontier that does not make the cosigned root: %+v", ref)
		}
		importN(t, a, "022012", 3, 51)
		second := witnessed(t, a)
		var held, lo int64
		nw.pref.DB.QueryRow(ctx, `SELECT COUNT(*), MIN(seq) FROM fed_witness_entry WHERE peer = '022012'`).Scan(&held, &lo)
		if held != second-first || lo != first {
			t.Errorf("the witness holds %d entries from %d, want %d from %d", held, lo, second-first, first)
		}
	})
}

func bitsOf(n int64) int {
	c := 0
	for ; n > 0; n &= n - 1 {
		c++
	}
	return c
}

// TestRestoredUpstreamGetsChangesAgain: a prefecture restored from a backup
// lost the changes a municipality sent after it; once recovered (its
// sources marked), the municipality's next batch is answered "send again
// from N" instead of a sequence-gap alert, the municipality rewinds its
// cursor (logged), and every change reaches the prefecture exactly once.
func TestRestoredUpstreamGetsChangesAgain(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		a := nw.aomori
		s := NewSender(a, nil)
		first := importN(t, a, "022012", 10, 60)
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 10 {
			t.Fatalf("deliver: %d %v", sent, err)
		}
		res, err := backup.Take(ctx, nw.pref, backup.Options{Folder: t.TempDir(), Who: console})
		if err != nil {
			t.Fatal(err)
		}
		later := importN(t, a, "022012", 5, 61)
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 5 {
			t.Fatalf("deliver after the backup: %d %v", sent, err)
		}
		// The prefecture is lost and restored; it serves at a new address.
		nw.pref.Close()
		opt := backup.RestoreOptions{From: res.Path, Dir: filepath.Join(t.TempDir(), "pref"), Now: clocktest.New().Now}
		if onPostgres[t] {
			opt.DatabaseURL = dbtest.PostgresURL(t)
		}
		rr, err := backup.Restore(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		pref := restore(t, rr.Dir)
		n, err := markSourcesRestored(ctx, pref)
		if err != nil || n != 2 {
			t.Fatalf("sources marked: %d %v, want 2", n, err)
		}
		recv := NewReceiver(pref, nil)
		mux := http.NewServeMux()
		mux.Handle("/federation/v1/batches", recv)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		if _, err := a.DB.Exec(ctx, `UPDATE fed_peer SET url = ? WHERE role = 'upstream'`, srv.URL); err != nil {
			t.Fatal(err)
		}
		newest := importN(t, a, "022012", 1, 62)
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 6 {
			t.Fatalf("deliver to the restored prefecture: %d %v, want the 5 lost and the new one", sent, err)
		}
		for _, r := range append(append(first, later...), newest...) {
			if !held(t, pref, string(r.ResidentCode)) {
				t.Errorf("the restored prefecture lacks %s", r.ResidentCode)
			}
		}
		if al := alerts(t, pref); len(al) != 0 {
			t.Errorf("alerts at the restored prefecture: %v", al)
		}
		if l, _ := auditlog.List(ctx, a.DB, auditlog.Filter{Action: "federation.rewind", After: -1}); len(l) != 1 {
			t.Errorf("the rewind is not logged at the municipality: %+v", l)
		}
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 0 {
			t.Errorf("nothing left: %d %v", sent, err)
		}
		// The mark is gone once a batch applied: a gap alerts again.
		var marked int
		pref.DB.QueryRow(ctx, `SELECT COUNT(*) FROM fed_inbox WHERE source = '022012' AND restored_at IS NOT NULL`).Scan(&marked)
		if marked != 0 {
			t.Errorf("the restore mark of 022012 is still there")
		}
	})
}
