package policy

import (
	"maps"

	"jukinet/internal/sysaudit"
)

// System audits (internal/sysaudit) add their actions: each profile's
// policies name the article that gives each to a role (koto-ward:9,
// aomori-pref:11), and its separation-of-duty forbids refuse the planner
// naming himself auditor and the owner of a corrective action closing it.
func init() {
	adminActions = append(adminActions, sysaudit.Actions...)
	maps.Copy(actionJapanese, sysaudit.ActionJapanese)
}
