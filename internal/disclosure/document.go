package disclosure

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/form"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/report"
	"jukinet/internal/staff"
)

// actionJapanese names, for a resident, the actions an entry concerning
// them may record (the screens' fuller list is internal/web/actions.go).
var actionJapanese = map[string]string{
	"lookup": "照会", "search": "4情報による検索", "history": "履歴の照会", "apply": "異動の記録", "import": "一括取込",
	"export": "一括出力", "provide": "提供先への提供", "notify": "上位ノードへの異動の通知", "replicate": "下位ノードの異動の反映",
	"check": "整合性確認", "disclosure.receive": "開示請求の受付", "disclosure.disclose": "開示の決定", "disclosure.partial": "部分開示の決定",
	"disclosure.refuse": "不開示の決定", "disclosure.issue": "開示書の交付", "disclosure.reprint": "開示書の再交付", "disclosure.download": "交付した開示書の再出力",
}

// itemJapanese names the record items a provision lists (the gate's items).
var itemJapanese = map[string]string{
	"name": "氏名", "kana": "氏名のふりがな", "former_surname": "旧氏", "alias": "通称", "date_of_birth": "生年月日", "sex": "性別",
	"address": "住所", "resident_code": "住民票コード", "individual_number": "個人番号", "change": "異動情報",
}

// Staff says which department a staff member belongs to (by verification
// id), for the document's 部署 column: the resident learns the department
// that looked, never the clerk's name.
type Staff func(vid string) (department string, ok bool)

// Document lays an issued request out for the resident (internal/report):
// the request and its decision, then every record of the proof — when,
// which body and department, what was done, for which affair and why, and
// what was provided — never the name of the staff member; dates in 和暦.
// issuer names the body and department that issue it.
func Document(prof *profile.Profile, issuer string, q Request, p *auditlog.ResidentProof, staffOf Staff, now time.Time) (report.Document, error) {
	items := make([]string, len(q.Items))
	for i, it := range q.Items {
		items[i] = it.Japanese()
	}
	requester := q.Requester.Japanese()
	if q.Requester == Representative {
		requester += "（" + q.RequesterName + "、" + q.Authority + "）"
	}
	meta := []report.Field{
		{Label: "開示請求", Value: fmt.Sprintf("第%d号（%s受付）", q.ID, jptext.FormatWareki(q.Received))},
		{Label: "住民票コード", Value: q.Resident},
		{Label: "請求者", Value: requester},
		{Label: "開示を求める事項", Value: strings.Join(items, "、")},
		{Label: "決定", Value: q.Decision.Japanese()},
	}
	if q.Reason != "" {
		meta = append(meta, report.Field{Label: "決定の理由", Value: q.Reason})
	}
	size := CheckpointSize(p)
	meta = append(meta, report.Field{Label: "記録の件数", Value: fmt.Sprintf("%d件（監査ログ %d件時点の署名付きチェックポイントまで）", len(p.Entries), size)})
	rows := make([][]string, 0, len(p.Entries))
	for _, pe := range p.Entries {
		if pe.Content == "" {
			rows = append(rows, []string{fmt.Sprint(pe.Seq), "", "", "", "保存期間の経過により内容は削除済み（記録があったことは証明されます）"})
			continue
		}
		e, err := auditlog.DecodeEntry([]byte(pe.Content))
		if err != nil {
			return report.Document{}, fmt.Errorf("entry %d: %w", pe.Seq, err)
		}
		rows = append(rows, row(prof, e, staffOf))
	}
	d := report.Document{
		Title:    "本人確認情報の提供状況等の開示書",
		Subtitle: "住民基本台帳ネットワークシステムにおける、あなたの本人確認情報の利用及び提供の記録",
		Issued:   now, Issuer: issuer, Meta: meta, Landscape: true,
		Sections: []report.Section{{
			Heading: "利用及び提供の記録",
			Paragraphs: []string{"職員の氏名は記載していません。部署は、記録した職員の現在の所属です。" +
				"これがあなたに関する記録のすべてであることは、同時に交付する証明ファイル（JSON）で確かめられます。"},
			Table: &report.Table{Columns: []report.Column{{Label: "番号", Width: 0.7, Align: report.Right}, {Label: "日時", Width: 2.2},
				{Label: "機関・部署", Width: 2.2}, {Label: "内容", Width: 1.6}, {Label: "利用事務・理由", Width: 3.2}, {Label: "提供した項目・提供先", Width: 2.4}},
				Rows: rows},
		}, {
			Heading: "記録が漏れなく記載されていることの確かめ方",
			Paragraphs: []string{
				"証明ファイルには、各記録が監査ログにあることの証明（包含証明）と、あなたに関する記録の一覧がすべてであることの証明（住民別索引）が含まれ、" +
					"ノードの署名と立会人の連署のあるチェックポイントに結び付いています。",
				"確かめ方：検証用ページ（jukinet disclosure page で出力される HTML ファイル。ネットワークに接続しません）で証明ファイルを開き、" +
					"ノードの公開鍵を入力します。または jukinet disclosure verify --key node.pub 証明ファイル を実行します。",
				fmt.Sprintf("証明ファイルの SHA-256：%s", q.ProofSHA256),
			},
		}},
	}
	return d, nil
}

// row is one record for the resident.
func row(prof *profile.Profile, e *auditlog.Entry, staffOf Staff) []string {
	when := e.Time.In(jptext.JST)
	body := e.Node
	if lg, ok := ids.LookupLocalGov(ids.LocalGovCode(e.Node)); ok {
		body = lg.Prefecture + lg.Name
		if lg.Name == lg.Prefecture {
			body = lg.Name
		}
	}
	where := body
	switch e.Actor.Kind {
	case auditlog.ActorOperator:
		if dept, ok := staffOf(e.Actor.ID); ok {
			if d, ok := prof.Department(dept); ok {
				where = body + " " + d.Name
			}
		}
	case auditlog.ActorConsole:
		where = body + "（サーバの操作）"
	case auditlog.ActorPeer:
		if lg, ok := ids.LookupLocalGov(ids.LocalGovCode(e.Actor.ID)); ok {
			where = lg.Prefecture + lg.Name + "（ノード）"
		}
	case auditlog.ActorRecipient:
		where = e.Actor.ID + "（提供先）"
	}
	what := actionJapanese[e.Action]
	if what == "" {
		what = e.Action
	}
	if e.Decision == auditlog.Deny {
		what += "（拒否）"
	}
	affair := e.Affair
	if a, ok := prof.Affair(e.Affair); ok {
		affair = a.Name
	}
	if e.Reason != "" {
		affair += "：" + e.Reason
	}
	provided := ""
	if pv := e.Provision; pv != nil {
		names := make([]string, len(pv.Items))
		for i, it := range pv.Items {
			names[i] = itemJapanese[it]
			if names[i] == "" {
				names[i] = it
			}
		}
		provided = strings.Join(names, "・")
		// A body the information went to is named; the node's own staff
		// (at a terminal, or at the server's console) are not.
		if !strings.HasPrefix(pv.Recipient, "operator:") && !strings.HasPrefix(pv.Recipient, "console:") {
			provided += "（提供先：" + pv.Recipient + "）"
		}
	}
	return []string{fmt.Sprint(e.Seq), jptext.FormatWareki(when) + " " + when.Format("15:04"), where, what, affair, provided}
}

// PDF returns the Render of the document for the resident: body names the
// issuing body (the node's name), people are the node's staff, whose
// departments the document shows; the control number goes on every page.
func PDF(prof *profile.Profile, body string, people []staff.Person, now time.Time) Render {
	return func(doc *IssuedDocument, n form.Number) ([]byte, error) {
		return renderPDF(prof, body, doc, n, people, now)
	}
}

func renderPDF(prof *profile.Profile, body string, doc *IssuedDocument, n form.Number, people []staff.Person, now time.Time) ([]byte, error) {
	depts := make(map[string]string, len(people))
	for _, p := range people {
		depts[p.VerificationID] = p.Department
	}
	issuer := body
	if d, ok := prof.Department(prof.Disclosure.Department); ok {
		issuer += " " + d.Name
	}
	d, err := Document(prof, issuer, doc.Request, doc.Proof, func(vid string) (string, bool) { dept, ok := depts[vid]; return dept, ok }, now)
	if err != nil {
		return nil, err
	}
	d.Control = "帳票管理番号 " + n.String()
	var b bytes.Buffer
	if err := report.WritePDF(&b, d); err != nil {
		return nil, fmt.Errorf("render the disclosure of request %d: %w", doc.Request.ID, err)
	}
	return b.Bytes(), nil
}
