package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/target"
)

func TestTargetSkipReason(t *testing.T) {
	tests := []struct {
		name   string
		run    string
		labels types.Labels
		want   string
	}{
		{"unlabelled on sandbox", TargetSandbox, types.Labels{"req": {"SC-001"}}, ""},
		{"unlabelled on kube", TargetKube, nil, ""},
		{"kube feature on kube", TargetKube, types.Labels{LabelTarget: {TargetKube}}, ""},
		{"kube feature on sandbox", TargetSandbox, types.Labels{LabelTarget: {TargetKube}}, "runs only on the kube target (it measures from a probe pod inside a Kubernetes cluster or reads Kubernetes objects); this run is against sandbox"},
		{"sandbox feature on kube", TargetKube, types.Labels{LabelTarget: {TargetSandbox}}, "runs only on the sandbox target (it needs the sandbox's own processes and network namespaces); this run is against kube"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, TargetSkipReason(tc.run, tc.labels))
		})
	}
}

// plainFeature is a feature built without features.New, so that the suites' check
// discovery (which reads every features.New chain under suites/) does not take these
// test features for checks.
type plainFeature struct {
	name   string
	labels types.Labels
	steps  []types.Step
}

func (f plainFeature) Name() string         { return f.name }
func (f plainFeature) Labels() types.Labels { return f.labels }
func (f plainFeature) Steps() []types.Step  { return f.steps }

type plainStep struct {
	name string
	fn   types.StepFunc
}

func (s plainStep) Name() string         { return s.name }
func (s plainStep) Level() types.Level   { return types.LevelAssess }
func (s plainStep) Func() types.StepFunc { return s.fn }

func TestGuardRunsOnlyTheFeaturesOfTheTarget(t *testing.T) {
	ran := map[string]bool{}
	feature := func(name, only string) types.Feature {
		labels := types.Labels{}
		if only != "" {
			labels[LabelTarget] = []string{only}
		}
		return plainFeature{name: name, labels: labels, steps: []types.Step{plainStep{name: "runs", fn: func(ctx context.Context, _ *testing.T, _ *envconf.Config) context.Context {
			ran[name] = true
			return ctx
		}}}}
	}
	e := Guard(env.NewWithConfig(envconf.New()), TargetSandbox)
	e.Test(t, feature("kube only", TargetKube), feature("sandbox only", TargetSandbox), feature("everywhere", ""))
	assert.Equal(t, map[string]bool{"sandbox only": true, "everywhere": true}, ran)
}

func TestSkipUnsupportedSkipsOnlyUnsupported(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantSkip bool
	}{
		{"unsupported", target.Unsupported("no LAN address"), true},
		{"wrapped unsupported", errors.Join(errors.New("load"), target.Unsupported("no probe")), true},
		{"other error", errors.New("connection refused"), false},
		{"no error", nil, false},
	}
	for _, tc := range tests {
		var reached, skipped bool
		t.Run(tc.name, func(st *testing.T) {
			defer func() { skipped = st.Skipped() }()
			SkipUnsupported(st, "SC-003 client", tc.err)
			reached = true
		})
		assert.Equal(t, tc.wantSkip, skipped, tc.name)
		assert.Equal(t, !tc.wantSkip, reached, tc.name)
	}
}

// probeTarget is a target whose cleanup request answers with a set proof, as
// probe.Run would (an error when keys are left), or Unsupported without a probe pod.
type probeTarget struct {
	target.Target
	pod   string
	proof probe.Cleanup
	req   probe.Request
}

func (p *probeTarget) Endpoints(context.Context) (target.Endpoints, error) {
	return target.Endpoints{Master: "m:6379", Instances: []target.Instance{{Name: "master", Addr: "m-0:6379"}, {Name: "replica-0", Addr: "r-0:6379"}}}, nil
}

func (p *probeTarget) Probe(_ context.Context, _ target.Vantage, req probe.Request) (probe.Report, error) {
	p.req = req
	if p.pod == "" {
		return probe.Report{Kind: req.Kind}, target.Unsupported("kube target: no probe pod ran, so no key under %s was written from inside the cluster", req.Prefix)
	}
	rep := probe.Report{Kind: req.Kind, Cleanup: &p.proof, Vantage: "probe pod redis/" + p.pod}
	if p.proof.Left() > 0 {
		return rep, fmt.Errorf("%d keys left under %q", p.proof.Left(), req.Prefix)
	}
	return rep, nil
}

func TestCleanupKeysThroughTheProbe(t *testing.T) {
	tests := []struct {
		name    string
		pod     string
		proof   probe.Cleanup
		wantLog string
		wantErr string
	}{
		{"no probe ran", "", probe.Cleanup{}, "no probe pod ran", ""},
		{"clean", "redisprobe-x1", probe.Cleanup{Deleted: 7, Remaining: map[string]int{"m-0:6379": 0, "r-0:6379": 0}}, "deleted 7 keys", ""},
		{"keys left", "redisprobe-x1", probe.Cleanup{Deleted: 7, Remaining: map[string]int{"m-0:6379": 0, "r-0:6379": 2}}, "", "keys left under"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tgt := &probeTarget{pod: tc.pod, proof: tc.proof}
			r := &Run{Target: tgt, Prefix: "conformance:ab12:dataplane:"}
			var log bytes.Buffer
			err := r.CleanupKeys(context.Background(), &log)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, log.String(), tc.wantLog)
			assert.Equal(t, probe.KindCleanup, tgt.req.Kind)
			assert.Equal(t, r.Prefix, tgt.req.Prefix)
			assert.Equal(t, []string{"m-0:6379", "r-0:6379"}, tgt.req.Addrs)
		})
	}
}

func TestProbeBinaryDefaultResolvesFromTheModuleRoot(t *testing.T) {
	// The test runs in suites/internal/harness; go.mod is three levels up.
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	require.NoError(t, err)
	tests := []struct {
		name, in, want string
	}{
		{"relative, missing here", "bin/redisprobe", filepath.Join(root, "bin", "redisprobe")},
		{"absolute", "/opt/redisprobe", "/opt/redisprobe"},
		{"relative, present here", "guard.go", "guard.go"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, fromModuleRoot(tc.in))
		})
	}
}
