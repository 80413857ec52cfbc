package ids

import "math/rand/v2"

// IndividualNumber is a 個人番号 ("My Number"): 11 digits and a check digit.
type IndividualNumber string

// individualNumberWeights are the weights of the first 11 digits, left to
// right (総務省令85号 §5).
var individualNumberWeights = [11]int{6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2}

// IndividualNumberCheckDigit computes the check digit of a 個人番号 from its
// first eleven digits.
func IndividualNumberCheckDigit(eleven string) int {
	sum := 0
	for i, w := range individualNumberWeights {
		sum += int(eleven[i]-'0') * w
	}
	r := sum % 11
	if r <= 1 {
		return 0
	}
	return 11 - r
}

// ParseIndividualNumber returns the number in s, or an *Error naming the
// broken rule.
func ParseIndividualNumber(s string) (IndividualNumber, error) {
	d, err := digitsOf(KindIndividualNumber, s)
	if err != nil {
		return "", err
	}
	if err := checkLast(KindIndividualNumber, s, d, IndividualNumberCheckDigit(d[:11])); err != nil {
		return "", err
	}
	return IndividualNumber(d), nil
}

// NewIndividualNumber returns a random valid individual number.
func NewIndividualNumber(r *rand.Rand) IndividualNumber {
	b := randomDigits(r, 12)
	b[11] = byte('0' + IndividualNumberCheckDigit(string(b[:11])))
	return IndividualNumber(b)
}

func (n IndividualNumber) String() string { return string(n) }
