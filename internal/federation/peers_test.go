package federation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
)

// TestReplaceAndRemovePeer: a peer added with a wrong bundle is replaced
// without re-creating either node — refused while changes to it are in
// flight, unless forced — and a peer can be removed; each step is logged.
func TestReplaceAndRemovePeer(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		city := newNode(t, "koto-ward", "022012")
		right := newNode(t, "aomori-pref", "020001")
		wrong := newNode(t, "aomori-pref", "020001") // another node with the prefecture's code: another key
		recv := NewReceiver(right, nil)
		mux := http.NewServeMux()
		mux.Handle("/federation/v1/batches", recv)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		rightBundle, _ := Export(right, srv.URL)
		wrongBundle, _ := Export(wrong, "http://127.0.0.1:1")
		cityBundle, _ := Export(city, "")
		if err := Add(ctx, right, console, Downstream, cityBundle); err != nil {
			t.Fatal(err)
		}

		// The wrong bundle is added; adding the right one is refused and says how to replace.
		if err := Add(ctx, city, console, Upstream, wrongBundle); err != nil {
			t.Fatal(err)
		}
		err := Add(ctx, city, console, Upstream, rightBundle)
		if apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(err.Error(), "--replace") {
			t.Fatalf("adding a second upstream: %v", err)
		}

		// Changes waiting for the upstream: replacing it is refused …
		importN(t, city, "022012", 3, 1)
		err = Replace(ctx, city, console, Upstream, rightBundle, false)
		if apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(err.Error(), "3 changes") {
			t.Fatalf("replace with changes in flight: %v", err)
		}
		if ps, _ := Peers(ctx, city.DB); len(ps) != 1 || ps[0].NoteKey != wrongBundle.NoteKey {
			t.Fatalf("a refused replacement changed the peer: %+v", ps)
		}
		// … unless forced; then they reach the right node.
		if err := Replace(ctx, city, console, Upstream, rightBundle, true); err != nil {
			t.Fatal(err)
		}
		if ps, _ := Peers(ctx, city.DB); len(ps) != 1 || ps[0].NoteKey != rightBundle.NoteKey || ps[0].URL != srv.URL {
			t.Fatalf("after replacing: %+v", ps)
		}
		if sent, err := NewSender(city, nil).DeliverOnce(ctx); err != nil || sent != 3 {
			t.Fatalf("deliver to the replaced upstream: %d %v", sent, err)
		}
		l, _ := auditlog.List(ctx, city.DB, auditlog.Filter{Action: "federation.replace-peer", After: -1})
		if len(l) != 2 || l[0].Entry.Outcome == auditlog.OutcomeOK || l[1].Entry.Outcome != auditlog.OutcomeOK ||
			!strings.Contains(l[1].Entry.Detail, wrongBundle.NoteKey) || !strings.Contains(l[1].Entry.Detail, "(forced)") {
			t.Errorf("replacement log (the refused one, then the forced one): %+v, %+v", l[0].Entry, l[1].Entry)
		}

		// A replacement in another role, and removing an unknown peer, are refused.
		if err := Replace(ctx, right, console, Upstream, cityBundle, false); err == nil {
			t.Error("a municipality replaced a prefecture's upstream")
		}
		if err := Remove(ctx, city, console, "029999", false); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("removing an unknown peer: %v", err)
		}
		// Nothing in flight now: the upstream can be removed, and the downstream too.
		if err := Remove(ctx, city, console, "020001", false); err != nil {
			t.Fatal(err)
		}
		if err := Remove(ctx, right, console, "022012", false); err != nil {
			t.Fatal(err)
		}
		if ps, _ := Peers(ctx, city.DB); len(ps) != 0 {
			t.Errorf("city's peers after removal: %+v", ps)
		}
		if ps, _ := Peers(ctx, right.DB); len(ps) != 0 {
			t.Errorf("prefecture's peers after removal: %+v", ps)
		}
		// A batch from the removed downstream is refused.
		importN(t, city, "022012", 1, 2)
		if err := Add(ctx, city, console, Upstream, rightBundle); err != nil {
			t.Fatal(err)
		}
		if sent, err := NewSender(city, nil).DeliverOnce(ctx); err == nil && sent > 0 {
			t.Errorf("a removed downstream delivered %d changes", sent)
		}
	})
}
