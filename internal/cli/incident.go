package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"jukinet/internal/incident"
	"jukinet/internal/node"
)

// IncidentCmd is `jukinet incident`: the record of incidents (事案) and the
// measures taken, from the server's console (decided by the policies,
// logged).
type IncidentCmd struct {
	Open    IncidentOpenCmd    `cmd:"" help:"Open an incident: improper use, leakage or an outage."`
	Measure IncidentMeasureCmd `cmd:"" help:"Record a measure taken for an open incident."`
	Close   IncidentCloseCmd   `cmd:"" help:"Close an incident with its conclusion (once the measures its kind requires are recorded)."`
	List    IncidentListCmd    `cmd:"" help:"List the open incidents (--all: closed ones too)."`
	Show    IncidentShowCmd    `cmd:"" help:"Show an incident with its measures."`
}

// IncidentOpenCmd is `jukinet incident open`.
type IncidentOpenCmd struct {
	dataFlag
	Kind    string `required:"" enum:"misuse,leakage,outage" help:"misuse (不適正な利用), leakage (漏えい・漏えいのおそれ) or outage (障害による停止)."`
	Title   string `required:"" help:"A short title."`
	Summary string `required:"" help:"What is known so far."`
	Alert   int64  `help:"The detection alert it began from (jukinet detect list)."`
}

// Run opens the incident.
func (c IncidentOpenCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		id, err := n.Incidents.Open(env.Ctx, consoleWho(), incident.Incident{Kind: c.Kind, Title: c.Title, Summary: c.Summary, AlertID: c.Alert})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Incident %d opened. Before it can be closed, record: %s\n", id, strings.Join(incident.Required[c.Kind], ", "))
		return nil
	})
}

// IncidentMeasureCmd is `jukinet incident measure`.
type IncidentMeasureCmd struct {
	dataFlag
	ID   int64  `required:"" help:"The incident's number."`
	Kind string `required:"" enum:"coordination,notice,suspension,assessment,containment,recovery,complaint,note" help:"coordination (都等との連絡調整), notice (住民への周知), suspension (利用停止), assessment (被害状況の把握), containment (被害拡大の防止), recovery (復旧), complaint (刑事告発等) or note (経過)."`
	Text string `required:"" help:"What was done."`
}

// Run records the measure.
func (c IncidentMeasureCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Incidents.Record(env.Ctx, consoleWho(), c.ID, c.Kind, c.Text); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Measure recorded for incident %d.\n", c.ID)
		return nil
	})
}

// IncidentCloseCmd is `jukinet incident close`.
type IncidentCloseCmd struct {
	dataFlag
	ID         int64  `required:"" help:"The incident's number."`
	Conclusion string `required:"" help:"How it ended (logged)."`
}

// Run closes the incident.
func (c IncidentCloseCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Incidents.Close(env.Ctx, consoleWho(), c.ID, c.Conclusion); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Incident %d closed.\n", c.ID)
		return nil
	})
}

// IncidentListCmd is `jukinet incident list`.
type IncidentListCmd struct {
	dataFlag
	All bool `help:"Closed incidents too."`
}

// Run prints the incidents.
func (c IncidentListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		list, err := incident.List(env.Ctx, n.DB, c.All)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(env.Stdout, "No incidents. (対応中の事案はありません)")
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "no.\topened\tkind\ttitle\tstate")
		for _, in := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", in.ID, jstTime(in.OpenedAt), in.Kind, in.Title, in.State)
		}
		return tw.Flush()
	})
}

// IncidentShowCmd is `jukinet incident show`.
type IncidentShowCmd struct {
	dataFlag
	ID int64 `required:"" help:"The incident's number."`
}

// Run prints one incident.
func (c IncidentShowCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		in, err := incident.Get(env.Ctx, n.DB, c.ID)
		if err != nil {
			return err
		}
		w := env.Stdout
		fmt.Fprintf(w, "Incident %d (%s, %s): %s\n", in.ID, in.Kind, incident.Name(in.Kind, "ja"), in.Title)
		fmt.Fprintf(w, "Opened %s by %s: %s\n", jstTime(in.OpenedAt), in.OpenedBy, in.Summary)
		if in.AlertID > 0 {
			fmt.Fprintf(w, "From alert %d\n", in.AlertID)
		}
		for _, m := range in.Measures {
			fmt.Fprintf(w, "  %s  %s (%s) by %s: %s\n", jstTime(m.TakenAt), m.Kind, incident.Name(m.Kind, "ja"), m.TakenBy, m.Text)
		}
		if in.State == incident.StateClosed {
			fmt.Fprintf(w, "Closed %s by %s: %s\n", jstTime(in.ClosedAt), in.ClosedBy, in.Conclusion)
		} else if missing := in.Missing(); len(missing) > 0 {
			fmt.Fprintf(w, "Open; to close it, record: %s\n", strings.Join(missing, ", "))
		} else {
			fmt.Fprintln(w, "Open; the required measures are recorded.")
		}
		return nil
	})
}
