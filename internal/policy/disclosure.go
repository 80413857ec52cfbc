package policy

import (
	"maps"

	"jukinet/internal/disclosure"
)

// Disclosure requests (internal/disclosure) add their actions: each
// profile's policies name the article that gives them to the department
// keeping the register (koto-ward:3, aomori-pref:3.1).
func init() {
	adminActions = append(adminActions, disclosure.Actions...)
	maps.Copy(actionJapanese, disclosure.ActionJapanese)
}
