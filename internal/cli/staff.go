package cli

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"jukinet/internal/node"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// consoleWho is the OS user at the server's console, for staff changes.
func consoleWho() staff.Who {
	r := consoleRequest("", "", "")
	return staff.Who{Actor: r.Actor, Origin: r.Origin}
}

// StaffCmd manages staff data from the console. Each change is decided by
// the profile's policies (console administration can be turned off with
// [console] lookup = false) and logged.
type StaffCmd struct {
	List      StaffListCmd      `cmd:"" help:"List staff, terminals and the enrolment register (usage approvals: jukinet approval list)."`
	Add       StaffAddCmd       `cmd:"" help:"Register a staff member."`
	Remove    StaffRemoveCmd    `cmd:"" help:"Record a transfer or retirement (roles, designations and credentials end)."`
	Role      StaffRoleCmd      `cmd:"" help:"Assign a role of the profile."`
	Designate StaffDesignateCmd `cmd:"" help:"Designate a terminal operator (取扱者) for an affair, or end it with --end."`
	Terminal  StaffTerminalCmd  `cmd:"" help:"Record an approved terminal installation (and its manager)."`
}

type dataFlag struct {
	Data string `required:"" type:"path" help:"The node's data folder."`
}

func withStaff(env *Env, dir string, fn func(n *node.Node) error) error {
	n, err := openGate(env, dir)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := fn(n); err != nil {
		return gateError(err)
	}
	return nil
}

// StaffListCmd is `jukinet staff list`.
type StaffListCmd struct{ dataFlag }

// Run prints the staff data.
func (c StaffListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		ctx := env.Ctx
		st, err := staff.Load(ctx, n.DB)
		if err != nil {
			return err
		}
		people, err := n.Staff.People(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "照合ID\tname\tdepartment\ttitle\troles\taffairs\tstatus")
		for _, p := range people {
			status, roles, affairs := "active", "", ""
			if !p.Active {
				status = "left " + jstDate(p.LeftAt) + " (" + p.LeftReason + ")"
			}
			if m := st.People[p.VerificationID]; m != nil {
				for _, r := range m.Roles {
					roles += string(r) + " "
				}
				for r, ds := range m.DepartmentRoles {
					roles += fmt.Sprintf("%s%v ", r, ds)
				}
				affairs = fmt.Sprint(m.Affairs)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.VerificationID, p.Name, p.Department, p.Title, roles, affairs, status)
		}
		tw.Flush()
		ts, err := n.Staff.Terminals(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout)
		tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "terminal\tname\tdepartment\tlocation\tapproved by\tmanager\tstatus")
		for _, t := range ts {
			status := "in use"
			if !t.RetiredAt.IsZero() {
				status = "retired " + jstDate(t.RetiredAt)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s\t%s\n", t.ID, t.Name, t.Department, t.Location, t.ApprovedBy, t.ManagerTitle, t.ManagerName, status)
		}
		tw.Flush()
		creds, err := n.Staff.Credentials(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\n照合情報認証管理簿 (enrolment register): %d entries\n", len(creds))
		tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		for _, cr := range creds {
			removed := ""
			if !cr.RemovedAt.IsZero() {
				removed = fmt.Sprintf("removed %s by %s (%s)", jstDate(cr.RemovedAt), cr.RemovedBy, cr.RemovedReason)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\tregistered %s by %s\t%s\n", cr.ID, cr.PersonVID, cr.PersonName, cr.Label, jstDate(cr.RegisteredAt), cr.RegisteredBy, removed)
		}
		return tw.Flush()
	})
}

// StaffAddCmd is `jukinet staff add`.
type StaffAddCmd struct {
	dataFlag
	ID         string `name:"id" required:"" help:"照合ID (verification id)."`
	Name       string `required:"" help:"Full name."`
	Kana       string `help:"Name in kana."`
	Department string `required:"" help:"Department id of the profile (jukinet profile show)."`
	Title      string `required:"" help:"Title (職), e.g. 主事, 区民課長."`
}

// Run adds the person.
func (c StaffAddCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Staff.AddPerson(env.Ctx, consoleWho(), staff.Person{VerificationID: c.ID, Name: c.Name, NameKana: c.Kana, Department: c.Department, Title: c.Title}); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Registered %s %s (%s, %s).\n", c.ID, c.Name, c.Department, c.Title)
		return nil
	})
}

// StaffRemoveCmd is `jukinet staff remove`.
type StaffRemoveCmd struct {
	dataFlag
	ID     string `name:"id" required:"" help:"照合ID."`
	Reason string `required:"" enum:"transfer,retirement" help:"transfer or retirement."`
}

// Run records the departure.
func (c StaffRemoveCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Staff.RemovePerson(env.Ctx, consoleWho(), c.ID, c.Reason); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: %s recorded; roles, designations and credentials ended.\n", c.ID, c.Reason)
		return nil
	})
}

// StaffRoleCmd is `jukinet staff role`.
type StaffRoleCmd struct {
	dataFlag
	ID         string `name:"id" required:"" help:"照合ID."`
	Role       string `required:"" help:"Role id of the profile, e.g. security_officer."`
	Department string `help:"Department, for per-department roles."`
}

// Run assigns the role.
func (c StaffRoleCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Staff.AssignRole(env.Ctx, consoleWho(), c.ID, profile.RoleID(c.Role), c.Department); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s now holds %s %s.\n", c.ID, c.Role, c.Department)
		return nil
	})
}

// StaffDesignateCmd is `jukinet staff designate`.
type StaffDesignateCmd struct {
	dataFlag
	ID     string `name:"id" required:"" help:"照合ID of the operator."`
	Affair string `required:"" help:"Affair id of the profile."`
	End    bool   `help:"End the designation instead."`
}

// Run designates (or ends a designation).
func (c StaffDesignateCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if c.End {
			if err := n.Staff.EndDesignation(env.Ctx, consoleWho(), c.ID, c.Affair); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s is no longer designated for %s.\n", c.ID, c.Affair)
			return nil
		}
		if err := n.Staff.Designate(env.Ctx, consoleWho(), c.ID, c.Affair); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is designated for %s.\n", c.ID, c.Affair)
		return nil
	})
}

// StaffTerminalCmd is `jukinet staff terminal`.
type StaffTerminalCmd struct {
	dataFlag
	ID           string `name:"id" required:"" help:"Terminal id."`
	Name         string `help:"Name (for a new terminal)."`
	Department   string `help:"Department (for a new terminal)."`
	Location     string `help:"Where it is installed (for a new terminal)."`
	Manager      string `help:"照合ID of the terminal manager (端末機管理者) to report."`
	ManagerTitle string `name:"manager-title" help:"The manager's title (職)."`
	Retire       bool   `help:"Take the terminal out of use."`
}

// Run records the terminal.
func (c StaffTerminalCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		who := consoleWho()
		switch {
		case c.Retire:
			if err := n.Staff.RetireTerminal(env.Ctx, who, c.ID); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Terminal %s retired.\n", c.ID)
			return nil
		case c.Name != "" || c.Department != "" || c.Location != "":
			// Approved with its manager, when given, in one transaction.
			if err := n.Staff.ApproveTerminal(env.Ctx, who, staff.Terminal{ID: c.ID, Name: c.Name, Department: c.Department, Location: c.Location,
				ManagerVID: c.Manager, ManagerTitle: c.ManagerTitle}); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Terminal %s approved for %s.\n", c.ID, c.Department)
			if c.Manager != "" {
				fmt.Fprintf(env.Stdout, "Terminal %s: manager %s (%s) reported.\n", c.ID, c.Manager, c.ManagerTitle)
			}
			return nil
		}
		if c.Manager != "" {
			if err := n.Staff.ReportTerminalManager(env.Ctx, who, c.ID, c.Manager, c.ManagerTitle); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Terminal %s: manager %s (%s) reported.\n", c.ID, c.Manager, c.ManagerTitle)
		}
		return nil
	})
}

// SuspendCmd is `jukinet suspend`: suspend use of the register, list
// suspensions, or lift one.
type SuspendCmd struct {
	dataFlag
	Scope       string `enum:"node,department,terminal,operator,affair,peer,outbound," default:"" help:"What to suspend: node, department, terminal, operator, affair, peer (a downstream node's notifications) or outbound (this node's notifications upstream)."`
	Target      string `help:"The department, terminal, 照合ID, affair or downstream node code; it must exist (none for node and outbound)."`
	Reason      string `help:"Why (logged); lifting needs one too."`
	ConfirmNode bool   `name:"confirm-node" help:"Confirm a whole-node suspension (--scope node), which stops every use of the register."`
	Lift        int64  `help:"Lift the suspension with this number instead (with --reason)."`
}

// Run suspends, lifts, or lists.
func (c SuspendCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		who := consoleWho()
		switch {
		case c.Lift > 0:
			if err := n.Staff.Lift(env.Ctx, who, c.Lift, c.Reason); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Suspension %d lifted.\n", c.Lift)
		case c.Scope != "":
			id, err := n.Staff.Suspend(env.Ctx, who, staff.Suspension{Scope: staff.Scope(c.Scope), Target: c.Target, Reason: c.Reason, Confirmed: c.ConfirmNode})
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Suspension %d in force: %s %s. Lift it with: jukinet suspend --data %s --lift %d\n", id, c.Scope, c.Target, c.Data, id)
		default:
			sps, err := n.Staff.Suspensions(env.Ctx, false)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "no.\tscope\ttarget\treason\tordered\tlifted")
			for _, sp := range sps {
				lifted := "IN FORCE"
				if !sp.LiftedAt.IsZero() {
					lifted = jstTime(sp.LiftedAt) + " by " + sp.LiftedBy + ": " + sp.LiftReason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s by %s\t%s\n", strconv.FormatInt(sp.ID, 10), sp.Scope, sp.Target, sp.Reason, jstTime(sp.StartedAt), sp.OrderedBy, lifted)
			}
			return tw.Flush()
		}
		return nil
	})
}
