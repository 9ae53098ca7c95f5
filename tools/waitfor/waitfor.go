// Package waitfor is the one way the tools wait for a condition: apimachinery's wait
// (k8s.io/apimachinery/pkg/util/wait) with a deadline, an interval and a description
// of what was awaited, so that a timeout says what never happened.
package waitfor

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Condition reports whether the awaited state holds. An error ends the wait at once:
// return (false, nil) for a state that may still change.
type Condition func(ctx context.Context) (bool, error)

// Until checks cond at once and then every interval until it holds, it fails, ctx
// ends or timeout passes. The error names what was awaited. cond gets ctx itself, not
// the wait's deadline: a check under way is not cut short by the timeout (its own
// calls carry their deadlines), so its answer is never a spurious error.
func Until(ctx context.Context, what string, timeout, interval time.Duration, cond Condition) error {
	check := func(context.Context) (bool, error) { return cond(ctx) }
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, check)
	switch {
	case err == nil:
		return nil
	case wait.Interrupted(err) && ctx.Err() == nil:
		return fmt.Errorf("waited %s for %s", timeout, what)
	default:
		return fmt.Errorf("wait for %s: %w", what, err)
	}
}
