package evidence

import (
	"bytes"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFigureString(t *testing.T) {
	tests := []struct {
		figure Figure
		want   string
	}{
		{Figure{"p95", 0.41, "ms"}, "p95 = 0.41 ms"},
		{Figure{"rate", 10000, "ops/s"}, "rate = 10000 ops/s"},
		{Figure{"outage", 3.456, "s"}, "outage = 3.46 s"},
		{Figure{"saturation", 51234.5, "ops/s"}, "saturation = 51234.5 ops/s"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.figure.String())
	}
}

func TestRecordThenParseRoundTrips(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, rec.Figures("TestA/f", Figure{"p95", 1, "ms"}))
		}()
	}
	wg.Wait()
	require.NoError(t, rec.Meta(MetaRedisVersion, "7.0.15"))
	records, err := Parse(buf.Bytes())
	require.NoError(t, err)
	assert.Len(t, records, 21)
	assert.Equal(t, "7.0.15", records[20].Meta[MetaRedisVersion])
}

func TestParseRejectsBrokenLines(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"truncated", `{"test":"TestA","figures":[{"name":"p95","value":1,"unit":"ms"}]}` + "\n" + `{"test":"TestB","fig`, "line 2"},
		{"unknown field", `{"test":"TestA","bogus":1}`, `line 1: json: unknown field "bogus"`},
		{"empty record", `{"time":"2026-01-01T00:00:00Z"}`, "line 1: record has no test"},
		{"figure without unit", `{"test":"T","figures":[{"name":"p95","value":1}]}`, "line 1: figure 0 needs"},
		{"two values on a line", `{"test":"T"} {"test":"U"}`, "line 1: more than one JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.input))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"test":"TestA","figures":[{"name":"p95","value":1,"unit":"ms"}]}`))
	f.Add([]byte(`{"meta":{"redis_version":"7"}}` + "\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		records, err := Parse(raw)
		if err != nil {
			return
		}
		for _, r := range records {
			for _, fig := range r.Figures {
				_ = fig.String()
			}
		}
	})
}
