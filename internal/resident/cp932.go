package resident

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// cp932Error is a field of a CP932 file whose bytes are no text.
type cp932Error struct {
	en, ja string
}

func (e *cp932Error) Error() string    { return e.en }
func (e *cp932Error) Japanese() string { return e.ja }

// isLead reports a byte that begins a double-byte character in CP932.
func isLead(b byte) bool { return (b >= 0x81 && b <= 0x9F) || (b >= 0xE0 && b <= 0xFC) }

// isTrail reports a byte that can end a double-byte character in CP932.
func isTrail(b byte) bool { return (b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFC) }

// decodeCP932 decodes one field of a CP932 file. Where a decoder would
// replace bytes with U+FFFD or, worse, pair a lead byte with whatever byte
// follows it, the field is refused, naming the byte: a lead byte must be
// followed, within the field, by a byte that can be its second, and the
// pair must be a character. (A byte lost from a run of double-byte
// characters can also shift the pairs into other valid characters; the
// half-width and mixed-script rules of the field classes refuse what that
// leaves, see Field.Check.)
func decodeCP932(s string) (string, *cp932Error) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s, nil
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b < 0x80 || (b >= 0xA1 && b <= 0xDF):
			// ASCII, or half-width katakana.
		case isLead(b):
			if i+1 == len(s) {
				return "", &cp932Error{
					fmt.Sprintf("byte %d (0x%02X) begins a double-byte character, but the field ends there: the file is damaged", i+1, b),
					fmt.Sprintf("%dバイト目（0x%02X）は2バイト文字の1バイト目ですが、項目がそこで終わっています。ファイルが壊れています", i+1, b)}
			}
			if t := s[i+1]; !isTrail(t) {
				return "", &cp932Error{
					fmt.Sprintf("byte %d (0x%02X) begins a double-byte character, but the byte after it (0x%02X) cannot end one: the file is damaged", i+1, b, t),
					fmt.Sprintf("%dバイト目（0x%02X）は2バイト文字の1バイト目ですが、次のバイト（0x%02X）は2バイト目になりえません。ファイルが壊れています", i+1, b, t)}
			}
			i++
		default:
			return "", &cp932Error{
				fmt.Sprintf("byte %d (0x%02X) is no character in CP932: the file is damaged or not CP932", i+1, b),
				fmt.Sprintf("%dバイト目（0x%02X）はCP932の文字ではありません。ファイルが壊れているか、文字コードが違います", i+1, b)}
		}
	}
	out, err := japanese.ShiftJIS.NewDecoder().String(s)
	if err == nil && !strings.ContainsRune(out, utf8.RuneError) {
		return out, nil
	}
	// A well-formed pair that maps to no character: find it (rare, so
	// each pair is decoded on its own only here).
	for i := 0; i+1 < len(s); i++ {
		if !isLead(s[i]) {
			continue
		}
		if r, _ := decodePair(s[i : i+2]); r == utf8.RuneError {
			return "", &cp932Error{
				fmt.Sprintf("bytes %d–%d (0x%02X 0x%02X) are no character in CP932: the file is damaged or not CP932", i+1, i+2, s[i], s[i+1]),
				fmt.Sprintf("%d〜%dバイト目（0x%02X 0x%02X）はCP932の文字ではありません。ファイルが壊れているか、文字コードが違います", i+1, i+2, s[i], s[i+1])}
		}
		i++
	}
	return "", &cp932Error{"cannot be decoded as CP932", "CP932として読めません"}
}

// decodePair decodes one double-byte character.
func decodePair(p string) (rune, error) {
	out, err := japanese.ShiftJIS.NewDecoder().String(p)
	if err != nil {
		return utf8.RuneError, err
	}
	r, _ := utf8.DecodeRuneInString(out)
	return r, nil
}
