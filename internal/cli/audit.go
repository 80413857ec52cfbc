package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// AuditCmd groups the audit log commands.
type AuditCmd struct {
	Verify     AuditVerifyCmd     `cmd:"" help:"Recompute the audit log's tree from its entries and check it against every signed checkpoint."`
	Show       AuditShowCmd       `cmd:"" help:"List audit entries."`
	Prove      AuditProveCmd      `cmd:"" help:"Write an inclusion proof of one entry against the latest signed checkpoint."`
	CheckProof AuditCheckProofCmd `cmd:"" name:"check-proof" help:"Check an inclusion proof offline with the node's public key."`
	Prune      AuditPruneCmd      `cmd:"" help:"Prune entries older than the retention period to their hashes (logged)."`
	Checkpoint AuditCheckpointCmd `cmd:"" help:"Print the latest signed checkpoint, to keep outside the node (audit verify --checkpoint FILE)."`
}

// AuditCheckpointCmd is `jukinet audit checkpoint`.
type AuditCheckpointCmd struct {
	Data string `required:"" type:"path" help:"The node's data folder."`
}

// Run prints the latest signed checkpoint.
func (c AuditCheckpointCmd) Run(env *Env) error {
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	cp, err := auditlog.LatestCheckpoint(env.Ctx, n.DB)
	if err != nil {
		return err
	}
	if cp == nil {
		return fmt.Errorf("no signed checkpoint yet: the node signs one every %s while entries arrive, and on shutdown", n.Config.Audit.CheckpointInterval.Duration)
	}
	_, err = env.Stdout.Write(cp.Note)
	return err
}

// AuditVerifyCmd is `jukinet audit verify`.
type AuditVerifyCmd struct {
	Data       string   `required:"" type:"path" help:"The node's data folder."`
	Checkpoint []string `type:"path" help:"A signed checkpoint kept outside the node (repeatable)."`
}

// Run verifies and prints a one-line summary (exit 0), or names the first
// bad entry (exit 1). A --checkpoint file that cannot be read or is not a
// signed checkpoint at all is a mistake in the command, not a finding
// about the log: exit 2. Interrupted, it says nothing of the log: exit 130.
func (c AuditVerifyCmd) Run(env *Env) error {
	var external [][]byte
	for _, f := range c.Checkpoint {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(env.Stderr, "jukinet: --checkpoint: %v\n", err)
			return exitError{2}
		}
		external = append(external, b)
	}
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	for i, b := range external {
		if _, err := auditlog.OpenCheckpoint(b, n.Verifier); errors.Is(err, auditlog.ErrNotCheckpoint) {
			fmt.Fprintf(env.Stderr, "jukinet: --checkpoint %s: %v; give a file jukinet audit checkpoint wrote\n", c.Checkpoint[i], err)
			return exitError{2}
		}
	}
	// What a serving process journaled gets its rows first: the log is
	// verified as far as it has answered. If that fails (a damaged
	// journal), the rows are still verified, and the failure is the result.
	journalErr := n.SyncJournal(env.Ctx)
	if journalErr != nil && env.Ctx.Err() != nil {
		fmt.Fprintln(env.Stderr, "jukinet:", journalErr)
		return exitError{130}
	}
	if journalErr != nil {
		fmt.Fprintf(env.Stderr, "jukinet: %v; verifying the entries that have rows\n", journalErr)
	}
	// On a terminal, a long verification shows how far it has come.
	var progress func(int64)
	if f, ok := env.Stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			progress = func(entries int64) { fmt.Fprintf(f, "\rverified %d entries …", entries) }
		}
	}
	rep, err := auditlog.VerifyProgress(env.Ctx, n.DB, n.Verifier, progress, external...)
	if progress != nil {
		fmt.Fprint(env.Stderr, "\r\033[K") // the progress line gives way to the result
	}
	if err != nil && env.Ctx.Err() != nil {
		// Interrupted: nothing is said of the log (exit 130, as for Ctrl+C).
		fmt.Fprintln(env.Stderr, "jukinet:", err)
		return exitError{130}
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, rep.String())
	if journalErr != nil {
		return fmt.Errorf("the rows verify, but the audit journal's pending entries could not be written: %w", journalErr)
	}
	return nil
}

// AuditShowCmd is `jukinet audit show`.
type AuditShowCmd struct {
	Data     string `required:"" type:"path" help:"The node's data folder."`
	Resident string `help:"Only entries concerning this 住民票コード (provision records included)."`
	Since    string `help:"Only entries at or after this day (YYYY-MM-DD, R8.1.1 …) or time (RFC 3339)."`
	Actor    string `help:"Only this actor: kind:id or id."`
	Action   string `help:"Only this action: lookup, search, history, apply, import, export, prune."`
	After    int64  `default:"-1" help:"Only entries after this number."`
	Limit    int    `default:"100" help:"At most this many entries."`
}

// Run lists entries, one per line.
func (c AuditShowCmd) Run(env *Env) error {
	f := auditlog.Filter{Resident: c.Resident, Actor: c.Actor, Action: c.Action, After: c.After, Limit: c.Limit}
	if c.Since != "" {
		if t, err := time.Parse(time.RFC3339, c.Since); err == nil {
			f.Since = t
		} else if d, err := jptext.ParseDate(c.Since); err == nil {
			f.Since = d.Add(-9 * time.Hour) // midnight in Japan
		} else {
			return fmt.Errorf("--since %q: give a day (2026-11-22, R8.11.22) or a time (2026-11-22T09:00:00+09:00)", c.Since)
		}
	}
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	// What a serving process journaled gets its rows first, so that the
	// list holds every entry answered so far.
	if err := n.SyncJournal(env.Ctx); err != nil {
		if env.Ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "jukinet: %v; listing the entries that have rows\n", err)
	}
	list, err := auditlog.List(env.Ctx, n.DB, f)
	if err != nil {
		return err
	}
	for _, l := range list {
		fmt.Fprintln(env.Stdout, l.Summary())
	}
	if len(list) == 0 {
		fmt.Fprintln(env.Stderr, "no entries match")
	}
	return nil
}

// AuditProveCmd is `jukinet audit prove`.
type AuditProveCmd struct {
	Data  string `required:"" type:"path" help:"The node's data folder."`
	Entry int64  `required:"" help:"The entry's number."`
}

// Run writes the proof to stdout.
func (c AuditProveCmd) Run(env *Env) error {
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	proof, err := auditlog.Prove(env.Ctx, n.DB, c.Entry)
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(proof)
	return err
}

// AuditCheckProofCmd is `jukinet audit check-proof`.
type AuditCheckProofCmd struct {
	Key  string `required:"" help:"The node's public key (the text of node.pub), or the path of node.pub."`
	File string `arg:"" type:"path" help:"The proof file written by jukinet audit prove."`
}

// Run checks the proof and says what it establishes.
func (c AuditCheckProofCmd) Run(env *Env) error {
	key := c.Key
	if b, err := os.ReadFile(key); err == nil {
		key = strings.TrimSpace(string(b))
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return fmt.Errorf("--key: not a node public key (name+hash+key) nor a file holding one: %v", err)
	}
	text, err := os.ReadFile(c.File)
	if err != nil {
		return fmt.Errorf("read proof: %w", err)
	}
	res, err := auditlog.CheckProof(text, v)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "proof valid: entry %d is in the audit log of %s, checkpoint of size %d signed by %s\n",
		res.Entry, res.Checkpoint.Origin, res.Checkpoint.Size, v.Name())
	if res.Content != nil {
		fmt.Fprintln(env.Stdout, auditlog.Listed{Seq: res.Entry, Entry: res.Content}.Summary())
	} else {
		fmt.Fprintln(env.Stdout, "(the entry's content was pruned; its hash is proven)")
	}
	return nil
}

// AuditPruneCmd is `jukinet audit prune`.
type AuditPruneCmd struct {
	Data string `required:"" type:"path" help:"The node's data folder."`
}

// Run prunes entries older than audit.retention_years, counted in whole
// days in Japan back from today. Like any console act it is decided by the
// profile's policies (refused when console use is off) and logged, allowed
// or not.
func (c AuditPruneCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		ctx := env.Ctx
		years := n.Config.Audit.RetentionYears
		before := auditlog.RetentionCutoff(n.Now(), years)
		req := consoleRequest("監査ログの保存期間管理", fmt.Sprintf("保存期間（%d年）を過ぎた記録の内容削除", years), "")
		who := staff.Who{Actor: req.Actor, Origin: req.Origin}
		v := n.Policy.MayAdminister(ctx, who, staff.ActPruneAudit, staff.Resource{Kind: "node", ID: string(n.Info.LocalGov.Code)})
		e := auditlog.Entry{Node: string(n.Info.LocalGov.Code), Actor: req.Actor, Origin: req.Origin, Affair: req.Affair, Reason: req.Reason,
			Decision: auditlog.Allow, Policy: v.Policy, Why: v.Why, WhyJapanese: v.Japanese, Outcome: auditlog.OutcomeOK}
		if !v.Allow {
			e.Action, e.Decision, e.Outcome = "prune", auditlog.Deny, auditlog.OutcomeDenied
			e.Detail = "entries before " + before.UTC().Format(time.RFC3339)
			if _, err := n.Log.Append(ctx, e); err != nil {
				return err
			}
			return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
		}
		count, err := n.Log.Prune(ctx, before, e)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Pruned %d entries from before %s (JST) to their hashes.\n", count, jstDate(before))
		return nil
	})
}
