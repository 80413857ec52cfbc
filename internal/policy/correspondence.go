package policy

import (
	"maps"

	"jukinet/internal/correspondence"
)

// Reports and requests between bodies (internal/correspondence,
// koto-ward:15, aomori-pref:4.2) add their actions: who may send for the
// body and who may read what it sent and received is decided by roles
// alone, per article in each profile's policies.
func init() {
	adminActions = append(adminActions, correspondence.Actions...)
	maps.Copy(actionJapanese, correspondence.ActionJapanese)
}
