package cli

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"jukinet/internal/approval"
	"jukinet/internal/fileutil"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/report"
)

// ApprovalCmd is `jukinet approval`: usage approvals (利用の承認,
// aomori-pref:7; koto-ward:12.1) from the server's console. Every change is
// decided by the policies (apply-usage, approve-usage, end-usage) and logged.
type ApprovalCmd struct {
	Apply    ApprovalApplyCmd    `cmd:"" help:"Record a department's application to start using an affair (aomori-pref:7.1)."`
	Approve  ApprovalApproveCmd  `cmd:"" help:"Approve an application, with the reason (designates the staff it names)."`
	Refuse   ApprovalRefuseCmd   `cmd:"" help:"Refuse an application, with the reason."`
	Withdraw ApprovalWithdrawCmd `cmd:"" help:"Withdraw an application not yet decided."`
	End      ApprovalEndCmd      `cmd:"" help:"Record that an approved use ended (aomori-pref:7.2): its designations end."`
	Request  ApprovalRequestCmd  `cmd:"" help:"Ask the department for a status report of an approval for a period (aomori-pref:7.3)."`
	Submit   ApprovalSubmitCmd   `cmd:"" help:"Submit a requested status report: counted from the log, its digest recorded."`
	Status   ApprovalStatusCmd   `cmd:"" help:"Write the status of an approval for a period as CSV (counted from the log; the reading is logged)."`
	List     ApprovalListCmd     `cmd:"" help:"List the applications and approvals with their state, period, terminals, staff and reports."`
}

// ApprovalApplyCmd is `jukinet approval apply`.
type ApprovalApplyCmd struct {
	dataFlag
	Department string   `required:"" help:"The department applying."`
	Affair     string   `required:"" help:"The affair (利用事務) id."`
	Purpose    string   `required:"" help:"What the work is (事務の内容)."`
	Reason     string   `required:"" help:"Why the use is needed."`
	Start      string   `required:"" help:"The first day: 2026-04-01, R8.4.1 or 令和8年4月1日."`
	End        string   `required:"" help:"The last day."`
	Terminal   []string `required:"" help:"A terminal of the department to use (repeat, or separate with commas)."`
	Operator   []string `required:"" help:"The verification id of a person who will handle the information (repeat, or separate with commas)."`
}

// Run records the application.
func (c ApprovalApplyCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		start, err := jptext.ParseDay("start", "利用の開始日", c.Start)
		if err != nil {
			return err
		}
		end, err := jptext.ParseDay("end", "利用の終了日", c.End)
		if err != nil {
			return err
		}
		id, err := n.Approvals.Apply(env.Ctx, consoleWho(), approval.Approval{Department: c.Department, Affair: c.Affair, Purpose: c.Purpose,
			Reason: c.Reason, Start: start, End: end, Terminals: c.Terminal, Operators: c.Operator})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Application %d recorded: %s for %s, %s to %s. The system administrator approves or refuses it (approval approve|refuse).\n",
			id, c.Department, c.Affair, start.Format(time.DateOnly), end.Format(time.DateOnly))
		return nil
	})
}

// approvalArgs are the arguments of a decision, an end or a withdrawal.
type approvalArgs struct {
	dataFlag
	ID     int64  `arg:"" help:"The application's number (approval list)."`
	Reason string `required:"" help:"The reason."`
}

// ApprovalApproveCmd is `jukinet approval approve`.
type ApprovalApproveCmd struct{ approvalArgs }

// Run approves the application.
func (c ApprovalApproveCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Approvals.Decide(env.Ctx, consoleWho(), c.ID, true, c.Reason); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Application %d approved: the staff it names are designated for the affair.\n", c.ID)
		return nil
	})
}

// ApprovalRefuseCmd is `jukinet approval refuse`.
type ApprovalRefuseCmd struct{ approvalArgs }

// Run refuses the application.
func (c ApprovalRefuseCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Approvals.Decide(env.Ctx, consoleWho(), c.ID, false, c.Reason); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Application %d refused.\n", c.ID)
		return nil
	})
}

// ApprovalEndCmd is `jukinet approval end`.
type ApprovalEndCmd struct{ approvalArgs }

// Run records the end of the use.
func (c ApprovalEndCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Approvals.End(env.Ctx, consoleWho(), c.ID, c.Reason); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Use under approval %d ended: its staff may no longer use the affair, and their designations for it ended.\n", c.ID)
		return nil
	})
}

// ApprovalWithdrawCmd is `jukinet approval withdraw`.
type ApprovalWithdrawCmd struct{ approvalArgs }

// Run withdraws the application.
func (c ApprovalWithdrawCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Approvals.Withdraw(env.Ctx, consoleWho(), c.ID, c.Reason); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Application %d withdrawn.\n", c.ID)
		return nil
	})
}

// ApprovalRequestCmd is `jukinet approval request`.
type ApprovalRequestCmd struct {
	dataFlag
	ID   int64  `arg:"" help:"The approval's number."`
	From string `required:"" help:"The first day reported on."`
	To   string `required:"" help:"The last day reported on (before today)."`
	Due  string `required:"" help:"The day the report is due."`
}

// Run records the request.
func (c ApprovalRequestCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		from, to, err := period(c.From, c.To)
		if err != nil {
			return err
		}
		due, err := jptext.ParseDay("due", "報告の期限", c.Due)
		if err != nil {
			return err
		}
		id, err := n.Approvals.RequestReport(env.Ctx, consoleWho(), c.ID, from, to, due)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Status report %d asked for: approval %d, %s to %s, due %s.\n", id, c.ID, from.Format(time.DateOnly), to.Format(time.DateOnly), due.Format(time.DateOnly))
		return nil
	})
}

func period(from, to string) (time.Time, time.Time, error) {
	f, err := jptext.ParseDay("from", "報告の対象期間の初日", from)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t, err := jptext.ParseDay("to", "報告の対象期間の末日", to)
	return f, t, err
}

// ApprovalSubmitCmd is `jukinet approval submit`.
type ApprovalSubmitCmd struct {
	dataFlag
	Report int64  `arg:"" help:"The status report's number (approval list)."`
	Note   string `help:"The department's remarks."`
	Out    string `help:"Also write the status report of the period to this file, as a form of the forms register (its own control number)."`
}

// Run submits the report.
func (c ApprovalSubmitCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		st, err := n.Approvals.SubmitReport(env.Ctx, consoleWho(), c.Report, c.Note, approval.Status.CSV)
		if err != nil {
			return err
		}
		b, err := st.CSV()
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Status report %d submitted: %s\nSHA-256 of the CSV: %s\n", c.Report, st.Summary(), approval.Digest(b))
		if c.Out == "" {
			return nil
		}
		// A file that leaves the node is a form (koto-ward:14): the same
		// counts, exported with their own control number and entry.
		_, f, out, err := n.Approvals.StatusExport(env.Ctx, consoleWho(), st.Approval.ID, st.From, st.To, "csv",
			func(st approval.Status) ([]byte, error) { return st.CSV() }, "")
		if err != nil {
			return err
		}
		if err := fileutil.Replace(c.Out, out, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", c.Out, err)
		}
		fmt.Fprintf(env.Stdout, "Wrote %s as form %s (帳票管理番号).\n", c.Out, f.Number)
		return nil
	})
}

// ApprovalStatusCmd is `jukinet approval status`.
type ApprovalStatusCmd struct {
	dataFlag
	ID          int64  `arg:"" help:"The approval's number."`
	From        string `required:"" help:"The first day."`
	To          string `required:"" help:"The last day."`
	Format      string `default:"csv" enum:"csv,pdf" help:"csv (UTF-8 with BOM) or pdf."`
	Out         string `help:"Write to this file instead of standard output (required for pdf)."`
	Destination string `help:"Where the document goes, recorded with its form (default: the one who exports it)."`
}

// Run writes the status, a form of the forms register (koto-ward:14).
func (c ApprovalStatusCmd) Run(env *Env) error {
	if c.Format == "pdf" && c.Out == "" {
		return fmt.Errorf("--format pdf needs --out FILE")
	}
	return withStaff(env, c.Data, func(n *node.Node) error {
		from, to, err := period(c.From, c.To)
		if err != nil {
			return err
		}
		st, f, b, err := n.Approvals.StatusExport(env.Ctx, consoleWho(), c.ID, from, to, c.Format, func(st approval.Status) ([]byte, error) {
			if c.Format == "pdf" {
				var buf bytes.Buffer
				err := report.WritePDF(&buf, st.Document(n.Info.LocalGov.Name+" "+st.DepartmentName, n.Now()))
				return buf.Bytes(), err
			}
			return st.CSV()
		}, c.Destination)
		if err != nil {
			return err
		}
		if c.Out == "" {
			_, err = env.Stdout.Write(b)
			if err == nil {
				fmt.Fprintf(env.Stderr, "Form %s (帳票管理番号): %s\n", f.Number, st.Summary())
			}
			return err
		}
		if err := fileutil.Replace(c.Out, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", c.Out, err)
		}
		fmt.Fprintf(env.Stdout, "Wrote %s as form %s (帳票管理番号), due back or disposed of by %s: %s\n", c.Out, f.Number, jstDate(f.Due), st.Summary())
		return nil
	})
}

// ApprovalListCmd is `jukinet approval list`.
type ApprovalListCmd struct {
	dataFlag
}

// Run lists the record.
func (c ApprovalListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		all, err := approval.List(env.Ctx, n.DB)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			fmt.Fprintln(env.Stdout, "No application recorded.")
			return nil
		}
		now := n.Now()
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "no.\tdepartment\taffair\tperiod\tstate\tterminals\tstaff\tdecided")
		for _, a := range all {
			state := string(a.State)
			if a.State == approval.Approved {
				switch {
				case a.InForce(now):
					state += " (in force)"
				case now.Before(a.Start):
					state += " (not yet)"
				default:
					state += " (period over)"
				}
			}
			decided := ""
			if a.DecidedBy != "" {
				decided = a.DecidedBy + " " + jstDate(a.DecidedAt) + ": " + a.DecisionReason
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s to %s\t%s\t%s\t%s\t%s\n", a.ID, a.Department, a.Affair, a.Start.Format(time.DateOnly), a.End.Format(time.DateOnly),
				state, strings.Join(a.Terminals, ","), strings.Join(a.Operators, ","), decided)
			for _, r := range a.Reports {
				sub := "not submitted"
				if r.Submitted() {
					sub = "submitted " + jstDate(r.SubmittedAt) + " by " + r.SubmittedBy + ": " + r.Summary + " sha256 " + r.Digest
				}
				fmt.Fprintf(tw, "\t  report %d\t%s to %s, due %s\t%s\t\t\t\t\n", r.ID, r.From.Format(time.DateOnly), r.To.Format(time.DateOnly), r.Due.Format(time.DateOnly), sub)
			}
		}
		return tw.Flush()
	})
}
