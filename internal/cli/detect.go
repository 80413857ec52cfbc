package cli

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"jukinet/internal/detect"
	"jukinet/internal/node"
)

// DetectCmd is `jukinet detect`: look for signs of improper use in the
// audit log, list the alerts, close one with the investigation's finding.
type DetectCmd struct {
	Run   DetectRunCmd   `cmd:"" help:"Run the rules over the audit entries since the last run (serve does it every [detection] every)."`
	List  DetectListCmd  `cmd:"" help:"List the open alerts (--all: closed ones too)."`
	Close DetectCloseCmd `cmd:"" help:"Close an alert with the finding of its investigation (decided by the policies, logged)."`
}

// DetectRunCmd is `jukinet detect run`.
type DetectRunCmd struct{ dataFlag }

// Run runs the rules once.
func (c DetectRunCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		rep, err := n.Detect.Run(env.Ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, rep)
		return nil
	})
}

// DetectListCmd is `jukinet detect list`.
type DetectListCmd struct {
	dataFlag
	All bool `help:"Closed alerts too."`
}

// Run prints the alerts.
func (c DetectListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		alerts, err := detect.List(env.Ctx, n.DB, c.All)
		if err != nil {
			return err
		}
		if len(alerts) == 0 {
			fmt.Fprintln(env.Stdout, "No alerts. (未対応の検知はありません)")
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "no.\tday\trule\tsubject\tcount\tstate\tdetail")
		for _, a := range alerts {
			state := a.State
			switch {
			case a.Reopened:
				state = "open (reopened)"
			case a.State == detect.StateClosed:
				state = fmt.Sprintf("closed %s by %s: %s", jstTime(a.ClosedAt), a.ClosedBy, a.Outcome)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", strconv.FormatInt(a.ID, 10), a.Day, a.Rule, a.Subject, a.Count, state, a.Detail)
		}
		return tw.Flush()
	})
}

// DetectCloseCmd is `jukinet detect close`.
type DetectCloseCmd struct {
	dataFlag
	ID      int64  `required:"" help:"The alert's number (jukinet detect list)."`
	Finding string `required:"" help:"What the investigation found (logged)."`
}

// Run closes the alert.
func (c DetectCloseCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Detect.Close(env.Ctx, consoleWho(), c.ID, c.Finding); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Alert %d closed.\n", c.ID)
		return nil
	})
}
