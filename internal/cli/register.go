package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/form"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// consoleRequest describes a command run by an OS user on the server.
func consoleRequest(affair, reason, caseRef string) gate.Request {
	name := "unknown"
	full := ""
	if u, err := user.Current(); err == nil {
		name, full = u.Username, u.Name
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return gate.Request{
		Actor:  auditlog.Actor{Kind: auditlog.ActorConsole, ID: name, Name: full},
		Origin: "host:" + host, Affair: affair, Reason: reason, CaseRef: caseRef,
	}
}

// openNode opens the node in dir on the command's clock.
func openNode(env *Env, dir string) (*node.Node, error) {
	n, err := node.Open(env.Ctx, dir)
	if err != nil {
		return nil, err
	}
	n.Now = env.now
	return n, nil
}

// openGate opens the node in dir with its audit log and gate.
func openGate(env *Env, dir string) (*node.Node, error) {
	n, err := openNode(env, dir)
	if err != nil {
		return nil, err
	}
	if err := n.OpenGate(env.Ctx, slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// gateError words a gate error for the terminal: the English message, then
// the Japanese one.
func gateError(err error) error {
	var e *apperr.Error
	if errors.As(err, &e) && e.Japanese != "" {
		return fmt.Errorf("%s (%s)", e.Message, e.Japanese)
	}
	return err
}

// ImportCmd groups the import commands.
type ImportCmd struct {
	Residents ImportResidentsCmd `cmd:"" help:"Import residents from a CSV file in the import layout, all or nothing, through the gate."`
}

// ImportResidentsCmd is `jukinet import residents`.
type ImportResidentsCmd struct {
	Data     string `required:"" type:"path" help:"The node's data folder."`
	File     string `arg:"" type:"path" help:"CSV file (docs/import-layout.md)."`
	Encoding string `enum:",utf-8,cp932" default:"" help:"utf-8 or cp932; detected when not given."`
	Affair   string `help:"Affair (利用事務) of the profile, by id or name (default: the profile's register affair, e.g. juki)."`
	Reason   string `default:"住民記録の一括取込" help:"Reason logged with the import."`
	CaseRef  string `name:"case" help:"Case reference logged with the import."`
	Report   string `type:"path" help:"Where the normalisation report goes, if any value is normalised (default: beside the file, NAME.normalised.csv); it must not exist yet."`
}

// reportPath is where the normalisation report of file goes by default:
// beside it, residents.csv → residents.normalised.csv.
func reportPath(file string) string {
	base := strings.TrimSuffix(file, filepath.Ext(file))
	return base + ".normalised.csv"
}

// Run imports the file, or lists every bad row and imports nothing. Values
// legacy systems write are normalised (docs/import-layout.md); the summary
// counts them by column, and the report, a form of the register, lists
// each one.
func (c ImportResidentsCmd) Run(env *Env) error {
	report := c.Report
	if report == "" {
		report = reportPath(c.File)
	}
	if _, err := os.Stat(report); err == nil {
		return fmt.Errorf("the normalisation report %s exists already: move it (it is a form of the register) or give --report", report)
	}
	f, err := os.Open(c.File)
	if err != nil {
		return fmt.Errorf("open import file: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	n, err := openGate(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	req := consoleRequest(registerAffair(n, c.Affair), c.Reason, c.CaseRef)
	who := staff.Who{Actor: req.Actor, Origin: req.Origin}
	progress := newProgress(env, "Importing "+filepath.Base(c.File))
	defer progress.done()
	counted := &countingReader{r: f}
	var issued form.Form
	opt := gate.ImportOptions{
		Encoding: resident.Encoding(c.Encoding),
		Report: func(r io.Reader) error {
			out, err := os.OpenFile(report, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, r); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		},
		// The report lists residents' values: a form of the register
		// (koto-ward:14), issued with the import's entry, like an export.
		RecordReport: func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry, sum string, size int64) error {
			var err error
			issued, err = n.Forms.Issue(ctx, tx, seq, e.Time, who, form.Number{}, form.Output{Kind: form.KindImportReport, Format: "csv",
				Title: "一括取込の正規化報告（" + filepath.Base(c.File) + "）", Covers: "values normalised by the import of " + filepath.Base(c.File), Residents: e.Count}, sum, size)
			if err == nil {
				e.Detail = strings.TrimSpace(e.Detail + ", report form " + issued.Number.String())
			}
			return err
		},
		Progress: func(stage gate.ImportStage, done, total int) {
			switch stage {
			case gate.ImportReading:
				fraction := -1.0
				if size > 0 {
					fraction = float64(counted.count()) / float64(size)
				}
				progress.update("reading", done, fraction)
			case gate.ImportWriting:
				progress.update("writing", done, float64(done)/float64(max(total, 1)))
			}
		},
	}
	start := time.Now()
	opt.Size = size
	rep, err := n.Gate.ImportWith(env.Ctx, req, bufio.NewReaderSize(counted, 1<<20), opt)
	progress.done()
	var ie *gate.ImportError
	if errors.As(err, &ie) {
		for _, r := range ie.Rows {
			fmt.Fprintln(env.Stderr, r.Error())
		}
		return fmt.Errorf("%s: %s; nothing was imported", c.File, ie.Summary())
	}
	if err != nil {
		return gateError(err)
	}
	fmt.Fprintf(env.Stdout, "Imported %s: %d rows, %d added, %d changed, %d unchanged, in %s (audit entry %d, file sha256 %s)\n",
		c.File, rep.Rows, rep.Added, rep.Changed, rep.Unchanged, time.Since(start).Round(time.Millisecond), rep.AuditSeq, rep.SHA256)
	printNormalised(env.Stdout, rep, report, issued)
	return nil
}

// printNormalised writes how many values the import normalised, by column
// and how, and where the report is.
func printNormalised(w io.Writer, rep gate.ImportReport, report string, issued form.Form) {
	if len(rep.Normalised) == 0 {
		return
	}
	if rep.ReportValues > 0 {
		fmt.Fprintf(w, "Normalised %s values; each is listed in %s, form %s (帳票管理番号): keep it as the forms register says (jukinet form show %s).\n",
			thousands(rep.Values), report, issued.Number, issued.Number)
	} else {
		fmt.Fprintf(w, "Normalised %s values:\n", thousands(rep.Values))
	}
	for _, c := range rep.Normalised {
		col := "file"
		if c.Column != "" {
			col = c.Column + " " + resident.ColumnLabel(c.Column)
		}
		fmt.Fprintf(w, "  %s: %s: %s件 (%s)\n", col, c.How.Japanese(), thousands(c.Values), c.How.English())
	}
}

// ExportCmd groups the export commands.
type ExportCmd struct {
	Residents ExportResidentsCmd `cmd:"" help:"Write residents as CSV to stdout, through the gate (logged as a provision of every resident)."`
}

// ExportResidentsCmd is `jukinet export residents`.
type ExportResidentsCmd struct {
	Data        string `required:"" type:"path" help:"The node's data folder."`
	AsOf        string `name:"as-of" help:"The day whose records to export, YYYY-MM-DD (default: today's)."`
	Encoding    string `enum:"utf-8,cp932" default:"utf-8" help:"utf-8 or cp932."`
	Affair      string `help:"Affair (利用事務) of the profile, by id or name (default: the profile's register affair, e.g. juki)."`
	Reason      string `default:"住民記録の一括出力" help:"Reason logged with the export."`
	CaseRef     string `name:"case" help:"Case reference logged with the export."`
	Destination string `help:"Where the file goes (a medium kept in the store, a named body or person), recorded with its form (default: the one who exports it)."`
}

// Run exports.
func (c ExportResidentsCmd) Run(env *Env) error {
	var asOf time.Time
	if c.AsOf != "" {
		d, err := jptext.ParseDate(c.AsOf)
		if err != nil {
			return fmt.Errorf("--as-of: %w", err)
		}
		asOf = d
	}
	n, err := openGate(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	out := bufio.NewWriterSize(env.Stdout, 1<<20)
	req := consoleRequest(registerAffair(n, c.Affair), c.Reason, c.CaseRef)
	who := staff.Who{Actor: req.Actor, Origin: req.Origin}
	// The batch file is a form of the register (koto-ward:14), issued with
	// the export's entry. Its number is not written into the file, which
	// keeps the import layout: it names the file and the medium.
	var issued form.Form
	covers := "records in force on " + c.AsOf
	if c.AsOf == "" {
		covers = "records in force on the day of the export"
	}
	progress := newProgress(env, "Exporting")
	defer progress.done()
	count, err := n.Gate.ExportWithProgress(env.Ctx, req, asOf, resident.Encoding(c.Encoding), out,
		func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry, sum string, size int64) error {
			var err error
			issued, err = n.Forms.Issue(ctx, tx, seq, e.Time, who, form.Number{}, form.Output{Kind: form.KindResidentExport, Format: "csv",
				Title: "本人確認情報の一括出力（" + c.Encoding + "）", Covers: covers, Residents: e.Count, Destination: c.Destination}, sum, size)
			if err == nil {
				e.Detail = strings.TrimSpace(e.Detail + " form " + issued.Number.String())
			}
			return err
		},
		func(done, total int) {
			fraction := -1.0
			if total > 0 {
				fraction = float64(done) / float64(total)
			}
			progress.update("writing", done, fraction)
		})
	progress.done()
	if err != nil {
		return gateError(err)
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(env.Stderr, "Exported %d residents as form %s (帳票管理番号): name the file and its medium by it; due back or disposed of by %s (jukinet form show %s).\n",
		count, issued.Number, jstDate(issued.Due), issued.Number)
	return nil
}

// LookupCmd is `jukinet lookup`.
type LookupCmd struct {
	Data    string `required:"" type:"path" help:"The node's data folder."`
	Code    string `help:"住民票コード." xor:"key"`
	Number  string `help:"個人番号." xor:"key"`
	Name    string `help:"Four-item search: the whole name or the surname, in kanji, kana or Latin letters in any order; 旧氏 and 通称 too." xor:"key"`
	Kana    string `help:"Four-item search: the first kana of the reading (ワタナ)."`
	Birth   string `help:"Four-item search: date of birth, 1970-03-02, S45.3.2 or 昭和45年3月2日."`
	Sex     string `help:"Four-item search: 1/男 or 2/女 (narrows only)."`
	Address string `help:"Four-item search: any part of the address."`
	History bool   `help:"Show every version of the record (with --code or --number)."`
	Affair  string `required:"" help:"Affair (利用事務) the lookup is for."`
	Reason  string `required:"" help:"Why you look this resident up."`
	CaseRef string `name:"case" help:"Case or application number."`
}

// searching reports whether the command is a four-item search.
func (c LookupCmd) searching() bool {
	return c.Code == "" && c.Number == "" && (c.Name != "" || c.Kana != "" || c.Birth != "" || c.Address != "" || c.Sex != "")
}

// Run looks up and prints; every lookup is logged with the OS user. A
// search by any items the profile allows (docs/search.md): name and birth,
// surname and birth, kana prefix and birth or address, name and address,
// birth and address.
func (c LookupCmd) Run(env *Env) error {
	if c.Code == "" && c.Number == "" && !c.searching() {
		return errors.New("give --code, --number, or the items of a four-item search (--name, --kana, --birth, --address; e.g. --name 渡辺 --birth 1990-09-09)")
	}
	if (c.Code != "" || c.Number != "") && (c.Kana != "" || c.Birth != "" || c.Address != "" || c.Sex != "") {
		return errors.New("--kana, --birth, --sex and --address are items of a search: use them without --code or --number")
	}
	var q gate.SearchQuery
	if c.searching() {
		q = gate.SearchQuery{Name: c.Name, Kana: c.Kana, Address: c.Address}
		if c.Birth != "" {
			d, err := jptext.ParseDate(c.Birth)
			if err != nil {
				return fmt.Errorf("--birth: %w", err)
			}
			q.DateOfBirth = d
		}
		switch c.Sex {
		case "":
		case "1", "男":
			q.Sex = resident.SexMale
		case "2", "女":
			q.Sex = resident.SexFemale
		default:
			return fmt.Errorf("--sex %q: use 1 (男) or 2 (女)", c.Sex)
		}
	}
	n, err := openGate(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	req := consoleRequest(c.Affair, c.Reason, c.CaseRef)
	key := gate.Key{ResidentCode: c.Code, IndividualNumber: c.Number}
	switch {
	case c.searching():
		res, err := n.Gate.SearchDetailed(env.Ctx, req, q)
		if err != nil {
			return gateError(err)
		}
		fmt.Fprintf(env.Stdout, "%d件該当 (%d matches)\n", res.Total, res.Total)
		if res.Ambiguous {
			fmt.Fprintln(env.Stdout, "同じ程度に一致する住民が複数います。条件を追加して絞り込んでください (several residents match equally well: add an item to tell them apart)")
		}
		if res.Withheld > 0 {
			fmt.Fprintf(env.Stdout, "支援措置の対象者%d件を表示していません：%s\n", res.Withheld, res.WithheldJapanese)
		}
		for i, m := range res.Matches {
			fmt.Fprintf(env.Stdout, "\n[%d] 一致度 %d　%s (%s)\n", i+1, m.Score, m.WhyJapanese, m.Why)
			printRecord(env.Stdout, m.Record)
		}
	case c.History:
		hist, err := n.Gate.History(env.Ctx, req, key)
		if err != nil {
			return gateError(err)
		}
		for _, r := range hist {
			fmt.Fprintln(env.Stdout)
			printRecord(env.Stdout, r)
		}
	default:
		r, err := n.Gate.Lookup(env.Ctx, req, key)
		if err != nil {
			return gateError(err)
		}
		printRecord(env.Stdout, r)
	}
	fmt.Fprintf(env.Stdout, "\nこの照会は %s として監査ログに記録されました。\n", req.Actor)
	return nil
}

func printRecord(w io.Writer, r gate.Record) {
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(w, "%s\t%s\n", label, value)
		}
	}
	kana := func(text, reading string) string {
		if text == "" {
			return ""
		}
		return text + "（" + reading + "）"
	}
	line("住民票コード", string(r.ResidentCode))
	line("個人番号", string(r.IndividualNumber))
	line("氏名", kana(r.Name(), r.NameKana()))
	line("旧氏", kana(r.FormerSurname, r.FormerSurnameKana))
	line("通称", kana(r.Alias, r.AliasKana))
	line("生年月日", jptext.FormatBoth(r.DateOfBirth))
	line("性別", r.Sex.String())
	line("住所", r.Address)
	line("異動", fmt.Sprintf("%s　%s", r.ChangeReason, jptext.FormatBoth(r.ChangeDate)))
	status := fmt.Sprintf("第%d版", r.Version)
	if r.Removed {
		status += "　除票（保存期限 " + jptext.FormatBoth(r.RetainUntil) + "）"
	}
	line("記録", status)
}

// registerAffair is affair, or when empty the profile's first affair that
// changes the register (住民基本台帳に関する事務 in koto-ward).
func registerAffair(n *node.Node, affair string) string {
	if affair != "" || n.Profile == nil {
		return affair
	}
	for _, a := range n.Profile.Affairs {
		if a.Changes {
			return a.ID
		}
	}
	return affair
}
