package cutover

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/redis-shared/conformance/tools/project"
)

// fromConfigMap is a container that takes everything from ConfigMap cm by envFrom.
func fromConfigMap(cm string) corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", EnvFrom: []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}},
	}}}}
}

func TestSettingsOfSharedConfigMap(t *testing.T) {
	settings := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: project.App, Name: "settings"},
		Data: map[string]string{"REDIS_HOST": "beersystem-redis", "REDIS_PORT": "6379", "REDIS_PASSWORD": "old"}}
	app := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: project.App, Name: "beersystem"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: fromConfigMap("settings")}}}
	// A nightly job reads the same ConfigMap: editing it would move the job too.
	job := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: project.App, Name: "stock-report"},
		Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: fromConfigMap("settings")}}}}}
	tests := []struct {
		name       string
		withJob    bool
		wantEdit   bool
		wantShared []string
		wantEnv    []string
	}{
		{name: "own ConfigMap: edited", wantEdit: true, wantEnv: []string{"REDIS_PASSWORD"}},
		{name: "shared ConfigMap: overridden in env", withJob: true, wantShared: []string{"CronJob/beersystem/stock-report"}, wantEnv: []string{"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(settings, app)
			if tc.withJob {
				_, err := cs.BatchV1().CronJobs(project.App).Create(context.Background(), job, metav1.CreateOptions{})
				require.NoError(t, err)
			}
			rb := New(cs, Options{})
			set, err := rb.settingsOf(context.Background(), app)
			require.NoError(t, err)
			assert.Equal(t, tc.wantEdit, set.Host.EditConfigMap)
			assert.Equal(t, tc.wantEdit, set.Port.EditConfigMap)
			assert.Equal(t, tc.wantShared, set.Host.SharedWith)
			assert.False(t, set.Password.EditConfigMap)
			var names []string
			for _, e := range patchedEnv(nil, set, project.MasterDNSName, project.RedisPort, project.AuthSecret, project.AuthPasswordKey) {
				names = append(names, e.Name)
			}
			assert.Equal(t, tc.wantEnv, names, "env entries the patch adds")
		})
	}
}

func TestScanWorkload(t *testing.T) {
	names := oldRedisNames{namespace: "beersystem", bare: "beersystem-redis",
		qualified: []string{"beersystem-redis.beersystem.svc.cluster.local", "beersystem-redis.beersystem.svc", "beersystem-redis.beersystem"}}
	cms := func(_ context.Context, _, name string) (map[string]string, error) {
		return map[string]map[string]string{
			"urls":  {"CACHE_URL": "redis://beersystem-redis.beersystem:6379/1"},
			"other": {"HOST": "redis-shared-master.redis.svc.cluster.local"},
		}[name], nil
	}
	container := func(c corev1.Container) workload {
		c.Name = "app"
		return workload{Kind: "Deployment", Namespace: "brewlog", Name: "brewlog", Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
	}
	envFrom := func(cm string) []corev1.EnvFromSource {
		return []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}}
	}
	tests := []struct {
		name string
		w    workload
		want []ConfigReference
	}{
		{name: "args", w: container(corev1.Container{Args: []string{"-h", "beersystem-redis.beersystem.svc", "-p", "6379"}}),
			want: []ConfigReference{{Workload: "Deployment/brewlog/brewlog", Where: "container app args", Match: "beersystem-redis.beersystem.svc"}}},
		{name: "envFrom ConfigMap", w: container(corev1.Container{EnvFrom: envFrom("urls")}),
			want: []ConfigReference{{Workload: "Deployment/brewlog/brewlog", Where: "container app envFrom ConfigMap urls key CACHE_URL", Match: "beersystem-redis.beersystem"}}},
		{name: "envFrom key overridden by env", w: container(corev1.Container{EnvFrom: envFrom("urls"), Env: []corev1.EnvVar{{Name: "CACHE_URL", Value: "redis://redis-shared-master.redis.svc.cluster.local"}}})},
		{name: "env from a ConfigMap key", w: container(corev1.Container{Env: []corev1.EnvVar{{Name: "R", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "urls"}, Key: "CACHE_URL"}}}}}),
			want: []ConfigReference{{Workload: "Deployment/brewlog/brewlog", Where: "container app env R from ConfigMap urls key CACHE_URL", Match: "beersystem-redis.beersystem"}}},
		{name: "the new Redis only", w: container(corev1.Container{EnvFrom: envFrom("other")})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanWorkload(context.Background(), tc.w, names.find, cms)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
