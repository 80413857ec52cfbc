//go:build !faults

package faults

// defaultCycles is how many SIGKILL cycles each database gets in the short
// suite, the one `go test ./...` (and CI, with -race) runs. The long suite
// is built with -tags faults (cycles_long_test.go).
const defaultCycles = 3

// bulkImports says whether some imports are large enough for the bulk load
// (50,000 rows or more: db.TransactBulk); the long suite's only.
const bulkImports = false
