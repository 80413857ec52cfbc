//go:build unix

package auditlog

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) the process has used so
// far, for benchmarks that report CPU per operation beside wall-clock
// rates: on a shared machine the CPU a verification takes varies less
// than the time it waits for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
