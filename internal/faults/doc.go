// Package faults holds the fault suite of issue 19: tests that build the
// jukinet binary once and drive real node processes through faults — SIGKILL
// cycles under HTTP load on SQLite and PostgreSQL, with a municipality
// delivering to its prefecture, and a full disk under a SQLite node — and
// check afterwards that every answered request has its audit entry, no
// acknowledged change is lost, no import is half-applied, the log verifies
// and the prefecture holds every change exactly once.
//
// The package has no code of its own beyond this comment: everything is in
// its tests. The short suite runs in `go test ./...`; the long one with
// `go test -tags faults ./internal/faults -timeout 60m` (docs/reliability.md,
// "Faults: SIGKILL cycles and a full disk").
package faults
