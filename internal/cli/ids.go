package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/ids"
)

// IDsCmd groups the code commands.
type IDsCmd struct {
	Check IDsCheckCmd `cmd:"" help:"Classify and validate codes: 6 digits = 地方公共団体コード, 11 = 住民票コード, 12 = 個人番号. Exits 0 only if all are valid."`
}

// IDsCheckCmd is `jukinet ids check VALUE...`.
type IDsCheckCmd struct {
	Values []string `arg:"" name:"value" help:"Codes to check; full-width digits and hyphens are accepted."`
}

// Run prints one tab-separated line per value: the value, its kind, then
// "valid" (with a body's name, and the day its code came into force when
// the list knows it), "abolished on" the day a body's code ceased and the
// bodies that hold its area now, or "invalid: " and the broken rule.
func (c IDsCheckCmd) Run(env *Env) error {
	bad := 0
	for _, v := range c.Values {
		kind, detail, err := checkOne(v)
		if err != nil {
			bad++
			if r, ok := err.(ruleError); ok && r.abolished {
				fmt.Fprintf(env.Stdout, "%s\t%s\t%s\n", v, kind, err) // "abolished on …"
				continue
			}
			fmt.Fprintf(env.Stdout, "%s\t%s\tinvalid: %s\n", v, kind, err)
			continue
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\tvalid%s\n", v, kind, detail)
	}
	if bad > 0 {
		return exitError{1}
	}
	return nil
}

func checkOne(v string) (kind string, detail string, err error) {
	k := ids.Classify(v)
	switch k {
	case ids.KindLocalGovCode:
		lg, err := ids.ParseExistingLocalGov(v)
		if err != nil {
			return k.String(), "", rule(err)
		}
		if !lg.ValidFrom.IsZero() {
			return k.String(), "\t" + lg.FullName() + " (in force since " + lg.ValidFrom.Format(time.DateOnly) + ")", nil
		}
		return k.String(), "\t" + lg.FullName(), nil
	case ids.KindResidentCode:
		_, err := ids.ParseResidentCode(v)
		return k.String(), "", rule(err)
	case ids.KindIndividualNumber:
		_, err := ids.ParseIndividualNumber(v)
		return k.String(), "", rule(err)
	}
	return "不明", "", fmt.Errorf("%d digits: a code has 6 (地方公共団体コード), 11 (住民票コード) or 12 (個人番号)", len([]rune(strings.TrimSpace(v))))
}

// rule shortens an *ids.Error to its rule, in English and Japanese, since
// the line already shows the value and the kind.
func rule(err error) error {
	var e *ids.Error
	if !errors.As(err, &e) {
		return err
	}
	return ruleError{text: fmt.Sprintf("%s (%s)", e.Reason(), e.ReasonJapanese()), abolished: e.Rule == ids.RuleAbolishedLG}
}

// ruleError is a broken rule as a line of `ids check` shows it.
type ruleError struct {
	text      string
	abolished bool // the code's body was abolished (ids.RuleAbolishedLG)
}

func (e ruleError) Error() string { return e.text }
