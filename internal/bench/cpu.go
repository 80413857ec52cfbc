package bench

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
)

func numCPU() int { return runtime.GOMAXPROCS(0) }

// processCPU is the CPU time the process has used so far (user and
// system): on a shared machine the CPU a request costs is steadier than
// the rate, which other processes' load moves.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerOp writes the CPU time used per operation since before.
func cpuPerOp(before time.Duration, ops int64) string {
	if ops <= 0 || before == 0 {
		return ""
	}
	return fmt.Sprintf("CPU %s/op", ((processCPU() - before) / time.Duration(ops)).Round(time.Microsecond))
}
