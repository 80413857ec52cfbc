package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/fileutil"
	"jukinet/internal/node"
	"jukinet/internal/staff"
	"jukinet/internal/terminalca"
)

// TerminalCmd manages terminal identity.
type TerminalCmd struct {
	Cert TerminalCertCmd `cmd:"" help:"Issue the client TLS certificate of an approved terminal, from the node's terminal CA (logged)."`
}

// TerminalCertCmd is `jukinet terminal cert`.
type TerminalCertCmd struct {
	dataFlag
	ID   string `name:"id" required:"" help:"Terminal id (approved and in use: jukinet staff terminal)."`
	Out  string `required:"" type:"path" help:"Folder to write ID.pem and ID.key into."`
	Days int    `default:"365" help:"Validity in days."`
}

// Run issues the certificate.
func (c TerminalCertCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		ctx := env.Ctx
		t, err := n.Staff.Terminal(ctx, c.ID)
		if err != nil {
			return err
		}
		if !t.RetiredAt.IsZero() {
			return apperr.New(apperr.Conflict, fmt.Sprintf("terminal %s is retired", c.ID), fmt.Sprintf("端末 %s は廃止されています", c.ID))
		}
		who := consoleWho()
		v := n.Policy.MayAdminister(ctx, who, staff.ActApproveTerminal, staff.Resource{Kind: "department", ID: t.Department})
		e := auditlog.Entry{Node: string(n.Info.LocalGov.Code), Actor: who.Actor, Origin: who.Origin, Action: "terminal.cert", Query: "terminal:" + c.ID,
			Decision: auditlog.Allow, Policy: v.Policy, Why: v.Why, WhyJapanese: v.Japanese, Outcome: auditlog.OutcomeOK}
		if !v.Allow {
			e.Decision, e.Outcome = auditlog.Deny, auditlog.OutcomeDenied
			if _, err := n.Log.Append(ctx, e); err != nil {
				return err
			}
			return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
		}
		ca, err := terminalca.Open(n.Dir, n.Info.Name())
		if err != nil {
			return err
		}
		is, err := ca.IssueTerminal(c.ID, time.Duration(c.Days)*24*time.Hour)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(c.Out, 0o750); err != nil {
			return err
		}
		certPath, keyPath := filepath.Join(c.Out, c.ID+".pem"), filepath.Join(c.Out, c.ID+".key")
		e.Detail = fmt.Sprintf("serial %s, valid until %s", is.Serial, is.NotAfter.UTC().Format(time.DateOnly))
		// Logged before the key is written out.
		if _, err := n.Log.Append(ctx, e); err != nil {
			return err
		}
		if err := fileutil.WriteNew(keyPath, is.KeyPEM, 0o600); err != nil {
			return err
		}
		if err := fileutil.WriteNew(certPath, is.CertPEM, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Issued the certificate of terminal %s (serial %s, valid until %s):\n  %s\n  %s\n",
			c.ID, is.Serial, jstDate(is.NotAfter), certPath, keyPath)
		fmt.Fprintf(env.Stdout, "For a browser, bundle them: openssl pkcs12 -export -in %s -inkey %s -out %s.p12\n", certPath, keyPath, c.ID)
		fmt.Fprintf(env.Stdout, "Browsers must trust the node's CA: %s\n", filepath.Join(n.Dir, terminalca.CACertFile))
		return nil
	})
}
