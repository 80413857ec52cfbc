//go:build faults

package faults

// defaultCycles is how many SIGKILL cycles each database gets in the long
// suite: go test -tags faults ./internal/faults -timeout 60m.
const defaultCycles = 100

// bulkImports says whether some imports are large enough for the bulk load
// (50,000 rows or more: db.TransactBulk, on SQLite without foreign-key
// checks, on PostgreSQL with COPY): about one import in 40.
const bulkImports = true
