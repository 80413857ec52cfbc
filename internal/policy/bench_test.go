package policy_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"jukinet/internal/db/dbtest"
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
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				fn()
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
		})
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
