package waitfor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUntil(t *testing.T) {
	broken := errors.New("API server said no")
	cases := []struct {
		name    string
		cond    func(calls int) (bool, error)
		wantErr string
		is      error
	}{
		{name: "holds at once", cond: func(int) (bool, error) { return true, nil }},
		{name: "holds on the third look", cond: func(calls int) (bool, error) { return calls >= 3, nil }},
		{name: "never holds: the timeout names what was awaited", cond: func(int) (bool, error) { return false, nil }, wantErr: "waited 50ms for the pod to be Ready"},
		{name: "a condition error ends the wait", cond: func(int) (bool, error) { return false, broken }, wantErr: "wait for the pod to be Ready: API server said no", is: broken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := Until(context.Background(), "the pod to be Ready", 50*time.Millisecond, time.Millisecond, func(context.Context) (bool, error) {
				calls++
				return tc.cond(calls)
			})
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.wantErr, err.Error())
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestUntilStopsWhenTheCallerCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Until(ctx, "a state that never comes", time.Minute, time.Millisecond, func(context.Context) (bool, error) { return false, nil })
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "wait for a state that never comes")
}

func TestUntilLetsACheckUnderWayFinish(t *testing.T) {
	err := Until(context.Background(), "a slow check", 10*time.Millisecond, time.Millisecond, func(ctx context.Context) (bool, error) {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(30 * time.Millisecond):
			return true, nil
		}
	})
	assert.NoError(t, err, "the wait's deadline does not cancel the check's context")
}
