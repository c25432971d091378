//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package bridge

import "time"

// processCPU is 0 where the process's CPU time is not read: the benchmarks
// then report wall-clock rates only.
func processCPU() time.Duration { return 0 }
