package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/fileutil"
	"jukinet/internal/node"
	"jukinet/internal/staff"
	"jukinet/internal/terminalca"
)

// RecipientCmd registers recipient bodies (別表) and issues their certificates.
type RecipientCmd struct {
	Add  RecipientAddCmd  `cmd:"" help:"Register a body this node provides identity information to, with its affairs (logged)."`
	Cert RecipientCertCmd `cmd:"" help:"Issue a registered recipient's client TLS certificate from the node's CA (logged)."`
}

// RecipientAddCmd is `jukinet recipient add`.
type RecipientAddCmd struct {
	dataFlag
	ID       string `name:"id" required:"" help:"Recipient id, e.g. nenkin-kiko."`
	Name     string `required:"" help:"Name of the body."`
	Category string `required:"" help:"Its 別表 category, e.g. 別表第一."`
	Affairs  string `required:"" help:"Affair ids of the profile it may ask for, comma-separated."`
}

// Run registers the recipient.
func (c RecipientAddCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		r := staff.Recipient{ID: c.ID, Name: c.Name, Category: c.Category, Affairs: strings.Split(c.Affairs, ",")}
		if err := n.Staff.AddRecipient(env.Ctx, consoleWho(), r); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Registered recipient %s (%s) for %s.\n", c.ID, c.Name, c.Affairs)
		return nil
	})
}

// RecipientCertCmd is `jukinet recipient cert`.
type RecipientCertCmd struct {
	dataFlag
	ID   string `name:"id" required:"" help:"Registered recipient id."`
	Out  string `required:"" type:"path" help:"Folder to write ID.pem and ID.key into."`
	Days int    `default:"365" help:"Validity in days."`
}

// Run issues the certificate.
func (c RecipientCertCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		st, err := n.Policy.State(env.Ctx)
		if err != nil {
			return err
		}
		if _, ok := st.Recipients[c.ID]; !ok {
			return fmt.Errorf("%s is not a registered recipient (jukinet recipient add)", c.ID)
		}
		ca, err := terminalca.Open(n.Dir, n.Info.Name())
		if err != nil {
			return err
		}
		is, err := ca.IssueRecipient(c.ID, time.Duration(c.Days)*24*time.Hour)
		if err != nil {
			return err
		}
		who := consoleWho()
		e := auditlog.Entry{Node: string(n.Info.LocalGov.Code), Actor: who.Actor, Origin: who.Origin, Action: "recipient.cert", Query: "recipient:" + c.ID,
			Detail: "serial " + is.Serial, Decision: auditlog.Allow, Policy: "jukinet:console-admin", Outcome: auditlog.OutcomeOK}
		if _, err := n.Log.Append(env.Ctx, e); err != nil {
			return err
		}
		if err := os.MkdirAll(c.Out, 0o750); err != nil {
			return err
		}
		keyPath, certPath := filepath.Join(c.Out, c.ID+".key"), filepath.Join(c.Out, c.ID+".pem")
		if err := fileutil.WriteNew(keyPath, is.KeyPEM, 0o600); err != nil {
			return err
		}
		if err := fileutil.WriteNew(certPath, is.CertPEM, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Issued the certificate of recipient %s (serial %s):\n  %s\n  %s\nIt trusts the node by %s.\n",
			c.ID, is.Serial, certPath, keyPath, filepath.Join(n.Dir, terminalca.CACertFile))
		return nil
	})
}
