package federation

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	"jukinet/internal/ids"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
)

var console = staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "test"}, Origin: "host:test"}

// onPostgres makes newNode put nodes on PostgreSQL (each in its own database).
var onPostgres = map[*testing.T]bool{}

// bothDatabases runs fn with nodes on SQLite, then on PostgreSQL.
func bothDatabases(t *testing.T, fn func(t *testing.T)) {
	t.Run("sqlite", fn)
	t.Run("postgres", func(t *testing.T) {
		dbtest.SkipWithoutPostgres(t)
		onPostgres[t] = true
		defer delete(onPostgres, t)
		fn(t)
	})
}

func newNode(t *testing.T, profileID, code string) *node.Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), code)
	url := ""
	if onPostgres[t] {
		url = dbtest.MigratedPostgresURL(t)
	}
	n, clock := nodetest.Open(t, node.InitOptions{Dir: dir, Profile: profileID, LocalGovCode: code, DatabaseURL: url})
	nodeClocks[n] = clock
	return n
}

// nodeClocks are the test clocks of the nodes newNode opened, for a test
// that steps one.
var nodeClocks = map[*node.Node]*clocktest.Clock{}

func consoleReq(n *node.Node) gate.Request {
	return gate.Request{Actor: console.Actor, Origin: console.Origin, Affair: RegisterAffair(n.Profile), Reason: "テスト"}
}

func importN(t testing.TB, n *node.Node, code string, count int, seed uint64) []resident.IdentityRecord {
	t.Helper()
	g, _ := synth.New(synth.Options{Seed: seed, LocalGov: ids.LocalGovCode(code)})
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	recs := make([]resident.IdentityRecord, count)
	for i := range recs {
		recs[i] = g.Next()
		w.Write(recs[i])
	}
	w.Close()
	if _, err := n.Gate.Import(context.Background(), consoleReq(n), &buf, resident.UTF8); err != nil {
		t.Fatal(err)
	}
	return recs
}

// network is two municipalities of 青森県 and the prefecture, wired as
// peers; the prefecture listens on an httptest server.
type network struct {
	aomori, hachinohe, pref *node.Node
	srv                     *httptest.Server
	recv                    *Receiver
}

func newNetwork(t *testing.T) *network {
	t.Helper()
	ctx := context.Background()
	nw := &network{
		aomori:    newNode(t, "koto-ward", "022012"),
		hachinohe: newNode(t, "koto-ward", "022039"),
		pref:      newNode(t, "aomori-pref", "020001"),
	}
	nw.recv = NewReceiver(nw.pref, nil)
	mux := http.NewServeMux()
	mux.Handle("/federation/v1/batches", nw.recv)
	mux.HandleFunc("/federation/v1/check", nw.recv.ServeCheck)
	mux.HandleFunc("/federation/v1/witness", nw.recv.ServeWitness)
	mux.HandleFunc("/federation/v1/entries", nw.recv.ServeEntries)
	mux.HandleFunc("/federation/v1/recover", nw.recv.ServeRecover)
	nw.srv = httptest.NewServer(mux)
	t.Cleanup(nw.srv.Close)
	pb, err := Export(nw.pref, nw.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*node.Node{nw.aomori, nw.hachinohe} {
		mb, err := Export(m, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := Add(ctx, nw.pref, console, Downstream, mb); err != nil {
			t.Fatal(err)
		}
		if err := Add(ctx, m, console, Upstream, pb); err != nil {
			t.Fatal(err)
		}
	}
	return nw
}

func held(t *testing.T, n *node.Node, code string) bool {
	t.Helper()
	_, err := n.Gate.Lookup(context.Background(), consoleReq(n), gate.Key{ResidentCode: code})
	return err == nil
}

func alerts(t *testing.T, n *node.Node) []string {
	t.Helper()
	rows, err := n.DB.Query(context.Background(), `SELECT kind FROM fed_alert ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		rows.Scan(&k)
		out = append(out, k)
	}
	return out
}

func TestChangesFlowUpstreamOnce(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		recs := importN(t, nw.aomori, "022012", 30, 1)
		s := NewSender(nw.aomori, nil)
		sent, err := s.DeliverOnce(ctx)
		if err != nil || sent != 30 {
			t.Fatalf("deliver: %d %v", sent, err)
		}
		if !held(t, nw.pref, string(recs[7].ResidentCode)) {
			t.Fatal("the prefecture does not hold a notified record")
		}
		// A change travels too; nothing is sent twice.
		moved := recs[3]
		moved.Address, moved.ChangeReason, moved.ChangeDate = "青森県青森市新町一丁目1番1号", resident.ReasonMoveWithin, moved.ChangeDate.AddDate(1, 0, 0)
		if _, err := nw.aomori.Gate.Apply(ctx, consoleReq(nw.aomori), gate.Change{Record: moved}); err != nil {
			t.Fatal(err)
		}
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 1 {
			t.Fatalf("deliver the change: %d %v", sent, err)
		}
		if sent, err := s.DeliverOnce(ctx); err != nil || sent != 0 {
			t.Fatalf("nothing left: %d %v", sent, err)
		}
		got, err := nw.pref.Gate.Lookup(ctx, consoleReq(nw.pref), gate.Key{ResidentCode: string(moved.ResidentCode)})
		if err != nil || got.Address != moved.Address || got.Version != 2 {
			t.Fatalf("prefecture's copy: %+v %v", got, err)
		}
		// The prefecture logged the change with the municipality as actor.
		l, _ := auditlog.List(ctx, nw.pref.DB, auditlog.Filter{Action: "replicate", After: -1})
		if len(l) != 2 || l[0].Entry.Actor.String() != "peer:022012" || l[0].Entry.Policy != "jukinet:downstream-peer" {
			t.Errorf("prefecture's log: %+v", l)
		}
		// The municipality logged each sending as a provision.
		l, _ = auditlog.List(ctx, nw.aomori.DB, auditlog.Filter{Action: "notify", After: -1})
		if len(l) != 2 || l[0].Entry.Provision == nil || l[0].Entry.SubjectCount != 30 {
			t.Errorf("municipality's log: %+v", l)
		}
	})
}

// TestChangesFlowInBatches: more changes than a batch holds go in
// successive batches, each applied once. (Forwarding from the prefecture
// runs the same sender; the four-process test in cmd/jukinet covers it.)
func TestChangesFlowInBatches(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		recs := importN(t, nw.aomori, "022012", 25, 30)
		s := NewSender(nw.aomori, nil)
		s.BatchSize = 10
		for _, want := range []int{10, 10, 5, 0} {
			if sent, err := s.DeliverOnce(ctx); err != nil || sent != want {
				t.Fatalf("deliver: sent %d (%v), want %d", sent, err, want)
			}
		}
		for _, r := range recs {
			if !held(t, nw.pref, string(r.ResidentCode)) {
				t.Fatalf("the prefecture does not hold %s", r.ResidentCode)
			}
		}
		l, _ := auditlog.List(ctx, nw.pref.DB, auditlog.Filter{Action: "replicate", After: -1})
		total := 0
		for _, e := range l {
			total += e.Entry.SubjectCount
		}
		if len(l) != 3 || total != 25 {
			t.Errorf("the prefecture applied %d batches of %d changes in all, want 3 of 25", len(l), total)
		}
	})
}

func TestReplayAndDuplicateAreHarmless(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		importN(t, nw.aomori, "022012", 5, 2)
		req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "federation"}, Origin: "node:022012", Affair: "juki", Reason: "通知"}
		ns, err := nw.aomori.Gate.Outbound(ctx, req, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		b := Batch{Source: "022012", Target: "020001"}
		for _, c := range ns {
			b.Changes = append(b.Changes, WireChange{Seq: c.Seq, Record: wireRecord(c.IdentityRecord)})
		}
		msg, _ := sign(b, nw.aomori.Signer)
		for i := 0; i < 2; i++ {
			ack, ref := nw.recv.Receive(ctx, msg, Conn{})
			if ref != nil || ack.Last != 5 || ack.Applied != 5*(1-i) {
				t.Fatalf("delivery %d: %+v %+v", i+1, ack, ref)
			}
		}
		if a := alerts(t, nw.pref); len(a) != 0 {
			t.Errorf("a replay raised alerts: %v", a)
		}
	})
}

func TestRefusedBatchesRaiseAlerts(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		recs := importN(t, nw.aomori, "022012", 3, 3)
		change := func(seq int64, r resident.IdentityRecord) WireChange {
			return WireChange{Seq: seq, Record: wireRecord(r)}
		}
		skey, _, _ := note.GenerateKey(nil, "jukinet-022012")
		forger, _ := note.NewSigner(skey)
		foreign := recs[0]
		foreign.LocalGov = "022039" // 八戸市's
		for _, c := range []struct {
			name   string
			signer note.Signer
			batch  Batch
			alert  string
		}{
			{"forged signature", forger, Batch{Source: "022012", Target: "020001", Changes: []WireChange{change(1, recs[0])}}, AlertSignature},
			{"another municipality's code", nw.aomori.Signer, Batch{Source: "022012", Target: "020001", Changes: []WireChange{change(1, foreign)}}, AlertForeign},
		} {
			msg, _ := sign(c.batch, c.signer)
			_, ref := nw.recv.Receive(ctx, msg, Conn{})
			if ref == nil || ref.Alert != c.alert {
				t.Errorf("%s: %+v, want alert %s", c.name, ref, c.alert)
			}
		}
		if held(t, nw.pref, string(recs[0].ResidentCode)) {
			t.Error("a refused batch was applied")
		}
		// The foreign code stopped 青森市: even a good batch waits until resumed.
		good, _ := sign(Batch{Source: "022012", Target: "020001", Changes: []WireChange{change(1, recs[0])}}, nw.aomori.Signer)
		if _, ref := nw.recv.Receive(ctx, good, Conn{}); ref == nil || !strings.Contains(ref.Error, "stopped") {
			t.Errorf("stopped source accepted: %+v", ref)
		}
		// A gap from 八戸市 (whose first change would be 1) stops it too.
		h := importN(t, nw.hachinohe, "022039", 1, 4)
		gap, _ := sign(Batch{Source: "022039", Target: "020001", Changes: []WireChange{change(5, h[0])}}, nw.hachinohe.Signer)
		if _, ref := nw.recv.Receive(ctx, gap, Conn{}); ref == nil || ref.Alert != AlertGap {
			t.Errorf("sequence gap: %+v", ref)
		}
		// A batch for another node.
		mis, _ := sign(Batch{Source: "022039", Target: "030001", Changes: []WireChange{change(1, h[0])}}, nw.hachinohe.Signer)
		if _, ref := nw.recv.Receive(ctx, mis, Conn{}); ref == nil || ref.Alert != AlertMisdirect {
			t.Errorf("misdirected batch: %+v", ref)
		}
		if a := alerts(t, nw.pref); len(a) != 4 {
			t.Errorf("alerts = %v", a)
		}
	})
}

func TestPeerBundleRules(t *testing.T) {
	ctx := context.Background()
	m := newNode(t, "koto-ward", "022012")
	other := newNode(t, "aomori-pref", "030007") // 岩手県: not 青森市's prefecture
	b, _ := Export(other, "http://x")
	if err := Add(ctx, m, console, Upstream, b); err == nil {
		t.Error("a municipality took another prefecture as upstream")
	}
	b.NoteKey = strings.Replace(b.NoteKey, "030007", "020001", 1)
	if err := Add(ctx, m, console, Upstream, b); err == nil {
		t.Error("a bundle whose key names another node was accepted")
	}
	_ = http.StatusOK
}

// TestConsistencyCheckFindsAndRepairs alters records directly in the
// prefecture's database; the check finds exactly them, and repair makes the
// copies agree again.
func TestConsistencyCheckFindsAndRepairs(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		recs := importN(t, nw.aomori, "022012", 60, 5)
		s := NewSender(nw.aomori, nil)
		if _, err := s.DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := Check(ctx, nw.aomori, "022012", false)
		if err != nil || len(rep.Differences) != 0 || rep.Here != 60 || rep.Upstream != 60 {
			t.Fatalf("check of equal copies: %+v %v", rep, err)
		}
		// Alter two records in place at the prefecture, and remove a third.
		for _, q := range []struct {
			sql  string
			code string
		}{
			{`UPDATE identity_record SET address = 'どこか' WHERE resident_code = ?`, string(recs[4].ResidentCode)},
			{`UPDATE identity_record SET family_name = '偽' WHERE resident_code = ?`, string(recs[9].ResidentCode)},
			{`DELETE FROM name_key WHERE resident_id = (SELECT id FROM resident WHERE resident_code = ?)`, string(recs[11].ResidentCode)},
		} {
			if _, err := nw.pref.DB.Exec(ctx, q.sql, q.code); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := nw.pref.DB.Exec(ctx, `UPDATE resident SET local_gov_code = '022039' WHERE resident_code = ?`, string(recs[11].ResidentCode)); err != nil {
			t.Fatal(err)
		}
		rep, err = Check(ctx, nw.aomori, "022012", true)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{string(recs[4].ResidentCode): "differs", string(recs[9].ResidentCode): "differs", string(recs[11].ResidentCode): "missing-upstream"}
		if len(rep.Differences) != 3 || rep.Requeued != 3 {
			t.Fatalf("check found %+v (requeued %d), want %v", rep.Differences, rep.Requeued, want)
		}
		for _, d := range rep.Differences {
			if want[d.Code] != d.Kind {
				t.Errorf("difference %+v, want %s", d, want[d.Code])
			}
		}
		// Repair: the versions go up again and the altered ones are corrected.
		if _, err := s.DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := nw.pref.Gate.Lookup(ctx, consoleReq(nw.pref), gate.Key{ResidentCode: string(recs[4].ResidentCode)})
		if err != nil || got.Address != recs[4].Address {
			t.Errorf("repaired record: %+v %v", got.Address, err)
		}
		if rep, err := Check(ctx, nw.aomori, "022012", false); err != nil || len(rep.Differences) != 0 {
			t.Errorf("after repair: %+v %v", rep.Differences, err)
		}
	})
}

// TestConsistencyCheckKnowsUndeliveredChanges: changes still in the
// outbox (a move; a 住民票コード変更, whose old code the upstream still
// holds) are reported as undelivered, not as differences, and are not
// queued again by repair; a record altered in place beside them still
// differs. Once delivered, the copies agree.
func TestConsistencyCheckKnowsUndeliveredChanges(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		recs := importN(t, nw.aomori, "022012", 40, 6)
		s := NewSender(nw.aomori, nil)
		if _, err := s.DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
		moved := recs[3]
		moved.Address, moved.ChangeReason, moved.ChangeDate = "青森県青森市新町一丁目1番1号", resident.ReasonMoveWithin, moved.ChangeDate.AddDate(1, 0, 0)
		recoded := recs[5]
		recoded.ResidentCode = ids.NewResidentCode(rand.New(rand.NewPCG(6, 6)))
		recoded.ChangeReason, recoded.ChangeDate = resident.ReasonResidentCodeChange, recoded.ChangeDate.AddDate(1, 0, 0)
		for _, c := range []gate.Change{{Record: moved}, {Record: recoded, PreviousCode: string(recs[5].ResidentCode)}} {
			if _, err := nw.aomori.Gate.Apply(ctx, consoleReq(nw.aomori), c); err != nil {
				t.Fatal(err)
			}
		}
		altered := string(recs[8].ResidentCode)
		if _, err := nw.pref.DB.Exec(ctx, `UPDATE identity_record SET address = 'どこか' WHERE resident_code = ?`, altered); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			string(moved.ResidentCode): Undelivered, string(recoded.ResidentCode): Undelivered,
			string(recs[5].ResidentCode): Undelivered, altered: Differs,
		}
		rep, err := Check(ctx, nw.aomori, "022012", true)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Differences) != len(want) || rep.Undelivered != 3 || rep.Requeued != 1 {
			t.Fatalf("check found %+v (%d undelivered, requeued %d), want %v, 3 undelivered, 1 requeued", rep.Differences, rep.Undelivered, rep.Requeued, want)
		}
		for _, d := range rep.Differences {
			if want[d.Code] != d.Kind {
				t.Errorf("difference %+v, want %s", d, want[d.Code])
			}
		}
		// Which residents had changes on their way was logged.
		l, err := auditlog.List(ctx, nw.aomori.DB, auditlog.Filter{Action: "check", After: -1})
		if err != nil {
			t.Fatal(err)
		}
		var logged bool
		for _, it := range l {
			if strings.HasPrefix(it.Entry.Query, "undelivered") && it.Entry.SubjectCount == 3 {
				logged = true
			}
		}
		if !logged {
			t.Errorf("no check entry names the 3 undelivered residents: %+v", l)
		}
		if _, err := s.DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if rep, err := Check(ctx, nw.aomori, "022012", false); err != nil || len(rep.Differences) != 0 {
			t.Errorf("after delivery: %+v %v", rep.Differences, err)
		}
	})
}

func importBench(b *testing.B, n *node.Node, code string, count int, seed uint64) {
	b.Helper()
	g, _ := synth.New(synth.Options{Seed: seed, LocalGov: ids.LocalGovCode(code)})
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	for i := 0; i < count; i++ {
		w.Write(g.Next())
	}
	w.Close()
	if _, err := n.Gate.Import(context.Background(), consoleReq(n), &buf, resident.UTF8); err != nil {
		b.Fatal(err)
	}
}

// TestWitnessedCheckpoints: the prefecture cosigns the municipality's
// checkpoints while its log only grows; after the municipality's log is
// cut and rewritten, the witness refuses and raises an alert, and audit
// verify at the municipality reports the cut below the cosigned checkpoint.
func TestWitnessedCheckpoints(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		mux := http.NewServeMux()
		mux.HandleFunc("/federation/v1/witness", nw.recv.ServeWitness)
		mux.HandleFunc("/federation/v1/entries", nw.recv.ServeEntries)
		wsrv := httptest.NewServer(mux)
		defer wsrv.Close()
		if _, err := nw.aomori.DB.Exec(ctx, `UPDATE fed_peer SET url = ? WHERE role = 'upstream'`, wsrv.URL); err != nil {
			t.Fatal(err)
		}
		s := NewSender(nw.aomori, nil)
		for i := 0; i < 2; i++ {
			importN(t, nw.aomori, "022012", 5, uint64(10+i))
			if _, err := nw.aomori.Log.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.WitnessOnce(ctx); err != nil || !ok {
				t.Fatalf("witness %d: %v %v", i, ok, err)
			}
		}
		var cosigned int
		nw.aomori.DB.QueryRow(ctx, `SELECT COUNT(*) FROM audit_cosignature`).Scan(&cosigned)
		if cosigned != 2 {
			t.Fatalf("%d cosigned checkpoints stored, want 2", cosigned)
		}
		if _, err := auditlog.Verify(ctx, nw.aomori.DB, nw.aomori.Verifier); err != nil {
			t.Fatalf("verify before tampering: %v", err)
		}
		// Cut the log below the witnessed size (and its own checkpoints),
		// then grow it again and sign: the rewritten history.
		size, _ := nw.aomori.Log.Size(ctx)
		cut := size - 2
		for _, q := range []string{
			`DELETE FROM audit_subject WHERE seq >= ?`, `DELETE FROM audit_entry WHERE seq >= ?`,
			`DELETE FROM audit_checkpoint WHERE size > ?`,
		} {
			if _, err := nw.aomori.DB.Exec(ctx, q, cut); err != nil {
				t.Fatal(err)
			}
		}
		cutTiles(t, nw.aomori.DB, cut)
		if _, err := auditlog.Verify(ctx, nw.aomori.DB, nw.aomori.Verifier); err == nil || !strings.Contains(err.Error(), "cosigned by witness") {
			t.Errorf("verify after the cut: %v", err)
		}
		// The node reopens its log and signs the cut history anew.
		l2, err := auditlog.Open(ctx, nw.aomori.DB, nw.aomori.Signer, auditlog.Options{Now: clocktest.New().Now})
		if err != nil {
			t.Fatal(err)
		}
		defer l2.Close()
		for i := 0; i < 10; i++ {
			l2.Append(ctx, auditlog.Entry{Node: "022012", Actor: console.Actor, Origin: console.Origin, Action: "lookup", Decision: auditlog.Allow, Outcome: auditlog.OutcomeOK, Policy: "x"})
		}
		if _, err := l2.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.WitnessOnce(ctx); ok || err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("witness accepted a rewritten log: %v %v", ok, err)
		}
		if a := alerts(t, nw.pref); len(a) != 1 || a[0] != AlertFork {
			t.Errorf("alerts at the witness: %v", a)
		}
	})
}

// cutTiles cuts the tree's stored tiles (audit_tile) in d to those of a
// log of size entries, as an attacker cutting the log would.
func cutTiles(t *testing.T, d *db.DB, size int64) {
	t.Helper()
	ctx := context.Background()
	for level := int64(0); level < 8; level++ {
		count := size >> (8 * level) // the hashes at this tile level
		if _, err := d.Exec(ctx, `DELETE FROM audit_tile WHERE level = ? AND idx * 256 >= ?`, level, count); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, `UPDATE audit_tile SET hashes = substr(hashes, 1, ?) WHERE level = ? AND idx = ?`, (count%256)*32, level, count/256); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSuspensionAcrossTheNetwork: the prefecture suspends one
// municipality's notifications; a municipality suspends its own outbound
// notifications. Each takes effect for the next batch and is logged on
// both nodes; lifting resumes delivery.
func TestSuspensionAcrossTheNetwork(t *testing.T) {
	ctx := context.Background()
	nw := newNetwork(t)
	importN(t, nw.aomori, "022012", 4, 20)
	importN(t, nw.hachinohe, "022039", 4, 21)
	id, err := nw.pref.Staff.Suspend(ctx, console, staff.Suspension{Scope: staff.ScopePeer, Target: "022012", Reason: "不正の疑い"})
	if err != nil {
		t.Fatal(err)
	}
	aomori, hachinohe := NewSender(nw.aomori, nil), NewSender(nw.hachinohe, nil)
	if _, err := aomori.DeliverOnce(ctx); err == nil || !strings.Contains(err.Error(), "利用停止") {
		t.Errorf("suspended municipality delivered: %v", err)
	}
	if sent, err := hachinohe.DeliverOnce(ctx); err != nil || sent != 4 {
		t.Errorf("the other municipality: %d %v", sent, err)
	}
	l, _ := auditlog.List(ctx, nw.aomori.DB, auditlog.Filter{Action: "federation.refused", After: -1})
	if len(l) != 1 {
		t.Errorf("the refusal is not logged at the municipality: %d entries", len(l))
	}
	l, _ = auditlog.List(ctx, nw.pref.DB, auditlog.Filter{Action: "replicate", After: -1})
	denied := 0
	for _, e := range l {
		if e.Entry.Decision == auditlog.Deny && e.Entry.Policy == fmt.Sprintf("suspension:%d", id) {
			denied++
		}
	}
	if denied != 1 {
		t.Errorf("the refusal is not logged at the prefecture")
	}
	if err := nw.pref.Staff.Lift(ctx, console, id, "調査の結果、問題なし"); err != nil {
		t.Fatal(err)
	}
	if sent, err := aomori.DeliverOnce(ctx); err != nil || sent != 4 {
		t.Errorf("after lifting: %d %v", sent, err)
	}
	// The municipality stops its own outbound notifications.
	out, err := nw.aomori.Staff.Suspend(ctx, console, staff.Suspension{Scope: staff.ScopeOutbound, Reason: "点検中"})
	if err != nil {
		t.Fatal(err)
	}
	importN(t, nw.aomori, "022012", 2, 22)
	if sent, err := aomori.DeliverOnce(ctx); sent != 0 || err == nil {
		t.Errorf("outbound suspended, yet sent %d (%v)", sent, err)
	}
	if err := nw.aomori.Staff.Lift(ctx, console, out, "点検終了"); err != nil {
		t.Fatal(err)
	}
	if sent, err := aomori.DeliverOnce(ctx); err != nil || sent != 2 {
		t.Errorf("after lifting the outbound suspension: %d %v", sent, err)
	}
}
