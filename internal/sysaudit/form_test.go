package sysaudit_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"jukinet/internal/apperr"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/form"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/report"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/sysaudit"
)

// TestReportIsAForm (koto-ward:14): the audit report taken out of the node
// is a form of the forms register, recorded with the report's entry, its
// control number printed on every page of the PDF; a refused report takes
// no number. The forms register is evidence of the audit's own checklist:
// a form past its due day and a program change not approved call for the
// auditor's attention.
func TestReportIsAForm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d, "koto-ward", clocktest.New())
		forms := form.New(d, f.Log, f.Engine, "131083", f.Profile.FormDays())
		forms.Now = f.Clock.Now
		f.Audits.Forms = forms
		id, err := f.Audits.Plan(ctx, at(Chief), lastMonth(f))
		Must(t, err)
		_, err = f.Audits.Generate(ctx, at(Auditor), id)
		Must(t, err)
		render := func(p sysaudit.Plan, no form.Number) ([]byte, error) {
			d := p.Document(f.Profile, "江東区 セキュリティ統括責任者", f.Clock.Now(), f.Clock.Now())
			d.Control = "帳票管理番号 " + no.String()
			var b bytes.Buffer
			err := report.WritePDF(&b, d)
			return b.Bytes(), err
		}
		if _, _, _, err := f.Audits.ReportExport(ctx, at(Clerk), id, "pdf", render, ""); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("report by a clerk: %v", err)
		}
		if all, _ := form.List(ctx, d, form.Filter{}); len(all) != 0 {
			t.Fatalf("a refused report made forms: %+v", all)
		}
		_, fm, pdf, err := f.Audits.ReportExport(ctx, at(Chief), id, "pdf", render, "セキュリティ会議")
		Must(t, err)
		if fm.Kind != form.KindSysauditReport || fm.Destination != "セキュリティ会議" || fm.Digest != form.Digest(pdf) {
			t.Fatalf("the report's form: %+v", fm)
		}
		text := reporttest.Text(t, pdf)
		if n := strings.Count(text, fm.Number.String()); n < reporttest.Pages(t, pdf) {
			t.Errorf("the number %s is printed %d times on %d pages", fm.Number, n, reporttest.Pages(t, pdf))
		}
		logged := logged(t, d)
		if logged["sysaudit.report/ok"] != 1 || logged["sysaudit.report/denied"] != 1 {
			t.Errorf("report entries: %v", logged)
		}

		// The register as evidence.
		_, err = forms.RecordExisting(ctx, f.Admin, form.Output{Title: "交付簿（紙）", Destination: "区民課"}, day(f.Clock, -60))
		Must(t, err)
		_, err = forms.CheckProgram(ctx, form.ProgramState{Version: "v1", ProfileID: "koto-ward", ProfileDigest: "a"})
		Must(t, err)
		_, err = forms.CheckProgram(ctx, form.ProgramState{Version: "v2", ProfileID: "koto-ward", ProfileDigest: "a"})
		Must(t, err)
		id2, err := f.Audits.Plan(ctx, at(Chief), lastMonth(f))
		Must(t, err)
		p, err := f.Audits.Generate(ctx, at(Auditor), id2)
		Must(t, err)
		c := checkOf(t, p, "assets.forms")
		if figure(t, c, "期限超過") != 1 || figure(t, c, "未承認のプログラム変更") != 1 || !c.Attention {
			t.Errorf("the forms check: %s [%s]", c.Evidence, c.FiguresText())
		}
	})
}
