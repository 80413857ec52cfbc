package federation

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/node"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/terminalca"
)

// Bundle is what one node hands another, offline, to become peers: who it
// is, where it listens, the key its batches are signed with, and its CA.
type Bundle struct {
	Code    string `json:"code"` // local government code, or "national"
	Level   string `json:"level"`
	Name    string `json:"name"`
	URL     string `json:"url"`
	NoteKey string `json:"note_key"`
	CAPEM   string `json:"ca_pem"`
}

// What a bundle's text may hold (docs/fields.md): a bundle comes from
// another node, and its name, code and URL are logged when it is added.
var (
	FieldPeerCode = resident.Field{Name: "code", Japanese: "ノードのコード", Class: resident.ClassText, Max: 16}
	FieldPeerName = resident.Field{Name: "name", Japanese: "ノードの名称", Class: resident.ClassText, Max: 100}
	FieldPeerURL  = resident.Field{Name: "url", Japanese: "接続先URL", Class: resident.ClassText, Max: 2000}
)

// Peer roles.
const (
	Upstream   = "upstream"
	Downstream = "downstream"
)

// Peer is a registered peer node.
type Peer struct {
	Bundle
	Role    string
	Witness bool // cosigns this (national) node's checkpoints
	AddedAt time.Time
}

// Code is the code a node is known by in the network.
func Code(n *node.Node) string {
	if n.Info.Level == profile.National {
		return "national"
	}
	return string(n.Info.LocalGov.Code)
}

// Export returns this node's bundle; url is where it listens for peers.
func Export(n *node.Node, url string) (Bundle, error) {
	ca, err := terminalca.Open(n.Dir, n.Info.Name())
	if err != nil {
		return Bundle{}, err
	}
	return Bundle{Code: Code(n), Level: string(n.Info.Level), Name: n.Info.Name(), URL: url, NoteKey: n.Info.PublicKey, CAPEM: string(ca.PEM)}, nil
}

// expectedRole checks that a peer sits where role says: the upstream of a
// municipality is its prefecture, of a prefecture the national node; the
// downstream nodes the other way round.
func expectedRole(n *node.Node, role string, b Bundle) error {
	own := n.Info.Level
	peer := profile.Level(b.Level)
	switch {
	case role == Upstream && own == profile.Municipality && peer == profile.Prefecture && b.Code == string(n.Info.LocalGov.Code[:2])+"0001":
	case role == Upstream && own == profile.Prefecture && peer == profile.National:
	case role == Downstream && own == profile.Prefecture && peer == profile.Municipality && b.Code[:2] == string(n.Info.LocalGov.Code[:2]):
	case role == Downstream && own == profile.National && peer == profile.Prefecture:
	default:
		return apperr.New(apperr.Invalid, fmt.Sprintf("a %s node cannot have %s %s (%s) as its %s", own, b.Level, b.Code, b.Name, role),
			fmt.Sprintf("%s（%s）はこのノードの%sにできません", b.Name, b.Code, roleJA(role)))
	}
	return nil
}

// checkBundle checks a bundle before it is registered as role: the peer
// sits where role says, its key is its own, an upstream has a URL.
func checkBundle(n *node.Node, role string, b Bundle) error {
	if role != Upstream && role != Downstream {
		return apperr.New(apperr.Invalid, "role: upstream or downstream", "上位（upstream）か下位（downstream）を指定してください")
	}
	if len(b.Code) < 2 {
		return apperr.New(apperr.Invalid, "the bundle names no node", "接続情報にノードの識別がありません")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldPeerCode, Text: b.Code}, resident.Value{Field: FieldPeerName, Text: b.Name},
		resident.Value{Field: FieldPeerURL, Text: b.URL}); err != nil {
		return err
	}
	if err := expectedRole(n, role, b); err != nil {
		return err
	}
	v, err := note.NewVerifier(b.NoteKey)
	if err != nil {
		return apperr.New(apperr.Invalid, "the bundle's key: "+err.Error(), "接続情報の公開鍵が正しくありません")
	}
	if want := "jukinet-" + b.Code; v.Name() != want {
		return apperr.New(apperr.Invalid, fmt.Sprintf("the bundle's key is named %s, not %s", v.Name(), want), "接続情報の公開鍵がノードと一致しません")
	}
	if role == Upstream && b.URL == "" {
		return apperr.New(apperr.Invalid, "an upstream bundle needs its URL", "上位ノードの接続先URLがありません")
	}
	// The CA is what mutual TLS trusts of the peer (certFrom, httpClient):
	// one that does not parse would be accepted now and refuse every
	// delivery later.
	block, _ := pem.Decode([]byte(b.CAPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return apperr.New(apperr.Invalid, "the bundle's ca_pem is not a PEM certificate: export the bundle again on the other node (jukinet peer export)",
			"接続情報のCA証明書が正しくありません。相手のノードで jukinet peer export をやり直してください")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return apperr.New(apperr.Invalid, "the bundle's CA certificate: "+err.Error(),
			"接続情報のCA証明書を読み取れません。相手のノードで jukinet peer export をやり直してください")
	}
	return nil
}

// Add registers a peer from its bundle, as who; decided by the policies
// (manage-peers) and logged.
func Add(ctx context.Context, n *node.Node, who staff.Who, role string, b Bundle) error {
	if err := checkBundle(n, role, b); err != nil {
		return err
	}
	e := auditlog.Entry{Action: "federation.add-peer", Query: role + ":" + b.Code,
		Detail: fmt.Sprintf("%s %s (%s) at %s, key %s", role, b.Code, b.Name, b.URL, b.NoteKey)}
	return administer(ctx, n, who, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		var count int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM fed_peer WHERE code = ? OR (role = 'upstream' AND ? = 'upstream')`, b.Code, role).Scan(&count); err != nil {
			return err
		}
		if count > 0 {
			return apperr.New(apperr.Conflict, "the peer (or an upstream) is already registered: replace it with jukinet peer add --replace, or remove it with jukinet peer remove",
				"この接続先（または上位ノード）は既に登録されています（置き換えは --replace、削除は jukinet peer remove）")
		}
		_, err := tx.Exec(ctx, `INSERT INTO fed_peer (code, role, level, name, url, note_key, ca_pem, added_at, added_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.Code, role, b.Level, b.Name, b.URL, b.NoteKey, b.CAPEM, e.Time, seq)
		return err
	})
}

// Replace registers b in place of the peer of the same code and role (a
// bundle added by mistake, a peer's new key, URL or CA), as who; decided
// by the policies (manage-peers) and logged with the old and the new
// bundle's key. Refused while changes to that upstream are unacknowledged,
// unless force: they would be delivered to, or signed for, the other one.
func Replace(ctx context.Context, n *node.Node, who staff.Who, role string, b Bundle, force bool) error {
	if err := checkBundle(n, role, b); err != nil {
		return err
	}
	e := auditlog.Entry{Action: "federation.replace-peer", Query: role + ":" + b.Code}
	return administer(ctx, n, who, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		old, err := registeredPeer(ctx, tx, b.Code)
		if err != nil {
			return err
		}
		if old.Role != role {
			return apperr.New(apperr.Conflict, fmt.Sprintf("%s is registered as %s, not %s: remove it first", b.Code, old.Role, role),
				fmt.Sprintf("%s は%sとして登録されています。先に削除してください", b.Code, roleJA(old.Role)))
		}
		if err := refuseInFlight(ctx, tx, old, force); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE fed_peer SET level = ?, name = ?, url = ?, note_key = ?, ca_pem = ?, added_at = ?, added_seq = ? WHERE code = ?`,
			b.Level, b.Name, b.URL, b.NoteKey, b.CAPEM, e.Time, seq, b.Code); err != nil {
			return err
		}
		e.Detail = fmt.Sprintf("%s %s (%s): %s, key %s replaced by %s, key %s%s", role, b.Code, b.Name, old.URL, old.NoteKey, b.URL, b.NoteKey, forced(force))
		return nil
	})
}

// Remove ends the registration of the peer code, as who; decided by the
// policies (manage-peers) and logged. Refused while changes to it (an
// upstream) are unacknowledged, unless force. What the peer sent stays in
// the register and the log; a removed downstream peer's batches are refused
// as those of an unknown node.
func Remove(ctx context.Context, n *node.Node, who staff.Who, code string, force bool) error {
	if err := resident.CheckValues(resident.Value{Field: FieldPeerCode, Text: code, Required: true}); err != nil {
		return err
	}
	e := auditlog.Entry{Action: "federation.remove-peer", Query: "peer:" + code}
	return administer(ctx, n, who, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		old, err := registeredPeer(ctx, tx, code)
		if err != nil {
			return err
		}
		if err := refuseInFlight(ctx, tx, old, force); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM fed_peer WHERE code = ?`, code); err != nil {
			return err
		}
		e.Detail = fmt.Sprintf("%s %s (%s) at %s, key %s removed%s", old.Role, old.Code, old.Name, old.URL, old.NoteKey, forced(force))
		return nil
	})
}

// registeredPeer reads the peer code in tx, or fails with not found.
func registeredPeer(ctx context.Context, tx *db.Tx, code string) (Peer, error) {
	var p Peer
	err := tx.QueryRow(ctx, `SELECT code, role, name, url, note_key FROM fed_peer WHERE code = ?`, code).Scan(&p.Code, &p.Role, &p.Name, &p.URL, &p.NoteKey)
	if errors.Is(err, sql.ErrNoRows) {
		return p, apperr.New(apperr.NotFound, fmt.Sprintf("no peer %s is registered (jukinet federation status lists them)", code),
			fmt.Sprintf("接続先 %s は登録されていません", code))
	}
	if err != nil {
		return p, fmt.Errorf("read peer %s: %w", code, err)
	}
	return p, nil
}

// refuseInFlight fails, unless force, when changes to the upstream p are
// not yet acknowledged.
func refuseInFlight(ctx context.Context, tx *db.Tx, p Peer, force bool) error {
	if p.Role != Upstream || force {
		return nil
	}
	var pending int64
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM fed_outbox WHERE seq > COALESCE((SELECT last_acked FROM fed_delivery WHERE peer = ?), 0)`, p.Code).Scan(&pending); err != nil {
		return fmt.Errorf("count changes in flight: %w", err)
	}
	if pending > 0 {
		return apperr.New(apperr.Conflict, fmt.Sprintf("%d changes to upstream %s are not yet acknowledged: wait for them (jukinet federation status), or give --force to change the peer anyway", pending, p.Code),
			fmt.Sprintf("上位ノード %s への未確認の異動が%d件あります。送信の完了を待つか、--force を指定してください", p.Code, pending))
	}
	return nil
}

func forced(force bool) string {
	if force {
		return " (forced)"
	}
	return ""
}

func roleJA(role string) string {
	return map[string]string{Upstream: "上位ノード", Downstream: "下位ノード"}[role]
}

// Peers lists the registered peers.
func Peers(ctx context.Context, q db.Querier) ([]Peer, error) {
	rows, err := q.Query(ctx, `SELECT code, role, level, name, url, note_key, ca_pem, witness, added_at FROM fed_peer ORDER BY role DESC, code`)
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	defer rows.Close()
	var out []Peer
	for rows.Next() {
		var p Peer
		if err := rows.Scan(&p.Code, &p.Role, &p.Level, &p.Name, &p.URL, &p.NoteKey, &p.CAPEM, &p.Witness, &p.AddedAt); err != nil {
			return nil, fmt.Errorf("list peers: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// MarshalBundle is a bundle as a file.
func MarshalBundle(b Bundle) ([]byte, error) { return json.MarshalIndent(b, "", "  ") }

// UnmarshalBundle reads a bundle file.
func UnmarshalBundle(raw []byte) (Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("not a peer bundle (jukinet peer export on the other node writes one): %w", err)
	}
	return b, nil
}

// SetWitness makes a downstream peer the witness of this national node's
// audit-log checkpoints (the national node has no upstream to witness
// them); decided by the policies (manage-peers) and logged.
func SetWitness(ctx context.Context, n *node.Node, who staff.Who, code string) error {
	if err := resident.CheckValues(resident.Value{Field: FieldPeerCode, Text: code, Required: true}); err != nil {
		return err
	}
	if n.Info.Level != profile.National {
		return apperr.New(apperr.Invalid, "only the national node names a witness; other nodes are witnessed by their upstream",
			"証人ノードを指定するのは全国サーバのみです（他のノードは上位ノードが証明します）")
	}
	e := auditlog.Entry{Action: "federation.set-witness", Query: "peer:" + code}
	return administer(ctx, n, who, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		res, err := tx.Exec(ctx, `UPDATE fed_peer SET witness = ? WHERE code = ? AND role = 'downstream' AND url <> ''`, true, code)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return apperr.New(apperr.NotFound, fmt.Sprintf("%s is not a downstream peer with a URL", code), fmt.Sprintf("%s はURLを持つ下位ノードではありません", code))
		}
		_, err = tx.Exec(ctx, `UPDATE fed_peer SET witness = ? WHERE code <> ?`, false, code)
		return err
	})
}

// signers are the peers whose signatures a receiver accepts, by key name.
type signers struct {
	list   note.Verifiers
	byName map[string]Peer
	keys   map[string]note.Verifier
}

// peerSigners loads the registered peers that match accept and their keys.
func peerSigners(ctx context.Context, q db.Querier, accept func(Peer) bool) (*signers, error) {
	peers, err := Peers(ctx, q)
	if err != nil {
		return nil, err
	}
	s := &signers{byName: map[string]Peer{}, keys: map[string]note.Verifier{}}
	var vs []note.Verifier
	for _, p := range peers {
		if !accept(p) {
			continue
		}
		v, err := note.NewVerifier(p.NoteKey)
		if err != nil {
			continue
		}
		vs = append(vs, v)
		s.byName[v.Name()], s.keys[v.Name()] = p, v
	}
	s.list = note.VerifierList(vs...)
	return s, nil
}

func isDownstream(p Peer) bool { return p.Role == Downstream }

// administer asks the policies whether who may manage this node's peers;
// a refusal is logged and returned, otherwise work runs in the transaction
// of entry e (action, query and detail set by the caller).
func administer(ctx context.Context, n *node.Node, who staff.Who, e auditlog.Entry, work auditlog.Work) error {
	v := n.Policy.MayAdminister(ctx, who, staff.ActManagePeers, staff.Resource{Kind: "node", ID: Code(n)})
	e.Node, e.Actor, e.Origin = Code(n), who.Actor, who.Origin
	e.Decision, e.Policy, e.Why, e.WhyJapanese, e.Outcome = auditlog.Allow, v.Policy, v.Why, v.Japanese, auditlog.OutcomeOK
	if !v.Allow {
		e.Decision, e.Outcome = auditlog.Deny, auditlog.OutcomeDenied
		if _, err := n.Log.Append(ctx, e); err != nil {
			return err
		}
		return apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
	}
	_, workErr, err := n.Log.AppendWith(ctx, e, work)
	if err != nil {
		return err
	}
	return workErr
}
