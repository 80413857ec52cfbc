package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"jukinet/internal/apperr"
	"jukinet/internal/correspondence"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// CorrespondenceCmd is `jukinet correspondence`: reports and requests
// between bodies (報告・依頼, koto-ward:15) from the server's console. A
// document sent is signed with the node's key, queued in the transaction
// of its audit entry and delivered by the running node (serve) to the
// recipient peer, whose signed acknowledgement is kept; decided by the
// policies (send-correspondence; console use can be turned off in
// jukinet.toml) and logged with the OS user.
type CorrespondenceCmd struct {
	Send   CorrespondenceSendCmd   `cmd:"" help:"Send a report or a request to a peer body (its code: jukinet federation status lists the peers)."`
	Answer CorrespondenceAnswerCmd `cmd:"" help:"Send the answer to a request received; it closes the request on both sides."`
	List   CorrespondenceListCmd   `cmd:"" help:"List the documents sent and received, with their state; requests open, answered or overdue."`
	Show   CorrespondenceShowCmd   `cmd:"" help:"Show one document, with its signed note and the recipient's acknowledgement."`
}

// CorrespondenceSendCmd is `jukinet correspondence send`.
type CorrespondenceSendCmd struct {
	dataFlag
	To      string   `required:"" help:"The recipient body's code (e.g. 130001, or national)."`
	Kind    string   `required:"" enum:"incident,audit,usage,other,investigate,report-request,measures" help:"incident, audit, usage or other (reports); investigate, report-request or measures (requests, with --due)."`
	Subject string   `required:"" help:"The subject (件名)."`
	Body    string   `help:"The text (本文); or --file."`
	File    string   `help:"Read the text from this file (UTF-8)."`
	Ref     []string `name:"ref" help:"A reference: incident:N, alert:N, audit:N, status-report:N, audit-entry:N, document:ID; repeat."`
	Due     string   `help:"A request's due day for the answer: 2026-12-15, R8.12.15 or 令和8年12月15日."`
}

func bodyText(body, file string) (string, error) {
	if file == "" {
		return body, nil
	}
	if body != "" {
		return "", apperr.New(apperr.Invalid, "give --body or --file, not both", "--body と --file はどちらか一方を指定してください")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	return string(raw), nil
}

// Run sends the document.
func (c CorrespondenceSendCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		body, err := bodyText(c.Body, c.File)
		if err != nil {
			return err
		}
		refs, err := correspondence.ParseReferences(strings.Join(c.Ref, " "))
		if err != nil {
			return err
		}
		due, err := correspondence.ParseDue(c.Due)
		if err != nil {
			return err
		}
		d, err := n.Correspondence.Send(env.Ctx, consoleWho(), correspondence.Draft{Recipient: c.To, Kind: correspondence.Kind(c.Kind),
			Subject: c.Subject, Body: body, References: refs, Due: due})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Document %s (%s) queued for %s, signed; the running node delivers it (jukinet correspondence show --id %s).\n", d.ID, d.Kind, d.Recipient, d.ID)
		return nil
	})
}

// CorrespondenceAnswerCmd is `jukinet correspondence answer`.
type CorrespondenceAnswerCmd struct {
	dataFlag
	ID      string   `required:"" help:"The request's id (correspondence list)."`
	Subject string   `required:"" help:"The subject (件名)."`
	Body    string   `help:"The answer (本文); or --file."`
	File    string   `help:"Read the answer from this file (UTF-8)."`
	Ref     []string `name:"ref" help:"A reference, as for send; repeat."`
}

// Run sends the answer.
func (c CorrespondenceAnswerCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		body, err := bodyText(c.Body, c.File)
		if err != nil {
			return err
		}
		refs, err := correspondence.ParseReferences(strings.Join(c.Ref, " "))
		if err != nil {
			return err
		}
		d, err := n.Correspondence.Answer(env.Ctx, consoleWho(), c.ID, c.Subject, body, refs)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Answer %s to request %s queued for %s, signed.\n", d.ID, c.ID, d.Recipient)
		return nil
	})
}

// CorrespondenceListCmd is `jukinet correspondence list`.
type CorrespondenceListCmd struct {
	dataFlag
	Direction string `name:"direction" enum:"all,in,out" default:"all" help:"all, in (received) or out (sent)."`
	Overdue   bool   `help:"Only the requests past their due day, unanswered, on the node's clock."`
}

// Run lists the documents.
func (c CorrespondenceListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		now := n.Now()
		var docs []correspondence.Document
		var err error
		if c.Overdue {
			docs, err = correspondence.Overdue(env.Ctx, n.DB, now)
		} else {
			dir := correspondence.Direction(c.Direction)
			if c.Direction == "all" {
				dir = ""
			}
			docs, err = correspondence.List(env.Ctx, n.DB, dir)
		}
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		if len(docs) == 0 {
			fmt.Fprintln(tw, "No document.")
		}
		for _, d := range docs {
			arrow := "to " + d.Recipient
			if d.Direction == correspondence.In {
				arrow = "from " + d.Sender
			}
			state := string(d.State)
			if rs := d.RequestState(now); rs != "" {
				state += ", request " + rs
				if !d.Due.IsZero() {
					state += " (due " + jptext.Midnight(d.Due).Format("2006-01-02") + ")"
				}
				if d.Answered() {
					state += " by " + d.AnsweredBy
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Direction, arrow, d.Kind, state, d.Subject)
		}
		return tw.Flush()
	})
}

// CorrespondenceShowCmd is `jukinet correspondence show`.
type CorrespondenceShowCmd struct {
	dataFlag
	ID string `required:"" help:"The document's id."`
}

// Run shows the document.
func (c CorrespondenceShowCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		d, err := correspondence.Get(env.Ctx, n.DB, c.ID)
		if err != nil {
			return err
		}
		w := env.Stdout
		fmt.Fprintf(w, "document %s (%s, %s)\nfrom %s to %s, sent %s by %s %s\nstate %s", d.ID, d.Kind, d.Kind.Japanese(), d.Sender, d.Recipient, jstTime(d.SentAt), d.SentBy, d.SentByName, d.State)
		if !d.AckedAt.IsZero() {
			fmt.Fprintf(w, ", acknowledged %s", jstTime(d.AckedAt))
		}
		if d.LastError != "" {
			fmt.Fprintf(w, " (attempts %d, last: %s)", d.Attempts, d.LastError)
		}
		fmt.Fprintln(w)
		if rs := d.RequestState(n.Now()); rs != "" {
			fmt.Fprintf(w, "request %s, due %s", rs, d.Due.Format("2006-01-02"))
			if d.Answered() {
				fmt.Fprintf(w, ", answered by %s %s", d.AnsweredBy, jstTime(d.AnsweredAt))
			}
			fmt.Fprintln(w)
		}
		if d.Answers != "" {
			fmt.Fprintf(w, "answers %s\n", d.Answers)
		}
		if len(d.References) > 0 {
			fmt.Fprintf(w, "references %s\n", strings.Join(d.References, " "))
		}
		fmt.Fprintf(w, "subject %s\n\n%s\n\n-- signed note --\n%s", d.Subject, d.Body, d.Note)
		if d.AckNote != "" {
			fmt.Fprintf(w, "-- acknowledgement --\n%s", d.AckNote)
		}
		return nil
	})
}
