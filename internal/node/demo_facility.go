package node

import (
	"context"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/facility"
	"jukinet/internal/staff"
)

// The demo's rooms (internal/facility).
const (
	DemoCounterRoom = "DEMO-COUNTER"
	DemoServerRoom  = "DEMO-SERVER"
)

// SeedDemoFacilities gives a demo node its rooms, once: a terminal area
// where the demo terminal's installation is approved (so the
// installed-terminal rule, on from then, lets it work), with its
// department's head as terminal manager, and a server room the system
// administrator is authorised for, which he entered and left an hour ago.
// (No unauthorised entry: the demo starts without alerts, which the alerts
// screen's walk-through relies on; record one on the screen to see the
// detection raise it.) It does nothing when rooms exist; now is the node's
// clock.
func SeedDemoFacilities(ctx context.Context, fr *facility.Register, now time.Time) error {
	rooms, err := fr.Rooms(ctx)
	if err != nil || len(rooms) > 0 {
		return err
	}
	admin := facilityWho(DemoAdmin)
	steps := []func() error{
		func() error {
			return fr.AddRoom(ctx, admin, facility.Room{ID: DemoServerRoom, Building: "本庁舎（デモ）", Name: "サーバ室", Level: facility.LevelServer})
		},
		func() error {
			return fr.AddRoom(ctx, admin, facility.Room{ID: DemoCounterRoom, Building: "本庁舎（デモ）", Name: "窓口端末室", Level: facility.LevelTerminal})
		},
		func() error {
			return fr.Install(ctx, admin, facility.Installation{Terminal: DemoTerminal, Room: DemoCounterRoom, Manager: DemoOfficer})
		},
		func() error { return fr.Authorise(ctx, admin, DemoServerRoom, DemoAdmin) },
		func() error { return fr.Authorise(ctx, admin, DemoCounterRoom, DemoOperator) },
	}
	for _, e := range []facility.Entry{
		{Room: DemoServerRoom, Person: DemoAdmin, Purpose: "サーバの点検", Dir: facility.In, At: now.Add(-90 * time.Minute)},
		{Room: DemoServerRoom, Person: DemoAdmin, Purpose: "サーバの点検", Dir: facility.Out, At: now.Add(-70 * time.Minute)},
	} {
		steps = append(steps, func() error {
			_, err := fr.RecordEntry(ctx, admin, e)
			return err
		})
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func facilityWho(vid string) staff.Who {
	return staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}, Origin: "host:demo-seed"}
}
