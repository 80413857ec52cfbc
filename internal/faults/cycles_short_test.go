//go:build !faults

package faults

// defaultCycles is how many SIGKILL cycles each database gets in the short
// suite, the one `go test ./...` (and CI, with -race) runs. The long suite
// is built with -tags faults (cycles_long_test.go).
const defaultCycles = 3
