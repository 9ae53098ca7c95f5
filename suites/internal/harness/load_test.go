package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/redis-shared/conformance/tools/loadgen"
)

func TestLoadSeriesPlotsTheSteadySecondsOfTheRate(t *testing.T) {
	tests := []struct {
		name    string
		seconds []loadgen.Second
		want    [][2]float64
	}{
		{
			name: "the partial first and last seconds are left out",
			seconds: []loadgen.Second{
				{Second: 0, Ops: 400}, {Second: 1, Ops: 1000}, {Second: 2, Ops: 998, Errors: 3}, {Second: 3, Ops: 12},
			},
			want: [][2]float64{{1, 1000}, {2, 995}},
		},
		{
			name:    "a run of two seconds keeps both",
			seconds: []loadgen.Second{{Second: 0, Ops: 700}, {Second: 1, Ops: 300}},
			want:    [][2]float64{{0, 700}, {1, 300}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			series := LoadSeries("sustained", loadgen.Result{PerSecond: tc.seconds})
			if assert.Len(t, series, 1) {
				assert.Equal(t, "sustained rate", series[0].Name)
				assert.Equal(t, tc.want, series[0].Points)
			}
		})
	}
}
