package detect

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/facility"
	"jukinet/internal/jptext"
)

// roomFindings raises the room-entry rule (koto-ward:11): an entry into a
// room by someone not authorised for it (a visitor: their escort), as the
// entry log (internal/facility) marked it when it was recorded. For each
// person and day an entry recorded by the audit entries after from up to
// through falls on, it counts every such entry of theirs that day, so a
// later import of the same day's card-reader log raises the count of the
// same alert. Unauthorised entries are rare, so all of them are read.
func roomFindings(ctx context.Context, q db.Querier, from, through int64) ([]Finding, error) {
	fresh, err := facility.UnauthorisedEntries(ctx, q, from, through)
	if err != nil || len(fresh) == 0 {
		return nil, err
	}
	subject := func(u facility.Unauthorised) string {
		return auditlog.Actor{Kind: auditlog.ActorOperator, ID: u.Subject}.String()
	}
	keys := map[string]bool{}
	for _, u := range fresh {
		keys[dayOf(u.At)+"|"+subject(u)] = true
	}
	all, err := facility.UnauthorisedEntries(ctx, q, -1, through)
	if err != nil {
		return nil, err
	}
	tallies := map[string]*tally{}
	var order []string
	for _, u := range all {
		k := dayOf(u.At) + "|" + subject(u)
		if !keys[k] {
			continue
		}
		t := tallies[k]
		if t == nil {
			t = &tally{}
			tallies[k] = t
			order = append(order, k)
		}
		t.add(u.Seq, "")
		what := u.At.In(jptext.JST).Format("15:04") + " " + u.Room
		if u.Visitor != "" {
			what += " (" + u.Visitor + ")"
		}
		t.times = append(t.times, what)
	}
	sort.Strings(order)
	var out []Finding
	for _, k := range order {
		t := tallies[k]
		day, subj, _ := strings.Cut(k, "|")
		out = append(out, Finding{Rule: RuleRoomEntry, Day: day, Subject: subj, Count: t.count,
			Detail:   fmt.Sprintf("%d %s into a room without authorisation: %s", t.count, plural(t.count, "entry", "entries"), list(t.times)),
			DetailJA: fmt.Sprintf("入室を認められていない部屋への入室 %d件：%s", t.count, list(t.times)),
			FirstSeq: t.first, LastSeq: t.last})
	}
	return out, nil
}
