package policy_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/staff"
)

// BenchmarkDecide measures one policy decision for a designated clerk on a
// koto-ward node with 1,000 staff members (SQLite), reporting p50 and p99
// (goal: p99 ≤ 50 µs) for the whole Decide, which checks the staff data's
// version in the database on every call, and for the Cedar evaluation alone
// (a snapshot already current); the raw database baseline is the version
// point select by itself, measured in the same run.
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	d := dbtest.OpenSQLite(b)
	f := New(b, d, "koto-ward")
	f.SetUpWard(b)
	for i := 0; i < 1000; i++ {
		dept := f.Profile.Departments[i%len(f.Profile.Departments)].ID
		Must(b, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: fmt.Sprintf("S%04d", i), Name: "職員", Department: dept, Title: "主事"}))
	}
	q := question(Clerk, "T-KUMIN-01", "juminhyo-copy", "lookup")
	if v := f.Engine.Decide(ctx, q); !v.Allow {
		b.Fatalf("clerk refused: %+v", v)
	}
	measure := func(name string, fn func()) {
		b.Run(name, func(b *testing.B) { measureLatency(b, fn) })
	}
	measure("raw-version-select", func() {
		if _, err := staff.Version(ctx, d); err != nil {
			b.Fatal(err)
		}
	})
	measure("decide", func() {
		if v := f.Engine.Decide(ctx, q); !v.Allow {
			b.Fatal(v)
		}
	})
	measure("cedar-only", func() {
		if v := f.Engine.DecideCurrent(q); !v.Allow {
			b.Fatal(v)
		}
	})
}

// measureLatency runs fn in the benchmark's loop and reports its p50 and
// p99 in µs. It reads the monotonic clock for durations only, never a
// date: no decision under test depends on it.
func measureLatency(b *testing.B, fn func()) {
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		fn()
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
}

// BenchmarkGovernance measures what the governance facts of issue 16 cost
// a decision and an audited lookup. Two koto-ward nodes, each with 1,000
// staff members besides the ward's and 1,000 residents: "bare" has no
// governance facts beyond the clerk's own training; "governed" has those
// of a large ward (every one of the 1,000 trained three times in each
// course, 50 contracts in force with the five clauses covering 200 of
// them, 17 rooms, the terminals installed, which turns the
// installed-terminal rule on). For each node, in the same run: the raw
// database baselines (the staff version point select; the record's point
// select through the driver alone), the whole Decide (the version check
// and the Cedar evaluation), the Cedar evaluation alone, and an audited
// lookup by 住民票コード through the gate, waiting for its durable audit
// entry, one at a time. stmts/op counts what each asks of the database
// outside the audit log (see TestDecisionReadsOnlyTheVersion). SQLite;
// JUKINET_BENCH_DB=postgres runs it on JUKINET_TEST_POSTGRES_URL.
func BenchmarkGovernance(b *testing.B) {
	ctx := context.Background()
	type node struct {
		name  string
		f     *Fixture
		codes []string
		st    *statements
	}
	var nodes []node
	for _, name := range []string{"bare", "governed"} {
		var d *db.DB
		if os.Getenv("JUKINET_BENCH_DB") == "postgres" {
			d = dbtest.OpenPostgres(b)
		} else {
			d = dbtest.OpenSQLite(b)
		}
		f := New(b, d, "koto-ward")
		f.SetUpWard(b)
		addStaff(b, f, 1000)
		codes := importResidents(b, f, 1000)
		if name == "governed" {
			govern(b, f, 1000, 50)
		}
		st := &statements{}
		stop := st.observe(d)
		b.Cleanup(stop)
		nodes = append(nodes, node{name, f, codes, st})
	}
	q := question(Clerk, "T-KUMIN-01", "juminhyo-copy", "lookup")
	clerk := q.Request
	// perOp reports the statements of n runs of fn, outside the timing.
	perOp := func(b *testing.B, st *statements, n int, fn func()) {
		st.take()
		for i := 0; i < n; i++ {
			fn()
		}
		b.ReportMetric(float64(len(st.take()))/float64(n), "stmts/op")
	}
	for _, nd := range nodes {
		if v := nd.f.Engine.Decide(ctx, q); !v.Allow {
			b.Fatalf("%s: clerk refused: %+v", nd.name, v)
		}
	}
	for _, nd := range nodes {
		b.Run("raw-version-select/"+nd.name, func(b *testing.B) {
			measureLatency(b, func() {
				if _, err := staff.Version(ctx, nd.f.DB); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	for _, nd := range nodes {
		b.Run("decide/"+nd.name, func(b *testing.B) {
			decide := func() {
				if v := nd.f.Engine.Decide(ctx, q); !v.Allow {
					b.Fatal(v)
				}
			}
			measureLatency(b, decide)
			perOp(b, nd.st, 100, decide)
		})
	}
	for _, nd := range nodes {
		b.Run("cedar-only/"+nd.name, func(b *testing.B) {
			measureLatency(b, func() {
				if v := nd.f.Engine.DecideCurrent(q); !v.Allow {
					b.Fatal(v)
				}
			})
		})
	}
	for _, nd := range nodes {
		raw, err := nd.f.DB.PrepareRaw(ctx, `SELECT ir.family_name, ir.given_name, ir.address, ir.date_of_birth FROM resident r JOIN identity_record ir ON ir.id = r.record_id WHERE r.resident_code = ?`)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { raw.Close() })
		b.Run("raw-record-select/"+nd.name, func(b *testing.B) {
			i := 0
			measureLatency(b, func() {
				i++
				var a, c, d, e string
				if err := raw.QueryRowContext(ctx, nd.codes[i*7919%len(nd.codes)]).Scan(&a, &c, &d, &e); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	for _, nd := range nodes {
		b.Run("audited-lookup/"+nd.name, func(b *testing.B) {
			i := 0
			lookup := func() {
				i++
				if _, err := nd.f.Gate.Lookup(ctx, clerk, gate.Key{ResidentCode: nd.codes[i*7919%len(nd.codes)]}); err != nil {
					b.Fatal(err)
				}
			}
			measureLatency(b, lookup)
			perOp(b, nd.st, 20, lookup)
		})
	}
}
