package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/exitcode"
)

func TestStabilitySummary(t *testing.T) {
	dir := t.TempDir()
	reports := []string{
		`{"verdict":"GO","requirements":[{"id":"SC-001","status":"pass","checks":[{"id":"suite:TestLatency","figures":[{"name":"p95","value":0.4,"unit":"ms"}]}]}]}`,
		`{"verdict":"NO-GO","requirements":[{"id":"SC-001","status":"fail","checks":[{"id":"suite:TestLatency","figures":[{"name":"p95","value":12,"unit":"ms"}]}]}]}`,
		`{"verdict":"GO","requirements":[{"id":"SC-001","status":"pass","checks":[{"id":"suite:TestLatency","figures":[{"name":"p95","value":0.5,"unit":"ms"}]}]}]}`,
	}
	var paths []string
	for i, r := range reports {
		p := filepath.Join(dir, "report-"+string(rune('1'+i))+".json")
		require.NoError(t, os.WriteFile(p, []byte(r), 0o600))
		paths = append(paths, p)
	}
	var out, errOut bytes.Buffer
	code := run(paths, &out, &errOut)
	assert.Equal(t, exitcode.Failed, code, "a flip fails")
	assert.Contains(t, out.String(), "3 runs, verdicts GO NO-GO GO, 2 flips")
	assert.Contains(t, out.String(), "unstable SC-001: pass fail pass")
	assert.Regexp(t, `SC-001 suite:TestLatency p95\s+3\s+0.4\s+0.5\s+12 ms`, out.String())
}

func TestStabilityBadInput(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, exitcode.CouldNotRun, run([]string{"/dev/zero"}, &out, &errOut))
	assert.Equal(t, "stability: /dev/zero: not a regular file (it is a character device)\n", errOut.String())
}
