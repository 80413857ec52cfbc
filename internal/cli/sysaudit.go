package cli

import (
	"bytes"
	"fmt"
	"text/tabwriter"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/fileutil"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/profile"
	"jukinet/internal/report"
	"jukinet/internal/sysaudit"
)

// SysauditCmd is `jukinet sysaudit`: system audits (システム監査,
// koto-ward:9; aomori-pref:11) from the server's console. Every change is
// decided by the policies (plan-audit, conduct-audit,
// follow-up-audit-action, close-audit-action) and logged.
type SysauditCmd struct {
	Plan      SysauditPlanCmd      `cmd:"" help:"Plan an audit (periodic or ad hoc, the period audited, the scope) and name its auditor."`
	Checklist SysauditChecklistCmd `cmd:"" help:"Generate an audit's checklist with the evidence the node collects now, and print it."`
	Assess    SysauditAssessCmd    `cmd:"" help:"Record the assessment of a check: conforming, nonconforming or not-applicable."`
	Finding   SysauditFindingCmd   `cmd:"" help:"Record a finding on a check: severity, description, root cause."`
	Action    SysauditActionCmd    `cmd:"" help:"Record a corrective action of a finding: what, its owner, the day it is due."`
	Followup  SysauditFollowupCmd  `cmd:"" name:"followup" help:"Record a follow-up note on a corrective action."`
	Close     SysauditCloseCmd     `cmd:"" help:"Close a corrective action with the evidence of its completion (not by its owner)."`
	Complete  SysauditCompleteCmd  `cmd:"" help:"Record an audit's conclusion (the checks to look at assessed first)."`
	Report    SysauditReportCmd    `cmd:"" help:"Write an audit's report as CSV or PDF (the issue is logged)."`
	List      SysauditListCmd      `cmd:"" help:"List the audits and the overdue corrective actions; with --id, one audit with its checklist."`
}

// SysauditPlanCmd is `jukinet sysaudit plan`.
type SysauditPlanCmd struct {
	dataFlag
	Kind    string   `required:"" enum:"periodic,ad-hoc" help:"periodic (定期) or ad-hoc (臨時)."`
	Title   string   `required:"" help:"The audit's title."`
	From    string   `required:"" help:"The first day audited: 2026-04-01, R8.4.1 or 令和8年4月1日."`
	To      string   `required:"" help:"The last day audited (today at the latest)."`
	Scope   string   `required:"" help:"The audit's scope (監査の範囲)."`
	Article []string `help:"An article to check, e.g. koto-ward:10 (repeat, or separate with commas); none: every article."`
	Auditor string   `required:"" help:"The auditor's verification id (a staff member with the auditor role)."`
}

// Run records the plan.
func (c SysauditPlanCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		from, err := jptext.ParseDay("from", "監査の対象期間の初日", c.From)
		if err != nil {
			return err
		}
		to, err := jptext.ParseDay("to", "監査の対象期間の末日", c.To)
		if err != nil {
			return err
		}
		id, err := n.SysAudits.Plan(env.Ctx, consoleWho(), sysaudit.Plan{Kind: sysaudit.Kind(c.Kind), Title: c.Title, From: from, To: to,
			Scope: c.Scope, Articles: c.Article, Auditor: c.Auditor})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Audit %d planned: %s to %s, auditor %s. The auditor generates its checklist (sysaudit checklist %d).\n",
			id, from.Format(time.DateOnly), to.Format(time.DateOnly), c.Auditor, id)
		return nil
	})
}

// auditArg is an audit's number.
type auditArg struct {
	dataFlag
	ID int64 `arg:"" help:"The audit's number (sysaudit list)."`
}

// SysauditChecklistCmd is `jukinet sysaudit checklist`.
type SysauditChecklistCmd struct{ auditArg }

// Run generates and prints the checklist.
func (c SysauditChecklistCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		p, err := n.SysAudits.Generate(env.Ctx, consoleWho(), c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Checklist of audit %d: %d checks, evidence read from the audit log up to entry %d.\n", p.ID, len(p.Checks), p.UpTo)
		return printChecks(env, p)
	})
}

func printChecks(env *Env, p sysaudit.Plan) error {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "check\tarticle\tfeature\tresult\tevidence")
	for _, ch := range p.Checks {
		result := string(ch.Result)
		if result == "" {
			result = "-"
		}
		if ch.Attention {
			result += " (look at)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s [%s]\n", ch.Position, ch.Article, ch.Feature, result, ch.Evidence, ch.FiguresText())
	}
	return tw.Flush()
}

// checkAt finds the check of audit id at position.
func checkAt(env *Env, n *node.Node, id int64, position int) (sysaudit.Check, error) {
	p, err := sysaudit.Get(env.Ctx, n.DB, id)
	if err != nil {
		return sysaudit.Check{}, err
	}
	for _, ch := range p.Checks {
		if ch.Position == position {
			return ch, nil
		}
	}
	return sysaudit.Check{}, apperr.New(apperr.NotFound, fmt.Sprintf("audit %d has no check %d", id, position), fmt.Sprintf("第%d号の監査に点検項目 %d はありません", id, position))
}

// SysauditAssessCmd is `jukinet sysaudit assess`.
type SysauditAssessCmd struct {
	auditArg
	Check  int    `required:"" help:"The check's number in the checklist."`
	Result string `required:"" enum:"conforming,nonconforming,not-applicable" help:"conforming, nonconforming or not-applicable."`
	Note   string `help:"The auditor's note (required unless conforming)."`
}

// Run records the assessment.
func (c SysauditAssessCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		ch, err := checkAt(env, n, c.ID, c.Check)
		if err != nil {
			return err
		}
		if err := n.SysAudits.Assess(env.Ctx, consoleWho(), ch.ID, sysaudit.Result(c.Result), c.Note); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Check %d of audit %d (%s %s): %s.\n", c.Check, c.ID, ch.Article, ch.Feature, c.Result)
		return nil
	})
}

// SysauditFindingCmd is `jukinet sysaudit finding`.
type SysauditFindingCmd struct {
	auditArg
	Check       int    `required:"" help:"The check's number in the checklist."`
	Severity    string `required:"" enum:"high,medium,low" help:"high, medium or low."`
	Description string `required:"" help:"What was found."`
	RootCause   string `required:"" name:"root-cause" help:"Why it happened."`
}

// Run records the finding.
func (c SysauditFindingCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		ch, err := checkAt(env, n, c.ID, c.Check)
		if err != nil {
			return err
		}
		id, err := n.SysAudits.RecordFinding(env.Ctx, consoleWho(), sysaudit.Finding{Check: ch.ID, Severity: sysaudit.Severity(c.Severity),
			Description: c.Description, RootCause: c.RootCause})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Finding %d recorded on check %d (%s %s).\n", id, c.Check, ch.Article, ch.Feature)
		return nil
	})
}

// SysauditActionCmd is `jukinet sysaudit action`.
type SysauditActionCmd struct {
	dataFlag
	Finding     int64  `arg:"" help:"The finding's number."`
	Description string `required:"" help:"What is to be done."`
	Owner       string `required:"" help:"The verification id of who carries it out."`
	Due         string `required:"" help:"The last day it is due."`
}

// Run records the corrective action.
func (c SysauditActionCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		due, err := jptext.ParseDay("due", "是正措置の期限", c.Due)
		if err != nil {
			return err
		}
		id, err := n.SysAudits.AddAction(env.Ctx, consoleWho(), sysaudit.Action{Finding: c.Finding, Description: c.Description, Owner: c.Owner, Due: due})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Corrective action %d recorded: owner %s, due %s.\n", id, c.Owner, due.Format(time.DateOnly))
		return nil
	})
}

// SysauditFollowupCmd is `jukinet sysaudit followup`.
type SysauditFollowupCmd struct {
	dataFlag
	Action int64  `arg:"" help:"The corrective action's number."`
	Note   string `required:"" help:"The progress."`
}

// Run records the follow-up note.
func (c SysauditFollowupCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.SysAudits.FollowUp(env.Ctx, consoleWho(), c.Action, c.Note); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Follow-up of corrective action %d recorded.\n", c.Action)
		return nil
	})
}

// SysauditCloseCmd is `jukinet sysaudit close`.
type SysauditCloseCmd struct {
	dataFlag
	Action   int64  `arg:"" help:"The corrective action's number."`
	Evidence string `required:"" help:"The evidence of its completion (完了の証跡)."`
}

// Run closes the corrective action.
func (c SysauditCloseCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.SysAudits.CloseAction(env.Ctx, consoleWho(), c.Action, c.Evidence); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Corrective action %d closed.\n", c.Action)
		return nil
	})
}

// SysauditCompleteCmd is `jukinet sysaudit complete`.
type SysauditCompleteCmd struct {
	auditArg
	Conclusion string `required:"" help:"The audit's conclusion."`
}

// Run records the conclusion.
func (c SysauditCompleteCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.SysAudits.Complete(env.Ctx, consoleWho(), c.ID, c.Conclusion); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Audit %d completed.\n", c.ID)
		return nil
	})
}

// SysauditReportCmd is `jukinet sysaudit report`.
type SysauditReportCmd struct {
	auditArg
	Format      string `default:"csv" enum:"csv,pdf" help:"csv (UTF-8 with BOM) or pdf."`
	Out         string `help:"Write to this file instead of standard output (required for pdf)."`
	Destination string `help:"Where the report goes (e.g. the security council), recorded with its form (default: the one who exports it)."`
}

// Run writes the report, a form of the forms register (koto-ward:14).
func (c SysauditReportCmd) Run(env *Env) error {
	if c.Format == "pdf" && c.Out == "" {
		return fmt.Errorf("--format pdf needs --out FILE")
	}
	return withStaff(env, c.Data, func(n *node.Node) error {
		now := n.Now()
		p, f, b, err := n.SysAudits.ReportExport(env.Ctx, consoleWho(), c.ID, c.Format, func(p sysaudit.Plan, no form.Number) ([]byte, error) {
			var b bytes.Buffer
			var err error
			if c.Format == "pdf" {
				chief, _ := n.Profile.Role(profile.ChiefSecurityOfficer)
				d := p.Document(n.Profile, n.Info.Name()+" "+chief.Name, now, now)
				d.Control = "帳票管理番号 " + no.String()
				err = report.WritePDF(&b, d)
			} else {
				err = report.WriteCSV(&b, p.Table(now), report.UTF8BOM)
			}
			if err != nil {
				return nil, fmt.Errorf("render the report of audit %d: %w", c.ID, err)
			}
			return b.Bytes(), nil
		}, c.Destination)
		if err != nil {
			return err
		}
		if c.Out == "" {
			_, err = env.Stdout.Write(b)
			if err == nil {
				fmt.Fprintf(env.Stderr, "Form %s (帳票管理番号).\n", f.Number)
			}
			return err
		}
		if err := fileutil.Replace(c.Out, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", c.Out, err)
		}
		fmt.Fprintf(env.Stdout, "Wrote %s as form %s (帳票管理番号): audit %d, %d checks, %d findings.\n", c.Out, f.Number, p.ID, len(p.Checks), len(p.Findings))
		return nil
	})
}

// SysauditListCmd is `jukinet sysaudit list`.
type SysauditListCmd struct {
	dataFlag
	ID int64 `help:"Show this audit with its checklist, findings and corrective actions."`
}

// Run lists the audits.
func (c SysauditListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		now := n.Now()
		if c.ID > 0 {
			p, err := sysaudit.Get(env.Ctx, n.DB, c.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Audit %d (%s): %s\nperiod %s to %s, auditor %s, %s\nscope: %s (%s)\n", p.ID, p.Kind, p.Title,
				p.From.Format(time.DateOnly), p.To.Format(time.DateOnly), p.Auditor, p.State, p.Scope, p.ArticlesText())
			if p.UpTo >= 0 && !p.GeneratedAt.IsZero() {
				fmt.Fprintf(env.Stdout, "evidence read up to audit log entry %d on %s\n", p.UpTo, jstDate(p.GeneratedAt))
			}
			if err := printChecks(env, p); err != nil {
				return err
			}
			for _, f := range p.Findings {
				fmt.Fprintf(env.Stdout, "finding %d (%s) on %s: %s; root cause: %s\n", f.ID, f.Severity, f.Article, f.Description, f.RootCause)
				for _, a := range f.Actions {
					fmt.Fprintf(env.Stdout, "  action %d, owner %s, due %s, %s: %s\n", a.ID, a.Owner, a.Due.Format(time.DateOnly), actionState(a, now), a.Description)
				}
			}
			return nil
		}
		all, err := sysaudit.List(env.Ctx, n.DB)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			fmt.Fprintln(env.Stdout, "No audit recorded.")
		} else {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "no.\tkind\ttitle\tperiod\tauditor\tstate\tfindings")
			for _, p := range all {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s to %s\t%s\t%s\t%d\n", p.ID, p.Kind, p.Title, p.From.Format(time.DateOnly), p.To.Format(time.DateOnly), p.Auditor, p.State, len(p.Findings))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		overdue, err := sysaudit.Overdue(env.Ctx, n.DB, now)
		if err != nil {
			return err
		}
		for _, a := range overdue {
			fmt.Fprintf(env.Stdout, "OVERDUE: action %d of audit %d, owner %s, due %s: %s\n", a.ID, a.Plan, a.Owner, a.Due.Format(time.DateOnly), a.Description)
		}
		return nil
	})
}

func actionState(a sysaudit.Action, now time.Time) string {
	switch {
	case a.Closed():
		return "closed " + jstDate(a.ClosedAt) + " by " + a.ClosedBy + ": " + a.Evidence
	case a.OverdueAt(now):
		return "OVERDUE"
	}
	return "open"
}
