package kubeenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/redis-shared/conformance/tools/alerts"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
	"github.com/redis-shared/conformance/tools/values"
)

// promServiceName is the cluster Prometheus's Service name the suites are given; the
// resolve hook sends it to the loopback Prometheus.
const promServiceName = "prometheus-operated.monitoring.svc"

// promScrapeInterval is the loopback Prometheus's interval: short, so that the
// freshness check has its samples in seconds (the catalog bound is read by the check).
const promScrapeInterval = "5s"

// TestProbeOnLocalControlPlaneChecks runs the probe features of FR-006, FR-011/SC-008
// and (through a real Prometheus scraping real redis_exporters) FR-008, FR-009 and
// SC-005 with --target kube against the local control plane: kwok answers the probe
// pod's exec by running bin/redisprobe locally, and the resolve hook sends the master
// names to a loopback redis-server and the replica names to a real loopback replica
// of it. Then it breaks replication and authentication and sees FR-006 and SC-008 fail.
// (Named so that kube.mk's -run pattern for TestProbeOnLocalControlPlane matches it.)
func TestProbeOnLocalControlPlaneChecks(t *testing.T) {
	p := startLocalPlane(t, project.Namespace, "dataplane", "security", "monitoring")
	ctx, env, password := p.ctx, p.env, p.password

	master, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir(), Password: password})
	require.NoError(t, err)
	t.Cleanup(func() { _ = master.Stop() })
	replica, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir(), Password: password})
	require.NoError(t, err)
	t.Cleanup(func() { _ = replica.Stop() })
	require.NoError(t, replicate(ctx, replica, master))

	domain := "." + project.Namespace + ".svc." + project.ClusterDomain
	headless := "." + project.Release + "-headless" + domain
	resolve := []string{
		project.MasterService + domain + "=" + master.Addr,
		project.MasterService + "-0" + headless + "=" + master.Addr,
		project.ReplicasService + domain + "=" + replica.Addr,
		project.ReplicasService + "-0" + headless + "=" + replica.Addr,
	}
	promAddr, promWhy := startMonitoring(t, ctx, p.root, map[string]*localredis.Server{
		project.MasterService + "-0": master, project.ReplicasService + "-0": replica,
	})
	if promAddr != "" {
		resolve = append(resolve, promServiceName+"="+promAddr)
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	require.NoError(t, err)
	probeDir := t.TempDir()
	_, err = dyn.Resource(clusterExecResource).Create(ctx, clusterExecResolving(probeDir, password, resolve), metav1.CreateOptions{})
	require.NoError(t, err, "ClusterExec for the probe")

	suite := func(t *testing.T, name, run string, extra ...string) suiteRun {
		t.Helper()
		out := p.runSuite(t, name, probeDir, append([]string{"-test.run=" + run}, extra...)...)
		figuresByName(t, out.records)
		return out
	}
	const (
		fr006    = "TestClusterAccess/replication_to_the_second_instance"
		fr006Run = "^TestClusterAccess$/^replication_to_the_second_instance$"
		sc008    = "TestAuthentication/authentication_on_every_connection"
	)
	monitoring := []string{
		"TestMetrics/Prometheus_scrapes_both_instances",
		"TestMetrics/metrics_for_both_instances",
		"TestMetrics/metric_freshness",
	}

	t.Run("FR-006 from the probe pod passes with a real replica", func(t *testing.T) {
		o := suite(t, "dataplane", fr006Run).status(t, fr006)
		assert.Equal(t, report.StatusPass, o.Status, "%v", o.Messages)
	})
	t.Run("FR-011 and SC-008 from the probe pod pass", func(t *testing.T) {
		run := suite(t, "security", "^TestAuthentication$")
		inCluster := run.status(t, sc008+"/unauthorized_attempts_on_the_master_and_every_replica_from_inside_the_cluster_are_all_rejected")
		assert.Equal(t, report.StatusPass, inCluster.Status, "%v", inCluster.Messages)
		// This machine has no address on the LAN: the LoadBalancer half skips, saying so,
		// and a feature with a skipped assessment is a skip, never a pass.
		lb := run.status(t, sc008+"/unauthorized_attempts_at_the_LoadBalancer_from_the_LAN_are_all_rejected")
		assert.Equal(t, report.StatusSkip, lb.Status)
		assert.Contains(t, strings.Join(lb.Messages, " "), "no address in")
		o := run.status(t, sc008)
		assert.Equal(t, report.StatusSkip, o.Status, "%v", o.Messages)
		assert.Contains(t, strings.Join(o.Messages, " "), "1 of 2 subtests were skipped: SC-008 attempts at the LoadBalancer from the lan vantage point")
	})
	t.Run("monitoring without --prometheus-url skips naming the flag", func(t *testing.T) {
		run := suite(t, "monitoring", "^TestMetrics$")
		for _, name := range monitoring {
			o := run.status(t, name)
			assert.Equal(t, report.StatusSkip, o.Status, name)
			assert.Contains(t, strings.Join(o.Messages, " "), "--prometheus-url", name)
		}
	})
	t.Run("FR-008, FR-009 and SC-005 from the probe pod pass against a real Prometheus", func(t *testing.T) {
		if promAddr == "" {
			t.Skip(promWhy)
		}
		run := suite(t, "monitoring", "^TestMetrics$", "--prometheus-url=http://"+promServiceName+":9090")
		for _, name := range monitoring {
			o := run.status(t, name)
			assert.Equal(t, report.StatusPass, o.Status, "%s: %v", name, o.Messages)
		}
	})

	// Break both: the replica leaves replication, and authentication is switched off
	// on it. The same features must now fail.
	rc := replica.Client()
	defer rc.Close()
	require.NoError(t, rc.Do(ctx, "REPLICAOF", "NO", "ONE").Err())
	require.NoError(t, rc.ConfigSet(ctx, "requirepass", "").Err())
	t.Run("FR-006 fails when the replica does not replicate", func(t *testing.T) {
		run := suite(t, "dataplane", fr006Run)
		assert.Equal(t, report.StatusFail, run.status(t, fr006).Status)
		o := run.status(t, fr006+"/the_replication_link_is_up_and_a_write_on_the_master_is_read_back_on_each_replica_within_the_catalog_bound")
		assert.Equal(t, report.StatusFail, o.Status)
		assert.Contains(t, strings.Join(o.Messages, " "), "replicas connected to the master")
	})
	t.Run("SC-008 fails when an instance serves without a password", func(t *testing.T) {
		run := suite(t, "security", "^TestAuthentication$")
		assert.Equal(t, report.StatusFail, run.status(t, sc008).Status)
		o := run.status(t, sc008+"/unauthorized_attempts_on_the_master_and_every_replica_from_inside_the_cluster_are_all_rejected")
		assert.Equal(t, report.StatusFail, o.Status)
		assert.Contains(t, strings.Join(o.Messages, " "), "replica-0 no password from probe pod redis/redisprobe-")
		assert.Contains(t, strings.Join(o.Messages, " "), "1000 of 1000 attempts served")
	})
}

// replicate makes replica a replica of master (same password) and waits for the
// link, as the chart's replica StatefulSet does.
func replicate(ctx context.Context, replica, master *localredis.Server) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := replica.Client()
	defer c.Close()
	host, port, err := net.SplitHostPort(master.Addr)
	if err != nil {
		return err
	}
	if err := c.ConfigSet(ctx, "masterauth", master.Password).Err(); err != nil {
		return fmt.Errorf("masterauth on %s: %w", replica.Addr, err)
	}
	if err := c.Do(ctx, "REPLICAOF", host, port).Err(); err != nil {
		return fmt.Errorf("REPLICAOF on %s: %w", replica.Addr, err)
	}
	for {
		if c.InfoMap(ctx, "replication").Item("Replication", "master_link_status") == "up" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replication link of %s not up: %w", replica.Addr, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startMonitoring runs a real redis_exporter per instance and a real Prometheus
// scraping them on loopback, with the labels the Prometheus Operator adds (pod) and
// the project's alert rules; it returns Prometheus's address, or "" and why not.
func startMonitoring(t *testing.T, ctx context.Context, root string, pods map[string]*localredis.Server) (string, string) {
	t.Helper()
	const exporterBin, promBin = "prometheus-redis-exporter", "prometheus"
	for _, b := range []string{exporterBin, promBin} {
		if _, err := exec.LookPath(b); err != nil {
			return "", fmt.Sprintf("%s not on PATH (make deps installs it): %v", b, err)
		}
	}
	var static []string
	for pod, srv := range pods {
		addr := freeLoopback(t)
		cmd := exec.Command(exporterBin, "-redis.addr=redis://"+srv.Addr, "-web.listen-address="+addr)
		// The password through the environment, never on a command line.
		cmd.Env = append(os.Environ(), "REDIS_PASSWORD="+srv.Password)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		require.NoError(t, cmd.Start(), "start %s", exporterBin)
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		static = append(static, fmt.Sprintf("      - targets: [%q]\n        labels: {namespace: %s, pod: %s, service: %s-metrics}\n", addr, project.Namespace, pod, project.Release))
	}
	dir := t.TempDir()
	var rules bytes.Buffer
	require.NoError(t, alerts.WriteRuleFile(root, values.LayeringHomelab, nil, &rules), "the project's alert rules")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yml"), rules.Bytes(), 0o644))
	config := "global:\n  scrape_interval: " + promScrapeInterval + "\n  evaluation_interval: " + promScrapeInterval + "\n" +
		"rule_files: [rules.yml]\nscrape_configs:\n  - job_name: " + project.Release + "-metrics\n    static_configs:\n" + strings.Join(static, "")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644))
	addr := freeLoopback(t)
	cmd := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start(), "start prometheus")
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+addr+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, ""
			}
		}
		if time.Now().After(deadline) || errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("prometheus on %s not ready in 30 s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// freeLoopback returns a loopback host:port that was free a moment ago.
func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
