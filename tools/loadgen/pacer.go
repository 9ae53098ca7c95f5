package loadgen

import (
	"context"
	"fmt"
	"time"
)

// Pacer names how an open-loop worker waits for a request's intended send time.
type Pacer string

const (
	// PacerKernelTimer parks each worker on its own kernel timer (Linux timerfd,
	// woken through the Go netpoller) armed for the due time less the spin, then
	// spins the rest. Go's own timers wake a parked runtime in whole milliseconds
	// (its epoll_wait takes a millisecond timeout), which is what DefaultPacer
	// avoids. Off Linux it falls back to PacerGoTimer.
	PacerKernelTimer Pacer = "timerfd"
	// PacerGoTimer waits with a Go timer for the due time less the spin, then
	// spins the rest: precise only with a spin of about a millisecond, which
	// costs that much CPU per request.
	PacerGoTimer Pacer = "go-timer"
)

// DefaultPacer and DefaultSpin are what measured best on 2 shared cores
// (BenchmarkOpenLoopPacing): a kernel timer per worker with a 20 µs spin.
const (
	DefaultPacer = PacerKernelTimer
	DefaultSpin  = 20 * time.Microsecond
	// maxSpin bounds the busy wait so a typo cannot burn a core per worker.
	maxSpin = 5 * time.Millisecond
)

// Pacers lists the pacers Config.Pacer accepts, default first.
func Pacers() []Pacer { return []Pacer{PacerKernelTimer, PacerGoTimer} }

// pacer blocks one worker until a due time; each worker owns its own.
type pacer interface {
	// waitUntil returns once the clock has passed due, or with ctx's error.
	waitUntil(ctx context.Context, due time.Time) error
	Close() error
}

func newPacer(kind Pacer, spin time.Duration) (pacer, error) {
	switch kind {
	case PacerKernelTimer:
		return newKernelTimerPacer(spin)
	case PacerGoTimer:
		return newGoTimerPacer(spin), nil
	default:
		return nil, fmt.Errorf("pacer %q is not one of %v", kind, Pacers())
	}
}

// goTimerPacer sleeps on one reused Go timer, then spins.
type goTimerPacer struct {
	timer *time.Timer
	spin  time.Duration
}

func newGoTimerPacer(spin time.Duration) *goTimerPacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &goTimerPacer{timer: t, spin: spin}
}

func (p *goTimerPacer) waitUntil(ctx context.Context, due time.Time) error {
	if wait := time.Until(due) - p.spin; wait > 0 {
		p.timer.Reset(wait)
		select {
		case <-p.timer.C:
		case <-ctx.Done():
			p.timer.Stop()
			return ctx.Err()
		}
	}
	return spinUntil(ctx, due)
}

func (p *goTimerPacer) Close() error {
	p.timer.Stop()
	return nil
}

// spinUntil busy-waits for the last stretch, where any sleep would overshoot.
func spinUntil(ctx context.Context, due time.Time) error {
	for time.Now().Before(due) {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
