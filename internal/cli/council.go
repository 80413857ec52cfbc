package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/council"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// CouncilCmd is `jukinet council`: the security council (セキュリティ会議,
// koto-ward:5) and the chief security officer's directives and requests
// (koto-ward:6) from the server's console, e.g. to enter a meeting held on
// paper. Every change is decided by the policies (manage-council,
// approve-minutes, issue-directive, acknowledge-directive; console use can
// be turned off in jukinet.toml) and logged with the OS user.
type CouncilCmd struct {
	Meeting   CouncilMeetingCmd   `cmd:"" help:"Convene a meeting: regular or extraordinary (from an incident or an alert), day, time and place; overdue directives go on its agenda."`
	Attend    CouncilAttendCmd    `cmd:"" help:"Record who was present: each in the council seat their post gives them, or --related for staff called to attend (5.9)."`
	Item      CouncilItemCmd      `cmd:"" help:"Add an agenda item: free text, or linked to an incident, an alert or a directive."`
	Decide    CouncilDecideCmd    `cmd:"" help:"Record a decision, by consent or by vote (needs the quorum present)."`
	Minutes   CouncilMinutesCmd   `cmd:"" help:"Record the minutes of a meeting (from --text or --file)."`
	Approve   CouncilApproveCmd   `cmd:"" help:"Record that the chair approved the minutes: the meeting's record is closed."`
	Directive CouncilDirectiveCmd `cmd:"" help:"Record a directive of the chief security officer to a department after a decision (koto-ward:6)."`
	Request   CouncilRequestCmd   `cmd:"" help:"Record a request of the chief security officer to another body (教育委員会, 選挙管理委員会 …) after a decision."`
	Ack       CouncilAckCmd       `cmd:"" help:"Record that the department acknowledged a directive."`
	Complete  CouncilCompleteCmd  `cmd:"" help:"Record the department's report that a directive is carried out, with a note."`
	Answer    CouncilAnswerCmd    `cmd:"" help:"Record the answer of the body a request went to."`
	List      CouncilListCmd      `cmd:"" help:"List the meetings (attendance, quorum, agenda, decisions, minutes) and the directives and requests, overdue ones marked."`
}

// CouncilMeetingCmd is `jukinet council meeting`.
type CouncilMeetingCmd struct {
	dataFlag
	Kind   string `required:"" enum:"regular,extraordinary" help:"regular (定例会議) or extraordinary (臨時会議)."`
	Date   string `required:"" help:"The day: 2026-12-01, R8.12.1 or 令和8年12月1日."`
	Time   string `required:"" help:"The time it begins: 14:00."`
	Place  string `required:"" help:"Where it meets."`
	Source string `help:"The incident or alert an extraordinary meeting is called about: incident:N or alert:N."`
}

// Run convenes the meeting.
func (c CouncilMeetingCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		at, err := council.ParseAt(c.Date, c.Time)
		if err != nil {
			return err
		}
		id, err := n.Council.Convene(env.Ctx, consoleWho(), council.Meeting{Kind: council.Kind(c.Kind), At: at, Place: c.Place, Source: c.Source})
		if err != nil {
			return err
		}
		m, err := council.Get(env.Ctx, n.DB, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Meeting %d convened: %s, %s, %s; %d agenda item(s).\n", id, c.Kind, jstTime(at), c.Place, len(m.Items))
		return nil
	})
}

// CouncilAttendCmd is `jukinet council attend`.
type CouncilAttendCmd struct {
	dataFlag
	Meeting int64    `required:"" help:"The meeting's number (council list)."`
	ID      []string `name:"id" required:"" help:"The verification id (照合ID) of a person present; repeat, or separate with commas."`
	Related bool     `help:"They are staff the chair called to attend (関係職員, 5.9): recorded without a seat, not counted for the quorum."`
}

// Run records the attendance.
func (c CouncilAttendCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		members, related := c.ID, []string(nil)
		if c.Related {
			members, related = nil, c.ID
		}
		if err := n.Council.Attend(env.Ctx, consoleWho(), c.Meeting, members, related); err != nil {
			return err
		}
		m, err := council.Get(env.Ctx, n.DB, c.Meeting)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Attendance recorded: %d of the council's %d seats present (quorum %d).\n", m.Present(), n.Profile.Council.Seats(), n.Profile.Council.QuorumNeeded())
		return nil
	})
}

// CouncilItemCmd is `jukinet council item`.
type CouncilItemCmd struct {
	dataFlag
	Meeting   int64  `required:"" help:"The meeting's number."`
	Title     string `help:"The item (議題); defaults to the linked record's."`
	Incident  int64  `help:"Link an incident (事案) by its number." xor:"ref"`
	Alert     int64  `help:"Link a detection alert by its number." xor:"ref"`
	Directive int64  `help:"Link a directive or request by its number." xor:"ref"`
}

// Run adds the item.
func (c CouncilItemCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		it := council.Item{Title: c.Title}
		switch {
		case c.Incident != 0:
			it.RefKind, it.RefID = council.RefIncident, c.Incident
		case c.Alert != 0:
			it.RefKind, it.RefID = council.RefAlert, c.Alert
		case c.Directive != 0:
			it.RefKind, it.RefID = council.RefDirective, c.Directive
		}
		id, err := n.Council.AddItem(env.Ctx, consoleWho(), c.Meeting, it)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Agenda item %d added to meeting %d.\n", id, c.Meeting)
		return nil
	})
}

// CouncilDecideCmd is `jukinet council decide`.
type CouncilDecideCmd struct {
	dataFlag
	Meeting int64  `required:"" help:"The meeting's number."`
	Item    int64  `help:"The agenda item's id it decides (council list)."`
	Text    string `required:"" help:"What was decided."`
	Method  string `required:"" enum:"consent,vote" help:"consent (異議なし) or vote (採決)."`
	For     int    `help:"Votes for (with --method vote)."`
	Against int    `help:"Votes against."`
	Abstain int    `help:"Abstentions."`
}

// Run records the decision.
func (c CouncilDecideCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		id, err := n.Council.Decide(env.Ctx, consoleWho(), c.Meeting, council.Decision{Item: c.Item, Text: c.Text, Method: council.Method(c.Method),
			For: c.For, Against: c.Against, Abstain: c.Abstain})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Decision %d recorded at meeting %d.\n", id, c.Meeting)
		return nil
	})
}

// CouncilMinutesCmd is `jukinet council minutes`.
type CouncilMinutesCmd struct {
	dataFlag
	Meeting int64  `required:"" help:"The meeting's number."`
	Text    string `help:"The minutes." xor:"text" required:""`
	File    string `help:"A UTF-8 text file holding the minutes." xor:"text" required:"" type:"existingfile"`
}

// Run records the minutes.
func (c CouncilMinutesCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		text := c.Text
		if c.File != "" {
			b, err := os.ReadFile(c.File)
			if err != nil {
				return apperr.Wrap(apperr.Invalid, err, "read "+c.File, "議事録のファイルを読めません")
			}
			text = string(b)
		}
		if err := n.Council.RecordMinutes(env.Ctx, consoleWho(), c.Meeting, text); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Minutes of meeting %d recorded. The chair approves them (council approve), which closes the record.\n", c.Meeting)
		return nil
	})
}

// CouncilApproveCmd is `jukinet council approve`.
type CouncilApproveCmd struct {
	dataFlag
	Meeting int64  `required:"" help:"The meeting's number."`
	Chair   string `required:"" help:"The verification id of the chair who approved them (the vice chair, if the chair was absent)."`
}

// Run records the approval.
func (c CouncilApproveCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Council.ApproveMinutes(env.Ctx, consoleWho(), c.Meeting, c.Chair); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Minutes of meeting %d approved by %s: the meeting's record is closed.\n", c.Meeting, c.Chair)
		return nil
	})
}

// directiveArgs are what a directive and a request share.
type directiveArgs struct {
	dataFlag
	Decision int64  `required:"" help:"The council's decision it follows (council list)."`
	Text     string `required:"" help:"What is to be done."`
	Due      string `required:"" help:"The day it is due: 2026-12-15, R8.12.15 or 令和8年12月15日."`
}

func (a directiveArgs) issue(env *Env, d council.Directive) error {
	return withStaff(env, a.Data, func(n *node.Node) error {
		due, err := jptext.ParseDay("due", "期限", a.Due)
		if err != nil {
			return err
		}
		d.Decision, d.Text, d.Due = a.Decision, a.Text, due
		id, err := n.Council.Issue(env.Ctx, consoleWho(), d)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s %d recorded: to %s, due %s.\n", strings.ToUpper(string(d.Kind[:1]))+string(d.Kind[1:]), id, d.Addressee(n.Profile), due.Format(time.DateOnly))
		return nil
	})
}

// CouncilDirectiveCmd is `jukinet council directive`.
type CouncilDirectiveCmd struct {
	directiveArgs
	Department string `required:"" help:"The department directed (its head acknowledges)."`
}

// Run records the directive.
func (c CouncilDirectiveCmd) Run(env *Env) error {
	return c.issue(env, council.Directive{Kind: council.KindDirective, Department: c.Department})
}

// CouncilRequestCmd is `jukinet council request`.
type CouncilRequestCmd struct {
	directiveArgs
	Body string `required:"" help:"The body requested: 教育委員会, 選挙管理委員会 or another."`
}

// Run records the request.
func (c CouncilRequestCmd) Run(env *Env) error {
	return c.issue(env, council.Directive{Kind: council.KindRequest, Body: c.Body})
}

// CouncilAckCmd is `jukinet council ack`.
type CouncilAckCmd struct {
	dataFlag
	ID int64 `arg:"" help:"The directive's number."`
}

// Run records the acknowledgement.
func (c CouncilAckCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Council.Acknowledge(env.Ctx, consoleWho(), c.ID); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Directive %d acknowledged.\n", c.ID)
		return nil
	})
}

// CouncilCompleteCmd is `jukinet council complete`.
type CouncilCompleteCmd struct {
	dataFlag
	ID   int64  `arg:"" help:"The directive's number."`
	Note string `required:"" help:"What was done."`
}

// Run records the completion.
func (c CouncilCompleteCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Council.Complete(env.Ctx, consoleWho(), c.ID, c.Note); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Directive %d reported complete.\n", c.ID)
		return nil
	})
}

// CouncilAnswerCmd is `jukinet council answer`.
type CouncilAnswerCmd struct {
	dataFlag
	ID   int64  `arg:"" help:"The request's number."`
	Text string `required:"" help:"The body's answer."`
}

// Run records the answer.
func (c CouncilAnswerCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Council.Answer(env.Ctx, consoleWho(), c.ID, c.Text); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Answer to request %d recorded.\n", c.ID)
		return nil
	})
}

// CouncilListCmd is `jukinet council list`.
type CouncilListCmd struct {
	dataFlag
	Overdue bool `help:"Only the directives and requests overdue on the node's clock."`
}

// Run lists the record.
func (c CouncilListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		now := n.Now()
		if n.Profile.Council == nil {
			fmt.Fprintf(env.Stdout, "The profile %s has no security council. (この規程にはセキュリティ会議の定めがありません)\n", n.Profile.ID)
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		if !c.Overdue {
			ms, err := council.List(env.Ctx, n.DB)
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				fmt.Fprintln(tw, "No meeting recorded.")
			}
			for _, m := range ms {
				state := "open"
				if m.Closed() {
					state = "closed: minutes approved by " + m.ApprovedBy + " " + jstDate(m.ApprovedAt)
				}
				fmt.Fprintf(tw, "meeting %d\t%s\t%s\t%s\t%s\n", m.ID, m.Kind, jstTime(m.At), m.Place, state)
				quorum := "quorum met"
				if m.Present() < n.Profile.Council.QuorumNeeded() {
					quorum = "no quorum"
				}
				var present []string
				for _, a := range m.Attendees {
					present = append(present, fmt.Sprintf("%s (%s %s)", a.VID, a.Seat, a.Post))
				}
				fmt.Fprintf(tw, "\t  present %d/%d, %s\t%s\t\t\n", m.Present(), n.Profile.Council.Seats(), quorum, strings.Join(present, ", "))
				for _, it := range m.Items {
					ref := ""
					if it.RefKind != "" {
						ref = fmt.Sprintf(" [%s:%d]", it.RefKind, it.RefID)
					}
					fmt.Fprintf(tw, "\t  item %d (#%d)\t%s%s\t\t\n", it.Number, it.ID, it.Title, ref)
				}
				for _, d := range m.Decisions {
					how := "consent"
					if d.Method == council.Vote {
						how = fmt.Sprintf("vote %d-%d-%d", d.For, d.Against, d.Abstain)
					}
					result := "adopted"
					if !d.Adopted {
						result = "rejected"
					}
					fmt.Fprintf(tw, "\t  decision %d\t%s, %s\t%s\t\n", d.ID, how, result, d.Text)
				}
			}
		}
		ds, err := council.Directives(env.Ctx, n.DB)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "no.\tkind\tto\tdue\tstate\twhat")
		for _, d := range ds {
			if c.Overdue && !d.Overdue(now) {
				continue
			}
			state := "issued"
			switch {
			case d.Done() && d.Kind == council.KindRequest:
				state = "answered " + jstDate(d.CompletedAt) + ": " + d.Note
			case d.Done():
				state = "complete " + jstDate(d.CompletedAt) + ": " + d.Note
			case d.Acknowledged():
				state = "acknowledged " + jstDate(d.AcknowledgedAt)
			}
			if d.Overdue(now) {
				state = "OVERDUE, " + state
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Kind, d.Addressee(n.Profile), d.Due.Format(time.DateOnly), state, d.Text)
		}
		return tw.Flush()
	})
}
