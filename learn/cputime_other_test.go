//go:build !unix

package learn

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
