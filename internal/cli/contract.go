package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"jukinet/internal/contract"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// ContractCmd is `jukinet contract`: the outsourcing record (委託,
// aomori-pref:10) from the server's console. Every change is decided by
// the policies (manage-contracts) and logged.
type ContractCmd struct {
	Add    ContractAddCmd    `cmd:"" help:"Record a contract and the approval of its vendor after the check of its protection measures (aomori-pref:10.1)."`
	Clause ContractClauseCmd `cmd:"" help:"Record that a contract holds one of the five mandatory clauses (aomori-pref:10.2), and where."`
	Person ContractPersonCmd `cmd:"" help:"Record that a contract covers a person of the vendor (a staff member registered beforehand)."`
	Report ContractReportCmd `cmd:"" help:"Record a report of the vendor's handling (incident, return or disposal of materials, handling, inspection)."`
	End    ContractEndCmd    `cmd:"" help:"End a contract early (契約の解除): its people lose access from that minute (today) or from the day given."`
	List   ContractListCmd   `cmd:"" help:"List the contracts: period, in force or not, clauses missing, people and reports."`
}

// ContractAddCmd is `jukinet contract add`.
type ContractAddCmd struct {
	dataFlag
	Vendor string `required:"" help:"The vendor (委託先)."`
	Scope  string `required:"" help:"The work outsourced (委託業務の範囲)."`
	Start  string `required:"" help:"The first day in force: 2026-04-01, R8.4.1 or 令和8年4月1日."`
	End    string `required:"" help:"The last day in force."`
	Survey string `required:"" help:"What the check of the vendor's protection measures found (個人情報保護措置の調査結果)."`
}

// Run records the contract.
func (c ContractAddCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		start, err := jptext.ParseDay("start", "契約期間の開始日", c.Start)
		if err != nil {
			return err
		}
		end, err := jptext.ParseDay("end", "契約期間の終了日", c.End)
		if err != nil {
			return err
		}
		id, err := n.Contracts.Add(env.Ctx, consoleWho(), contract.Contract{Vendor: c.Vendor, Scope: c.Scope, Start: start, End: end, Survey: c.Survey})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Contract %d recorded: %s, %s to %s. Record its five clauses (contract clause) before its people can work.\n",
			id, c.Vendor, start.Format(time.DateOnly), end.Format(time.DateOnly))
		return nil
	})
}

// ContractClauseCmd is `jukinet contract clause`.
type ContractClauseCmd struct {
	dataFlag
	Contract  int64  `required:"" help:"The contract's number (contract list)."`
	Clause    string `required:"" help:"no-subcontracting, materials, no-other-use, confidentiality or incident-reporting."`
	Reference string `required:"" help:"Where the contract text holds it (e.g. 第5条（2頁）)."`
}

// Run records the clause.
func (c ContractClauseCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Contracts.Clause(env.Ctx, consoleWho(), c.Contract, c.Clause, c.Reference); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Clause %s recorded for contract %d at %s.\n", c.Clause, c.Contract, c.Reference)
		return nil
	})
}

// ContractPersonCmd is `jukinet contract person`.
type ContractPersonCmd struct {
	dataFlag
	Contract int64  `required:"" help:"The contract's number."`
	ID       string `required:"" help:"The person's verification id (照合ID), registered with staff add."`
	Remove   bool   `help:"Record that the contract no longer covers the person."`
}

// Run records the person.
func (c ContractPersonCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if c.Remove {
			if err := n.Contracts.RemovePerson(env.Ctx, consoleWho(), c.Contract, c.ID); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Contract %d no longer covers %s.\n", c.Contract, c.ID)
			return nil
		}
		if err := n.Contracts.AddPerson(env.Ctx, consoleWho(), c.Contract, c.ID); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Contract %d covers %s: they work only while it is in force and holds every clause.\n", c.Contract, c.ID)
		return nil
	})
}

// ContractReportCmd is `jukinet contract report`.
type ContractReportCmd struct {
	dataFlag
	Contract int64  `required:"" help:"The contract's number."`
	Kind     string `required:"" help:"incident, return, disposal, handling or inspection."`
	Date     string `required:"" help:"The day of the report."`
	Summary  string `required:"" help:"What the report says (e.g. the disposal certificate's number and method)."`
}

// Run records the report.
func (c ContractReportCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		day, err := jptext.ParseDay("date", "報告日", c.Date)
		if err != nil {
			return err
		}
		id, err := n.Contracts.Report(env.Ctx, consoleWho(), contract.Report{Contract: c.Contract, Kind: c.Kind, Day: day, Summary: c.Summary})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Report %d recorded against contract %d.\n", id, c.Contract)
		return nil
	})
}

// ContractEndCmd is `jukinet contract end`.
type ContractEndCmd struct {
	dataFlag
	Contract int64  `required:"" help:"The contract's number."`
	Date     string `help:"The day of the 解除 (today when not given): today ends it at once, a later day at midnight starting it."`
	Reason   string `required:"" help:"Why the contract is ended (解除の理由)."`
}

// Run ends the contract.
func (c ContractEndCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		now := env.now()
		day := now
		if strings.TrimSpace(c.Date) != "" {
			var err error
			if day, err = jptext.ParseDay("date", "解除日", c.Date); err != nil {
				return err
			}
		}
		if err := n.Contracts.End(env.Ctx, consoleWho(), c.Contract, day, c.Reason); err != nil {
			return err
		}
		if day.In(jptext.JST).Format(time.DateOnly) == now.In(jptext.JST).Format(time.DateOnly) {
			fmt.Fprintf(env.Stdout, "Contract %d ended now: the people it covers can no longer work under it.\n", c.Contract)
		} else {
			fmt.Fprintf(env.Stdout, "Contract %d ends on %s: the people it covers work under it until midnight before that day.\n", c.Contract, day.Format(time.DateOnly))
		}
		return nil
	})
}

// ContractListCmd is `jukinet contract list`.
type ContractListCmd struct{ dataFlag }

// Run prints the contracts.
func (c ContractListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		all, err := contract.List(env.Ctx, n.DB)
		if err != nil {
			return err
		}
		now := env.now()
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "no.\tvendor\tscope\tperiod\tstatus\tpeople\treports")
		for _, k := range all {
			var status []string
			if k.InForce(now) {
				status = append(status, "in force")
				if k.Ended != nil {
					status = append(status, "ENDS EARLY on "+k.Ended.Day.Format(time.DateOnly)+" ("+k.Ended.Reason+")")
				}
			} else if k.Ended != nil && !now.Before(k.Ended.From) {
				status = append(status, "ENDED EARLY on "+k.Ended.Day.Format(time.DateOnly)+" ("+k.Ended.Reason+")")
			} else if now.Before(k.Start) {
				status = append(status, "not yet in force")
			} else {
				status = append(status, "ENDED")
			}
			for _, cl := range k.Missing() {
				status = append(status, "MISSING "+cl.ID)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s to %s\t%s\t%s\t%d\n", k.ID, k.Vendor, k.Scope, k.Start.Format(time.DateOnly), k.End.Format(time.DateOnly),
				strings.Join(status, ", "), strings.Join(k.People, ", "), len(k.Reports))
		}
		return tw.Flush()
	})
}
