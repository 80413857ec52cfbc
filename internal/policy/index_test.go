package policy_test

import (
	"context"
	"testing"

	"jukinet/internal/db/dbtest"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// TestIndexDecidesAsTheWholeSet proves the per-action policy lists
// (index.go) change no decision: in both profiles, with the governance
// facts of a ward (training, contracts, rooms) and a suspension in the
// snapshot, every action × resource × origin × principal — administrators,
// security officers, a clerk, a contractor, someone untrained, the
// console — is decided alike by the whole policy set and by the action's
// list: the same effect, the same deciding policies, the same errors.
func TestIndexDecidesAsTheWholeSet(t *testing.T) {
	for _, prof := range []string{"koto-ward", "aomori-pref"} {
		t.Run(prof, func(t *testing.T) {
			ctx := context.Background()
			f := New(t, dbtest.OpenSQLite(t), prof)
			principals := []string{AdminVID, "S0000", "S0005"}
			if prof == "koto-ward" {
				f.SetUpWard(t)
				addStaff(t, f, 8)
				govern(t, f, 6, 1) // S0000–S0003 contractors, S0006, S0007 untrained
				principals = append(principals, "SO-KUMIN", Clerk, "K0002", "S0007")
				if _, err := f.Staff.Suspend(ctx, f.Admin, staff.Suspension{Scope: staff.ScopeAffair, Target: "juki", Reason: "訓練"}); err != nil {
					t.Fatal(err)
				}
			} else {
				addStaff(t, f, 8)
				Must(t, f.Staff.ApproveTerminal(ctx, f.Admin, staff.Terminal{ID: "T-RYOKEN-01", Name: "旅券1", Department: "ryoken", Location: "旅券センター"}))
				Must(t, f.Staff.AssignRole(ctx, f.Admin, "S0005", profile.SectionHead, f.Profile.Departments[5%len(f.Profile.Departments)].ID))
				f.Train(t, 10, "S0000", "S0005")
				f.Contract(t, "委託先株式会社", 10, 365, []string{"materials"}, "S0000")
			}
			n, diff, err := f.Engine.IndexMismatches(ctx, principals...)
			if err != nil {
				t.Fatal(err)
			}
			if n < 10000 {
				t.Errorf("only %d requests decided", n)
			}
			for i, d := range diff {
				if i == 20 {
					t.Errorf("… and %d more", len(diff)-20)
					break
				}
				t.Error(d)
			}
		})
	}
}
