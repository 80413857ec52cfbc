// Package profile knows the regulation profiles a node can run under. A
// profile turns one regulation into configuration: its organisation, its
// affairs and its article map. This file is the registry of built-in
// profiles; their full content arrives with the profile files.
package profile

import (
	"fmt"
	"sort"
	"strings"
)

// Level is the tier of a node in the network.
type Level string

// The node levels (domain.md §1).
const (
	Municipality Level = "municipality" // 市町村CS
	Prefecture   Level = "prefecture"   // 都道府県サーバ
	National     Level = "national"     // 全国サーバ
)

// ParseLevel checks a level name.
func ParseLevel(s string) (Level, error) {
	switch l := Level(s); l {
	case Municipality, Prefecture, National:
		return l, nil
	}
	return "", fmt.Errorf("unknown level %q: use municipality, prefecture or national", s)
}

// Japanese returns the level's Japanese name.
func (l Level) Japanese() string {
	switch l {
	case Municipality:
		return "市町村"
	case Prefecture:
		return "都道府県"
	case National:
		return "全国"
	}
	return string(l)
}

// Info describes a built-in profile.
type Info struct {
	ID         string
	Title      string // the regulation's title, in Japanese
	Body       string // the body that issued it
	Level      Level  // the level of node it was written for
	Regulation string // file name under shared/regulations
}

var builtIn = map[string]Info{
	"koto-ward": {
		ID:         "koto-ward",
		Title:      "江東区住民基本台帳ネットワークシステムセキュリティ管理基準",
		Body:       "江東区",
		Level:      Municipality,
		Regulation: "000_577190dfb1959bf8.txt",
	},
	"aomori-pref": {
		ID:         "aomori-pref",
		Title:      "住民基本台帳ネットワークシステムの管理及び運営に関する規程",
		Body:       "青森県",
		Level:      Prefecture,
		Regulation: "001_807f99319b534dc9.txt",
	},
}

// Lookup returns the built-in profile with the given id.
func Lookup(id string) (Info, error) {
	if p, ok := builtIn[id]; ok {
		return p, nil
	}
	return Info{}, fmt.Errorf("unknown profile %q: built-in profiles are %s", id, strings.Join(IDs(), ", "))
}

// IDs lists the built-in profile ids, sorted.
func IDs() []string {
	ids := make([]string, 0, len(builtIn))
	for id := range builtIn {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
