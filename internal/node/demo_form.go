package node

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"jukinet/internal/approval"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/report"
	"jukinet/internal/sysaudit"
)

// DemoPreviousVersion is the version the demo's record of program changes
// starts from, so that the demo shows one program change, approved.
const DemoPreviousVersion = "demo-previous"

// seedDemoProgram records, on a demo node whose record of program changes
// is empty, the baseline of a previous build: the start that follows (this
// one) is then a program change, which SeedDemoForms approves.
func seedDemoProgram(ctx context.Context, r *form.Register, st form.ProgramState) error {
	all, err := form.ProgramChanges(ctx, r.DB())
	if err != nil || len(all) > 0 {
		return err
	}
	prev := st
	prev.Version = DemoPreviousVersion
	_, err = r.CheckProgram(ctx, prev)
	return err
}

// SeedDemoForms gives a demo node its forms register (koto-ward:14), once:
// the demo audit's report as PDF, issued by the system administrator, put
// in the store and shredded witnessed by the chief security officer; a
// status report of the demo department's approval as CSV, issued by its
// head and stored; a paper register carried over, made 45 days ago and not
// yet stored or disposed of: overdue on the node's clock. It approves the
// demo's program change (from DemoPreviousVersion) as the system
// administrator. Every step goes through the register and the audit log.
// It does nothing when a form exists; now is the node's clock.
func SeedDemoForms(ctx context.Context, n *Node, now time.Time) error {
	if un, err := form.Unapproved(ctx, n.DB); err != nil {
		return err
	} else if len(un) == 1 && un[0].Previous.Version == DemoPreviousVersion {
		if err := n.Forms.ApproveProgramChange(ctx, facilityWho(DemoAdmin), un[0].ID, "デモ：版の更新を確認し、動作を確認した"); err != nil {
			return fmt.Errorf("approve the demo's program change: %w", err)
		}
	}
	all, err := form.List(ctx, n.DB, form.Filter{})
	if err != nil || len(all) > 0 {
		return err
	}
	admin, head := facilityWho(DemoAdmin), facilityWho(DemoOfficer)
	today := jptext.Midnight(now)
	if audits, err := sysaudit.List(ctx, n.DB); err != nil {
		return err
	} else if len(audits) > 0 {
		chief, _ := n.Profile.Role(profile.ChiefSecurityOfficer)
		_, f, _, err := n.SysAudits.ReportExport(ctx, admin, audits[0].ID, "pdf", func(p sysaudit.Plan, no form.Number) ([]byte, error) {
			d := p.Document(n.Profile, n.Info.Name()+" "+chief.Name, now, now)
			d.Control = "帳票管理番号 " + no.String()
			var b bytes.Buffer
			err := report.WritePDF(&b, d)
			return b.Bytes(), err
		}, "セキュリティ会議（デモ）")
		if err != nil {
			return fmt.Errorf("the demo audit's report: %w", err)
		}
		if err := n.Forms.Record(ctx, admin, f.Number, form.Step{Kind: form.StepStore, Day: today, Place: "情報システム課 保管庫（デモ）"}); err != nil {
			return err
		}
		if err := n.Forms.Record(ctx, admin, f.Number, form.Step{Kind: form.StepDispose, Day: today, Method: form.Shred, DoneBy: "見本 管理（デモ）",
			Witness: DemoChief, Note: "会議資料の配布後、控えを廃棄（デモ）"}); err != nil {
			return err
		}
	}
	if apps, err := approval.List(ctx, n.DB); err != nil {
		return err
	} else {
		for _, a := range apps {
			if a.State != approval.Approved {
				continue
			}
			from := today.AddDate(0, -1, 0)
			_, f, _, err := n.Approvals.StatusExport(ctx, head, a.ID, from, today.AddDate(0, 0, -1), "csv", approval.Status.CSV, "")
			if err != nil {
				return fmt.Errorf("the demo's status report: %w", err)
			}
			if err := n.Forms.Record(ctx, admin, f.Number, form.Step{Kind: form.StepStore, Day: today, Place: "区民課 施錠書庫（デモ）"}); err != nil {
				return err
			}
			break
		}
	}
	_, err = n.Forms.RecordExisting(ctx, admin, form.Output{Title: "住民票コード通知の控え（紙・デモ）", Covers: "区民課窓口での出力分",
		Residents: 12, Destination: "区民課 窓口（デモ）"}, today.AddDate(0, 0, -45))
	return err
}
