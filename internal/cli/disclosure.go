package cli

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/auditlog"
	"jukinet/internal/disclosure"
)

// DisclosureCmd groups the commands of disclosures to residents
// (本人確認情報の提供状況の開示, issue 18).
type DisclosureCmd struct {
	Verify DisclosureVerifyCmd `cmd:"" help:"Check a resident's proof offline: every entry listed is in the audit log, and none concerning the resident was left out."`
	Page   DisclosurePageCmd   `cmd:"" help:"Write the offline verification page (one HTML file, no network) that checks a resident's proof in a browser."`
}

// DisclosurePageCmd is `jukinet disclosure page`.
type DisclosurePageCmd struct{}

// Run writes the page to stdout.
func (DisclosurePageCmd) Run(env *Env) error {
	_, err := env.Stdout.Write(disclosure.VerifierPage())
	return err
}

// DisclosureVerifyCmd is `jukinet disclosure verify`.
type DisclosureVerifyCmd struct {
	Key     string   `required:"" help:"The node's public key (the text of node.pub), or the path of node.pub."`
	Witness []string `help:"A witness's public key, or the path of a file holding it, whose cosignature of the checkpoint is required (repeatable)."`
	File    string   `arg:"" type:"path" help:"The resident proof (JSON) of a disclosure."`
}

// readVerifier reads a note verifier key given as text or as a file's path.
func readVerifier(flag, key string) (note.Verifier, error) {
	if b, err := os.ReadFile(key); err == nil {
		key = strings.TrimSpace(string(b))
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("%s: not a public key (name+hash+key) nor a file holding one: %v", flag, err)
	}
	return v, nil
}

// Run checks the proof and lists the entries it proves (exit 0), or says
// what is wrong with it (exit 1).
func (c DisclosureVerifyCmd) Run(env *Env) error {
	v, err := readVerifier("--key", c.Key)
	if err != nil {
		return err
	}
	var ws []note.Verifier
	for _, k := range c.Witness {
		w, err := readVerifier("--witness", k)
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	doc, err := os.ReadFile(c.File)
	if err != nil {
		return fmt.Errorf("read the proof: %w", err)
	}
	res, err := auditlog.CheckResidentProof(doc, v, ws...)
	if err != nil {
		return fmt.Errorf("proof NOT valid: %w", err)
	}
	cosigned := "not checked against a witness (give --witness)"
	if len(res.Witnesses) > 0 {
		cosigned = "cosigned by " + strings.Join(res.Witnesses, ", ")
	}
	fmt.Fprintf(env.Stdout, "proof valid: %d entries of the audit log of %s concern resident %s up to its checkpoint of size %d, signed by %s, %s; none was left out\n",
		len(res.Entries), res.Checkpoint.Origin, res.Resident, res.Checkpoint.Size, v.Name(), cosigned)
	for _, e := range res.Entries {
		if e.Content == nil {
			fmt.Fprintf(env.Stdout, "#%d (pruned at the end of its retention period: its hash is proven)\n", e.Seq)
			continue
		}
		fmt.Fprintln(env.Stdout, auditlog.Listed{Seq: e.Seq, Entry: e.Content}.Summary())
	}
	return nil
}
