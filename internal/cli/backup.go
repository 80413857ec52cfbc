package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"

	"jukinet/internal/backup"
	"jukinet/internal/fileutil"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// BackupCmd is `jukinet backup`: take a backup (the default), list them,
// or make an age key pair to encrypt them to.
type BackupCmd struct {
	Take   BackupTakeCmd   `cmd:"" default:"withargs" help:"Back the node up into a folder while it serves (the default): register, audit log, configuration and keys at one instant, checked, logged and entered in the forms register."`
	List   BackupListCmd   `cmd:"" help:"List the backups taken (and failed), newest first, with the status the dashboard shows."`
	Keygen BackupKeygenCmd `cmd:"" help:"Make an age key pair: the identity file (keep it off the node, e.g. on removable media in a safe) and the recipient to put in backup.recipients."`
}

// BackupTakeCmd is `jukinet backup [take]`.
type BackupTakeCmd struct {
	Data      string   `required:"" type:"path" help:"The node's data folder."`
	To        string   `type:"path" help:"The folder to write the backup into (default: backup.folder of jukinet.toml)."`
	Recipient []string `help:"An age public key (age1…) to encrypt the backup to (repeatable; default: backup.recipients of jukinet.toml)."`
	Plain     bool     `help:"Do not encrypt, even when jukinet.toml names recipients."`
}

// Run takes one backup as the OS user at the console.
func (c BackupTakeCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		folder := c.To
		if folder == "" {
			folder = n.Config.Backup.Folder
			if folder != "" && !filepath.IsAbs(folder) {
				folder = filepath.Join(n.Dir, folder)
			}
		}
		if folder == "" {
			return fmt.Errorf("no folder to back up into: give --to FOLDER, or set backup.folder in %s", filepath.Join(n.Dir, "jukinet.toml"))
		}
		recips := strings.Join(c.Recipient, " ")
		if len(c.Recipient) == 0 {
			recips = n.Config.Backup.Recipients
		}
		if c.Plain {
			recips = ""
		}
		req := consoleRequest("バックアップ", "継続性の確保（バックアップ）", "")
		r, err := backup.Take(env.Ctx, n, backup.Options{Folder: folder, Recipients: recips, Who: staff.Who{Actor: req.Actor, Origin: req.Origin}})
		if err != nil {
			return err
		}
		m := r.Manifest
		enc := "not encrypted: it holds the node's keys in clear; keep it where only the system administrator can reach it"
		if recips != "" {
			enc = "encrypted to " + recips
		}
		fmt.Fprintf(env.Stdout, "Backup written: %s\n  %d bytes, sha256 %s, %s\n  form %s (forms register), audit entry %d\n",
			r.Path, r.Size, r.SHA256, enc, r.Form, r.Seq)
		fmt.Fprintf(env.Stdout, "  holds %d audit entries (signed checkpoint at %d), %d rows in %d tables (%s database, schema %d), taken in %s\n",
			m.Entries, m.CheckpointSize, m.Rows(), len(m.Tables), m.Source, m.Schema, r.Took.Round(time.Millisecond))
		fmt.Fprintf(env.Stdout, "Restore it with: jukinet restore --from %s --data NEWFOLDER\n", r.Path)
		return nil
	})
}

// BackupListCmd is `jukinet backup list`.
type BackupListCmd struct {
	Data  string `required:"" type:"path" help:"The node's data folder."`
	Limit int    `default:"20" help:"How many backups to list (0: all)."`
}

// Run lists the backups and the status.
func (c BackupListCmd) Run(env *Env) error {
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	st, err := backup.CurrentStatus(env.Ctx, n)
	if err != nil {
		return err
	}
	switch {
	case st.LastGood == nil && !st.Scheduled:
		fmt.Fprintln(env.Stdout, "No backup yet, and none scheduled (set backup.folder in jukinet.toml, or run jukinet backup --to FOLDER).")
	case st.LastGood == nil:
		fmt.Fprintf(env.Stdout, "WARNING: no good backup yet; scheduled daily at %s into %s.\n", n.Config.Backup.At, st.Folder)
	default:
		age := n.Now().Sub(st.LastGood.TakenAt).Round(time.Minute)
		warn := ""
		if st.Stale {
			warn = fmt.Sprintf("WARNING: older than backup.max_age (%s). ", st.MaxAge)
		}
		fmt.Fprintf(env.Stdout, "%sLast good backup: %s, %s ago (%s).\n", warn, st.LastGood.Path(), age, jstTime(st.LastGood.TakenAt))
	}
	if st.LastFailed != nil {
		fmt.Fprintf(env.Stdout, "WARNING: the last backup failed at %s: %s\n", jstTime(st.LastFailed.TakenAt), st.LastFailed.Error)
	}
	recs, err := backup.List(env.Ctx, n.DB, c.Limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TAKEN (JST)\tBY\tRESULT\tFORM\tBYTES\tENTRIES\tFILE")
	for _, r := range recs {
		result := "ok"
		switch {
		case !r.OK:
			result = "FAILED: " + r.Error
		case r.Removed != nil:
			result = "erased " + jstTime(*r.Removed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", jstTime(r.TakenAt), r.TakenBy, result, r.Form, r.Size, r.Entries, r.Path())
	}
	return tw.Flush()
}

// BackupKeygenCmd is `jukinet backup keygen`.
type BackupKeygenCmd struct {
	Out string `required:"" type:"path" help:"The identity file to write (refused if it exists); keep it off the node."`
}

// Run writes a new age identity and prints its recipient.
func (c BackupKeygenCmd) Run(env *Env) error {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return fmt.Errorf("make a key pair: %w", err)
	}
	text := fmt.Sprintf("# jukinet backup identity, made %s\n# recipient: %s\n%s\n", jstTime(env.now()), id.Recipient(), id)
	if err := fileutil.WriteNew(c.Out, []byte(text), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Identity written to %s (mode 0600): keep it off the node; without it no backup encrypted to it can be restored.\n", c.Out)
	fmt.Fprintf(env.Stdout, "Recipient (put it in backup.recipients, or give it with --recipient):\n%s\n", id.Recipient())
	return nil
}

// RestoreCmd is `jukinet restore`.
type RestoreCmd struct {
	From      string `required:"" type:"path" help:"The backup file (.jkbackup, or .jkbackup.age when encrypted)."`
	Data      string `required:"" type:"path" help:"The new data folder: missing or empty, never a node's."`
	DB        string `name:"db" help:"An empty PostgreSQL database (postgres://…; a schema by search_path) to restore into; default: SQLite in the new folder."`
	Identity  string `type:"path" help:"The age identity file, for an encrypted backup."`
	ExpectKey string `type:"path" help:"The node's public key file (node.pub, kept apart): refuse a backup not signed with it."`
}

// Run restores the backup and says what the node holds.
func (c RestoreCmd) Run(env *Env) error {
	expect := ""
	if c.ExpectKey != "" {
		b, err := os.ReadFile(c.ExpectKey)
		if err != nil {
			return fmt.Errorf("--expect-key: %w", err)
		}
		expect = string(b)
	}
	r, err := backup.Restore(env.Ctx, backup.RestoreOptions{From: c.From, Dir: c.Data, DatabaseURL: c.DB, Identity: c.Identity, ExpectKey: expect, Now: env.now})
	if err != nil {
		return gateError(err)
	}
	m := r.Manifest
	fmt.Fprintf(env.Stdout, "Restored %s (%s, %s) into %s, database %s.\n", m.NodeName, m.Node, m.Level, r.Dir, r.DatabaseURL)
	fmt.Fprintf(env.Stdout, "  backup taken %s by %s with jukinet %s\n", jstTime(m.TakenAt), m.TakenBy, m.Version)
	fmt.Fprintf(env.Stdout, "  residents %d (versions %d), staff %d, audit entries %d up to signed checkpoint %d, verified: %s\n",
		m.Tables["resident"], m.Tables["identity_record"], m.Tables["staff_person"], m.Entries, m.CheckpointSize, r.Report)
	fmt.Fprintln(env.Stdout, "The node is behind: what it did after the backup is not in it. Before it serves, recover from its upstream (docs/operations.md):")
	fmt.Fprintf(env.Stdout, "  jukinet recover --data %s\n", r.Dir)
	return nil
}
