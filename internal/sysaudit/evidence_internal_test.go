package sysaudit

import (
	"testing"

	"jukinet/internal/profile"
)

// TestEveryBuiltFeatureHasEvidence: a feature the catalogue calls built is
// a check of every audit whose articles name it, so the node must collect
// its evidence; a feature made built without a collector fails here.
func TestEveryBuiltFeatureHasEvidence(t *testing.T) {
	for _, f := range profile.Features {
		if f.Status == profile.Built && !Collected(f.ID) {
			t.Errorf("built feature %s has no evidence collector (internal/sysaudit/evidence.go)", f.ID)
		}
	}
	for id := range collectors {
		if _, ok := profile.FeatureByID(id); !ok {
			t.Errorf("evidence collector for %s, which is not in the feature catalogue", id)
		}
	}
}
