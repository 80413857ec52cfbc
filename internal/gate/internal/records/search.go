package records

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
)

// Query is a four-item search (基本4情報): name (kanji or kana, with or
// without the space), date of birth, and optionally sex and a part of the
// address.
type Query struct {
	Name           string
	DateOfBirth    time.Time
	Sex            resident.Sex // 0: any
	Address        string       // any part of the address
	IncludeRemoved bool
}

// Match is a search result with its rank; higher is better.
type Match struct {
	Version
	Score   int
	MatchOn string // which key matched: name, kana, alias, former …
}

// candidateCap bounds the rows a search reads before ranking.
const candidateCap = 500

// Search returns the residents matching q, best first, at most limit.
// Variant kanji, kana spellings, widths and spaces all match (jptext keys).
func Search(ctx context.Context, q db.Querier, query Query, limit int) ([]Match, int, error) {
	key := jptext.NameKey(query.Name)
	if key == "" || query.DateOfBirth.IsZero() {
		return nil, 0, fmt.Errorf("a search needs a name and a date of birth")
	}
	where := []string{"nk.key = ?", "nk.date_of_birth = ?"}
	args := []any{key, dateStr(query.DateOfBirth)}
	if query.Sex != 0 {
		where = append(where, "r.sex = ?")
		args = append(args, int(query.Sex))
	}
	addrKey := jptext.AddressKey(query.Address)
	if addrKey != "" {
		where = append(where, `r.address_key LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape(addrKey)+"%")
	}
	if !query.IncludeRemoved {
		where = append(where, "r.removed = ?")
		args = append(args, false)
	}
	rows, err := q.Query(ctx, `SELECT `+recordColumns+`, nk.kind FROM name_key nk
		JOIN resident r ON r.id = nk.resident_id
		JOIN identity_record ir ON ir.id = r.record_id
		WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` LIMIT %d`, candidateCap), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	best := map[int64]*Match{}
	for rows.Next() {
		var kind string
		v, err := scanVersion(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &kind)...) }))
		if err != nil {
			return nil, 0, fmt.Errorf("search: %w", err)
		}
		m := Match{Version: v, MatchOn: kind, Score: score(v, kind, query, addrKey)}
		if prev, ok := best[v.ResidentID]; !ok || m.Score > prev.Score {
			best[v.ResidentID] = &m
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	out := make([]Match, 0, len(best))
	for _, m := range best {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ResidentCode < out[j].ResidentCode
	})
	total := len(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, total, nil
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// score ranks a match: the registered name beats an alias or former
// surname; the exact spelling beats a folded one; a fuller address match
// and a given sex add to it.
func score(v Version, kind string, q Query, addrKey string) int {
	s := map[string]int{"name": 60, "kana": 55, "alias": 40, "alias_kana": 38, "former": 30, "former_kana": 28}[kind]
	plain := strings.Join(strings.Fields(q.Name), "")
	if plain == v.FamilyName+v.GivenName || plain == v.FamilyNameKana+v.GivenNameKana {
		s += 20 // the spelling as registered, not only its key
	}
	if addrKey != "" {
		full := jptext.AddressKey(v.Address)
		if strings.HasPrefix(full, addrKey) || strings.HasSuffix(full, addrKey) {
			s += 5
		}
		s += min(10, len([]rune(addrKey))/3)
	}
	if q.Sex != 0 {
		s += 5
	}
	if v.Removed {
		s -= 50
	}
	return s
}
