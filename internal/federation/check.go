package federation

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
)

// checkHeader is the first line of a signed consistency-check request.
const checkHeader = "jukinet-check v1"

// CheckRequest asks the upstream for its summary of a local government's
// residents, or for the contents of some buckets.
type CheckRequest struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	LocalGov string `json:"local_gov_code"`
	Buckets  []int  `json:"buckets,omitempty"`
	// Pull asks for the upstream's current versions of these residents:
	// a downstream node repairing its own copy from the upstream's.
	Pull []string `json:"pull,omitempty"`
	At   string   `json:"at"` // when asked (a stale request is refused)
}

// CheckAnswer is the upstream's answer.
type CheckAnswer struct {
	Total    int                `json:"total"`
	Digests  []string           `json:"digests,omitempty"`  // per bucket, hex
	Contents map[int][]gateHeld `json:"contents,omitempty"` // per asked bucket
	Records  []WireRecord       `json:"records,omitempty"`  // the versions pulled
}

type gateHeld struct {
	Code        string `json:"code"`
	ContentHash string `json:"content_hash"`
}

// ServeCheck answers POST /federation/v1/check from a downstream node.
func (r *Receiver) ServeCheck(w http.ResponseWriter, req *http.Request) {
	msg, _, ok := r.readSigned(w, req, actionCheck, isDownstream, maxRequestBytes, verifyNote)
	if !ok {
		return
	}
	ctx := req.Context()
	ss, err := peerSigners(ctx, r.n.DB, isDownstream)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, refusal{Error: err.Error()})
		return
	}
	n, err := note.Open(msg, ss.list)
	if err != nil {
		// A peer removed since readSigned checked the signature.
		writeJSON(w, http.StatusForbidden, refusal{Error: "check request refused: " + err.Error()})
		return
	}
	peer := ss.byName[n.Sigs[0].Name]
	header, body, _ := strings.Cut(n.Text, "\n")
	var cr CheckRequest
	if header != checkHeader || json.Unmarshal([]byte(body), &cr) != nil {
		writeJSON(w, http.StatusBadRequest, refusal{Error: "not a check request"})
		return
	}
	at, err := time.Parse(time.RFC3339, cr.At)
	switch {
	case cr.Source != peer.Code || cr.Target != Code(r.n):
		writeJSON(w, http.StatusForbidden, refusal{Error: "check request for another node or from another source"})
		return
	case err != nil || r.n.Now().Sub(at) > 5*time.Minute || at.Sub(r.n.Now()) > 5*time.Minute:
		writeJSON(w, http.StatusForbidden, refusal{Error: "stale check request"})
		return
	case !mayNotify(profile.Level(peer.Level), peer.Code, cr.LocalGov):
		writeJSON(w, http.StatusForbidden, refusal{Error: fmt.Sprintf("%s may not check %s", peer.Code, cr.LocalGov)})
		return
	}
	greq := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: peer.Code, Name: peer.Name}, Origin: "node:" + peer.Code,
		Affair: RegisterAffair(r.n.Profile), Reason: "整合性確認: " + cr.LocalGov}
	var ans CheckAnswer
	if len(cr.Pull) > 0 {
		recs, err := r.n.Gate.Current(ctx, greq, cr.LocalGov, cr.Pull)
		if err != nil {
			writeJSON(w, http.StatusForbidden, refusal{Error: err.Error()})
			return
		}
		for _, rec := range recs {
			ans.Records = append(ans.Records, wireRecord(rec.IdentityRecord))
		}
	} else if len(cr.Buckets) == 0 {
		s, err := r.n.Gate.Summary(ctx, greq, cr.LocalGov)
		if err != nil {
			writeJSON(w, http.StatusForbidden, refusal{Error: err.Error()})
			return
		}
		ans.Total = s.Total
		for _, d := range s.Digests {
			ans.Digests = append(ans.Digests, hex.EncodeToString(d[:]))
		}
	} else {
		contents, err := r.n.Gate.BucketContents(ctx, greq, cr.LocalGov, cr.Buckets)
		if err != nil {
			writeJSON(w, http.StatusForbidden, refusal{Error: err.Error()})
			return
		}
		ans.Contents = map[int][]gateHeld{}
		for b, hs := range contents {
			for _, h := range hs {
				ans.Contents[b] = append(ans.Contents[b], gateHeld{h.Code, h.ContentHash})
			}
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// Difference is one resident the two copies disagree on.
type Difference struct {
	Code string
	Kind string // differs, missing-upstream, missing-here, or undelivered
}

// Kinds of Difference. Undelivered is one of the others explained: the
// resident has a change this node has not yet delivered upstream, so the
// copies are expected to disagree until the next delivery.
const (
	Differs         = "differs"
	MissingUpstream = "missing-upstream"
	MissingHere     = "missing-here"
	Undelivered     = "undelivered"
)

// CheckReport is the outcome of a consistency check.
type CheckReport struct {
	LocalGov        string
	Here, Upstream  int // residents on each side
	BucketsDiffered int
	Differences     []Difference
	Undelivered     int // of the differences, residents with changes on their way
	Requeued        int // versions queued again (repair)
	Pulled          int // residents repaired from the upstream's copy (CheckPull)
	Elapsed         time.Duration
}

// Check compares this node's copy of local government lg's residents with
// the upstream's by bucket summaries, lists the residents that differ, and
// with repair queues their current versions for the upstream again.
// Residents with changes not yet delivered are reported as Undelivered and
// not queued again: the copies will agree once the outbox is delivered.
func Check(ctx context.Context, n *node.Node, lg string, repair bool) (CheckReport, error) {
	start := time.Now()
	rep := CheckReport{LocalGov: lg}
	p, err := upstream(ctx, n)
	if err != nil {
		return rep, err
	}
	if p == nil {
		return rep, apperr.New(apperr.Invalid, "this node has no upstream to check with: register it first (jukinet peer add --role upstream BUNDLE)",
			"照合する上位ノードがありません。先に jukinet peer add --role upstream で登録してください")
	}
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "federation"}, Origin: "node:" + Code(n),
		Affair: RegisterAffair(n.Profile), Reason: "整合性確認: " + lg}
	// The delivery cursor is read before the summaries: every change the
	// upstream's summary may lack was not acknowledged by then.
	acked, err := deliveredUpTo(ctx, n, p.Code)
	if err != nil {
		return rep, err
	}
	// Both sides summarise at the same time.
	var remote CheckAnswer
	s := NewSender(n, nil)
	remoteErr := make(chan error, 1)
	go func() {
		remoteErr <- s.ask(ctx, p, CheckRequest{Source: Code(n), Target: p.Code, LocalGov: lg}, &remote)
	}()
	local, err := n.Gate.Summary(ctx, req, lg)
	if rerr := <-remoteErr; err == nil {
		err = rerr
	}
	if err != nil {
		return rep, err
	}
	if len(remote.Digests) != len(local.Digests) {
		return rep, fmt.Errorf("the upstream answered %d buckets, want %d", len(remote.Digests), len(local.Digests))
	}
	rep.Here, rep.Upstream = local.Total, remote.Total
	var buckets []int
	for b, d := range local.Digests {
		if hex.EncodeToString(d[:]) != remote.Digests[b] {
			buckets = append(buckets, b)
		}
	}
	rep.BucketsDiffered = len(buckets)
	if len(buckets) > 0 {
		var theirs CheckAnswer
		go func() {
			remoteErr <- s.ask(ctx, p, CheckRequest{Source: Code(n), Target: p.Code, LocalGov: lg, Buckets: buckets}, &theirs)
		}()
		mine, err := n.Gate.BucketContents(ctx, req, lg, buckets)
		if rerr := <-remoteErr; err == nil {
			err = rerr
		}
		if err != nil {
			return rep, err
		}
		for _, b := range buckets {
			up := map[string]string{}
			for _, h := range theirs.Contents[b] {
				up[h.Code] = h.ContentHash
			}
			for _, h := range mine[b] {
				other, ok := up[h.Code]
				switch {
				case !ok:
					rep.Differences = append(rep.Differences, Difference{h.Code, MissingUpstream})
				case other != h.ContentHash:
					rep.Differences = append(rep.Differences, Difference{h.Code, Differs})
				}
				delete(up, h.Code)
			}
			for code := range up {
				rep.Differences = append(rep.Differences, Difference{code, MissingHere})
			}
		}
		slices.SortFunc(rep.Differences, func(a, b Difference) int { return strings.Compare(a.Code, b.Code) })
	}
	if len(rep.Differences) > 0 {
		codes := make([]string, len(rep.Differences))
		for i, d := range rep.Differences {
			codes[i] = d.Code
		}
		pending, err := n.Gate.Undelivered(ctx, req, acked, codes)
		if err != nil {
			return rep, err
		}
		onTheirWay := map[string]bool{}
		for _, c := range pending {
			onTheirWay[c] = true
		}
		for i, d := range rep.Differences {
			if onTheirWay[d.Code] {
				rep.Differences[i].Kind = Undelivered
				rep.Undelivered++
			}
		}
	}
	if repair {
		var codes []string
		for _, d := range rep.Differences {
			if d.Kind == Differs || d.Kind == MissingUpstream {
				codes = append(codes, d.Code)
			}
		}
		if len(codes) > 0 {
			if rep.Requeued, err = n.Gate.Resend(ctx, req, codes); err != nil {
				return rep, err
			}
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// ask sends a signed check request to the upstream and decodes the answer.
func (s *Sender) ask(ctx context.Context, p *Peer, cr CheckRequest, out *CheckAnswer) error {
	cr.At = s.n.Now().UTC().Format(time.RFC3339)
	body, err := json.Marshal(cr)
	if err != nil {
		return err
	}
	msg, err := note.Sign(&note.Note{Text: checkHeader + "\n" + string(body) + "\n"}, s.n.Signer)
	if err != nil {
		return err
	}
	client, err := s.httpClient(p)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(p.URL, "/")+"/federation/v1/check", bytes.NewReader(msg))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("ask %s: %w", p.Code, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s refused the check (%d): %s", p.Code, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return json.Unmarshal(raw, out)
}

// pullChunk is how many residents one pull request names (a request is at
// most 256 KiB; the answer about 400 bytes a resident).
const pullChunk = 5000

// CheckPull is Check with the repair the other way: the residents whose
// copies differ, or whom the upstream holds and this node does not, get
// the upstream's current versions (Gate.RestoreFromUpstream). It is how a
// node restored from a backup gets back the changes it made after the
// backup that reached the upstream. Residents with changes still on their
// way, and those the upstream lacks, are left as they are (reported).
func CheckPull(ctx context.Context, n *node.Node, lg string) (CheckReport, error) {
	rep, err := Check(ctx, n, lg, false)
	if err != nil {
		return rep, err
	}
	var codes []string
	for _, d := range rep.Differences {
		if d.Kind == Differs || d.Kind == MissingHere {
			codes = append(codes, d.Code)
		}
	}
	if len(codes) == 0 {
		return rep, nil
	}
	p, err := upstream(ctx, n)
	if err != nil {
		return rep, err
	}
	s := NewSender(n, nil)
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "federation"}, Origin: "node:" + Code(n),
		Affair: RegisterAffair(n.Profile), Reason: "整合性確認（上位ノードからの修復）: " + lg}
	for start := 0; start < len(codes); start += pullChunk {
		chunk := codes[start:min(start+pullChunk, len(codes))]
		var ans CheckAnswer
		if err := s.ask(ctx, p, CheckRequest{Source: Code(n), Target: p.Code, LocalGov: lg, Pull: chunk}, &ans); err != nil {
			return rep, err
		}
		var recs []resident.IdentityRecord
		for _, w := range ans.Records {
			rec, err := w.record()
			if err != nil {
				return rep, fmt.Errorf("a record %s returned: %w", p.Code, err)
			}
			recs = append(recs, rec)
		}
		if len(recs) == 0 {
			continue
		}
		k, err := n.Gate.RestoreFromUpstream(ctx, req, recs)
		if err != nil {
			return rep, err
		}
		rep.Pulled += k
	}
	return rep, nil
}
