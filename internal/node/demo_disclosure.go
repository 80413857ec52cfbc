package node

import (
	"context"
	"time"

	"jukinet/internal/disclosure"
	"jukinet/internal/jptext"
)

// SeedDemoDisclosure gives a demo node one pending disclosure request
// (本人確認情報・提供状況の開示), once: the resident code (one of the demo's
// synthetic residents) asked three days ago, at the counter of the
// department that keeps the register, with a driver's licence; its head
// (DemoOfficer) decides it on the screen, and the operator issues it.
func SeedDemoDisclosure(ctx context.Context, r *disclosure.Register, code string, now time.Time) error {
	all, err := disclosure.List(ctx, r.DB())
	if err != nil || len(all) > 0 {
		return err
	}
	if _, ok := r.Department(); !ok {
		return nil
	}
	_, err = r.Receive(ctx, demoWho(DemoOperator), disclosure.Request{Resident: code, Requester: disclosure.Self, IDCheck: disclosure.DriverLicence,
		Items: []disclosure.Item{disclosure.ItemProvisions, disclosure.ItemAccesses}, Received: jptext.Midnight(now).AddDate(0, 0, -3)})
	return err
}
