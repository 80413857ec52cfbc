package auditlog

import (
	"bytes"
	"strconv"
	"time"
)

// entryHead is what Verify needs of an entry's content besides its leaf
// hash: where it belongs, the index columns it must agree with, and the
// binding of its subject rows.
type entryHead struct {
	Version       int
	Seq           int64
	Time          time.Time
	Actor         Actor // kind and id only
	Action        string
	SubjectCount  int
	SubjectDigest string
}

func headOf(e *Entry) entryHead {
	return entryHead{Version: e.Version, Seq: e.Seq, Time: e.Time, Actor: Actor{Kind: e.Actor.Kind, ID: e.Actor.ID}, Action: e.Action,
		SubjectCount: e.SubjectCount, SubjectDigest: e.SubjectDigest}
}

// readHead reads an entry's head from its encoding without decoding the
// rest. It is meant for entries whose bytes are already authenticated (a
// signed checkpoint covers their leaf hash), so it only walks the JSON
// structure; ok is false for anything it does not expect — a string with
// escapes among the fields it reads, an unknown value type, a missing field
// — and the caller then decodes the entry in full (DecodeEntry), which also
// checks the canonical form.
func readHead(b []byte) (h entryHead, ok bool) {
	s := headScanner{b: b}
	var seen int
	if !s.byte('{') {
		return h, false
	}
	for first := true; ; first = false {
		if s.peek() == '}' {
			s.i++
			break
		}
		if !first && !s.byte(',') {
			return h, false
		}
		key, ok := s.plainBytes()
		if !ok || !s.byte(':') {
			return h, false
		}
		if bit := headBit(key); bit != 0 {
			if seen&bit != 0 {
				return h, false // a field twice
			}
			seen |= bit
		}
		switch string(key) {
		case "v":
			n, ok := s.int()
			if !ok {
				return h, false
			}
			h.Version = int(n)
		case "seq":
			if h.Seq, ok = s.int(); !ok {
				return h, false
			}
		case "time":
			v, ok := s.plainBytes()
			if !ok {
				return h, false
			}
			t, ok := parseUTC(v)
			if !ok {
				return h, false
			}
			h.Time = t
		case "actor":
			if h.Actor, ok = s.actor(); !ok {
				return h, false
			}
		case "action":
			if h.Action, ok = s.plainString(); !ok {
				return h, false
			}
		case "subjects":
			n, ok := s.int()
			if !ok {
				return h, false
			}
			h.SubjectCount = int(n)
		case "subjects_sha256":
			if h.SubjectDigest, ok = s.plainString(); !ok {
				return h, false
			}
		default:
			if !s.skipValue(0) {
				return h, false
			}
		}
	}
	return h, seen&63 == 63 && s.i == len(b)
}

// headBit marks the fields readHead reads; all but the digest (64) are
// required.
func headBit(key []byte) int {
	switch string(key) {
	case "v":
		return 1
	case "seq":
		return 2
	case "time":
		return 4
	case "actor":
		return 8
	case "action":
		return 16
	case "subjects":
		return 32
	case "subjects_sha256":
		return 64
	}
	return 0
}

// parseUTC parses a time as Entry.Encode writes it, RFC 3339 in UTC
// ("2026-11-22T09:30:00.123456Z"), without time.Parse's generality; any
// other form goes to time.Parse.
func parseUTC(b []byte) (time.Time, bool) {
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	slow := func() (time.Time, bool) {
		t, err := time.Parse(time.RFC3339Nano, string(b))
		return t, err == nil
	}
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return slow()
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return slow()
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return slow()
		}
		n, ok := num(20, len(frac)-1)
		if !ok {
			return slow()
		}
		for i := len(frac) - 1; i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	if month < 1 || month > 12 || hour > 23 || minute > 59 || sec > 59 {
		return slow()
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day || t.Month() != time.Month(month) {
		return slow() // a day the month does not have
	}
	return t, true
}

// headScanner walks compact JSON as Entry.Encode writes it (no spaces).
type headScanner struct {
	b []byte
	i int
}

func (s *headScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *headScanner) byte(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// plainString reads a string without escapes.
func (s *headScanner) plainString() (string, bool) {
	v, ok := s.plainBytes()
	return string(v), ok
}

// plainBytes reads a string without escapes, as the bytes it holds.
func (s *headScanner) plainBytes() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	end := bytes.IndexByte(s.b[s.i:], '"')
	if end < 0 {
		return nil, false
	}
	v := s.b[s.i : s.i+end]
	if bytes.IndexByte(v, '\\') >= 0 {
		return nil, false
	}
	s.i += end + 1
	return v, true
}

// skipString passes over a string, escapes included.
func (s *headScanner) skipString() bool {
	if !s.byte('"') {
		return false
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return true
		default:
			s.i++
		}
	}
	return false
}

func (s *headScanner) int() (int64, bool) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	return n, err == nil
}

func (s *headScanner) actor() (Actor, bool) {
	var a Actor
	if !s.byte('{') {
		return a, false
	}
	for first := true; ; first = false {
		if s.byte('}') {
			return a, a.Kind != "" && a.ID != ""
		}
		if !first && !s.byte(',') {
			return a, false
		}
		key, ok := s.plainString()
		if !ok || !s.byte(':') {
			return a, false
		}
		switch key {
		case "kind":
			v, ok := s.plainString()
			if !ok {
				return a, false
			}
			a.Kind = ActorKind(v)
		case "id":
			if a.ID, ok = s.plainString(); !ok {
				return a, false
			}
		default:
			if !s.skipValue(0) {
				return a, false
			}
		}
	}
}

// skipValue passes over one value of the kinds an entry holds.
func (s *headScanner) skipValue(depth int) bool {
	if depth > 4 {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		return s.skipString()
	case c == '-' || c >= '0' && c <= '9':
		_, ok := s.int()
		return ok
	case c == '{', c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		for first := true; ; first = false {
			if s.byte(end) {
				return true
			}
			if !first && !s.byte(',') {
				return false
			}
			if c == '{' {
				if !s.skipString() || !s.byte(':') {
					return false
				}
			}
			if !s.skipValue(depth + 1) {
				return false
			}
		}
	case bytes.HasPrefix(s.b[s.i:], []byte("true")), bytes.HasPrefix(s.b[s.i:], []byte("null")):
		s.i += 4
		return true
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
		return true
	}
	return false
}
