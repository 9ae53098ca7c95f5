package loadgen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// kernelTimerPacer owns one non-blocking timerfd. Reading it through an
// os.File parks the goroutine in the Go netpoller, which wakes it as soon as
// the kernel timer fires rather than on its next millisecond.
type kernelTimerPacer struct {
	file *os.File
	// fd is the file's descriptor; file.Fd() is never called, as it would make
	// the descriptor blocking and end the netpoller's part.
	fd   int
	raw  syscall.RawConn
	spin time.Duration
	// monoAt and wallAt pair one reading of CLOCK_MONOTONIC with time.Now, so
	// that due times (time.Time) convert to absolute timer expiries.
	monoAt time.Duration
	wallAt time.Time
	// watched is the context whose cancellation ends a blocked wait.
	watched   context.Context
	stopWatch func() bool
}

func newKernelTimerPacer(spin time.Duration) (pacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	file := os.NewFile(uintptr(fd), "loadgen-pacer")
	raw, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("clock_gettime: %w", err)
	}
	return &kernelTimerPacer{file: file, fd: fd, raw: raw, spin: spin, monoAt: time.Duration(ts.Nano()), wallAt: time.Now()}, nil
}

func (p *kernelTimerPacer) waitUntil(ctx context.Context, due time.Time) error {
	wake := due.Add(-p.spin)
	if time.Until(wake) > 0 {
		if err := p.sleepUntil(ctx, wake); err != nil {
			return err
		}
	}
	return spinUntil(ctx, due)
}

func (p *kernelTimerPacer) sleepUntil(ctx context.Context, wake time.Time) error {
	p.watch(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	// Absolute expiry on CLOCK_MONOTONIC: no drift from the syscall's own delay.
	expiry := p.monoAt + wake.Sub(p.wallAt)
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(expiry))}
	if err := unix.TimerfdSettime(p.fd, unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	var expirations [8]byte
	var readErr error
	for {
		err := p.raw.Read(func(fd uintptr) bool {
			_, readErr = unix.Read(int(fd), expirations[:])
			return !errors.Is(readErr, unix.EAGAIN)
		})
		if err == nil {
			break
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("wait on timerfd: %w", err)
		}
		// A late cancellation of an earlier context moved the deadline.
		_ = p.file.SetReadDeadline(time.Time{})
	}
	if readErr != nil {
		return fmt.Errorf("read timerfd: %w", readErr)
	}
	return nil
}

// watch makes ctx's cancellation end a blocked wait (the read deadline moves to
// now); workers pass the same context every time, so it registers once.
func (p *kernelTimerPacer) watch(ctx context.Context) {
	if ctx == p.watched {
		return
	}
	if p.stopWatch != nil {
		p.stopWatch()
	}
	p.watched = ctx
	// A cancelled earlier context left the deadline in the past.
	_ = p.file.SetReadDeadline(time.Time{})
	p.stopWatch = context.AfterFunc(ctx, func() { _ = p.file.SetReadDeadline(time.Now()) })
}

func (p *kernelTimerPacer) Close() error {
	if p.stopWatch != nil {
		p.stopWatch()
	}
	if err := p.file.Close(); err != nil {
		return fmt.Errorf("close timerfd: %w", err)
	}
	return nil
}
