package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/redis-shared/conformance/tools/policy"
	"github.com/redis-shared/conformance/tools/safeio"
)

// ParsePolicyRun reads `conform policy --format json` output, strictly.
func ParsePolicyRun(raw []byte) (*policy.Run, error) {
	var run policy.Run
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("not policy results JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the policy results")
	}
	if run.SchemaVersion != policy.ResultSchemaVersion {
		return nil, fmt.Errorf("schemaVersion %d, want %d", run.SchemaVersion, policy.ResultSchemaVersion)
	}
	for i, r := range run.Rules {
		if r.Package == "" {
			return nil, fmt.Errorf("rules[%d]: package is empty", i)
		}
		if !slices.Contains([]string{policy.StatusPass, policy.StatusFail, policy.StatusNotRun}, r.Status) {
			return nil, fmt.Errorf("rules[%d] (%s): status %q is not pass, fail or not-run", i, r.Package, r.Status)
		}
		if r.Status == policy.StatusNotRun && (r.Reason == "" || len(r.Violations) > 0) {
			return nil, fmt.Errorf("rules[%d] (%s): not-run needs a reason and no violations", i, r.Package)
		}
		if r.Status == policy.StatusFail && len(r.Violations) == 0 {
			return nil, fmt.Errorf("rules[%d] (%s): fails without a violation", i, r.Package)
		}
		// A pass that carries violations contradicts itself: refuse the file rather
		// than guess which half is true.
		if r.Status == policy.StatusPass && len(r.Violations) > 0 {
			return nil, fmt.Errorf("rules[%d] (%s): status pass with %d violations", i, r.Package, len(r.Violations))
		}
	}
	return &run, nil
}

// ReadPolicyRun reads a policy results file.
func ReadPolicyRun(path string) (*policy.Run, error) {
	raw, err := safeio.ReadInput(path, safeio.ReportInputLimit)
	if err != nil {
		return nil, fmt.Errorf("read policy results: %w", err)
	}
	run, err := ParsePolicyRun(raw)
	if err != nil {
		return nil, fmt.Errorf("policy results %s: %w", path, err)
	}
	return run, nil
}

// ReadTestEvents reads a `go test -json` file.
func ReadTestEvents(path string) (*TestRun, error) {
	raw, err := safeio.ReadInput(path, safeio.ReportInputLimit)
	if err != nil {
		return nil, fmt.Errorf("read test events: %w", err)
	}
	run, err := ParseTestEvents(raw)
	if err != nil {
		return nil, fmt.Errorf("test events %s: %w", path, err)
	}
	return run, nil
}
