//go:build faults

package faults

// defaultCycles is how many SIGKILL cycles each database gets in the long
// suite: go test -tags faults ./internal/faults -timeout 60m.
const defaultCycles = 100
