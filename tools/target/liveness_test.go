package target

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/project"
)

// freeze is when the Redis of the fixtures stopped answering (testdata/liveness).
var freeze = time.Date(2026, 12, 3, 21, 10, 0, 0, time.UTC)

func readFixture[T any](t *testing.T, name string) T {
	t.Helper()
	var out T
	if name == "" {
		return out
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "liveness", name))
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(raw, &out), name)
	return out
}

func TestJudgeLivenessRestartOnWhatAKubeletWrites(t *testing.T) {
	cases := []struct {
		name         string
		pod, events  string
		wantProblems []string
		wantKill     string
		wantFailures int
	}{
		{
			name: "killed for three failed liveness probes and restarted in place", pod: "restarted-by-liveness.pod.yaml", events: "restarted-by-liveness.events.yaml",
			wantKill: "Killing: Container redis failed liveness probe, will be restarted", wantFailures: 3,
		},
		{
			name: "a pod deleted and made again by the StatefulSet", pod: "recreated.pod.yaml",
			wantProblems: []string{"created after the freeze", "shows no termination since the freeze", `no "Killing" event`},
		},
		{
			name: "a restart in place for OOMKilled", pod: "oomkilled.pod.yaml", events: "oomkilled.events.yaml",
			wantProblems: []string{`no "Killing" event for container redis saying it failed liveness probe`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := readFixture[corev1.Pod](t, tc.pod)
			events := readFixture[corev1.EventList](t, tc.events)

			got := JudgeLivenessRestart(pod, events.Items, "redis", freeze)

			problems := got.Problems()
			require.Len(t, problems, len(tc.wantProblems), "problems: %v", problems)
			for i, want := range tc.wantProblems {
				assert.Contains(t, problems[i], want)
			}
			assert.Equal(t, tc.wantKill, got.KillEvent)
			assert.Equal(t, tc.wantFailures, got.ProbeFailures)
		})
	}
}

func TestJudgeLivenessRestartIgnoresAKillBeforeTheFreeze(t *testing.T) {
	pod := readFixture[corev1.Pod](t, "restarted-by-liveness.pod.yaml")
	events := readFixture[corev1.EventList](t, "restarted-by-liveness.events.yaml")
	// The freeze after everything in the fixtures: only yesterday's and today's kill
	// would match, and both are before it.
	got := JudgeLivenessRestart(pod, events.Items, "redis", freeze.Add(time.Hour))
	assert.Empty(t, got.KillEvent)
	assert.Empty(t, got.LastTerminated, "the termination before the freeze does not count")
}

func TestPauseOutlastsTheLivenessProbe(t *testing.T) {
	// The chart's probe as the values render it: period 5, timeout 5+1, threshold 3.
	probe := &corev1.Probe{PeriodSeconds: 5, TimeoutSeconds: 6, FailureThreshold: 3}
	assert.Equal(t, 76*time.Second, pauseFor(probe))
	script := pauseScript(pauseFor(probe).Milliseconds())
	assert.Contains(t, script, "CLIENT PAUSE 76000 ALL")
	assert.Contains(t, script, `REDISCLI_AUTH="$REDIS_PASSWORD"`, "the password goes by env var, never on redis-cli's command line")
	assert.NotContains(t, script, " -a ")
}

// scriptExecer records the scripts run in a Redis container and answers OK.
type scriptExecer struct {
	mu      sync.Mutex
	scripts []string
}

func (s *scriptExecer) Exec(ctx context.Context, _, _, container string, cmd []string, _ io.Reader, stdout, _ io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok || container != redisContainer {
		return io.ErrUnexpectedEOF
	}
	s.scripts = append(s.scripts, strings.Join(cmd, " "))
	_, err := io.WriteString(stdout, "OK\n")
	return err
}

func livenessCluster(t *testing.T, nodeAnnotations map[string]string, probe *corev1.Probe) *fake.Clientset {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Annotations: nodeAnnotations}}
	pod := readFixture[corev1.Pod](t, "restarted-by-liveness.pod.yaml")
	pod.Spec.NodeName = node.Name
	pod.Spec.Containers[0].LivenessProbe = probe
	master := pod.DeepCopy()
	master.Name, master.UID = "redis-shared-master-0", "m"
	master.Labels = map[string]string{"app.kubernetes.io/component": "master", "app.kubernetes.io/instance": project.Release, "app.kubernetes.io/name": "redis"}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: project.Namespace}}
	return fake.NewClientset(ns, node, &pod, master,
		statefulSet(project.MasterService, "master", 1, 1), statefulSet(project.ReplicasService, "replica", 1, 1))
}

func TestKubeHang(t *testing.T) {
	probe := &corev1.Probe{PeriodSeconds: 5, TimeoutSeconds: 6, FailureThreshold: 3}
	cases := []struct {
		name        string
		annotations map[string]string
		probe       *corev1.Probe
		unsupported string
		wantErr     string
		wantScript  string
	}{
		{name: "a real node: CLIENT PAUSE in the Redis container", probe: probe, wantScript: "CLIENT PAUSE 76000 ALL"},
		{name: "a kwok fake node runs no liveness probe", annotations: map[string]string{KwokNodeAnnotation: "fake"}, probe: probe, unsupported: "no liveness probe run"},
		{name: "a container without a liveness probe", wantErr: "has no liveness probe"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := livenessCluster(t, tc.annotations, tc.probe)
			exec := &scriptExecer{}
			k := NewKube(cs, nil)
			k.probe.exec = exec
			ep, err := k.Endpoints(context.Background())
			require.NoError(t, err)
			replica := ep.ByRole(RoleReplica)
			require.Len(t, replica, 1, "instances: %+v", ep.Instances)

			_, err = k.Hang(context.Background(), replica[0].Name)

			switch {
			case tc.unsupported != "":
				reason, ok := IsUnsupported(err)
				require.True(t, ok, "%v", err)
				assert.Contains(t, reason, tc.unsupported)
				assert.Empty(t, exec.scripts)
			case tc.wantErr != "":
				assert.ErrorContains(t, err, tc.wantErr)
				assert.Empty(t, exec.scripts)
			default:
				require.NoError(t, err)
				require.Len(t, exec.scripts, 1)
				assert.Contains(t, exec.scripts[0], tc.wantScript)
			}
		})
	}
}
