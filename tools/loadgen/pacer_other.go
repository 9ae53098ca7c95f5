//go:build !linux

package loadgen

import "time"

// newKernelTimerPacer falls back to a Go timer where timerfd does not exist.
func newKernelTimerPacer(spin time.Duration) (pacer, error) { return newGoTimerPacer(spin), nil }
