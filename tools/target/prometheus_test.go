package target

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLargestSampleAgeCoversEveryMomentOfTheWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := func(secs ...float64) []time.Time {
		var out []time.Time
		for _, s := range secs {
			out = append(out, t0.Add(time.Duration(s*float64(time.Second))))
		}
		return out
	}
	series := func(pod string, times []time.Time) Series {
		return Series{Labels: map[string]string{"pod": pod}, Samples: times}
	}
	visible := 20 * time.Millisecond
	tests := []struct {
		name      string
		series    []Series
		start     time.Duration
		endAge    time.Duration
		wantAge   time.Duration
		wantCount int
		wantOK    bool
	}{
		{"steady 10 s scrapes: one interval plus the scrape", []Series{series("m", at(0, 10, 20, 30, 40, 50, 60, 70))}, 5 * time.Second, 3 * time.Second, 10*time.Second + visible, 7, true},
		{"a missed scrape inside the window shows as a 20 s age", []Series{series("m", at(0, 10, 30, 40))}, 5 * time.Second, time.Second, 20*time.Second + visible, 3, true},
		{"a gap that ends before the window is not counted", []Series{series("m", at(0, 30, 40, 50))}, 35 * time.Second, time.Second, 10*time.Second + visible, 2, true},
		{"a stale instance at the end is judged by its age then", []Series{series("m", at(0, 10, 20))}, 5 * time.Second, 45 * time.Second, 45 * time.Second, 2, true},
		{"no sample before the window: not covered yet", []Series{series("m", at(10, 20))}, 5 * time.Second, time.Second, 0, 0, false},
		{"a pod's second series (a new address) is read in time order", []Series{series("m", at(40, 50, 60)), series("m", at(0, 10, 20))}, 5 * time.Second, time.Second, 20*time.Second + visible, 5, true},
		{"another pod's samples do not count", []Series{series("r", at(0, 10)), series("m", at(8, 9))}, 5 * time.Second, time.Second, 0, 0, false},
		{"no series at all", nil, 0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			age, count, ok := LargestSampleAge(tt.series, "m", t0.Add(tt.start), tt.endAge, visible)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.wantAge, age)
			assert.Equal(t, tt.wantCount, count)
		})
	}
}
