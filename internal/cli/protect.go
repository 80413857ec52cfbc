package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/protect"
)

// ProtectCmd is `jukinet protect`: the register of residents under support
// measures (支援措置) from the server's console. Every change and every
// listing is decided by the policies (mark-protected, view-protected) and
// logged.
type ProtectCmd struct {
	Mark ProtectMarkCmd `cmd:"" help:"Mark a resident as under a support measure (支援措置): from, until (a year at most), the deciding department, the reason's category."`
	End  ProtectEndCmd  `cmd:"" help:"End a support measure early: from now (today) or from the day given."`
	List ProtectListCmd `cmd:"" help:"List the protected residents (in force or to come; --all for every decision). The listing is logged."`
}

// ProtectMarkCmd is `jukinet protect mark`.
type ProtectMarkCmd struct {
	dataFlag
	Code       string `required:"" help:"The resident's 住民票コード."`
	Start      string `required:"" help:"The first day: 2026-04-01, R8.4.1 or 令和8年4月1日."`
	End        string `required:"" help:"The last day (within a year of the first)."`
	Department string `required:"" help:"The department that decided (a department id of the profile, e.g. kumin)."`
	Category   string `required:"" help:"dv, stalking, child-abuse, elder-abuse or other — never the circumstances."`
}

// Run marks the resident.
func (c ProtectMarkCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		start, err := jptext.ParseDay("start", "支援措置の開始日", c.Start)
		if err != nil {
			return err
		}
		end, err := jptext.ParseDay("end", "支援措置の終了日", c.End)
		if err != nil {
			return err
		}
		id, err := n.Protect.Mark(env.Ctx, consoleWho(), protect.Mark{ResidentCode: c.Code, Start: start, End: end, Department: c.Department, Category: c.Category})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Protection %d recorded: %s under a support measure (%s) from %s to %s. Reads need a case reference and raise an immediate alert.\n",
			id, c.Code, c.Category, start.Format(time.DateOnly), end.Format(time.DateOnly))
		return nil
	})
}

// ProtectEndCmd is `jukinet protect end`.
type ProtectEndCmd struct {
	dataFlag
	ID   int64  `required:"" help:"The protection's number (protect list)."`
	Date string `help:"The day it ends (default: today, from now)."`
}

// Run ends the protection.
func (c ProtectEndCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		day := n.Now()
		if strings.TrimSpace(c.Date) != "" {
			var err error
			if day, err = jptext.ParseDay("date", "終了日", c.Date); err != nil {
				return err
			}
		}
		if err := n.Protect.End(env.Ctx, consoleWho(), c.ID, day); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Protection %d ends on %s.\n", c.ID, day.Format(time.DateOnly))
		return nil
	})
}

// ProtectListCmd is `jukinet protect list`.
type ProtectListCmd struct {
	dataFlag
	All bool `help:"Every decision, ended and past ones too."`
}

// Run lists the register.
func (c ProtectListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		ps, err := n.Protect.List(env.Ctx, consoleWho(), c.All)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tRESIDENT\tFROM\tUNTIL\tDEPARTMENT\tCATEGORY\tSTATE")
		now := n.Now()
		for _, p := range ps {
			state := "in force"
			switch {
			case now.Before(p.Start):
				state = "to come"
			case !p.InForce(now):
				state = "over"
			}
			if p.Ended != nil {
				state += ", ended " + p.Ended.Day.Format(time.DateOnly)
			}
			if p.Source != "" {
				state += ", from " + p.Source
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.ResidentCode, p.Start.Format(time.DateOnly), p.End.Format(time.DateOnly), p.Department, p.Category, state)
		}
		return w.Flush()
	})
}
