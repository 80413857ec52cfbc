package node

import (
	"context"

	"jukinet/internal/db"
	"jukinet/internal/detect"
	"jukinet/internal/incident"
	"jukinet/internal/sysaudit"
)

// AuditAlerts reads the detection's alerts in q for the system audits'
// evidence (sysaudit.Sources.Alerts).
func AuditAlerts(q db.Querier) func(ctx context.Context) ([]sysaudit.Alert, error) {
	return func(ctx context.Context) ([]sysaudit.Alert, error) {
		all, err := detect.List(ctx, q, true)
		if err != nil {
			return nil, err
		}
		out := make([]sysaudit.Alert, len(all))
		for i, a := range all {
			out[i] = sysaudit.Alert{ID: a.ID, Rule: a.RuleName("ja"), RaisedAt: a.RaisedAt, Open: a.State == detect.StateOpen, ClosedAt: a.ClosedAt}
		}
		return out, nil
	}
}

// AuditIncidents reads the incidents in q for the system audits' evidence
// (sysaudit.Sources.Incidents).
func AuditIncidents(q db.Querier) func(ctx context.Context) ([]sysaudit.Incident, error) {
	return func(ctx context.Context) ([]sysaudit.Incident, error) {
		all, err := incident.List(ctx, q, true)
		if err != nil {
			return nil, err
		}
		out := make([]sysaudit.Incident, len(all))
		for i, in := range all {
			out[i] = sysaudit.Incident{ID: in.ID, OpenedAt: in.OpenedAt, Open: in.State == incident.StateOpen, ClosedAt: in.ClosedAt, FromAlert: in.AlertID > 0}
		}
		return out, nil
	}
}
