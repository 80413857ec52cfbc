package council_test

import (
	"context"
	"testing"
	"time"

	"jukinet/internal/council"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
)

// TestDirectivesAcrossClockSteps: directives are issued, the clock jumps
// six days forward (both are overdue), then steps back a week, to before
// they were issued; one is acknowledged and reported complete on that
// clock. Its record still reads in order — issued, acknowledged,
// completed — because each instant is its audit entry's, and the log's
// times never go back (before, both came out days before the issuing).
// Overdue follows the clock's reading of a calendar deadline: once the
// clock is past the due day again, the one not done is overdue and the
// done one is not.
func TestDirectivesAcrossClockSteps(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		_, adopted, _ := decided(t, f)
		due := jptext.Midnight(f.Clock.Now()).AddDate(0, 0, 3)
		issue := func(dept, text string) int64 {
			id, err := f.Council.Issue(ctx, chair, council.Directive{Decision: adopted, Kind: council.KindDirective, Department: dept, Text: text, Due: due})
			Must(t, err)
			return id
		}
		kumin := issue("kumin", "区民課の端末の設置場所を点検し報告すること")
		kazei := issue("kazei", "課税課の端末の設置場所を点検し報告すること")
		overdue := func(what string, want ...int64) {
			t.Helper()
			late, err := council.Overdue(ctx, d, f.Clock.Now())
			Must(t, err)
			var got []int64
			for _, l := range late {
				got = append(got, l.ID)
			}
			if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) || (len(want) > 1 && got[1] != want[1]) {
				t.Errorf("%s: overdue %v, want %v", what, got, want)
			}
		}
		f.Clock.Advance(6 * 24 * time.Hour)
		overdue("after a jump of six days", kumin, kazei)

		f.Clock.Advance(-7 * 24 * time.Hour) // a day before the issuing
		so := Operator("SO-KUMIN", "T-KUMIN-01")
		Must(t, f.Council.Acknowledge(ctx, so, kumin))
		Must(t, f.Council.Complete(ctx, so, kumin, "設置場所を確認した"))
		dr, err := council.GetDirective(ctx, d, kumin)
		Must(t, err)
		if dr.AcknowledgedAt.Before(dr.IssuedAt) || dr.CompletedAt.Before(dr.AcknowledgedAt) {
			t.Errorf("out of order after the clock stepped back: issued %v, acknowledged %v, completed %v", dr.IssuedAt, dr.AcknowledgedAt, dr.CompletedAt)
		}
		f.Clock.Advance(5 * 24 * time.Hour) // past the due day again
		overdue("past the due day again", kazei)
	})
}
