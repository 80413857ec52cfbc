package auditlog

import (
	"crypto/sha256"
	"strings"
	"testing"
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
