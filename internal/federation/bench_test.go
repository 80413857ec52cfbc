package federation

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukinet/internal/node"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// BenchmarkNetwork measures, on this machine with every node in one process
// on SQLite, changes per second from a municipality to the national node
// (import at 022012, delivered to 020001 and forwarded to the national
// node, every hop logged and durable), and the time of a consistency check
// of JUKINET_BENCH_RESIDENTS residents (default 20,000) with 10 records
// altered at the prefecture. The raw baseline is the municipality's own
// import (one node, no network) in the same run.
func BenchmarkNetwork(b *testing.B) {
	n := 20_000
	if s := os.Getenv("JUKINET_BENCH_RESIDENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	mk := func(profileID, code string) *node.Node {
		dir := b.TempDir()
		if _, err := node.Init(ctx, node.InitOptions{Dir: dir, Profile: profileID, LocalGovCode: code}); err != nil {
			b.Fatal(err)
		}
		nd, err := node.Open(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { nd.Close() })
		if err := nd.OpenGate(ctx, nil); err != nil {
			b.Fatal(err)
		}
		return nd
	}
	serve := func(nd *node.Node) string {
		r := NewReceiver(nd, nil)
		mux := http.NewServeMux()
		mux.Handle("/federation/v1/batches", r)
		mux.HandleFunc("/federation/v1/check", r.ServeCheck)
		mux.HandleFunc("/federation/v1/witness", r.ServeWitness)
		mux.HandleFunc("/federation/v1/entries", r.ServeEntries)
		srv := httptest.NewServer(mux)
		b.Cleanup(srv.Close)
		return srv.URL
	}
	muni, pref := mk("koto-ward", "022012"), mk("aomori-pref", "020001")
	b.StopTimer()
	// A national node needs --level national; build it as node.Init does.
	natDir := b.TempDir()
	if _, err := node.Init(ctx, node.InitOptions{Dir: natDir, Profile: "aomori-pref", Level: "national"}); err != nil {
		b.Fatal(err)
	}
	national, err := node.Open(ctx, natDir)
	if err != nil {
		b.Fatal(err)
	}
	defer national.Close()
	if err := national.OpenGate(ctx, nil); err != nil {
		b.Fatal(err)
	}
	prefURL, natURL := serve(pref), serve(national)
	link := func(down, up *node.Node, upURL string) {
		db, _ := Export(down, "")
		ub, _ := Export(up, upURL)
		if err := Add(ctx, up, console, Downstream, db); err != nil {
			b.Fatal(err)
		}
		if err := Add(ctx, down, console, Upstream, ub); err != nil {
			b.Fatal(err)
		}
	}
	link(muni, pref, prefURL)
	link(pref, national, natURL)

	// Raw baseline: the same import on a node without an upstream.
	alone := mk("koto-ward", "022012")
	start := time.Now()
	importBench(b, alone, "022012", n, 1)
	baseline := time.Since(start)

	start = time.Now()
	importBench(b, muni, "022012", n, 1)
	senders := []*Sender{NewSender(muni, nil), NewSender(pref, nil)}
	done := make(chan struct{})
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, s := range senders {
		go s.Run(bctx, 50*time.Millisecond)
	}
	go func() {
		for {
			st, _ := GetStatus(ctx, national)
			for _, in := range st.Inbox {
				if in.Last >= int64(n) {
					close(done)
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatal("the national node did not receive every change")
	}
	endToEnd := time.Since(start)
	cancel()

	// Consistency check with 10 records altered at the prefecture.
	if _, err := pref.DB.Exec(ctx, `UPDATE identity_record SET address = address || '（改）' WHERE id IN (SELECT id FROM identity_record ORDER BY id LIMIT 10)`); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	rep, err := Check(ctx, muni, "022012", false)
	if err != nil {
		b.Fatal(err)
	}
	check := time.Since(start)
	if len(rep.Differences) != 10 {
		b.Fatalf("check found %d differences, want 10", len(rep.Differences))
	}
	b.ReportMetric(float64(n)/baseline.Seconds(), "baseline-import/s")
	b.ReportMetric(float64(n)/endToEnd.Seconds(), "end-to-end-changes/s")
	b.ReportMetric(check.Seconds(), "check-s")
	fmt.Fprintf(os.Stderr, "network: %d residents; import alone %s (%.0f/s); import + delivery to the national node %s (%.0f changes/s); consistency check %s\n",
		n, baseline.Round(time.Millisecond), float64(n)/baseline.Seconds(), endToEnd.Round(time.Millisecond), float64(n)/endToEnd.Seconds(), check.Round(time.Millisecond))
}

// BenchmarkProvision measures batch provision of four-item rows (the name
// in kana, date of birth, sex) against a prefecture holding
// JUKINET_BENCH_RESIDENTS residents (default 20,000), over HTTPS with a
// recipient certificate, one batch of JUKINET_BENCH_ROWS rows (default: one
// per resident) spread evenly over the register; the raw baseline is the
// driver's point select by code of the same residents, in the same run.
func BenchmarkProvision(b *testing.B) {
	n := 20_000
	if s := os.Getenv("JUKINET_BENCH_RESIDENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	rowCount := n
	if s := os.Getenv("JUKINET_BENCH_ROWS"); s != "" {
		rowCount, _ = strconv.Atoi(s)
	}
	if rowCount <= 0 || rowCount > n {
		b.Fatalf("JUKINET_BENCH_ROWS=%d: want 1 to %d (the residents)", rowCount, n)
	}
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := node.Init(ctx, node.InitOptions{Dir: dir, Profile: "aomori-pref", LocalGovCode: "020001"}); err != nil {
		b.Fatal(err)
	}
	pref, err := node.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer pref.Close()
	if err := pref.OpenGate(ctx, nil); err != nil {
		b.Fatal(err)
	}
	all := importN(b, pref, "022012", n, 9)
	recs := make([]resident.IdentityRecord, rowCount)
	for i := range recs {
		recs[i] = all[i*n/rowCount]
	}
	if err := pref.Staff.AddRecipient(ctx, console, staff.Recipient{ID: "nenkin", Name: "日本年金機構", Category: "別表第一", Affairs: []string{"pension"}}); err != nil {
		b.Fatal(err)
	}
	base, ca := provisionServer(b, pref)
	c := recipientClient(b, ca, "nenkin")
	var body strings.Builder
	body.WriteString("name,date_of_birth,sex\n")
	for _, r := range recs {
		fmt.Fprintf(&body, "%s%s,%s,%d\n", r.FamilyNameKana, r.GivenNameKana, r.DateOfBirth.Format(time.DateOnly), int(r.Sex))
	}
	raw, err := pref.DB.PrepareRaw(ctx, `SELECT ir.family_name, ir.address FROM resident r JOIN identity_record ir ON ir.id = r.record_id WHERE r.resident_code = ?`)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	start := time.Now()
	for _, r := range recs {
		var a, d string
		if err := raw.QueryRowContext(ctx, string(r.ResidentCode)).Scan(&a, &d); err != nil {
			b.Fatal(err)
		}
	}
	baseline := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	status, rows := postBatch(b, c, base, "pension", body.String())
	el := time.Since(start)
	if status != 200 || len(rows) != rowCount+1 {
		b.Fatalf("batch: %d, %d rows", status, len(rows))
	}
	found := 0
	for _, r := range rows[1:] {
		if r[1] == "found" {
			found++
		}
	}
	b.ReportMetric(float64(rowCount)/baseline.Seconds(), "raw-select/s")
	b.ReportMetric(float64(rowCount)/el.Seconds(), "rows/s")
	fmt.Fprintf(os.Stderr, "provision: %d four-item rows against %d residents in %s (%.0f rows/s, %d found, the rest ambiguous or not found); raw point select %.0f/s\n",
		rowCount, n, el.Round(time.Millisecond), float64(rowCount)/el.Seconds(), found, float64(rowCount)/baseline.Seconds())
}
