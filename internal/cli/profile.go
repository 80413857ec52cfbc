package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"jukinet/internal/profile"
)

// ProfileCmd shows and checks regulation profiles.
type ProfileCmd struct {
	Show     ProfileShowCmd     `cmd:"" help:"Show a built-in profile: roles, departments, council, affairs, session rules."`
	Check    ProfileCheckCmd    `cmd:"" help:"Check a profile file (and the policies.cedar beside it); every problem with file and line."`
	Articles ProfileArticlesCmd `cmd:"" help:"Print the article → feature → test map of a built-in profile."`
}

// ProfileShowCmd is `jukinet profile show ID`.
type ProfileShowCmd struct {
	ID string `arg:"" help:"Profile id (koto-ward, aomori-pref)."`
}

// Run prints the profile.
func (c ProfileShowCmd) Run(env *Env) error {
	p, err := profile.Load(c.ID)
	if err != nil {
		return err
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s — %s (%s, %s)\n%s\nlevel: %s\n\n", p.ID, p.Title, p.Body, p.Number, p.TitleEN, p.Level)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "role\t役割\tfilled by\tarticle")
	for _, r := range p.Roles {
		pos := r.Position
		if pos == "" {
			pos = "(per department / terminal)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Name, pos, r.Article)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "department\t部署\thead")
	for _, d := range p.Departments {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.ID, d.Name, d.Head)
	}
	tw.Flush()
	if c := p.Council; c != nil {
		chair, _ := p.Role(c.Chair)
		vice, _ := p.Role(c.ViceChair)
		fmt.Fprintf(w, "\nsecurity council (%s): chair %s, vice chair %s\n  members: %s\n", c.Article, chair.Name, vice.Name, strings.Join(c.Members, "、"))
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "affair\t利用事務\tbasis\tdepartments\tchanges")
	for _, a := range p.Affairs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", a.ID, a.Name, a.Basis, strings.Join(a.Departments, ","), a.Changes)
	}
	tw.Flush()
	s := p.Session
	fmt.Fprintf(w, "\nsession: idle lock %d min, absolute %d h, re-verify after %d min, lockout after %d failures for %d min\n",
		s.IdleMinutes, s.AbsoluteHours, s.ReverifyMinutes, s.MaxFailedLogins, s.LockoutMinutes)
	fmt.Fprintf(w, "retention: audit entries %d years, provision records %d years\n", p.Retention.AuditYears, p.Retention.ProvisionYears)
	var ids []string
	for id := range p.Policies.All() {
		ids = append(ids, string(id))
	}
	slices.Sort(ids)
	fmt.Fprintf(w, "policies (%d): %s\n", len(ids), strings.Join(ids, ", "))
	return nil
}

// ProfileCheckCmd is `jukinet profile check FILE`.
type ProfileCheckCmd struct {
	File string `arg:"" type:"existingfile" help:"profile.toml; policies.cedar must be beside it."`
}

// Run checks the file; exit 1 with every problem.
func (c ProfileCheckCmd) Run(env *Env) error {
	p, err := profile.CheckFile(c.File)
	if err != nil {
		return err
	}
	n := 0
	for range p.Policies.All() {
		n++
	}
	fmt.Fprintf(env.Stdout, "%s: profile %s is valid: %d roles, %d departments, %d affairs, %d articles, %d policies\n",
		c.File, p.ID, len(p.Roles), len(p.Departments), len(p.Affairs), len(p.Articles), n)
	return nil
}

// ProfileArticlesCmd is `jukinet profile articles ID`.
type ProfileArticlesCmd struct {
	ID string `arg:"" help:"Profile id (koto-ward, aomori-pref)."`
}

// Run prints each article with its features, their status and tests.
func (c ProfileArticlesCmd) Run(env *Env) error {
	p, err := profile.Load(c.ID)
	if err != nil {
		return err
	}
	built, planned := 0, 0
	for _, a := range p.Articles {
		fmt.Fprintf(env.Stdout, "%s (%s)\n", a.ID, a.Heading)
		if a.Note != "" {
			fmt.Fprintf(env.Stdout, "  note: %s\n", a.Note)
		}
		for _, id := range a.Features {
			f, _ := profile.FeatureByID(id)
			fmt.Fprintf(env.Stdout, "  [%s] %s — %s\n", f.Status, f.ID, f.Description)
			for _, t := range f.Tests {
				fmt.Fprintf(env.Stdout, "      test: %s\n", t)
			}
			if f.Status == profile.Built {
				built++
			} else {
				planned++
			}
		}
	}
	fmt.Fprintf(env.Stdout, "\n%d articles; %d article→feature links built, %d planned\n", len(p.Articles), built, planned)
	return nil
}
