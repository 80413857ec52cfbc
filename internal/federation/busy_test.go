package federation

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBusyRetry: a peer's 503 with Retry-After (a receiver busy reading
// other unauthenticated bodies, the request unread) is tried again after
// the wait it names, capped, with the same body, at most busyTries times
// in all; any other answer is returned at once.
func TestBusyRetry(t *testing.T) {
	cases := []struct {
		name       string
		busy       int    // how many first requests are answered busy
		retryAfter string // the busy answers' Retry-After ("": none)
		wantTries  int32
		wantStatus int
		wantWaits  []time.Duration
	}{
		{"answered at once", 0, "1", 1, http.StatusOK, nil},
		{"busy once", 1, "1", 2, http.StatusOK, []time.Duration{time.Second}},
		{"busy twice, wait capped", 2, "60", 3, http.StatusOK, []time.Duration{busyWaitMax, busyWaitMax}},
		{"busy every time", 100, "0", busyTries, http.StatusServiceUnavailable, make([]time.Duration, busyTries-1)},
		{"503 without Retry-After is final", 100, "", 1, http.StatusServiceUnavailable, nil},
		{"unreadable Retry-After is final", 100, "soon", 1, http.StatusServiceUnavailable, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tries atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if string(body) != "the batch" {
					t.Errorf("try %d: body %q, want the same body each time", tries.Load()+1, body)
				}
				if tries.Add(1) <= int32(c.busy) {
					if c.retryAfter != "" {
						w.Header().Set("Retry-After", c.retryAfter)
					}
					http.Error(w, "busy", http.StatusServiceUnavailable)
					return
				}
				io.WriteString(w, "ok")
			}))
			defer srv.Close()
			var waits []time.Duration
			rt := &busyRetry{next: http.DefaultTransport, wait: func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}}
			client := &http.Client{Transport: rt}
			resp, err := client.Post(srv.URL, "text/plain", strings.NewReader("the batch"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus || tries.Load() != c.wantTries {
				t.Errorf("status %d after %d tries, want %d after %d", resp.StatusCode, tries.Load(), c.wantStatus, c.wantTries)
			}
			if len(waits) != len(c.wantWaits) {
				t.Fatalf("waits %v, want %v", waits, c.wantWaits)
			}
			for i := range waits {
				if waits[i] != c.wantWaits[i] {
					t.Errorf("wait %d: %v, want %v", i, waits[i], c.wantWaits[i])
				}
			}
		})
	}
}

// TestBusyRetryStopsWithContext: a caller that gives up while waiting gets
// its context's error, and the request is not sent again.
func TestBusyRetryStopsWithContext(t *testing.T) {
	var tries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	rt := &busyRetry{next: http.DefaultTransport, wait: func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleepCtx(ctx, d)
	}}
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&http.Client{Transport: rt}).Do(req)
	if !errors.Is(err, context.Canceled) || tries.Load() != 1 {
		t.Errorf("err %v after %d tries, want context.Canceled after 1", err, tries.Load())
	}
}
