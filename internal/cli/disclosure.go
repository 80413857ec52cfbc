package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/disclosure"
	"jukinet/internal/fileutil"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// DisclosureCmd groups the commands of disclosures to residents
// (本人確認情報の提供状況の開示, issue 18).
type DisclosureCmd struct {
	Receive DisclosureReceiveCmd `cmd:"" help:"Record a disclosure request received: the resident, who asked and how their identity was checked, what is asked."`
	Decide  DisclosureDecideCmd  `cmd:"" help:"Record the decision on a request: disclose, partial or refuse (with the reason)."`
	Issue   DisclosureIssueCmd   `cmd:"" help:"Issue a decided request's document: the PDF for the resident and the proof file (JSON); the issue is logged first."`
	List    DisclosureListCmd    `cmd:"" help:"List the disclosure requests, with those past their decision's due day."`
	Verify  DisclosureVerifyCmd  `cmd:"" help:"Check a resident's proof offline: every entry listed is in the audit log, and none concerning the resident was left out."`
	Page    DisclosurePageCmd    `cmd:"" help:"Write the offline verification page (one HTML file, no network) that checks a resident's proof in a browser."`
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
		fmt.Fprintln(env.Stdout, auditlog.Listed{Seq: e.Seq, Entry: e.Content}.Summary())
	}
	return nil
}

// DisclosureReceiveCmd is `jukinet disclosure receive`.
type DisclosureReceiveCmd struct {
	dataFlag
	Resident  string   `required:"" help:"The resident's 住民票コード."`
	Requester string   `required:"" enum:"self,representative" help:"self (本人) or representative (代理人)."`
	Name      string   `help:"A representative's name."`
	Authority string   `help:"How a representative's authority was confirmed (委任状, 戸籍謄本 …)."`
	IDCheck   string   `required:"" name:"id-check" enum:"my-number-card,driver-licence,passport,other" help:"How the requester's identity was checked."`
	Item      []string `required:"" enum:"identity,provisions,accesses" help:"What is asked: identity, provisions, accesses (repeatable)."`
	Received  string   `help:"The day received (today when omitted): 2026-12-01, R8.12.1 or 令和8年12月1日."`
}

// Run records the request.
func (c DisclosureReceiveCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		q := disclosure.Request{Resident: c.Resident, Requester: disclosure.Requester(c.Requester), RequesterName: c.Name, Authority: c.Authority,
			IDCheck: disclosure.IDCheck(c.IDCheck)}
		for _, it := range c.Item {
			q.Items = append(q.Items, disclosure.Item(it))
		}
		if c.Received != "" {
			day, err := jptext.ParseDay("received", "受付日", c.Received)
			if err != nil {
				return err
			}
			q.Received = day
		}
		id, err := n.Disclosures.Receive(env.Ctx, consoleWho(), q)
		if err != nil {
			return err
		}
		r, err := disclosure.Get(env.Ctx, n.DB, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Disclosure request %d received for %s: the decision is due by %s (JST).\n", id, r.Resident, r.Due.Format(time.DateOnly))
		return nil
	})
}

// DisclosureDecideCmd is `jukinet disclosure decide`.
type DisclosureDecideCmd struct {
	dataFlag
	ID       int64  `arg:"" help:"The request's number (disclosure list)."`
	Decision string `required:"" enum:"disclose,partial,refuse" help:"disclose (開示), partial (部分開示) or refuse (不開示)."`
	Reason   string `help:"The reason (required for partial and refuse)."`
}

// Run records the decision.
func (c DisclosureDecideCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := n.Disclosures.Decide(env.Ctx, consoleWho(), c.ID, disclosure.Decision(c.Decision), c.Reason); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Disclosure request %d: %s.\n", c.ID, c.Decision)
		return nil
	})
}

// DisclosureIssueCmd is `jukinet disclosure issue`.
type DisclosureIssueCmd struct {
	dataFlag
	ID       int64  `arg:"" help:"The request's number (disclosure list)."`
	PDF      string `required:"" name:"pdf" type:"path" help:"Where to write the document for the resident (PDF)."`
	Proof    string `required:"" type:"path" help:"Where to write the proof file (JSON) that goes with it."`
	Delivery string `help:"How it is handed over (窓口交付 when omitted; 郵送 …)."`
}

// Run issues the document: the issue is logged, then the files written.
func (c DisclosureIssueCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		people, err := n.Staff.People(env.Ctx)
		if err != nil {
			return err
		}
		doc, err := n.Disclosures.Issue(env.Ctx, consoleWho(), c.ID, c.Delivery, disclosure.PDF(n.Profile, n.Info.Name(), people, n.Now()))
		if err != nil {
			return err
		}
		if err := fileutil.Replace(c.PDF, doc.PDF, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", c.PDF, err)
		}
		if err := fileutil.Replace(c.Proof, doc.JSON, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", c.Proof, err)
		}
		fmt.Fprintf(env.Stdout, "Disclosure request %d issued: %d entries up to checkpoint %d; wrote %s (form %s) and %s (proof sha256 %s).\n",
			c.ID, len(doc.Proof.Entries), doc.Request.CheckpointSize, c.PDF, doc.Form.Number, c.Proof, doc.Request.ProofSHA256)
		return nil
	})
}

// DisclosureListCmd is `jukinet disclosure list`.
type DisclosureListCmd struct{ dataFlag }

// Run lists the requests.
func (c DisclosureListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		v := n.Policy.MayAdminister(env.Ctx, consoleWho(), disclosure.ActView, staff.Resource{Kind: "department", ID: n.Profile.Disclosure.Department})
		if !v.Allow {
			return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
		}
		all, err := disclosure.List(env.Ctx, n.DB)
		if err != nil {
			return err
		}
		now := n.Now()
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "request\tresident\treceived\tdue\tstate\tdecision")
		for _, r := range all {
			state := string(r.State())
			if r.Overdue(now) {
				state += " (OVERDUE)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Resident, r.Received.Format(time.DateOnly), r.Due.Format(time.DateOnly), state, r.Decision)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(all) == 0 {
			fmt.Fprintln(env.Stderr, "no disclosure requests")
		}
		return nil
	})
}
