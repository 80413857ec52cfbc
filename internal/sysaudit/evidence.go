package sysaudit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/contract"
	"jukinet/internal/db"
	"jukinet/internal/disclosure"
	"jukinet/internal/facility"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
	"jukinet/internal/training"
)

// Evidence is what the node found for one feature: the text (Japanese),
// its figures, and whether they show something the auditor should look at.
type Evidence struct {
	Text      string
	Figures   []Figure
	Attention bool
}

// The thresholds of the evidence (the examples of issue 17).
const (
	// UnusedDays: a designation not used for this many days is reported.
	UnusedDays = 90
	// StaleAlertDays: an alert open for this many days is reported.
	StaleAlertDays = 14
	// StalePendingDays: an application for a use undecided this long is reported.
	StalePendingDays = 30
)

// registerActions are the audit actions that are a use of the register.
var registerActions = []string{"lookup", "search", "history", "apply", "import", "export", "provide"}

// gather is one collection of evidence: the period audited, the node's
// clock, the log's last entry read, and what was read once for several
// features.
type gather struct {
	ctx      context.Context
	r        *Register
	now      time.Time
	from, to time.Time // [from, to): the period audited
	upTo     int64

	tallies  map[string]auditlog.ActionCount
	denials  []auditlog.Listed
	denied   bool // denials read
	state    *staff.State
	verified *verification
}

type verification struct {
	report auditlog.Report
	err    error
}

// collector collects the evidence of one feature.
type collector func(g *gather) (Evidence, error)

// collectors are the evidence of every built feature (TestEveryBuiltFeatureHasEvidence).
var collectors = map[string]collector{
	"register.versions":           registerVersions,
	"register.import":             registerImport,
	"register.search":             registerSearch,
	"gate.single-door":            singleDoor,
	"audit.every-access":          everyAccess,
	"audit.fail-closed":           failClosed,
	"audit.tamper-evidence":       tamperEvidence,
	"audit.provision-records":     provisionRecords,
	"audit.retention":             retention,
	"durability.crash":            durability,
	"continuity.backup":           backups,
	"continuity.restore":          recoveries,
	"federation.recovery":         recoveries,
	"profile.load":                profileLoad,
	"profile.roles":               roles,
	"profile.council":             council,
	"council.meetings":            meetings,
	"council.directives":          directives,
	"staff.roles":                 roles,
	"staff.designation":           designations,
	"staff.terminals":             terminals,
	"staff.terminal-managers":     terminalManagers,
	"staff.enrolment-register":    enrolment,
	"staff.usage-approval":        usageApprovals,
	"staff.usage-status-report":   statusReports,
	"policy.decision":             decisions,
	"policy.suspension":           suspensions,
	"policy.separation-of-duties": separationOfDuties,
	"auth.webauthn":               signIns,
	"ui.screens":                  screens,
	"terminal.identity":           terminalIdentity,
	"federation.notification":     notification,
	"federation.consistency":      consistency,
	"federation.witness":          witness,
	"federation.suspension":       federationSuspension,
	"federation.provision":        federationProvision,
	"incident.response":           incidents,
	"detection.misuse":            alerts,
	"investigation":               investigation,
	"training":                    trainingEvidence,
	"facilities":                  facilities,
	"assets":                      assets,
	"assets.forms":                formsEvidence,
	"outsourcing":                 outsourcing,
	"audits":                      previousAudits,
	"disclosure":                  disclosures,
	"reports":                     letters,
}

// Collected says whether the node collects evidence for feature id.
func Collected(id string) bool {
	_, ok := collectors[id]
	return ok
}

// collect builds the checklist of plan p: every built feature of the
// articles in scope, each with its evidence, read now up to the log's last
// entry, which it returns.
func (r *Register) collect(ctx context.Context, p Plan) ([]Check, int64, error) {
	upTo, err := auditlog.LastSeq(ctx, r.db)
	if err != nil {
		return nil, 0, err
	}
	g := &gather{ctx: ctx, r: r, now: r.now(), from: p.From, to: p.Until(), upTo: upTo}
	seen := map[string]Evidence{}
	var out []Check
	for _, a := range r.prof.Articles {
		if len(p.Articles) > 0 && !slices.Contains(p.Articles, a.ID) {
			continue
		}
		for _, f := range Checkable(a) {
			ev, ok := seen[f]
			if !ok {
				c, found := collectors[f]
				if !found {
					ev = Evidence{Text: "この機能の証跡を自動で収集する手段がありません。記録を直接確認してください", Attention: true}
				} else if ev, err = c(g); err != nil {
					return nil, 0, fmt.Errorf("collect the evidence of %s: %w", f, err)
				}
				seen[f] = ev
			}
			out = append(out, Check{Position: len(out) + 1, Article: a.ID, Feature: f, Evidence: ev.Text, Figures: ev.Figures, Attention: ev.Attention})
		}
	}
	return out, upTo, nil
}

// CollectFeature collects the evidence of one feature for the period from
// to to (its last day), now, as a checklist would: for a preview, and for
// tests of each collector.
func (r *Register) CollectFeature(ctx context.Context, feature string, from, to time.Time) (Evidence, int64, error) {
	upTo, err := auditlog.LastSeq(ctx, r.db)
	if err != nil {
		return Evidence{}, 0, err
	}
	c, ok := collectors[feature]
	if !ok {
		return Evidence{}, upTo, fmt.Errorf("no evidence is collected for feature %q", feature)
	}
	g := &gather{ctx: ctx, r: r, now: r.now(), from: jptext.Midnight(from), to: jptext.Midnight(to).AddDate(0, 0, 1), upTo: upTo}
	ev, err := c(g)
	return ev, upTo, err
}

func fig(name string, v int) Figure { return Figure{Name: name, Value: int64(v)} }

func fig64(name string, v int64) Figure { return Figure{Name: name, Value: v} }

// period is the period audited in words.
func (g *gather) period() string {
	return jptext.FormatWareki(g.from) + "～" + jptext.FormatWareki(g.to.AddDate(0, 0, -1))
}

// inPeriod says whether t falls in the period audited.
func (g *gather) inPeriod(t time.Time) bool {
	return !t.IsZero() && !t.Before(g.from) && t.Before(g.to)
}

// tally counts the entries of the actions in the period, and the refused.
func (g *gather) tally(actions ...string) (total, denied int64, err error) {
	if g.tallies == nil {
		if g.tallies, err = auditlog.CountActions(g.ctx, g.r.db, g.from, g.to, g.upTo); err != nil {
			return 0, 0, err
		}
	}
	for _, a := range actions {
		t := g.tallies[a]
		total += t.Total
		denied += t.Denied
	}
	return total, denied, nil
}

// tallyPrefix counts the entries of the actions starting with prefix.
func (g *gather) tallyPrefix(prefix string) (total, denied int64, err error) {
	if _, _, err := g.tally(); err != nil {
		return 0, 0, err
	}
	for a, t := range g.tallies {
		if strings.HasPrefix(a, prefix) {
			total += t.Total
			denied += t.Denied
		}
	}
	return total, denied, nil
}

// refusals are the refused entries of the period.
func (g *gather) refusals() ([]auditlog.Listed, error) {
	if !g.denied {
		l, err := auditlog.Denials(g.ctx, g.r.db, g.from, g.to, g.upTo)
		if err != nil {
			return nil, err
		}
		g.denials, g.denied = l, true
	}
	return g.denials, nil
}

// staff is the staff state now.
func (g *gather) staff() (*staff.State, error) {
	if g.state == nil {
		st, err := staff.Load(g.ctx, g.r.db)
		if err != nil {
			return nil, err
		}
		g.state = st
	}
	return g.state, nil
}

func (g *gather) verify() *verification {
	if g.verified == nil {
		g.verified = &verification{}
		if g.r.src.Verifier == nil {
			g.verified.err = errors.New("no verifier key")
		} else {
			g.verified.report, g.verified.err = auditlog.Verify(g.ctx, g.r.db, g.r.src.Verifier)
		}
	}
	return g.verified
}

func registerVersions(g *gather) (Evidence, error) {
	apply, applyDenied, err := g.tally("apply")
	if err != nil {
		return Evidence{}, err
	}
	imp, impDenied, err := g.tally("import")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間（%s）の記録の変更 %d件（うち拒否 %d件）、一括取込み %d件（うち拒否 %d件）。変更は版を追加して記録され、上書き・削除はされない",
		g.period(), apply, applyDenied, imp, impDenied),
		Figures: []Figure{fig64("記録の変更", apply), fig64("記録の変更の拒否", applyDenied), fig64("取込み", imp), fig64("取込みの拒否", impDenied)}}, nil
}

func registerImport(g *gather) (Evidence, error) {
	imp, impDenied, err := g.tally("import")
	if err != nil {
		return Evidence{}, err
	}
	exp, expDenied, err := g.tally("export")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の一括取込み %d件（うち拒否 %d件）、書出し %d件（うち拒否 %d件）", imp, impDenied, exp, expDenied),
		Figures: []Figure{fig64("取込み", imp), fig64("取込みの拒否", impDenied), fig64("書出し", exp), fig64("書出しの拒否", expDenied)}}, nil
}

func registerSearch(g *gather) (Evidence, error) {
	n, denied, err := g.tally("search")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の4情報検索 %d件（うち拒否 %d件）", n, denied),
		Figures: []Figure{fig64("検索", n), fig64("検索の拒否", denied)}}, nil
}

func singleDoor(g *gather) (Evidence, error) {
	n, denied, err := g.tally(registerActions...)
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間にゲートを通った本人確認情報の利用 %d件（うち拒否 %d件）。記録の読み書きはゲートだけが行い、その全件が監査ログにある", n, denied),
		Figures: []Figure{fig64("ゲートの利用", n), fig64("ゲートの拒否", denied)}}, nil
}

func everyAccess(g *gather) (Evidence, error) {
	n, denied, err := g.tallyPrefix("")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の監査ログの記録 %d件（うち拒否 %d件）", n, denied),
		Figures: []Figure{fig64("記録", n), fig64("拒否", denied)}}, nil
}

func failClosed(g *gather) (Evidence, error) {
	if err := g.r.log.Healthy(); err != nil {
		return Evidence{Text: "監査ログの直近の書込みが失敗しています（書き込めない間、利用はすべて中止されます）: " + err.Error(),
			Figures: []Figure{fig("書込みの失敗", 1)}, Attention: true}, nil
	}
	return Evidence{Text: "監査ログの直近の書込みは成功している。書き込めない場合は利用を中止する（記録できない利用はさせない）",
		Figures: []Figure{fig("書込みの失敗", 0)}}, nil
}

func tamperEvidence(g *gather) (Evidence, error) {
	v := g.verify()
	cp, err := auditlog.LatestCheckpoint(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	co, cosigned, err := auditlog.LatestCosignature(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	var b strings.Builder
	ev := Evidence{}
	if v.err != nil {
		fmt.Fprintf(&b, "監査ログの検証で問題が見つかりました: %v", v.err)
		ev.Attention = true
		ev.Figures = append(ev.Figures, fig("検証の問題", 1))
	} else {
		fmt.Fprintf(&b, "監査ログを検証し、第%d項までの%d件に改ざんなし", v.report.Entries-1, v.report.Entries)
		if v.report.Checkpoints > 0 {
			fmt.Fprintf(&b, "（署名済みチェックポイント %d件と照合、最大 %d件時点）", v.report.Checkpoints, v.report.Checked)
		}
		ev.Figures = append(ev.Figures, fig("検証の問題", 0), fig64("検証した記録", v.report.Entries), fig("照合したチェックポイント", v.report.Checkpoints))
	}
	if cp == nil {
		b.WriteString("。署名済みチェックポイントがまだありません")
		ev.Attention = true
		ev.Figures = append(ev.Figures, fig("最新チェックポイント", 0))
	} else {
		fmt.Fprintf(&b, "。最新のチェックポイントは%d件時点", cp.Size)
		ev.Figures = append(ev.Figures, fig64("最新チェックポイント", cp.Size))
	}
	if cosigned {
		fmt.Fprintf(&b, "。立会人 %s の連署は%d件時点まで（%s）", co.Witness, co.Size, jptext.FormatWareki(co.At.In(jptext.JST)))
		ev.Figures = append(ev.Figures, fig64("連署", co.Size))
	} else {
		b.WriteString("。立会人（上位ノード）の連署はまだありません")
		ev.Figures = append(ev.Figures, fig("連署", 0))
	}
	ev.Text = b.String()
	return ev, nil
}

func provisionRecords(g *gather) (Evidence, error) {
	read, _, err := g.tally("lookup", "search", "history")
	if err != nil {
		return Evidence{}, err
	}
	exp, _, err := g.tally("export")
	if err != nil {
		return Evidence{}, err
	}
	prov, _, err := g.tally("provide")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の提供状況の記録：照会・検索・履歴 %d件、書出し %d件、提供先への提供 %d件（住民ごとに監査ログから引ける）", read, exp, prov),
		Figures: []Figure{fig64("照会等", read), fig64("書出し", exp), fig64("提供", prov)}}, nil
}

func retention(g *gather) (Evidence, error) {
	years := g.r.prof.Retention.MinYears()
	v := g.verify()
	if v.err != nil {
		return Evidence{Text: fmt.Sprintf("保存期間 %d年。監査ログを検証できないため、保存期間を過ぎた記録の数を確かめられません: %v", years, v.err),
			Figures: []Figure{fig("保存年数", years)}, Attention: true}, nil
	}
	return Evidence{Text: fmt.Sprintf("保存期間 %d年（法定 %d年以上）。保存期間を過ぎてハッシュだけを残した記録 %d件（検証時点 %d件中）",
		years, profile.LegalRetentionYears, v.report.Pruned, v.report.Entries),
		Figures: []Figure{fig("保存年数", years), fig64("ハッシュのみの記録", v.report.Pruned)}}, nil
}

func durability(g *gather) (Evidence, error) {
	dialect := "SQLite"
	if g.r.db.Dialect() == db.Postgres {
		dialect = "PostgreSQL"
	}
	ev, err := failClosed(g)
	if err != nil {
		return Evidence{}, err
	}
	ev.Text = fmt.Sprintf("データベース %s。記録は監査ログの書込みが確定してから応答する。", dialect) + ev.Text
	return ev, nil
}

// backups is the evidence of continuity: the backups taken and failed in
// the period (backup.take entries; failures from the backup record) and
// the generations erased.
func backups(g *gather) (Evidence, error) {
	taken, denied, err := g.tally("backup.take")
	if err != nil {
		return Evidence{}, err
	}
	removed, _, err := g.tally("backup.remove")
	if err != nil {
		return Evidence{}, err
	}
	var failed int64
	if err := g.r.db.QueryRow(g.ctx, `SELECT COUNT(*) FROM backup WHERE NOT ok AND taken_at >= ? AND taken_at < ?`, g.from, g.to).Scan(&failed); err != nil {
		return Evidence{}, fmt.Errorf("count failed backups: %w", err)
	}
	good := taken - denied - failed
	ev := Evidence{Text: fmt.Sprintf("対象期間のバックアップ：取得 %d件、失敗 %d件、拒否 %d件、保存世代数を超えて消去 %d件（帳票管理簿に記録）", good, failed, denied, removed),
		Figures: []Figure{fig64("取得", good), fig64("失敗", failed), fig64("消去", removed)}}
	if good == 0 {
		ev.Text += "。対象期間に成功したバックアップがありません"
	}
	return ev, nil
}

// recoveries is the evidence of recovery: restored nodes recovered, the
// gaps they recorded, and the entries this node returned to others as
// their witness.
func recoveries(g *gather) (Evidence, error) {
	recovered, _, err := g.tally("audit.recovered")
	if err != nil {
		return Evidence{}, err
	}
	gaps, _, err := g.tally("audit.gap")
	if err != nil {
		return Evidence{}, err
	}
	returned, _, err := g.tally("federation.recover")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の復元からの回復 %d件（欠落の記録 %d件）、立会ノードとして他ノードへ監査ログを返した回数 %d件", recovered, gaps, returned),
		Figures: []Figure{fig64("回復", recovered), fig64("欠落", gaps), fig64("返却", returned)}}, nil
}

func profileLoad(g *gather) (Evidence, error) {
	p := g.r.prof
	n := 0
	for range p.Policies.All() {
		n++
	}
	return Evidence{Text: fmt.Sprintf("規程プロファイル %s（%s）：条項 %d、利用事務 %d、方針（Cedar） %d", p.ID, p.Title, len(p.Articles), len(p.Affairs), n),
		Figures: []Figure{fig("条項", len(p.Articles)), fig("利用事務", len(p.Affairs)), fig("方針", n)}}, nil
}

func roles(g *gather) (Evidence, error) {
	st, err := g.staff()
	if err != nil {
		return Evidence{}, err
	}
	holders := map[profile.RoleID]int{}
	for _, m := range st.People {
		for _, r := range m.Roles {
			holders[r]++
		}
		for r, depts := range m.DepartmentRoles {
			holders[r] += len(depts)
		}
	}
	var unfilled []string
	for _, r := range g.r.prof.Roles {
		if perDept, known := profile.KnownRoles[r.ID]; known && !perDept && holders[r.ID] == 0 {
			unfilled = append(unfilled, r.Name)
		}
	}
	changes, _, err := g.tally("staff.assign-role")
	if err != nil {
		return Evidence{}, err
	}
	ev := Evidence{Figures: []Figure{fig("役割", len(g.r.prof.Roles)), fig("担当者のいない役割", len(unfilled)), fig64("役割の割当て", changes)}}
	if len(unfilled) > 0 {
		ev.Text = fmt.Sprintf("規程の役割 %d のうち、担当者のいない役割 %d（%s）。対象期間の役割の割当て %d件", len(g.r.prof.Roles), len(unfilled), strings.Join(unfilled, "、"), changes)
		ev.Attention = true
	} else {
		ev.Text = fmt.Sprintf("規程の役割 %d のすべてに担当者がいる。対象期間の役割の割当て %d件", len(g.r.prof.Roles), changes)
	}
	return ev, nil
}

func council(g *gather) (Evidence, error) {
	c := g.r.prof.Council
	if c == nil {
		return Evidence{Text: "この規程にセキュリティ会議の定めはありません", Figures: []Figure{fig("委員", 0)}}, nil
	}
	chair, _ := g.r.prof.Role(c.Chair)
	vice, _ := g.r.prof.Role(c.ViceChair)
	return Evidence{Text: fmt.Sprintf("セキュリティ会議（%s）：議長 %s、副議長 %s、委員 %d職（%s）", c.Article, chair.Name, vice.Name, len(c.Members), strings.Join(c.Members, "、")),
		Figures: []Figure{fig("委員", len(c.Members))}}, nil
}

func meetings(g *gather) (Evidence, error) {
	if g.r.src.Meetings == nil {
		return unavailable("セキュリティ会議の記録"), nil
	}
	all, err := g.r.src.Meetings(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	held, extraordinary, decisions, unapproved := 0, 0, 0, 0
	for _, m := range all {
		if !g.inPeriod(m.At) {
			continue
		}
		held++
		decisions += m.Decisions
		if m.Extraordinary {
			extraordinary++
		}
		if !m.MinutesApproved {
			unapproved++
		}
	}
	return Evidence{Text: fmt.Sprintf("対象期間のセキュリティ会議 %d回（うち臨時 %d回）、議決 %d件、議事録の承認がない会議 %d回", held, extraordinary, decisions, unapproved),
		Figures: []Figure{fig("会議", held), fig("臨時会議", extraordinary), fig("議決", decisions), fig("議事録未承認", unapproved)}, Attention: unapproved > 0}, nil
}

func directives(g *gather) (Evidence, error) {
	if g.r.src.Directives == nil {
		return unavailable("指示・要請の記録"), nil
	}
	all, err := g.r.src.Directives(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	issued, done, overdue := 0, 0, 0
	today := jptext.Midnight(g.now)
	for _, d := range all {
		if g.inPeriod(d.IssuedAt) {
			issued++
		}
		switch {
		case !d.DoneAt.IsZero():
			done++
		case d.Due.Before(today):
			overdue++
		}
	}
	return Evidence{Text: fmt.Sprintf("対象期間に発した指示・要請 %d件。これまでに完了（回答）%d件、期限を過ぎて未完了 %d件", issued, done, overdue),
		Figures: []Figure{fig("指示・要請", issued), fig("完了", done), fig("期限超過", overdue)}, Attention: overdue > 0}, nil
}

// disclosures reports the residents' disclosure requests: received in the
// period, decided by their due day or late, issued, and those past their
// due day still undecided.
func disclosures(g *gather) (Evidence, error) {
	all, err := disclosure.List(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	received, late, issued, overdue := 0, 0, 0, 0
	for _, q := range all {
		if !g.inPeriod(q.ReceivedAt) {
			continue
		}
		received++
		if q.Decision != "" && !q.DecidedAt.Before(q.Due.AddDate(0, 0, 1)) {
			late++
		}
		if !q.IssuedAt.IsZero() {
			issued++
		}
		if q.Overdue(g.now) {
			overdue++
		}
	}
	return Evidence{Text: fmt.Sprintf("対象期間に受け付けた開示請求 %d件。うち交付 %d件、期限後の決定 %d件、期限を過ぎて未決定 %d件", received, issued, late, overdue),
		Figures: []Figure{fig("開示請求", received), fig("交付", issued), fig("期限後の決定", late), fig("期限超過", overdue)}, Attention: late+overdue > 0}, nil
}

// letters counts the reports and requests exchanged with other bodies in
// the period (koto-ward:15), those sent but never acknowledged or refused
// by the recipient, and the requests past their due day, unanswered.
func letters(g *gather) (Evidence, error) {
	if g.r.src.Letters == nil {
		return unavailable("他機関との報告・依頼の記録"), nil
	}
	all, err := g.r.src.Letters(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	sent, received, unacked, refused, overdue := 0, 0, 0, 0, 0
	today := jptext.Midnight(g.now)
	for _, l := range all {
		if g.inPeriod(l.SentAt) {
			if l.Sent {
				sent++
			} else {
				received++
			}
		}
		if l.Sent && (l.State == "queued" || l.State == "delivered") {
			unacked++
		}
		if l.Sent && l.State == "refused" {
			refused++
		}
		if l.Request && !l.Answered && !l.Due.IsZero() && l.Due.Before(today) {
			overdue++
		}
	}
	return Evidence{Text: fmt.Sprintf("対象期間に他機関へ送付した報告・依頼 %d件、受信 %d件。受領確認のないもの %d件、受領を拒否されたもの %d件、回答期限を過ぎた依頼 %d件",
		sent, received, unacked, refused, overdue),
		Figures:   []Figure{fig("送付", sent), fig("受信", received), fig("受領未確認", unacked), fig("受領拒否", refused), fig("回答期限超過", overdue)},
		Attention: refused > 0 || overdue > 0}, nil
}

// designations reports the designations in force not used for UnusedDays
// days: no allowed use of the register for the affair by the operator in
// the log since then (designated earlier than that).
func designations(g *gather) (Evidence, error) {
	all, err := staff.Designations(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	cutoff := g.now.AddDate(0, 0, -UnusedDays)
	byVID := map[string][]staff.Designation{}
	for _, d := range all {
		if d.Since.Before(cutoff) {
			byVID[d.VerificationID] = append(byVID[d.VerificationID], d)
		}
	}
	vids := make([]string, 0, len(byVID))
	for vid := range byVID {
		vids = append(vids, vid)
	}
	sort.Strings(vids)
	var unused []string
	for _, vid := range vids {
		used := map[string]bool{}
		f := auditlog.Filter{Actor: string(auditlog.ActorOperator) + ":" + vid, Since: cutoff, After: -1, Before: g.upTo + 1}
		err := auditlog.Each(g.ctx, g.r.db, f, func(l auditlog.Listed) error {
			if l.Entry != nil && l.Entry.Decision == auditlog.Allow && slices.Contains(registerActions, l.Action) {
				used[l.Entry.Affair] = true
			}
			return nil
		})
		if err != nil {
			return Evidence{}, err
		}
		for _, d := range byVID[vid] {
			name := d.Affair
			if a, ok := g.r.prof.Affair(d.Affair); ok {
				name = a.Name
			}
			if !used[d.Affair] && !used[name] {
				unused = append(unused, fmt.Sprintf("%s（%s）", vid, name))
			}
		}
	}
	changes, _, err := g.tally("staff.designate-operator")
	if err != nil {
		return Evidence{}, err
	}
	ev := Evidence{Figures: []Figure{fig("指定", len(all)), fig("未使用の指定", len(unused)), fig64("指定の変更", changes)}}
	ev.Text = fmt.Sprintf("取扱者の指定 %d件のうち、%d日以上利用のない指定 %d件", len(all), UnusedDays, len(unused))
	if len(unused) > 0 {
		ev.Text += "：" + strings.Join(unused, "、")
		ev.Attention = true
	}
	ev.Text += fmt.Sprintf("。対象期間の指定の変更 %d件", changes)
	return ev, nil
}

func terminals(g *gather) (Evidence, error) {
	st, err := g.staff()
	if err != nil {
		return Evidence{}, err
	}
	approved, denied, err := g.tally("staff.approve-terminal")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("使用中の端末 %d台。対象期間の端末の設置承認 %d件（うち拒否 %d件）", len(st.Terminals), approved-denied, denied),
		Figures: []Figure{fig("端末", len(st.Terminals)), fig64("設置承認", approved-denied), fig64("設置承認の拒否", denied)}}, nil
}

func terminalManagers(g *gather) (Evidence, error) {
	st, err := g.staff()
	if err != nil {
		return Evidence{}, err
	}
	var without []string
	for id, t := range st.Terminals {
		if t.ManagerVID == "" {
			without = append(without, id)
		}
	}
	sort.Strings(without)
	ev := Evidence{Figures: []Figure{fig("端末", len(st.Terminals)), fig("管理者のいない端末", len(without))}}
	ev.Text = fmt.Sprintf("使用中の端末 %d台のうち、端末機管理者の報告がない端末 %d台", len(st.Terminals), len(without))
	if len(without) > 0 {
		ev.Text += "：" + strings.Join(without, "、")
		ev.Attention = true
	}
	return ev, nil
}

func enrolment(g *gather) (Evidence, error) {
	if g.r.src.Staff == nil {
		return unavailable("照合情報認証管理簿"), nil
	}
	creds, err := g.r.src.Staff.Credentials(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	st, err := g.staff()
	if err != nil {
		return Evidence{}, err
	}
	active, registered, stale := 0, 0, 0
	for _, c := range creds {
		if g.inPeriod(c.RegisteredAt) {
			registered++
		}
		if !c.RemovedAt.IsZero() {
			continue
		}
		active++
		if _, ok := st.People[c.PersonVID]; !ok {
			stale++
		}
	}
	ev := Evidence{Text: fmt.Sprintf("有効な照合情報 %d件、対象期間の登録 %d件、異動・退職者に残る照合情報 %d件", active, registered, stale),
		Figures: []Figure{fig("有効な照合情報", active), fig("登録", registered), fig("退職者の照合情報", stale)}, Attention: stale > 0}
	return ev, nil
}

func usageApprovals(g *gather) (Evidence, error) {
	all, err := approval.List(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	inForce, ended, pending, stale := 0, 0, 0, 0
	for _, a := range all {
		switch {
		case a.InForce(g.now):
			inForce++
		case a.State == approval.Applied:
			pending++
			if a.AppliedAt.Before(g.now.AddDate(0, 0, -StalePendingDays)) {
				stale++
			}
		}
		if a.State == approval.Ended && g.inPeriod(a.EndedAt) {
			ended++
		}
	}
	reports, err := statusReports(g)
	if err != nil {
		return Evidence{}, err
	}
	overdue, _ := (Check{Figures: reports.Figures}).Figure("期限超過")
	return Evidence{Text: fmt.Sprintf("効力のある利用の承認 %d件、審査中の申請 %d件（うち%d日以上未決 %d件）、対象期間の利用の終了 %d件。%s",
		inForce, pending, StalePendingDays, stale, ended, reports.Text),
		Figures:   []Figure{fig("効力のある承認", inForce), fig("審査中", pending), fig("長期未決", stale), fig("終了", ended), fig64("期限超過の報告", overdue)},
		Attention: stale > 0 || overdue > 0}, nil
}

func statusReports(g *gather) (Evidence, error) {
	all, err := approval.List(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	requested, submitted, overdue := 0, 0, 0
	var late []string
	today := jptext.Midnight(g.now)
	for _, a := range all {
		for _, rep := range a.Reports {
			requested++
			switch {
			case rep.Submitted():
				submitted++
			case rep.Due.Before(today):
				overdue++
				late = append(late, fmt.Sprintf("報告番号 %d（期限 %s）", rep.ID, jptext.FormatWareki(rep.Due)))
			}
		}
	}
	ev := Evidence{Text: fmt.Sprintf("求めた利用状況報告 %d件、提出済み %d件、期限を過ぎて未提出 %d件", requested, submitted, overdue),
		Figures: []Figure{fig("報告の依頼", requested), fig("提出", submitted), fig("期限超過", overdue)}, Attention: overdue > 0}
	if len(late) > 0 {
		ev.Text += "：" + strings.Join(late, "、")
	}
	return ev, nil
}

// byPolicy counts refusals per deciding policy, most first, as text.
func byPolicy(ls []auditlog.Listed) string {
	count := map[string]int{}
	for _, l := range ls {
		count[l.Entry.Policy]++
	}
	ids := make([]string, 0, len(count))
	for id := range count {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if count[ids[i]] != count[ids[j]] {
			return count[ids[i]] > count[ids[j]]
		}
		return ids[i] < ids[j]
	})
	var parts []string
	for i, id := range ids {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("ほか%d方針", len(ids)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d件", id, count[id]))
	}
	return strings.Join(parts, "、")
}

func decisions(g *gather) (Evidence, error) {
	all, err := g.refusals()
	if err != nil {
		return Evidence{}, err
	}
	var ls []auditlog.Listed
	for _, l := range all {
		if slices.Contains(registerActions, l.Action) {
			ls = append(ls, l)
		}
	}
	ev := Evidence{Text: fmt.Sprintf("対象期間に方針が拒否した本人確認情報の利用 %d件", len(ls)), Figures: []Figure{fig("利用の拒否", len(ls))}}
	if len(ls) > 0 {
		ev.Text += "（" + byPolicy(ls) + "）"
	}
	return ev, nil
}

func suspensions(g *gather) (Evidence, error) {
	if g.r.src.Staff == nil {
		return unavailable("利用停止の記録"), nil
	}
	all, err := g.r.src.Staff.Suspensions(g.ctx, false)
	if err != nil {
		return Evidence{}, err
	}
	started, lifted, active := 0, 0, 0
	for _, sp := range all {
		if g.inPeriod(sp.StartedAt) {
			started++
		}
		if g.inPeriod(sp.LiftedAt) {
			lifted++
		}
		if sp.LiftedAt.IsZero() {
			active++
		}
	}
	return Evidence{Text: fmt.Sprintf("対象期間の利用停止 %d件、解除 %d件。現在停止中 %d件", started, lifted, active),
		Figures: []Figure{fig("停止", started), fig("解除", lifted), fig("停止中", active)}}, nil
}

// separationPolicy says whether a policy id is a separation-of-duty rule.
func separationPolicy(id string) bool {
	return strings.Contains(id, "/no-self") || strings.Contains(id, "/independent-auditor")
}

func separationOfDuties(g *gather) (Evidence, error) {
	all, err := g.refusals()
	if err != nil {
		return Evidence{}, err
	}
	var ls []auditlog.Listed
	for _, l := range all {
		if separationPolicy(l.Entry.Policy) {
			ls = append(ls, l)
		}
	}
	ev := Evidence{Text: fmt.Sprintf("対象期間に職務の分離の方針が拒否した操作 %d件", len(ls)), Figures: []Figure{fig("職務の分離による拒否", len(ls))}}
	if len(ls) > 0 {
		ev.Text += "（" + byPolicy(ls) + "）"
	}
	return ev, nil
}

func signIns(g *gather) (Evidence, error) {
	n, denied, err := g.tally("auth.login")
	if err != nil {
		return Evidence{}, err
	}
	refused, _, err := g.tallyPrefix("auth.")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の生体認証によるログイン %d件、ログインの拒否 %d件、認証に関する記録 計%d件", n-denied, denied, refused),
		Figures: []Figure{fig64("ログイン", n-denied), fig64("ログインの拒否", denied), fig64("認証の記録", refused)}}, nil
}

func screens(g *gather) (Evidence, error) {
	all, err := g.refusals()
	if err != nil {
		return Evidence{}, err
	}
	n := 0
	for _, l := range all {
		if strings.Contains(l.Action, ".") && !strings.HasPrefix(l.Action, "auth.") && !strings.HasPrefix(l.Action, "federation.") {
			n++
		}
	}
	return Evidence{Text: fmt.Sprintf("画面・操作は役割ごとに方針で判定する。対象期間に方針が拒否した管理の操作 %d件", n),
		Figures: []Figure{fig("管理の操作の拒否", n)}}, nil
}

func terminalIdentity(g *gather) (Evidence, error) {
	st, err := g.staff()
	if err != nil {
		return Evidence{}, err
	}
	certs, _, err := g.tally("terminal.cert")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("使用中の端末 %d台。対象期間の端末証明書の発行 %d件", len(st.Terminals), certs),
		Figures: []Figure{fig("端末", len(st.Terminals)), fig64("証明書の発行", certs)}}, nil
}

func notification(g *gather) (Evidence, error) {
	batches, _, err := g.tally("federation.batch")
	if err != nil {
		return Evidence{}, err
	}
	refused, _, err := g.tally("federation.refused", "federation.alert")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の通知の一括送受信 %d件、拒否・警告 %d件", batches, refused),
		Figures: []Figure{fig64("通知", batches), fig64("拒否・警告", refused)}, Attention: refused > 0}, nil
}

func consistency(g *gather) (Evidence, error) {
	n, denied, err := g.tally("check")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の整合性確認 %d件（うち拒否 %d件）", n, denied),
		Figures: []Figure{fig64("整合性確認", n), fig64("整合性確認の拒否", denied)}}, nil
}

func witness(g *gather) (Evidence, error) {
	co, cosigned, err := auditlog.LatestCosignature(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	others, _, err := g.tally("federation.witness")
	if err != nil {
		return Evidence{}, err
	}
	ev := Evidence{Figures: []Figure{fig64("連署", co.Size), fig64("他ノードへの連署", others)}}
	if cosigned {
		ev.Text = fmt.Sprintf("この監査ログのチェックポイントは立会人 %s が%d件時点まで連署（%s）", co.Witness, co.Size, jptext.FormatWareki(co.At.In(jptext.JST)))
	} else {
		ev.Text = "この監査ログのチェックポイントの連署はまだありません"
	}
	ev.Text += fmt.Sprintf("。対象期間に他のノードのチェックポイントへ連署 %d件", others)
	return ev, nil
}

func federationSuspension(g *gather) (Evidence, error) {
	if g.r.src.Staff == nil {
		return unavailable("利用停止の記録"), nil
	}
	all, err := g.r.src.Staff.Suspensions(g.ctx, false)
	if err != nil {
		return Evidence{}, err
	}
	started, active := 0, 0
	for _, sp := range all {
		if sp.Scope != staff.ScopePeer && sp.Scope != staff.ScopeOutbound {
			continue
		}
		if g.inPeriod(sp.StartedAt) {
			started++
		}
		if sp.LiftedAt.IsZero() {
			active++
		}
	}
	return Evidence{Text: fmt.Sprintf("対象期間のノード間通知の停止 %d件、現在停止中 %d件", started, active),
		Figures: []Figure{fig("通知の停止", started), fig("停止中", active)}}, nil
}

func federationProvision(g *gather) (Evidence, error) {
	n, denied, err := g.tally("provide")
	if err != nil {
		return Evidence{}, err
	}
	certs, _, err := g.tally("recipient.cert")
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間の提供先（別表）への提供 %d件（うち拒否 %d件）、提供先の証明書の発行 %d件", n, denied, certs),
		Figures: []Figure{fig64("提供", n), fig64("提供の拒否", denied), fig64("提供先の証明書", certs)}}, nil
}

func incidents(g *gather) (Evidence, error) {
	if g.r.src.Incidents == nil {
		return unavailable("事案の記録"), nil
	}
	all, err := g.r.src.Incidents(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	opened, closed, open := 0, 0, 0
	for _, in := range all {
		if g.inPeriod(in.OpenedAt) {
			opened++
		}
		if g.inPeriod(in.ClosedAt) {
			closed++
		}
		if in.Open {
			open++
		}
	}
	return Evidence{Text: fmt.Sprintf("対象期間に記録した事案 %d件、終結 %d件。現在対応中 %d件", opened, closed, open),
		Figures: []Figure{fig("事案の記録", opened), fig("終結", closed), fig("対応中", open)}, Attention: open > 0}, nil
}

func alerts(g *gather) (Evidence, error) {
	if g.r.src.Alerts == nil {
		return unavailable("不正利用の検知の記録"), nil
	}
	all, err := g.r.src.Alerts(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	raised, open := 0, 0
	var stale []string
	for _, a := range all {
		if g.inPeriod(a.RaisedAt) {
			raised++
		}
		if !a.Open {
			continue
		}
		open++
		if !a.RaisedAt.After(g.now.AddDate(0, 0, -StaleAlertDays)) {
			stale = append(stale, fmt.Sprintf("検知 %d（%s、%s）", a.ID, a.Rule, jptext.FormatWareki(a.RaisedAt.In(jptext.JST))))
		}
	}
	ev := Evidence{Text: fmt.Sprintf("対象期間の不正利用の検知 %d件。未対応 %d件、うち%d日以上未対応 %d件", raised, open, StaleAlertDays, len(stale)),
		Figures: []Figure{fig("検知", raised), fig("未対応", open), fig("長期未対応", len(stale))}, Attention: len(stale) > 0}
	if len(stale) > 0 {
		ev.Text += "：" + strings.Join(stale, "、")
	}
	return ev, nil
}

func investigation(g *gather) (Evidence, error) {
	if g.r.src.Alerts == nil || g.r.src.Incidents == nil {
		return unavailable("不正利用の検知と事案の記録"), nil
	}
	all, err := g.r.src.Alerts(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	closed := 0
	for _, a := range all {
		if !a.Open && g.inPeriod(a.ClosedAt) {
			closed++
		}
	}
	ins, err := g.r.src.Incidents(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	fromAlerts := 0
	for _, in := range ins {
		if in.FromAlert && g.inPeriod(in.OpenedAt) {
			fromAlerts++
		}
	}
	return Evidence{Text: fmt.Sprintf("対象期間に調査の結果をもって閉じた検知 %d件、検知から記録した事案 %d件", closed, fromAlerts),
		Figures: []Figure{fig("調査済みの検知", closed), fig("検知からの事案", fromAlerts)}}, nil
}

func trainingEvidence(g *gather) (Evidence, error) {
	st, err := g.staff()
	if err != nil {
		return Evidence{}, err
	}
	facts, err := training.Load(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	all := training.Statuses(g.r.prof, st, facts)
	var expired []string
	for _, s := range all {
		if !s.Valid(g.now) {
			expired = append(expired, s.VerificationID)
		}
	}
	soon := training.ExpiringSoon(all, g.now)
	sessions, _, err := g.tally("training.session")
	if err != nil {
		return Evidence{}, err
	}
	ev := Evidence{Text: fmt.Sprintf("研修を要する職員 %d人のうち、受講していないか有効期限の切れた職員 %d人", len(all), len(expired)),
		Figures:   []Figure{fig("研修を要する職員", len(all)), fig("研修切れ", len(expired)), fig("30日以内に期限", len(soon)), fig64("研修の記録", sessions)},
		Attention: len(expired) > 0}
	if len(expired) > 0 {
		ev.Text += "（" + strings.Join(expired, "、") + "）"
	}
	ev.Text += fmt.Sprintf("、30日以内に期限を迎える職員 %d人。対象期間に記録した研修 %d件", len(soon), sessions)
	return ev, nil
}

func facilities(g *gather) (Evidence, error) {
	if g.r.src.Facilities == nil {
		return unavailable("入退室・設置の記録"), nil
	}
	rooms, err := g.r.src.Facilities.Rooms(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	facts, err := facility.Load(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	st, err := g.staff()
	if err != nil {
		return Evidence{}, err
	}
	var notInstalled []string
	if facts.Required {
		for id := range st.Terminals {
			if !facts.Installed[id] {
				notInstalled = append(notInstalled, id)
			}
		}
		sort.Strings(notInstalled)
	}
	entries, err := facility.UnauthorisedEntries(g.ctx, g.r.db, -1, g.upTo)
	if err != nil {
		return Evidence{}, err
	}
	unauthorised := 0
	for _, e := range entries {
		if g.inPeriod(e.At) {
			unauthorised++
		}
	}
	ev := Evidence{Text: fmt.Sprintf("記録された室 %d、承認された設置 %d台。設置の承認のない使用中の端末 %d台、対象期間の権限のない入室 %d件",
		len(rooms), len(facts.Installed), len(notInstalled), unauthorised),
		Figures:   []Figure{fig("室", len(rooms)), fig("設置", len(facts.Installed)), fig("設置のない端末", len(notInstalled)), fig("権限のない入室", unauthorised)},
		Attention: len(notInstalled) > 0 || unauthorised > 0}
	if len(notInstalled) > 0 {
		ev.Text += "（設置のない端末：" + strings.Join(notInstalled, "、") + "）"
	}
	return ev, nil
}

func assets(g *gather) (Evidence, error) {
	if g.r.src.Assets == nil {
		return unavailable("情報資産の台帳"), nil
	}
	all, err := g.r.src.Assets.List(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	inUse, retired := 0, 0
	for _, a := range all {
		if a.InUse() {
			inUse++
		} else if !a.Retired.Day.Before(g.from) && a.Retired.Day.Before(g.to) {
			retired++
		}
	}
	return Evidence{Text: fmt.Sprintf("使用中の情報資産 %d件、対象期間に廃棄した情報資産 %d件（記録を保持する資産は消去の記録と共に廃棄）", inUse, retired),
		Figures: []Figure{fig("使用中の資産", inUse), fig("廃棄", retired)}}, nil
}

// formsEvidence reads the forms register (internal/form, koto-ward:14):
// the forms the node produced in the period and the residents they
// concern, those disposed of, those past their due day now, numbers left
// void, and the program changes not approved.
func formsEvidence(g *gather) (Evidence, error) {
	all, err := form.List(g.ctx, g.r.db, form.Filter{})
	if err != nil {
		return Evidence{}, err
	}
	issued, residents, disposed, overdue, void := 0, 0, 0, 0, 0
	for _, f := range all {
		if f.State == form.Void {
			void++
			continue
		}
		if g.inPeriod(f.IssuedAt) {
			issued++
			residents += f.Residents
		}
		if f.State == form.Disposed {
			disposed++
		}
		if f.OverdueAt(g.now) {
			overdue++
		}
	}
	unapproved, err := form.Unapproved(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	return Evidence{Text: fmt.Sprintf("対象期間に出力した帳票 %d件（対象住民 延べ%d人）。これまでに廃棄 %d件、期限を過ぎて保管・返却・廃棄されていない帳票 %d件、欠番 %d件。承認されていないプログラムの変更 %d件",
		issued, residents, disposed, overdue, void, len(unapproved)),
		Figures:   []Figure{fig("出力", issued), fig("対象住民", residents), fig("廃棄", disposed), fig("期限超過", overdue), fig("欠番", void), fig("未承認のプログラム変更", len(unapproved))},
		Attention: overdue > 0 || len(unapproved) > 0}, nil
}

func outsourcing(g *gather) (Evidence, error) {
	all, err := contract.List(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	inForce, ended := 0, 0
	var lacking []string
	for _, c := range all {
		if c.InForce(g.now) {
			inForce++
			if m := c.Missing(); len(m) > 0 {
				names := make([]string, len(m))
				for i, cl := range m {
					names[i] = cl.Name
				}
				lacking = append(lacking, fmt.Sprintf("%s（%s）", c.Vendor, strings.Join(names, "・")))
			}
		}
		if u := c.Until(); !u.Before(g.from) && u.Before(g.to) {
			ended++
		}
	}
	ev := Evidence{Text: fmt.Sprintf("効力のある委託契約 %d件のうち、必要な約定事項を欠く契約 %d件", inForce, len(lacking)),
		Figures: []Figure{fig("効力のある契約", inForce), fig("約定を欠く契約", len(lacking)), fig("期間中に終了した契約", ended)}, Attention: len(lacking) > 0}
	if len(lacking) > 0 {
		ev.Text += "：" + strings.Join(lacking, "、")
	}
	ev.Text += fmt.Sprintf("。対象期間に終了・解除した契約 %d件", ended)
	return ev, nil
}

func previousAudits(g *gather) (Evidence, error) {
	open, err := OpenActions(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	overdue := 0
	for _, a := range open {
		if a.OverdueAt(g.now) {
			overdue++
		}
	}
	plans, err := List(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	completed := 0
	for _, p := range plans {
		if p.State == Completed && g.inPeriod(p.CompletedAt) {
			completed++
		}
	}
	return Evidence{Text: fmt.Sprintf("これまでの監査の是正措置のうち未完了 %d件、期限を過ぎたもの %d件。対象期間に完了した監査 %d件", len(open), overdue, completed),
		Figures: []Figure{fig("未完了の是正措置", len(open)), fig("期限超過の是正措置", overdue), fig("完了した監査", completed)}, Attention: overdue > 0}, nil
}

func unavailable(what string) Evidence {
	return Evidence{Text: what + "がこの監査に接続されていないため、証跡を収集できませんでした", Attention: true}
}
