package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/training"
)

// TrainingCmd is `jukinet training`: the training record (研修,
// koto-ward:10, aomori-pref:9) from the server's console. Recording a
// session is decided by the policies (manage-training) and logged.
type TrainingCmd struct {
	Courses TrainingCoursesCmd `cmd:"" help:"List the courses the profile defines and who needs each."`
	Session TrainingSessionCmd `cmd:"" help:"Record a session held, with the people who attended."`
	List    TrainingListCmd    `cmd:"" help:"List who needs training: trained until when, missing or expired, and who expires within 30 days."`
}

// TrainingCoursesCmd is `jukinet training courses`.
type TrainingCoursesCmd struct{ dataFlag }

// Run prints the profile's courses.
func (c TrainingCoursesCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if len(n.Profile.Courses) == 0 {
			fmt.Fprintln(env.Stdout, "The profile defines no training courses. (研修の科目は定められていません)")
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "course\tname\tneeded by\tvalid\tarticle")
		for _, co := range n.Profile.Courses {
			var who []string
			if co.Operators {
				who = append(who, "terminal operators (取扱者)")
			}
			for _, r := range co.Roles {
				name := string(r)
				if role, ok := n.Profile.Role(r); ok {
					name = role.Name
				}
				who = append(who, name)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d months\t%s\n", co.ID, co.Name, strings.Join(who, ", "), co.Months(), co.Article)
		}
		return tw.Flush()
	})
}

// TrainingSessionCmd is `jukinet training session`.
type TrainingSessionCmd struct {
	dataFlag
	Course    string   `required:"" help:"The course's id (jukinet training courses)."`
	Date      string   `required:"" help:"The day it was held: 2026-11-30, R8.11.30 or 令和8年11月30日."`
	Trainer   string   `required:"" help:"Who gave it (講師)."`
	Material  string   `required:"" help:"The material used (教材)."`
	Attendees []string `required:"" name:"attendee" help:"The verification id (照合ID) of a person who attended; repeat, or separate with commas."`
}

// Run records the session.
func (c TrainingSessionCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		day, err := jptext.ParseDay("date", "実施日", c.Date)
		if err != nil {
			return err
		}
		id, err := n.Training.Record(env.Ctx, consoleWho(), training.Session{Course: c.Course, Day: day, Trainer: c.Trainer, Material: c.Material, Attendees: c.Attendees})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Training session %d recorded: %s on %s, %d attended.\n", id, c.Course, day.Format(time.DateOnly), len(c.Attendees))
		return nil
	})
}

// TrainingListCmd is `jukinet training list`.
type TrainingListCmd struct {
	dataFlag
	Sessions bool `help:"List the sessions recorded instead."`
}

// Run prints each person's training, or the sessions.
func (c TrainingListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		if c.Sessions {
			list, err := training.Sessions(env.Ctx, n.DB)
			if err != nil {
				return err
			}
			fmt.Fprintln(tw, "no.\tday\tcourse\ttrainer\tmaterial\tattended")
			for _, s := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Day.Format(time.DateOnly), s.Course, s.Trainer, s.Material, strings.Join(s.Attendees, ", "))
			}
			return tw.Flush()
		}
		st, err := n.Policy.State(env.Ctx)
		if err != nil {
			return err
		}
		facts, err := training.Load(env.Ctx, n.DB)
		if err != nil {
			return err
		}
		now := env.now()
		all := training.Statuses(n.Profile, st, facts)
		fmt.Fprintln(tw, "id\tname\tdepartment\tstatus\tuntil")
		for _, s := range all {
			status, until := "trained", jstDate(s.Expires())
			if !s.Valid(now) {
				en, _ := training.Explain(s.Standings, now)
				status, until = "NOT TRAINED: "+en, "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.VerificationID, s.Name, s.Department, status, until)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		soon := training.ExpiringSoon(all, now)
		if len(soon) == 0 {
			fmt.Fprintln(env.Stdout, "Nobody's training expires within 30 days. (30日以内に期限が切れる職員はいません)")
			return nil
		}
		fmt.Fprintln(env.Stdout, "Expiring within 30 days (30日以内に期限切れ):")
		for _, s := range soon {
			fmt.Fprintf(env.Stdout, "  %s %s: %s\n", s.VerificationID, s.Name, jstDate(s.Expires()))
		}
		return nil
	})
}
