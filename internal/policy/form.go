package policy

import (
	"maps"

	"jukinet/internal/form"
)

// The forms register (internal/form) adds its actions: the steps of a form
// after its issue, its disposal, the register's view and the approval of
// program changes, each named for its article by the profile
// (koto-ward:14; aomori-pref:4.2, 4.3).
func init() {
	adminActions = append(adminActions, form.Actions...)
	maps.Copy(actionJapanese, form.ActionJapanese)
}
