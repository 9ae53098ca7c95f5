package exitcode_test

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/redis-shared/conformance/tools/exitcode"
)

func TestParseFlags(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantCode  int
		wantLines int
		wantStart string
	}{
		{"no flags", nil, exitcode.Continue, 0, ""},
		{"good flags", []string{"--timeout", "2s"}, exitcode.Continue, 0, ""},
		{"unknown flag", []string{"--bogus"}, exitcode.CouldNotRun, 1, "demo: flag provided but not defined: -bogus (see demo --help)"},
		{"bad value", []string{"--timeout", "forever"}, exitcode.CouldNotRun, 1, `demo: invalid value "forever" for flag -timeout`},
		{"missing value", []string{"--timeout"}, exitcode.CouldNotRun, 1, "demo: flag needs an argument: -timeout"},
		{"stray argument", []string{"extra"}, exitcode.CouldNotRun, 1, `demo: unexpected argument "extra" (see demo --help)`},
		{"help", []string{"--help"}, exitcode.OK, 3, "Usage of demo:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			fs := flag.NewFlagSet("demo", flag.ContinueOnError)
			fs.Duration("timeout", time.Second, "how long")
			code := exitcode.ParseFlags(fs, tc.args, &stderr)
			assert.Equal(t, tc.wantCode, code)
			out := stderr.String()
			assert.Equal(t, tc.wantLines, strings.Count(out, "\n"), "stderr: %q", out)
			assert.True(t, strings.HasPrefix(out, tc.wantStart), "stderr %q should start with %q", out, tc.wantStart)
		})
	}
}
