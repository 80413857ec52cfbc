package node

import (
	"context"
	"jukinet/internal/correspondence"

	"jukinet/internal/council"
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
			out[i] = sysaudit.Alert{ID: a.ID, Rule: a.RuleName("ja"), RaisedAt: a.RaisedAt, Open: a.State == detect.StateOpen, ClosedAt: a.ClosedAt, RuleID: a.Rule}
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

// AuditMeetings reads the security council's meetings in q for the system
// audits' evidence (sysaudit.Sources.Meetings).
func AuditMeetings(q db.Querier) func(ctx context.Context) ([]sysaudit.Meeting, error) {
	return func(ctx context.Context) ([]sysaudit.Meeting, error) {
		all, err := council.List(ctx, q)
		if err != nil {
			return nil, err
		}
		out := make([]sysaudit.Meeting, len(all))
		for i, m := range all {
			out[i] = sysaudit.Meeting{ID: m.ID, At: m.At, Extraordinary: m.Kind == council.Extraordinary, Decisions: len(m.Decisions), MinutesApproved: m.Closed()}
		}
		return out, nil
	}
}

// AuditDirectives reads the chief security officer's directives and
// requests in q for the system audits' evidence (sysaudit.Sources.Directives).
func AuditDirectives(q db.Querier) func(ctx context.Context) ([]sysaudit.Directive, error) {
	return func(ctx context.Context) ([]sysaudit.Directive, error) {
		all, err := council.Directives(ctx, q)
		if err != nil {
			return nil, err
		}
		out := make([]sysaudit.Directive, len(all))
		for i, d := range all {
			out[i] = sysaudit.Directive{ID: d.ID, Request: d.Kind == council.KindRequest, IssuedAt: d.IssuedAt, Due: d.Due, DoneAt: d.CompletedAt}
		}
		return out, nil
	}
}

// AuditLetters reads the reports and requests between bodies in q for the
// system audits' evidence (sysaudit.Sources.Letters).
func AuditLetters(q db.Querier) func(ctx context.Context) ([]sysaudit.Letter, error) {
	return func(ctx context.Context) ([]sysaudit.Letter, error) {
		all, err := correspondence.List(ctx, q, "")
		if err != nil {
			return nil, err
		}
		out := make([]sysaudit.Letter, len(all))
		for i, d := range all {
			out[i] = sysaudit.Letter{ID: d.ID, Sent: d.Direction == correspondence.Out, Request: d.Kind.Request(), SentAt: d.SentAt,
				State: string(d.State), Due: d.Due, Answered: d.Answered()}
		}
		return out, nil
	}
}
