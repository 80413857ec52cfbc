// Package cli is the jukinet command line. Main parses the arguments with
// kong and runs one subcommand; every failure ends in a single line
// "jukinet: …" naming the value and the rule, and a non-zero exit status.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"jukinet/internal/node"
	"runtime/debug"
	"time"

	"github.com/alecthomas/kong"

	"jukinet/internal/jptext"
)

// Version is set at build time with -ldflags "-X jukinet/internal/cli.Version=…".
var Version = "dev"

// Env is what a command runs with: its context, output streams and clock.
type Env struct {
	Ctx    context.Context
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock the command's node runs on; nil means time.Now.
	// Tests give a clocktest clock.
	Now func() time.Time
	// Terminal, when not nil, says whether a writer is a terminal (tests
	// fake one); nil: an *os.File on a terminal is one.
	Terminal func(w io.Writer) bool
}

// now reads the environment's clock.
func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// CLI is the command tree.
type CLI struct {
	Init       InitCmd       `cmd:"" help:"Create a node: configuration, signing key and migrated database."`
	Serve      ServeCmd      `cmd:"" help:"Run a node's web server until SIGINT or SIGTERM."`
	Demo       DemoCmd       `cmd:"" help:"Create (once) and run a demo node for 江東区 with synthetic residents."`
	IDs        IDsCmd        `cmd:"" name:"ids" help:"Check 住民票コード, 個人番号 and 地方公共団体コード."`
	Import     ImportCmd     `cmd:"" help:"Import data through the gate."`
	Export     ExportCmd     `cmd:"" help:"Export data through the gate."`
	Lookup     LookupCmd     `cmd:"" help:"Look residents up from the server's console (logged with the OS user)."`
	Audit      AuditCmd      `cmd:"" help:"Verify, show and prove the tamper-evident audit log."`
	Disclosure DisclosureCmd `cmd:"" help:"Disclosures to residents (本人確認情報の提供状況の開示): check a resident's proof offline."`
	Gen        GenCmd        `cmd:"" help:"Generate synthetic data."`
	Profile    ProfileCmd    `cmd:"" help:"Show and check regulation profiles and their article map."`
	Staff      StaffCmd      `cmd:"" help:"Manage staff, terminals, designations and approvals from the server's console (logged)."`
	Suspend    SuspendCmd    `cmd:"" help:"Suspend use of the register (利用停止) from the server's console, or lift a suspension (logged)."`
	Detect     DetectCmd     `cmd:"" help:"Look for signs of improper use in the audit log (不正利用の検知); list and close alerts."`
	Incident   IncidentCmd   `cmd:"" help:"Record incidents (事案: improper use, leakage, outages) and the measures taken (logged)."`
	Training   TrainingCmd   `cmd:"" help:"Training (研修): the profile's courses, sessions held and who attended, who is trained (decided by the policies, logged)."`
	Asset      AssetCmd      `cmd:"" help:"Information assets (情報資産): equipment, programs, data sets and media with their managers; retirement with the erasure of media (decided by the policies, logged)."`
	Approval   ApprovalCmd   `cmd:"" help:"Usage approvals (利用の承認, aomori-pref:7): applications to use an affair, approval or refusal, the end of use, status reports (decided by the policies, logged)."`
	Council    CouncilCmd    `cmd:"" help:"The security council (セキュリティ会議, koto-ward:5): meetings, attendance by seat, quorum, decisions, minutes; the chief security officer's directives and requests (koto-ward:6) and who is overdue (decided by the policies, logged)."`
	Contract   ContractCmd   `cmd:"" help:"Outsourcing (委託, aomori-pref:10): contracts, their five clauses, the vendor's people and reports (decided by the policies, logged)."`
	Sysaudit   SysauditCmd   `cmd:"" name:"sysaudit" help:"System audits (システム監査, koto-ward:9, aomori-pref:11): plans, the checklist with the node's own evidence, findings, corrective actions, the report (decided by the policies, logged)."`
	Form       FormCmd       `cmd:"" help:"The forms register (帳票管理簿, koto-ward:14): every printout and export the node produced with its control number, storage, take-out, return, hand-over and disposal; program changes and their approval (decided by the policies, logged)."`
	Facility   FacilityCmd   `cmd:"" help:"Rooms and installations (koto-ward:11, aomori-pref:6): rooms and their levels, who may enter, the entry log and card-reader import, terminal installations (decided by the policies, logged)."`
	Terminal   TerminalCmd   `cmd:"" help:"Issue terminal client certificates from the node's terminal CA."`
	Peer       PeerCmd       `cmd:"" help:"Exchange bundles with peer nodes (offline) and register them."`
	Federation FederationCmd `cmd:"" help:"The network: status of peers, delivery and alerts; resume a stopped source."`
	Recipient  RecipientCmd  `cmd:"" help:"Register bodies this node provides to (別表) and issue their certificates."`
	Recover    RecoverCmd    `cmd:"" help:"After a restore from a backup (server stopped): get back the audit entries the witness cosigned and the changes that reached the upstream, record the gap, and report what is lost."`
	Bench      BenchCmd      `cmd:"" help:"Measure the gate on a synthetic register and print one table."`
	Version    VersionCmd    `cmd:"" help:"Print the version."`
	Backup     BackupCmd     `cmd:"" help:"Back the node up while it serves (continuity, koto-ward:4, 7.2): take one, list them, make an encryption key."`
	Restore    RestoreCmd    `cmd:"" help:"Restore a backup into a new folder (never over a node), checking it first."`

	// Reports and requests between bodies (internal/correspondence).
	Correspondence CorrespondenceCmd `cmd:"" help:"Reports and requests between bodies (報告・依頼, koto-ward:15): send a signed report or request to a peer body, answer a request, list what was sent and received (decided by the policies, logged)."`
	Protect        ProtectCmd        `cmd:"" help:"Protected residents (支援措置: DV, stalking, abuse): mark, end and list support measures; reads of them need a case reference and raise an immediate alert (decided by the policies, logged)."`
}

// exitError carries an exit status without a message (the command printed
// what it had to say).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs jukinet with args (without the program name) on the system
// clock and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Run(&Env{Ctx: ctx, Stdout: stdout, Stderr: stderr, Now: time.Now}, args)
}

// Run runs jukinet with args in env and returns the exit status.
func Run(env *Env, args []string) int {
	// The record of program changes keeps the version this binary was
	// built as (-ldflags -X jukinet/internal/cli.Version=…).
	node.Version = Version
	stdout, stderr := env.Stdout, env.Stderr
	var cli CLI
	exit := -1
	parser, err := kong.New(&cli,
		kong.Name("jukinet"),
		kong.Description("jukinet: a Juki-net (住民基本台帳ネットワークシステム) node that runs the security regulations as software."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintln(stderr, "jukinet:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 {
		return exit // --help
	}
	if err != nil {
		fmt.Fprintln(stderr, "jukinet:", err)
		return 2
	}
	err = kctx.Run(env)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintln(stderr, "jukinet:", err)
		return 1
	}
}

// jstTime writes an instant for a person reading the console: in Japan,
// with its zone, whatever the server's zone (the database keeps UTC).
func jstTime(t time.Time) string { return t.In(jptext.JST).Format("2006-01-02 15:04:05 MST") }

// jstDate writes the day an instant falls on in Japan.
func jstDate(t time.Time) string { return t.In(jptext.JST).Format(time.DateOnly) }

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version and the Go version it was built with.
func (VersionCmd) Run(env *Env) error {
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(env.Stdout, "jukinet %s (%s)\n", Version, goVersion)
	return nil
}
