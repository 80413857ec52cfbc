package policy

import (
	"maps"

	"jukinet/internal/council"
)

// The security council's record (internal/council, koto-ward:5, 6) adds
// its actions. The policy engine needs no fact of it: who may convene,
// approve the minutes, direct and acknowledge is decided by roles alone,
// and the council's own rules (membership, quorum, the closed record) are
// applied by the record.
func init() {
	adminActions = append(adminActions, council.Actions...)
	maps.Copy(actionJapanese, council.ActionJapanese)
}
