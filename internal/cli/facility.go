package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"jukinet/internal/apperr"
	"jukinet/internal/facility"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// FacilityCmd is `jukinet facility`: rooms, who may enter them, the entry
// and exit log and the terminals' installations (koto-ward:11,
// aomori-pref:6) from the server's console. Every change is decided by the
// policies and logged.
type FacilityCmd struct {
	Room      FacilityRoomCmd      `cmd:"" help:"Record a room with its protection level (1 terminal area, 2 server/network room, 3 storage)."`
	Authorise FacilityAuthoriseCmd `cmd:"" help:"Authorise a staff member to enter a room (--revoke: withdraw it)."`
	Entry     FacilityEntryCmd     `cmd:"" help:"Record an entry or exit at a room's door (a staff member, or a visitor with an escort)."`
	Import    FacilityImportCmd    `cmd:"" help:"Import a card reader's CSV (room_id,verification_id,direction,time): all or nothing."`
	Install   FacilityInstallCmd   `cmd:"" help:"Approve a terminal's installation in a room with its terminal manager (aomori-pref:6)."`
	List      FacilityListCmd      `cmd:"" help:"List the rooms, installations and the latest entries."`
}

// FacilityRoomCmd is `jukinet facility room`.
type FacilityRoomCmd struct {
	dataFlag
	ID       string `name:"id" required:"" help:"The room's id: letters, digits, '.', '_' or '-'."`
	Building string `required:"" help:"The building (建物)."`
	Name     string `required:"" help:"The room's name (室名)."`
	Level    int    `required:"" help:"1 terminal area, 2 server and network room, 3 storage of data and security information."`
}

// Run records the room.
func (c FacilityRoomCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Facilities.AddRoom(env.Ctx, consoleWho(), facility.Room{ID: c.ID, Building: c.Building, Name: c.Name, Level: facility.Level(c.Level)}); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Room %s recorded (%s).\n", c.ID, facility.LevelEnglish(facility.Level(c.Level)))
		return nil
	})
}

// FacilityAuthoriseCmd is `jukinet facility authorise`.
type FacilityAuthoriseCmd struct {
	dataFlag
	Room   string `required:"" help:"The room's id."`
	Person string `required:"" help:"The staff member's verification id (照合ID)."`
	Revoke bool   `help:"Withdraw the authorisation instead."`
}

// Run authorises the person, or withdraws the authorisation.
func (c FacilityAuthoriseCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if c.Revoke {
			if err := n.Facilities.Revoke(env.Ctx, consoleWho(), c.Room, c.Person); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s may no longer enter %s.\n", c.Person, c.Room)
			return nil
		}
		if err := n.Facilities.Authorise(env.Ctx, consoleWho(), c.Room, c.Person); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s may enter %s.\n", c.Person, c.Room)
		return nil
	})
}

// FacilityEntryCmd is `jukinet facility entry`.
type FacilityEntryCmd struct {
	dataFlag
	Room      string `required:"" help:"The room's id."`
	Person    string `help:"The staff member's verification id (照合ID)."`
	Visitor   string `help:"A visitor's affiliation and name (instead of --person)."`
	Escort    string `help:"The verification id of the staff member escorting the visitor."`
	Purpose   string `required:"" help:"Why (目的)."`
	Direction string `required:"" enum:"in,out" help:"in or out."`
	Time      string `required:"" help:"When: RFC 3339, or YYYY-MM-DD HH:MM in Japan time."`
}

// Run records the passage.
func (c FacilityEntryCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		at, err := facility.ParseTime(c.Time)
		if err != nil {
			return apperr.New(apperr.Invalid, err.Error(), "日時「"+c.Time+"」を読み取れません（2026-12-01 09:15 の形で入力してください）")
		}
		e, err := n.Facilities.RecordEntry(env.Ctx, consoleWho(), facility.Entry{Room: c.Room, Person: c.Person, Visitor: c.Visitor, Escort: c.Escort,
			Purpose: c.Purpose, Dir: facility.Direction(c.Direction), At: at})
		if err != nil {
			return err
		}
		note := ""
		if !e.Authorised {
			note = " NOT AUTHORISED for this room: the detection raises an alert."
		}
		fmt.Fprintf(env.Stdout, "Recorded %s %s at %s.%s\n", c.Direction, c.Room, at.In(jptext.JST).Format("2006-01-02 15:04 MST"), note)
		return nil
	})
}

// FacilityImportCmd is `jukinet facility import`.
type FacilityImportCmd struct {
	dataFlag
	File string `arg:"" type:"existingfile" help:"The card reader's CSV (UTF-8): room_id,verification_id,direction,time."`
}

// Run imports the file, all or nothing.
func (c FacilityImportCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		f, err := os.Open(c.File)
		if err != nil {
			return fmt.Errorf("open %s: %w", c.File, err)
		}
		defer f.Close()
		stored, bad, err := n.Facilities.ImportCSV(env.Ctx, consoleWho(), f)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Imported %d entries (%d not authorised for their room).\n", stored, bad)
		return nil
	})
}

// FacilityInstallCmd is `jukinet facility install`.
type FacilityInstallCmd struct {
	dataFlag
	Terminal string `required:"" help:"The terminal's id (approved with jukinet staff terminal)."`
	Room     string `required:"" help:"The room's id."`
	Manager  string `required:"" help:"The verification id of its terminal manager (端末機管理者)."`
}

// Run approves the installation.
func (c FacilityInstallCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Facilities.Install(env.Ctx, consoleWho(), facility.Installation{Terminal: c.Terminal, Room: c.Room, Manager: c.Manager}); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Terminal %s installed in %s (terminal manager %s).\n", c.Terminal, c.Room, c.Manager)
		return nil
	})
}

// FacilityListCmd is `jukinet facility list`.
type FacilityListCmd struct {
	dataFlag
	Entries int `default:"50" help:"How many of the latest entries to show."`
}

// Run prints the record.
func (c FacilityListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		rooms, err := n.Facilities.Rooms(env.Ctx)
		if err != nil {
			return err
		}
		ins, err := n.Facilities.Installations(env.Ctx)
		if err != nil {
			return err
		}
		entries, err := n.Facilities.Entries(env.Ctx, c.Entries)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "room\tlevel\tbuilding\tname\tauthorised")
		for _, r := range rooms {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", r.ID, r.Level, r.Building, r.Name, strings.Join(r.Authorised, " "))
		}
		fmt.Fprintln(tw, "\nterminal\troom\tmanager\tapproved by\tapproved at")
		for _, i := range ins {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Terminal, i.Room, i.Manager, i.ApprovedBy, i.ApprovedAt.In(jptext.JST).Format("2006-01-02 15:04 MST"))
		}
		fmt.Fprintln(tw, "\ntime\troom\tdirection\twho\tpurpose\tsource\tauthorised")
		for _, e := range entries {
			who := e.Person
			if who == "" {
				who = e.Visitor + " (escort " + e.Escort + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%t\n", e.At.In(jptext.JST).Format("2006-01-02 15:04 MST"), e.Room, e.Dir, who, e.Purpose, e.Source, e.Authorised)
		}
		return tw.Flush()
	})
}
