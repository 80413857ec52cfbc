package web

import (
	"slices"
	"strings"
)

// actionLabel is an audit log action as people call it, in Japanese and
// English. The log keeps the code; screens show the label, with the code
// as secondary detail for auditors.
type actionLabel struct{ ja, en string }

// actionLabels names every action the node writes into its audit log. An
// action missing here is shown by its code.
var actionLabels = map[string]actionLabel{
	"lookup":    {"照会", "Lookup"},
	"search":    {"4情報による検索", "Search by the four items"},
	"history":   {"履歴の照会", "History"},
	"apply":     {"異動の記録", "Change recorded"},
	"import":    {"一括取込", "Import"},
	"export":    {"一括出力", "Export"},
	"provide":   {"提供先への提供", "Provision to a recipient"},
	"notify":    {"上位ノードへの異動の通知", "Changes notified upstream"},
	"replicate": {"下位ノードの異動の反映", "Changes from a downstream node"},
	"check":     {"整合性確認", "Consistency check"},
	"rekey":     {"検索キーの再作成", "Search keys rebuilt"},
	"prune":     {"保存期間を過ぎた記録の削除", "Pruned past retention"},

	"detect":       {"不正利用の検知", "Detection run"},
	"detect.close": {"検知への対応の完了", "Alert closed"},

	"auth.login":           {"ログイン", "Sign-in"},
	"auth.logout":          {"ログアウト", "Sign-out"},
	"auth.reverify":        {"生体認証の再確認", "Re-verification"},
	"auth.enrol":           {"照合情報の登録", "Credential enrolled"},
	"auth.issue-enrolment": {"照合情報の登録用リンクの発行", "Enrolment link issued"},
	"auth.session":         {"他の端末でのセッション利用", "Session used from another terminal"},

	"staff.register-staff":          {"職員の登録", "Staff registered"},
	"staff.assign-role":             {"役割の割当て", "Role assigned"},
	"staff.designate-operator":      {"取扱者の指定", "Operator designated"},
	"staff.approve-terminal":        {"端末の設置承認", "Terminal approved"},
	"staff.report-terminal-manager": {"端末機管理者の報告", "Terminal manager reported"},
	"staff.approve-usage":           {"利用の承認", "Use of an affair approved"},
	"staff.enrol-credential":        {"照合情報の登録・削除", "Credential register"},
	"staff.suspend":                 {"利用停止・解除", "Suspension"},
	"staff.manage-peers":            {"接続先ノードの管理", "Peer nodes"},

	"incident.open":    {"事案の記録", "Incident opened"},
	"incident.measure": {"措置の記録", "Measure recorded"},
	"incident.close":   {"事案の終結", "Incident closed"},

	"training.session": {"研修の記録", "Training session recorded"},

	"contract.add":           {"委託契約の記録", "Contract recorded"},
	"contract.clause":        {"約定事項の記録", "Contract clause recorded"},
	"contract.person":        {"受託者の登録", "Contractor's person recorded"},
	"contract.person-remove": {"受託者の登録の取消し", "Contractor's person removed"},
	"contract.report":        {"受託者の報告の記録", "Vendor's report recorded"},
	"contract.end":           {"委託契約の解除", "Contract ended early"},

	"asset.add":          {"情報資産の登録", "Asset registered"},
	"asset.retire":       {"情報資産の廃止", "Asset retired"},
	"facility.room":      {"室の登録", "Room recorded"},
	"facility.authorise": {"入室の許可", "Entry authorised"},
	"facility.entry":     {"入退室の記録", "Room entry recorded"},
	"facility.import":    {"入退室記録の取込み", "Card-reader entries imported"},
	"facility.install":   {"端末機の設置承認", "Terminal installation approved"},

	"approval.apply":          {"利用の承認の申請", "Usage applied for"},
	"approval.approve":        {"利用申請の承認", "Usage application approved"},
	"approval.refuse":         {"利用申請の不承認", "Usage application refused"},
	"approval.withdraw":       {"利用申請の取下げ", "Usage application withdrawn"},
	"approval.end":            {"利用の終了", "Usage ended"},
	"approval.request-report": {"利用状況報告の求め", "Status report requested"},
	"approval.submit-report":  {"利用状況報告の提出", "Status report submitted"},
	"approval.status":         {"利用状況の出力", "Usage status drawn"},

	"terminal.cert":  {"端末証明書の発行", "Terminal certificate issued"},
	"recipient.cert": {"提供先証明書の発行", "Recipient certificate issued"},

	"federation.add-peer":     {"接続先ノードの登録", "Peer added"},
	"federation.replace-peer": {"接続先ノードの置換え", "Peer replaced"},
	"federation.remove-peer":  {"接続先ノードの削除", "Peer removed"},
	"federation.set-witness":  {"証人ノードの指定", "Witness named"},
	"federation.resume":       {"送信元の再開", "Source resumed"},
	"federation.alert":        {"ネットワークの警告", "Network alert"},
	"federation.batch":        {"異動の受信", "Batch received"},
	"federation.check":        {"整合性確認の要求", "Consistency check request"},
	"federation.witness":      {"チェックポイントの証明", "Checkpoint witnessed"},
	"federation.refused":      {"認証前に拒否した要求", "Refused before authentication"},

	"audit.export": {"監査ログの書き出し", "Audit log exported"},

	"federation.entries": {"下位ノードの監査ログの写しの受領", "Audit entries of a node kept"},
	"federation.recover": {"下位ノードへの監査ログの写しの返却", "Audit entries returned to their node"},
	"audit.recovered":    {"監査ログの復旧", "Audit log recovered"},
	"audit.gap":          {"監査ログの欠落（復旧できない記録）", "Audit log gap (entries lost)"},
	"federation.rewind":  {"復元された上位ノードへの異動の再送", "Changes sent again to a restored upstream"},
	"audit.bundle":       {"監査ログの記録束（タイル）の取得", "Audit entry bundle read (tiles)"},
}

// label names an action in the page's language (its code when unknown).
func (w words) action(code string) string {
	if l, ok := actionLabels[code]; ok {
		return w.pick(l.ja, l.en)
	}
	return code
}

// actionCode reads what an auditor typed into the action filter: a label
// of either language (照会, Lookup) or the code itself.
func actionCode(typed string) string {
	typed = strings.TrimSpace(typed)
	for code, l := range actionLabels {
		if typed == l.ja || strings.EqualFold(typed, l.en) {
			return code
		}
	}
	return typed
}

// actionChoices are the labels the action filter offers, in the page's
// language, in a stable order.
func (w words) actionChoices() []string {
	out := make([]string, 0, len(actionLabels))
	for code := range actionLabels {
		out = append(out, w.action(code))
	}
	slices.Sort(out)
	return out
}

// The system audits' actions (internal/sysaudit).
func init() {
	for code, l := range map[string]actionLabel{
		"sysaudit.plan":      {"システム監査の計画", "Audit planned"},
		"sysaudit.checklist": {"監査のチェックリストの作成", "Audit checklist generated"},
		"sysaudit.assess":    {"点検項目の評価", "Check assessed"},
		"sysaudit.finding":   {"監査の指摘の記録", "Audit finding recorded"},
		"sysaudit.action":    {"是正措置の記録", "Corrective action recorded"},
		"sysaudit.follow-up": {"是正措置の経過の記録", "Corrective action followed up"},
		"sysaudit.close":     {"是正措置の完了", "Corrective action closed"},
		"sysaudit.complete":  {"システム監査の完了", "Audit completed"},
		"sysaudit.report":    {"監査報告書の出力", "Audit report issued"},
	} {
		actionLabels[code] = l
	}
}

// The actions of the registers added beside the screens: support measures
// (internal/protect), the security council (internal/council), disclosure
// requests (internal/disclosure), correspondence between bodies
// (internal/correspondence), the forms register (internal/form) and
// backups (internal/backup).
func init() {
	for code, l := range map[string]actionLabel{
		"protect.mark":                {"支援措置の登録", "Support measure recorded"},
		"protect.end":                 {"支援措置の終了", "Support measure ended"},
		"protect.view":                {"支援措置対象者の一覧の閲覧", "Support measures viewed"},
		"protect.notify":              {"支援措置の通知", "Support measure notified"},
		"protect.receive":             {"支援措置の通知の受信", "Support measure notice received"},
		"council.convene":             {"セキュリティ会議の招集", "Security council convened"},
		"council.attend":              {"会議の出席の記録", "Attendance recorded"},
		"council.item":                {"議題の追加", "Agenda item added"},
		"council.decide":              {"会議の決定の記録", "Council decision recorded"},
		"council.minutes":             {"議事録の記録", "Minutes recorded"},
		"council.approve-minutes":     {"議事録の承認", "Minutes approved"},
		"council.directive":           {"指示の発出", "Directive issued"},
		"council.request":             {"要請の発出", "Request issued"},
		"council.acknowledge":         {"指示の受領", "Directive acknowledged"},
		"council.complete":            {"指示の完了の報告", "Directive completed"},
		"council.answer":              {"要請への回答の記録", "Request answered"},
		"disclosure.receive":          {"開示請求の受付", "Disclosure request received"},
		"disclosure.disclose":         {"開示の決定", "Disclosure decided"},
		"disclosure.partial":          {"部分開示の決定", "Partial disclosure decided"},
		"disclosure.refuse":           {"不開示の決定", "Disclosure refused"},
		"disclosure.issue":            {"開示書の交付", "Disclosure issued"},
		"disclosure.reprint":          {"開示書の再印刷", "Disclosure reprinted"},
		"disclosure.download":         {"開示書の取得", "Disclosure downloaded"},
		"correspondence.send":         {"文書の送付", "Document sent"},
		"correspondence.receive":      {"文書の受信", "Document received"},
		"correspondence.acknowledged": {"文書の受領の確認", "Document acknowledged"},
		"correspondence.refused":      {"文書の受信の拒否", "Document refused"},
		"form.register":               {"帳票の登録", "Form registered"},
		"form.store":                  {"帳票の保管", "Form stored"},
		"form.take-out":               {"帳票の持出", "Form taken out"},
		"form.return":                 {"帳票の返却", "Form returned"},
		"form.hand-over":              {"帳票の交付", "Form handed over"},
		"form.dispose":                {"帳票の廃棄", "Form disposed of"},
		"form.program-change":         {"プログラム変更の検知", "Program change detected"},
		"form.approve-program-change": {"プログラム変更の承認", "Program change approved"},
		"backup.take":                 {"バックアップの取得", "Backup taken"},
		"backup.remove":               {"バックアップの消去", "Backup erased"},
	} {
		if _, ok := actionLabels[code]; !ok {
			actionLabels[code] = l
		}
	}
}
