package federation

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// busyTries is how many times a request is sent in all while the peer
// answers that it is busy (busyRetry), and busyWaitMax the longest wait
// between two tries, whatever the peer's Retry-After says.
const (
	busyTries   = 5
	busyWaitMax = 5 * time.Second
)

// busyRetry sends a request again when the peer answers 503 with a
// Retry-After header. A receiver answers so, unread, when it is reading
// as many unauthenticated bodies as it allows (plain HTTP, where no sender
// is known before its signature is checked, and every sender on one host
// shares one slot). A 503 without Retry-After means the peer read the
// request and failed: that answer is returned as it is. Only requests
// whose body can be read again (GetBody, as for a bytes.Reader) are sent
// again.
type busyRetry struct {
	next http.RoundTripper
	// wait pauses for d or until ctx ends (sleepCtx; tests record it).
	wait func(ctx context.Context, d time.Duration) error
}

// withBusyRetry wraps next (nil: http.DefaultTransport) in busyRetry.
func withBusyRetry(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &busyRetry{next: next, wait: sleepCtx}
}

// RoundTrip implements http.RoundTripper.
func (b *busyRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	for try := 1; ; try++ {
		resp, err := b.next.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable || try == busyTries {
			return resp, err
		}
		after := resp.Header.Get("Retry-After")
		if after == "" || (req.Body != nil && req.GetBody == nil) {
			return resp, nil
		}
		secs, perr := strconv.Atoi(after)
		if perr != nil || secs < 0 {
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err := b.wait(req.Context(), min(time.Duration(secs)*time.Second, busyWaitMax)); err != nil {
			return nil, err
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

// sleepCtx waits d, or returns ctx's error if it ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
