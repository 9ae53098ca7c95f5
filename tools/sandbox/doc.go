// Package sandbox is the local stand-in of the redis-shared deployment: real
// redis-server, redis_exporter and Prometheus processes (Debian trixie's redis-server
// 8.0 and prometheus-redis-exporter 1.69 from `make redis8`, falling back to the
// machine's Debian packages with a fact saying so; Debian's prometheus) in Linux
// network namespaces,
// built from the same merged helm-values the chart gets, so a broken value gives a
// broken sandbox and the live checks fail on it.
//
// # Topology
//
// Every sandbox has an id (6 hex digits); each namespace is named rsc-<id>-<role>, so
// `down` finds the leftovers of a crashed run by prefix. Nothing is linked to the
// host's interfaces and no namespace has a default route: traffic stays between our
// own namespaces.
//
//	rsc-<id>-node        the "node": bridge cbr0 10.244.0.1/24 for the pods, lan0
//	                     192.168.4.1/24 (+ the LoadBalancer IP /32, as MetalLB's L2
//	                     speaker announces it), ext0 203.0.113.1/24; IP forwarding and
//	                     the nftables table rsc-<id> (kube-proxy's job)
//	rsc-<id>-master      pod redis-shared-master-0, 10.244.0.10: redis :6379, exporter :9121
//	rsc-<id>-replica-N   pod redis-shared-replicas-N, 10.244.0.20+N
//	rsc-<id>-prometheus  Prometheus, 10.244.0.5:9090 (when metrics.enabled)
//	rsc-<id>-client      vantage point "cluster": a client pod, 10.244.0.100
//	rsc-<id>-beersystem-redis  beersystem's own Redis before the cutover (Service
//	                     beersystem-redis.beersystem.svc.cluster.local), 10.244.0.60:6379:
//	                     its own password, no persistence, no exporter (State.OldRedis)
//	rsc-<id>-beersystem  pod for the stand-in beersystem app, 10.244.0.70 (State.App,
//	                     State.StartApp); nothing runs in it until a suite starts the app
//	rsc-<id>-lan         vantage point "lan": a LAN host, 192.168.4.10/24
//	rsc-<id>-outside     vantage point "outside": a host on 203.0.113.10/24 routed via the node
//
// One namespace per pod, as in Kubernetes: each instance has its own address, the
// LoadBalancer DNATs to the master's pod address, the exporter shares its Redis'
// namespace like the chart's sidecar and reaches it on 127.0.0.1, and the liveness
// probe runs inside the pod's namespace like the kubelet's exec probe.
//
// The node's nftables table does what kube-proxy does for a LoadBalancer Service with
// loadBalancerSourceRanges: a filter chain at prerouting priority dstnat-10 accepts
// TCP to LB-IP:port from each source range and drops everything else to it (the
// client sees a timeout, pods outside the ranges included), then a nat chain DNATs
// LB-IP:port to master:6379. A masquerade rule handles hairpin traffic from pods, and
// a forward filter keeps pod addresses unreachable from the LAN and the outside host
// except through the Service.
//
// # Which value drives what
//
//	value                                        sandbox behaviour
//	architecture, replica.replicaCount           number of replica namespaces and redis-servers (chart default 3)
//	auth.enabled                                 requirepass + masterauth from a generated secret (crypto/rand,
//	                                             0600 file in the state dir, never printed); off: no password
//	commonConfiguration, <role>.configuration    written verbatim into each redis.conf (maxmemory and policy,
//	                                             appendonly, appendfsync, save, ...); chart default when absent
//	<role>.disableCommands                       rename-command NAME "" (chart default FLUSHDB, FLUSHALL)
//	<role>.persistence.enabled                   on: the data dir survives restarts; off: wiped before every
//	                                             start (see "cannot emulate" for the emptyDir caveat)
//	<role>.livenessProbe.*                       PING (with AUTH) inside the pod every periodSeconds after
//	                                             initialDelaySeconds, timeoutSeconds each; after
//	                                             failureThreshold failures in a row: SIGKILL and restart
//	metrics.enabled                              a redis_exporter per instance (REDIS_PASSWORD in its env, as
//	                                             the chart does) and a Prometheus
//	metrics.serviceMonitor.enabled, .interval,   a scrape job "redis-shared-metrics" at that interval with the
//	.scrapeTimeout                               labels the Prometheus Operator adds (namespace, service, pod)
//	metrics.prometheusRule.enabled, .rules       rule file from tools/alerts (rendered like the chart), loaded
//	                                             with a 1 s evaluation interval
//	lanService.enabled, .loadBalancerIP, .port   the LB IP on the node, DNAT to master:6379
//	lanService.sourceRanges                      the nftables accept rules; every other source is dropped
//	<role>.resources.limits, metrics.resources   a cgroup per container: memory.max and cpu.max (cgroup v2), or
//	.limits                                      memory.limit_in_bytes and cpu.cfs_quota_us where the machine
//	                                             mounts only v1 controllers; the kernel OOM-kills past the limit
//	metrics.extraEnvVars REDIS_PASSWORD from a   the exporters keep the password of `up`: a rotation of the auth
//	Secret other than auth.existingSecret        Secret does not reach them
//	sentinel.enabled: true                       refused: the sandbox serves the master/replica Services only
//
// A process that exits is restarted like the kubelet restarts a container: at once
// the first time, then after 10 s, 20 s, ... up to 5 min (reset after 10 min of
// running). Prometheus keeps its TSDB in the state dir and starts empty each time; it
// has no feature that contacts anything outside.
//
// # Endpoints
//
// `up` writes state.json (schema version StateSchemaVersion) in the state dir: the
// namespaces, each instance's cluster address and pids, the vantage points, the
// LoadBalancer address, the Prometheus URL, the password file. Clients dial from a
// vantage point with State.Dialer (go-redis Options.Dialer) or State.HTTPClient: the
// socket is created inside that namespace.
//
// # Faults
//
// For the disruptive suites: State.Kill (a signal to redis-server, e.g. SIGKILL),
// State.WaitRestarted (the supervisor started a new one and it answers PING),
// State.Freeze (SIGSTOP: only the liveness probe notices), State.Stop and
// State.StopExporter (kept down by the supervisor until the returned Revert is
// called) and State.WaitHealthy. For the cutover rehearsal, State.StopOldRedis
// decommissions the old beersystem Redis the same way (Revert starts it again, empty).
// For the edge cases: State.Partition (an nftables table in a replica's namespace
// drops everything to and from the master), State.RotatePassword (new password file,
// then master and each replica restarted with their exporters, in the runbook's
// order), State.MemoryLimit and State.OOMKills (the container's cgroup).
//
// # What the sandbox cannot emulate
//
//   - Cluster DNS: there is no resolver. State.Services maps
//     redis-shared-master.redis.svc.cluster.local to the master's pod address,
//     redis-shared-replicas.redis.svc.cluster.local to the replicas' and
//     redis-shared-headless.redis.svc.cluster.local to all; the sandbox target
//     resolves the names through that map. There are no ClusterIP virtual addresses.
//   - PVC binding, storage classes, volume size limits: a "persistent" data dir is a
//     directory in the state dir, or under /var/lib/redis-shared-sandbox/<id> when the
//     state dir is on tmpfs (fsync must reach a disk to mean anything).
//   - emptyDir lifetime: Kubernetes keeps an emptyDir across container restarts and
//     loses it only with the pod. The sandbox wipes it on every restart, as if each
//     restart were a new pod, which is the harsher case.
//   - Node loss, rescheduling, pod eviction, resource requests, readiness gating of
//     Service endpoints, NetworkPolicy, NodePorts. Every key of the merged values the
//     sandbox does not act on is listed in State.Facts[FactNotEmulated] (the report's
//     facts).
//   - SIGTERM grace on a liveness kill: a hung process gets SIGKILL at once.
//   - The chart's own images (Redis 8.2 and exporter 1.76 there, trixie's 8.0 and 1.69
//     here): a directive only Redis 8.2 knows makes the sandbox fail to come up.
//
// Building the namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); without it Up
// returns ErrPrivileges.
package sandbox
