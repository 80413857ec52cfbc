package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/federation"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// RecoverCmd is `jukinet recover`: run on a node restored from a backup,
// with its server stopped.
type RecoverCmd struct {
	dataFlag
	Restored bool `help:"The node was restored from a backup though its log is not behind its witness (a backup taken after the last cosigned checkpoint): record the gap all the same."`
}

// Run recovers the node's audit log from its witness and its records from
// its upstream, and prints what came back and what is lost.
func (c RecoverCmd) Run(env *Env) error {
	n, err := openGate(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	rep, err := federation.Recover(env.Ctx, n, consoleWho(), federation.RecoverOptions{Restored: c.Restored})
	if rep != nil {
		printRecovery(env, rep)
	}
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	return nil
}

func printRecovery(env *Env, rep *federation.RecoverReport) {
	w := env.Stdout
	fmt.Fprintf(w, "Audit log: %d entries came back from witness %s (the restored log held %d; the witness cosigned %d).\n",
		rep.Recovered, rep.Witness, rep.LocalSize, rep.CosignedSize)
	if rep.LastSeq >= 0 {
		fmt.Fprintf(w, "Gap: the last entry recovered is %d, written %s; an unknown number of entries after it are lost (recorded as entry %d, audit.gap; entry %d records the recovery).\n",
			rep.LastSeq, rep.LastAt.In(jptext.JST).Format("2006-01-02 15:04:05 MST"), rep.GapSeq, rep.RecoveredSeq)
	}
	if rep.Upstream != "" {
		fmt.Fprintf(w, "Records: upstream %s had applied this node's changes up to %d; the restored node held changes up to %d (%d reached the upstream after the backup).\n",
			rep.Upstream, rep.Acked, rep.LocalChanges, max(0, rep.Acked-rep.LocalChanges))
		for _, c := range rep.Checks {
			fmt.Fprintf(w, "  %s: %d residents here, %d upstream; %d repaired from the upstream's copy", c.LocalGov, c.Here, c.Upstream, c.Pulled)
			left := 0
			for _, d := range c.Differences {
				if d.Kind == federation.MissingUpstream {
					left++
				}
			}
			if left > 0 {
				fmt.Fprintf(w, "; %d held here but not upstream (they go up with the next delivery, or run jukinet federation check --local-gov %s --repair)", left, c.LocalGov)
			}
			fmt.Fprintln(w)
		}
		if len(rep.NotFound) == 0 {
			fmt.Fprintln(w, "Changes not found: none — every change whose audit entry came back is in the register.")
		} else {
			fmt.Fprintf(w, "Changes not found anywhere (%d): their audit entries came back, but neither this register nor the upstream holds them; enter them again from the paper records:\n", len(rep.NotFound))
			for _, l := range rep.NotFound {
				fmt.Fprintf(w, "  entry %d  %s  %s  %s\n", l.Seq, jstTime(l.Time), l.Action, strings.Join(l.Codes, " "))
			}
		}
	}
	if rep.Sources > 0 {
		fmt.Fprintf(w, "Downstream nodes: %d will send again the changes after the last one held here (at their next delivery).\n", rep.Sources)
	}
	if rep.Cosigned {
		fmt.Fprintf(w, "Witness %s cosigned the recovered log with its gap.\n", rep.Witness)
	} else if rep.WitnessErr != "" {
		fmt.Fprintf(w, "Witness %s did not cosign yet (%s): jukinet serve sends the checkpoint again.\n", rep.Witness, rep.WitnessErr)
	}
}

// checkRecovered refuses to serve a node restored from a backup that was
// not recovered; a witness that cannot be reached only warns.
func checkRecovered(env *Env, n *node.Node) error {
	ctx, cancel := context.WithTimeout(env.Ctx, 10*time.Second)
	defer cancel()
	err := federation.CheckRecovered(ctx, n)
	if errors.Is(err, federation.ErrNotRecovered) {
		return err
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "warning: could not ask the witness whether this node's log is behind it (%v); serving anyway\n", err)
	}
	return nil
}
