//go:build unix

package learn

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, so that a benchmark
// on a machine shared with other work can say what it cost apart from
// what it waited.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
