package loadgen

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateNamesWhatIsWrong(t *testing.T) {
	valid := Config{Mode: OpenLoop, Rate: 100, Duration: time.Second, KeyPrefix: "run:1:", TTL: time.Minute}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"valid open loop", func(*Config) {}, ""},
		{"valid closed loop by count", func(c *Config) { c.Mode, c.Rate, c.Duration, c.Requests = ClosedLoop, 0, 0, 10 }, ""},
		{"unknown mode", func(c *Config) { c.Mode = "burst" }, `mode "burst"`},
		{"open loop without rate", func(c *Config) { c.Rate = 0 }, "rate > 0"},
		{"open loop without duration", func(c *Config) { c.Duration = 0 }, "duration > 0"},
		{"closed loop unbounded", func(c *Config) { c.Mode, c.Duration = ClosedLoop, 0 }, "duration or a request count"},
		{"no prefix", func(c *Config) { c.KeyPrefix = "" }, "key prefix"},
		{"prefix with glob", func(c *Config) { c.KeyPrefix = "run*:" }, "glob"},
		{"no ttl", func(c *Config) { c.TTL = 0 }, "ttl"},
		{"sub-millisecond ttl", func(c *Config) { c.TTL = time.Microsecond }, "ttl"},
		{"set ratio above one", func(c *Config) { c.SetRatio = 1.5 }, "set ratio"},
		{"unknown pacer", func(c *Config) { c.Pacer = "sleep" }, `pacer "sleep"`},
		{"spin too long", func(c *Config) { c.Spin = time.Second }, "spin must be at most"},
		{"negative pipeline", func(c *Config) { c.Pipeline = -1 }, "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.mutate(&cfg)
			err := cfg.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"conformance:20260101T000000:", true},
		{"abcd", true},
		{"", false},
		{"ab", false},
		{"run?:", false},
		{"run[1]:", false},
		{"run\\x:", false},
		{"run 1:", false},
	}
	for _, tc := range tests {
		err := ValidatePrefix(tc.prefix)
		assert.Equal(t, tc.ok, err == nil, "prefix %q: %v", tc.prefix, err)
	}
}

func TestEndpointNeverShowsItsPassword(t *testing.T) {
	ep := Endpoint{Addr: "127.0.0.1:6379", Username: "app", Password: "s3cret-pw"}

	encoded, err := json.Marshal(ep)
	require.NoError(t, err)

	assert.NotContains(t, string(encoded), "s3cret-pw")
	assert.NotContains(t, ep.String(), "s3cret-pw")
	assert.Equal(t, "app@127.0.0.1:6379", ep.String())
}

func TestEndpointDefaultsPutADeadlineOnEveryCall(t *testing.T) {
	ep := Endpoint{Addr: "127.0.0.1:1"}.WithDefaults()

	assert.Equal(t, DefaultDialTimeout, ep.DialTimeout)
	assert.Equal(t, DefaultReadTimeout, ep.ReadTimeout)
	assert.Equal(t, DefaultWriteTimeout, ep.WriteTimeout)
}
