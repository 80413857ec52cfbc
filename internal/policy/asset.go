package policy

import (
	"maps"

	"jukinet/internal/asset"
)

// The register of information assets (internal/asset) adds its actions:
// one per class of asset, so each profile names the article that gives
// the class to a role (aomori-pref:4.2, 4.3, 5; koto-ward:14).
func init() {
	adminActions = append(adminActions, asset.Actions...)
	maps.Copy(actionJapanese, asset.ActionJapanese)
}
