package cli

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// FormCmd is `jukinet form`: the forms register (帳票管理簿, koto-ward:14)
// and the record of program changes from the server's console. Every step
// and approval is decided by the policies and logged; the listing is not.
type FormCmd struct {
	List                 FormListCmd                 `cmd:"" help:"List the forms the node produced (filters: --state, --kind, --overdue)."`
	Show                 FormShowCmd                 `cmd:"" help:"Show one form and its history, by its control number or by the file itself (--file)."`
	Store                FormStoreCmd                `cmd:"" help:"Record that a form was put in the store (保管)."`
	TakeOut              FormTakeOutCmd              `cmd:"" name:"take-out" help:"Record that a form was taken out of the store (持出), and the day it is due back."`
	Return               FormReturnCmd               `cmd:"" help:"Record that a form taken out came back to the store (返却)."`
	HandOver             FormHandOverCmd             `cmd:"" name:"hand-over" help:"Record that a form was handed to another body or person (交付)."`
	Dispose              FormDisposeCmd              `cmd:"" help:"Record that a form was disposed of (廃棄): the method, who did it, the witness."`
	ProgramChanges       FormProgramChangesCmd       `cmd:"" name:"program-changes" help:"List the record of program changes (the node's version, its profile and policies)."`
	ApproveProgramChange FormApproveProgramChangeCmd `cmd:"" name:"approve-program-change" help:"Approve a program change with a note."`
}

// FormListCmd is `jukinet form list`.
type FormListCmd struct {
	dataFlag
	State   string `help:"issued, stored, taken-out, handed-over, disposed or void."`
	Kind    string `help:"audit-log, usage-status, sysaudit-report or resident-export."`
	Overdue bool   `help:"Only the forms past their due day on the node's clock."`
}

// Run lists the register.
func (c FormListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if c.State != "" {
			if _, ok := form.StateJapanese[form.State(c.State)]; !ok {
				return apperr.New(apperr.Invalid, fmt.Sprintf("state %q: use issued, stored, taken-out, handed-over, disposed or void", c.State), "状態を正しく指定してください")
			}
		}
		if c.Kind != "" && form.KindName(form.Kind(c.Kind), false) == c.Kind {
			return apperr.New(apperr.Invalid, fmt.Sprintf("kind %q: use audit-log, usage-status, sysaudit-report or resident-export", c.Kind), "種類を正しく指定してください")
		}
		if v := n.Policy.MayAdminister(env.Ctx, consoleWho(), form.ActView, staff.Resource{Kind: "node", ID: nodeCode(n)}); !v.Allow {
			return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
		}
		now := n.Now()
		list, err := form.List(env.Ctx, n.DB, form.Filter{State: form.State(c.State), Kind: form.Kind(c.Kind), Overdue: c.Overdue, Now: now})
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(env.Stdout, "No form recorded.")
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NUMBER\tKIND\tFORMAT\tISSUED\tBY\tRESIDENTS\tSTATE\tDUE\tWHERE")
		for _, f := range list {
			issued, due := "-", "-"
			if !f.IssuedAt.IsZero() {
				issued = jstDate(f.IssuedAt)
			}
			if !f.Due.IsZero() {
				due = f.Due.Format(time.DateOnly)
				if f.OverdueAt(now) {
					due += " OVERDUE"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", f.Number, f.Kind, f.Format, issued, f.IssuedBy, f.Residents, f.State, due, f.Destination)
		}
		return tw.Flush()
	})
}

// nodeCode is the code a node's resources are named by (the local
// government's, or "national").
func nodeCode(n *node.Node) string {
	if n.Info.LocalGov.Code == "" {
		return "national"
	}
	return string(n.Info.LocalGov.Code)
}

// FormShowCmd is `jukinet form show`.
type FormShowCmd struct {
	dataFlag
	Number string `arg:"" optional:"" help:"The control number printed on the form or naming the file (R8-000012)."`
	File   string `help:"Find the form this file is, by the SHA-256 of its bytes."`
}

// Run shows the form.
func (c FormShowCmd) Run(env *Env) error {
	if (c.Number == "") == (c.File == "") {
		return fmt.Errorf("give a control number or --file FILE")
	}
	return withStaff(env, c.Data, func(n *node.Node) error {
		if v := n.Policy.MayAdminister(env.Ctx, consoleWho(), form.ActView, staff.Resource{Kind: "node", ID: nodeCode(n)}); !v.Allow {
			return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
		}
		no := c.Number
		if c.File != "" {
			b, err := os.ReadFile(c.File)
			if err != nil {
				return fmt.Errorf("read %s: %w", c.File, err)
			}
			found, err := form.ByDigest(env.Ctx, n.DB, form.Digest(b))
			if err != nil {
				return err
			}
			if len(found) == 0 {
				return apperr.New(apperr.NotFound, fmt.Sprintf("%s is no form of this node's register (sha256 %s)", c.File, form.Digest(b)),
					"このファイルはこのノードの帳票管理簿に記録された帳票ではありません")
			}
			no = found[0].Number.String()
		}
		num, err := form.ParseNumber(no)
		if err != nil {
			return err
		}
		f, err := form.Get(env.Ctx, n.DB, num)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Form %s: %s (%s, %s)\n", f.Number, f.Title, f.Kind, f.Format)
		fmt.Fprintf(env.Stdout, "covers: %s; residents: %d\n", f.Covers, f.Residents)
		if !f.IssuedAt.IsZero() {
			fmt.Fprintf(env.Stdout, "issued %s by %s (audit entry %d); %d bytes, sha256 %s\n", jstTime(f.IssuedAt), f.IssuedBy, f.IssuedSeq, f.Bytes, f.Digest)
		}
		fmt.Fprintf(env.Stdout, "state: %s (%s); where: %s\n", f.State, form.StateJapanese[f.State], f.Destination)
		if f.VoidReason != "" {
			fmt.Fprintf(env.Stdout, "void: %s\n", f.VoidReason)
		}
		if !f.Due.IsZero() {
			over := ""
			if f.OverdueAt(n.Now()) {
				over = " (OVERDUE)"
			}
			fmt.Fprintf(env.Stdout, "due: %s%s\n", f.Due.Format(time.DateOnly), over)
		}
		for _, s := range f.Steps {
			line := fmt.Sprintf("  %s %s: %s", s.Day.Format(time.DateOnly), s.Kind, s.Place)
			if !s.Until.IsZero() {
				line += ", due back " + s.Until.Format(time.DateOnly)
			}
			if s.Method != "" {
				line += fmt.Sprintf(" %s by %s, witnessed by %s", s.Method, s.DoneBy, s.Witness)
			}
			if s.Note != "" {
				line += " (" + s.Note + ")"
			}
			fmt.Fprintf(env.Stdout, "%s; recorded by %s, entry %d\n", line, s.RecordedBy, s.Seq)
		}
		return nil
	})
}

// stepFlags are what every step takes.
type stepFlags struct {
	dataFlag
	Number string `arg:"" help:"The form's control number (R8-000012)."`
	Date   string `required:"" help:"The day it was done: 2026-11-30, R8.11.30 or 令和8年11月30日."`
	Note   string `help:"A note (備考)."`
}

// record records step s of the form, filled in by fill.
func (f stepFlags) record(env *Env, kind form.StepKind, fill func(s *form.Step) error) error {
	return withStaff(env, f.Data, func(n *node.Node) error {
		num, err := form.ParseNumber(f.Number)
		if err != nil {
			return err
		}
		day, err := jptext.ParseDay("date", "実施日", f.Date)
		if err != nil {
			return err
		}
		s := form.Step{Kind: kind, Day: day, Note: f.Note}
		if err := fill(&s); err != nil {
			return err
		}
		if err := n.Forms.Record(env.Ctx, consoleWho(), num, s); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Form %s: %s recorded on %s.\n", num, kind, day.Format(time.DateOnly))
		return nil
	})
}

// FormStoreCmd is `jukinet form store`.
type FormStoreCmd struct {
	stepFlags
	Place string `required:"" help:"Where it is kept (保管場所, e.g. 保管庫A)."`
}

// Run records the storage.
func (c FormStoreCmd) Run(env *Env) error {
	return c.record(env, form.StepStore, func(s *form.Step) error { s.Place = c.Place; return nil })
}

// FormTakeOutCmd is `jukinet form take-out`.
type FormTakeOutCmd struct {
	stepFlags
	To    string `required:"" help:"Who takes it and where (持出先)."`
	Until string `required:"" help:"The day it is due back."`
}

// Run records the take-out.
func (c FormTakeOutCmd) Run(env *Env) error {
	return c.record(env, form.StepTakeOut, func(s *form.Step) error {
		until, err := jptext.ParseDay("until", "返却予定日", c.Until)
		s.Place, s.Until = c.To, until
		return err
	})
}

// FormReturnCmd is `jukinet form return`.
type FormReturnCmd struct {
	stepFlags
	Place string `required:"" help:"Where it is kept again (保管場所)."`
}

// Run records the return.
func (c FormReturnCmd) Run(env *Env) error {
	return c.record(env, form.StepReturn, func(s *form.Step) error { s.Place = c.Place; return nil })
}

// FormHandOverCmd is `jukinet form hand-over`.
type FormHandOverCmd struct {
	stepFlags
	To string `required:"" help:"The body or person it was handed to (交付先)."`
}

// Run records the hand-over.
func (c FormHandOverCmd) Run(env *Env) error {
	return c.record(env, form.StepHandOver, func(s *form.Step) error { s.Place = c.To; return nil })
}

// FormDisposeCmd is `jukinet form dispose`.
type FormDisposeCmd struct {
	stepFlags
	Method  string `required:"" help:"shred, dissolve, incinerate, erase or destroy."`
	By      string `required:"" help:"Who did it (a person, or a vendor and person)."`
	Witness string `required:"" help:"The verification id (照合ID) of the staff member who witnessed it."`
}

// Run records the disposal.
func (c FormDisposeCmd) Run(env *Env) error {
	return c.record(env, form.StepDispose, func(s *form.Step) error {
		s.Method, s.DoneBy, s.Witness = form.Method(c.Method), c.By, c.Witness
		return nil
	})
}

// FormProgramChangesCmd is `jukinet form program-changes`.
type FormProgramChangesCmd struct {
	dataFlag
}

// Run lists the program changes.
func (c FormProgramChangesCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if v := n.Policy.MayAdminister(env.Ctx, consoleWho(), form.ActView, staff.Resource{Kind: "node", ID: nodeCode(n)}); !v.Allow {
			return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
		}
		all, err := form.ProgramChanges(env.Ctx, n.DB)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDETECTED\tVERSION\tPROFILE\tSHA256\tSTATE")
		for _, ch := range all {
			state := "UNAPPROVED"
			switch {
			case ch.Baseline:
				state = "baseline"
			case ch.ApprovedBy != "":
				state = fmt.Sprintf("approved by %s on %s: %s", ch.ApprovedBy, jstDate(ch.ApprovedAt), ch.Note)
			}
			digest := ch.ProfileDigest
			if len(digest) > 16 {
				digest = digest[:16]
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", ch.ID, jstTime(ch.DetectedAt), ch.Version, ch.ProfileID, digest, state)
		}
		return tw.Flush()
	})
}

// FormApproveProgramChangeCmd is `jukinet form approve-program-change`.
type FormApproveProgramChangeCmd struct {
	dataFlag
	ID   int64  `arg:"" help:"The program change's number (form program-changes)."`
	Note string `required:"" help:"The approval's note (what was checked)."`
}

// Run approves the change.
func (c FormApproveProgramChangeCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Forms.ApproveProgramChange(env.Ctx, consoleWho(), c.ID, c.Note); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Program change %d approved.\n", c.ID)
		return nil
	})
}
