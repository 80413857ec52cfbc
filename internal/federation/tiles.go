package federation

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"jukinet/internal/auditlog"
	"jukinet/internal/auditlog/tiles"
)

// TilesPrefix is where peers read this node's audit log as a tiled
// transparency log (C2SP tlog-tiles): TilesPrefix+"checkpoint",
// TilesPrefix+"tile/<L>/<N>[.p/<W>]", TilesPrefix+"tile/entries/<N>[.p/<W>]".
const TilesPrefix = "/federation/v1/audit/"

// actionTiles is the action of a tile request refused before its sender
// was known.
const actionTiles = "federation.tiles"

// ServeTiles answers GET TilesPrefix+…: the checkpoint and hash tiles to
// any registered peer, the entry bundles only to the peer that witnesses
// this node (its upstream, or the national node's named witness), which
// keeps a copy of the entries already. The sender is known by its node
// certificate alone (a GET carries no signed body), so it is served over
// mutual TLS only: anything else is refused as an unauthenticated request
// (a fixed-size, rate-limited entry). Each bundle read, or refusal to a
// peer, is an audit entry (tiles.ActionBundle) appended before a byte is
// sent.
func (r *Receiver) ServeTiles(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	conn := connOf(req)
	var peer *Peer
	if conn.TLS {
		peers, err := Peers(ctx, r.n.DB)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, refusal{Error: err.Error()})
			return
		}
		for _, p := range peers {
			if certFrom(conn.Chains, p) {
				peer = &p
				break
			}
		}
	}
	if peer == nil {
		r.refuse(ctx, w, conn, actionTiles, whyNoCertificate, nil, 0, http.StatusForbidden,
			"the audit log's tiles are served to registered peers over mutual TLS: present the node certificate (CN node:CODE) of a registered peer")
		return
	}
	res, err := tiles.ParsePath(strings.TrimPrefix(req.URL.Path, TilesPrefix))
	if err != nil {
		tileRefusal(w, err)
		return
	}
	store := auditlog.TileStore{DB: r.n.DB}
	if res.Kind != tiles.KindEntryBundle {
		a, err := tiles.Read(ctx, store, res)
		if err != nil {
			tileRefusal(w, err)
			return
		}
		tiles.Write(w, req, a)
		return
	}
	e := auditlog.Entry{Node: Code(r.n), Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: peer.Code, Name: peer.Name}, Origin: "node:" + peer.Code,
		Action: tiles.ActionBundle, Query: tiles.Path(res.Tile), Decision: auditlog.Allow, Policy: "jukinet:witness",
		Why: "the node's witness keeps a copy of its audit entries", Outcome: auditlog.OutcomeOK}
	wit, err := witness(ctx, r.n)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, refusal{Error: err.Error()})
		return
	}
	if wit == nil || wit.Code != peer.Code {
		e.Decision, e.Outcome, e.Why = auditlog.Deny, auditlog.OutcomeDenied, "entries name residents: only the node's witness reads them"
		if _, err := r.n.Log.Append(ctx, e); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, refusal{Error: "the refusal could not be logged: " + err.Error()})
			return
		}
		writeJSON(w, http.StatusForbidden, refusal{Error: fmt.Sprintf("entry bundles name residents: they are served to this node's witness only, not to %s (hash tiles and the checkpoint are served to every registered peer)", peer.Code)})
		return
	}
	a, err := tiles.Read(ctx, store, res)
	if err != nil {
		var te *tiles.Error
		if errors.As(err, &te) {
			e.Outcome, e.Error = auditlog.OutcomeError, te.Detail
			if _, lerr := r.n.Log.Append(ctx, e); lerr != nil {
				writeJSON(w, http.StatusServiceUnavailable, refusal{Error: "the attempt could not be logged: " + lerr.Error()})
				return
			}
		}
		tileRefusal(w, err)
		return
	}
	sum := sha256.Sum256(a.Body)
	start := res.Tile.N * tiles.Width
	e.Count = a.Entries
	e.Detail = fmt.Sprintf("entries %d to %d, %d bytes, sha256 %s", start, start+int64(a.Entries)-1, len(a.Body), hex.EncodeToString(sum[:]))
	if _, err := r.n.Log.Append(ctx, e); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, refusal{Error: "the read could not be logged, so nothing is sent: " + err.Error()})
		return
	}
	tiles.Write(w, req, a)
}

// tileRefusal answers a tile request the log cannot answer.
func tileRefusal(w http.ResponseWriter, err error) {
	var te *tiles.Error
	if errors.As(err, &te) {
		writeJSON(w, te.Status, refusal{Error: te.Detail})
		return
	}
	writeJSON(w, http.StatusInternalServerError, refusal{Error: err.Error()})
}
