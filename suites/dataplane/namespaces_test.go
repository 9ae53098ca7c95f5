package dataplane

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/target"
)

// FR-003 and FR-017 from the vantage points the spec names: pods in namespaces other
// than redis, without the chart's client label, dialling the Services by their DNS
// names. A NetworkPolicy that shuts them out fails the check and is named in it.
func TestFromOtherNamespaces(t *testing.T) {
	everyNamespace := features.New("Redis by its DNS names from pods of other namespaces").
		WithLabel("req", "FR-003").
		Setup(viaNamespaces).
		Assess("a beersystem pod without the client label completes round trips through the master's and replicas' DNS names", assessFromNamespace(beersystem())).
		Assess("a pod of a namespace the suite creates, without the client label, does the same", assessFromNamespace(ownNamespace())).
		Feature()
	beersystemDNS := features.New("beersystem over the cross-namespace DNS name with its own Secret").
		WithLabel("req", "FR-017").
		Setup(viaNamespaces).
		Assess("a beersystem pod with the password of the beersystem Secret completes round trips through redis-shared-master.redis.svc.cluster.local", assessFromNamespace(beersystem())).
		Feature()
	testenv.Test(t, everyNamespace, beersystemDNS)
}

func beersystem() target.ClientNamespace { return target.ClientNamespaces()[0] }

func ownNamespace() target.ClientNamespace { return target.ClientNamespaces()[1] }

type namespaceProberKey struct{}

// viaNamespaces is the Setup of the features above: the target must run probes in
// other namespaces; one that has none skips them with the reason.
func viaNamespaces(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	np, ok := r.Target.(target.NamespaceProber)
	if !ok {
		t.Skipf("the %s target has no Kubernetes namespaces (its cluster network is one network namespace without NetworkPolicies): pods of other namespaces are tried on the kube target", r.Target.Name())
	}
	return context.WithValue(ctx, namespaceProberKey{}, np)
}

func assessFromNamespace(ns target.ClientNamespace) func(context.Context, *testing.T, *envconf.Config) context.Context {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		r := harness.From(ctx)
		np := ctx.Value(namespaceProberKey{}).(target.NamespaceProber)
		prefix := r.Key("fr003", ns.Namespace) + ":"
		rep, err := np.ProbeFromNamespace(ctx, ns, prefix, harness.KeyTTL)
		harness.SkipUnsupported(t, "a probe pod in namespace "+ns.Namespace, err)
		structures := len(rep.Commands.Structures)
		r.Figures(t,
			evidence.Figure{Name: "round trips through " + rep.Master + " from " + ns.Namespace, Value: float64(rep.Commands.Passed()), Unit: "count"},
			evidence.Figure{Name: "keys left under the prefix (master and replicas DNS names)", Value: float64(rep.Cleanup.Left()), Unit: "count"})
		if rep.Pod != "" {
			r.Note(t, "probe pod %s/%s, labels %s (no %s-client label), password from Secret %s, dialled %s and %s", ns.Namespace, rep.Pod, labelsText(rep.Labels), project.Release, rep.PasswordFrom, rep.Master, rep.Replicas)
		}
		blocked := fmt.Sprintf("NetworkPolicies of namespace %s: %s", project.Namespace, policiesText(rep.NetworkPolicies))
		require.NoError(t, err, "from namespace %s (%s)", ns.Namespace, blocked)
		var failed []string
		for _, s := range rep.Commands.Structures {
			if !s.OK || s.TTLMillis <= 0 {
				failed = append(failed, fmt.Sprintf("%s: %s", s.Name, s.Error))
			}
		}
		require.NotZero(t, structures, "no round trip ran from namespace %s (%s)", ns.Namespace, rep.Commands.Error)
		assert.Empty(t, failed, "round trips from namespace %s through %s failed; %s", ns.Namespace, rep.Master, blocked)
		_, replicasAnswered := rep.Cleanup.Remaining[rep.Replicas]
		assert.True(t, replicasAnswered, "the replicas Service %s did not answer from namespace %s; %s", rep.Replicas, ns.Namespace, blocked)
		assert.Zero(t, rep.Cleanup.Left(), "keys left under %s", prefix)
		return ctx
	}
}

func labelsText(labels map[string]string) string {
	var parts []string
	for k, v := range labels {
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return "none"
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func policiesText(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
