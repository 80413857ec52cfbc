package auditlog

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"
)

// TestDigestJoined: the digest of codes joined by newlines, in any order,
// is SubjectsDigest's; a count that disagrees with the codes gives none.
func TestDigestJoined(t *testing.T) {
	for _, tt := range []struct {
		joined string
		count  int
		codes  []string // what SubjectsDigest is given; nil: no digest
		first  string
	}{
		{"00000000001", 1, []string{"00000000001"}, "00000000001"},
		{"00000000001\n00000000002\n00000000003", 3, []string{"00000000001", "00000000002", "00000000003"}, "00000000001"},
		{"00000000003\n00000000001\n00000000002", 3, []string{"00000000001", "00000000002", "00000000003"}, "00000000003"},
		{"00000000001\n00000000001", 2, []string{"00000000001", "00000000001"}, "00000000001"},
		{"00000000002\n00000000001", 1, nil, ""},
		{"00000000001", 2, nil, ""},
	} {
		first, got := digestJoined(sha256.New(), []byte(tt.joined), tt.count)
		want := "malformed subject rows"
		if tt.codes != nil {
			want, _ = SubjectsDigest(tt.codes)
		}
		if got != want || first != tt.first {
			t.Errorf("digestJoined(%q, %d) = %q, %q; want %q, %q", strings.ReplaceAll(tt.joined, "\n", "|"), tt.count, first, got, tt.first, want)
		}
	}
}

// TestParseUTC: the fast path agrees with time.Parse on the times entries
// hold and on what either refuses.
func TestParseUTC(t *testing.T) {
	for _, s := range []string{
		"2026-11-22T09:30:00Z", "2026-11-22T09:30:00.1Z", "2026-11-22T09:30:00.123456Z", "2026-11-22T09:30:00.123456789Z",
		"2024-02-29T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
		"2026-11-22T24:00:00Z", "2026-11-22T23:60:00Z", "2026-11-22T23:59:60Z", "2026-11-22T09:30:00.Z", "2026-11-22T09:30:00.1234567890Z",
		"2026-11-22T09:30:00+09:00", "2026-11-22 09:30:00Z", "2026-1-22T09:30:00Z", "x026-11-22T09:30:00Z", "2026-11-22T09:30:0aZ", "",
	} {
		got, ok := parseUTC([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok != (err == nil) || ok && !got.Equal(want) {
			t.Errorf("parseUTC(%q) = %v, %v; time.Parse gives %v, %v", s, got, ok, want, err)
		}
	}
}
