// Package target is what the live suites see of the deployment under test: where its
// addresses are, clients that dial from a vantage point (a pod in the cluster, a host
// on the LAN, a host outside), Prometheus, facts, and fault injection for disruptive
// checks. The suites choose one implementation once (sandbox now, kube later) and
// never learn which one they talk to. The Redis password stays inside the target:
// clients carry it, nothing returns it.
package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/probe"
)

// Vantage is where a client connects from.
type Vantage string

// The vantage points every target offers.
const (
	// Cluster is a pod inside the cluster (any namespace).
	Cluster Vantage = "cluster"
	// LAN is a host on the private network 192.168.4.0/24.
	LAN Vantage = "lan"
	// Outside is a host outside the private network.
	Outside Vantage = "outside"
)

// Roles of an instance.
const (
	RoleMaster  = "master"
	RoleReplica = "replica"
)

// Instance is one Redis instance (a pod of the StatefulSets).
type Instance struct {
	// Name is the target's handle for faults: "master", "replica-0".
	Name string
	Role string
	// Pod is the Kubernetes pod it is (or stands for).
	Pod string
	// Addr is its in-cluster address host:port (pod IP or per-pod DNS).
	Addr string
}

// Endpoints are the addresses the spec talks about.
type Endpoints struct {
	// Master is the in-cluster address of the master Service (redis-shared-master).
	Master string
	// Replicas is the in-cluster address of the replicas Service; "" when none runs.
	Replicas string
	// Instances lists every instance, the master first.
	Instances []Instance
	// LoadBalancer is the LAN address IP:port of the LoadBalancer; "" when none.
	LoadBalancer string
	// SourceRanges are the LoadBalancer's allowed source CIDRs as deployed.
	SourceRanges []string
}

// Instance returns the named instance.
func (e Endpoints) Instance(name string) (Instance, error) {
	for _, inst := range e.Instances {
		if inst.Name == name {
			return inst, nil
		}
	}
	return Instance{}, fmt.Errorf("no instance %q (have %d instances)", name, len(e.Instances))
}

// ByRole returns the instances of a role in order.
func (e Endpoints) ByRole(role string) []Instance {
	var out []Instance
	for _, inst := range e.Instances {
		if inst.Role == role {
			out = append(out, inst)
		}
	}
	return out
}

// Credentials says how a client authenticates.
type Credentials int

// The credential kinds a check can ask for. Only Valid carries the real password.
const (
	// Valid is the deployment's own password (default user).
	Valid Credentials = iota
	// NoPassword sends no AUTH at all.
	NoPassword
	// WrongPassword authenticates the default user with a password that is not it.
	WrongPassword
	// UnknownUser authenticates as a user that does not exist.
	UnknownUser
)

// String names the credential kind for evidence.
func (c Credentials) String() string {
	switch c {
	case Valid:
		return "valid password"
	case NoPassword:
		return probe.AttemptNoPassword
	case WrongPassword:
		return probe.AttemptWrongPassword
	case UnknownUser:
		return probe.AttemptUnknownUser
	default:
		return fmt.Sprintf("credentials(%d)", int(c))
	}
}

// Facts are what the report states about the target.
type Facts struct {
	RedisVersion string
	ChartVersion string
	// Enforcement names the layer that enforces the LoadBalancer's source ranges.
	Enforcement string
	// Extra are further facts by key (the sandbox's Redis build, the values it does
	// not emulate, how limits are enforced).
	Extra map[string]string
}

// Revert undoes a fault and waits until the deployment is back. Run it on a context
// that survives the test's cancellation (context.WithoutCancel plus a timeout).
type Revert func(ctx context.Context) error

// Restart is what the platform knows about an instance's last restart.
type Restart struct {
	Count int
	// Pid (or container id) of the current process; changes on every restart.
	Pid int
	// Started is when the current process started.
	Started time.Time
}

// Target is the deployment under test.
type Target interface {
	// Name is "sandbox" or "kube".
	Name() string
	Endpoints(ctx context.Context) (Endpoints, error)
	// Dial opens a raw TCP connection to addr from the vantage point; the deadline
	// of ctx bounds the connect.
	Dial(ctx context.Context, from Vantage, addr string) (net.Conn, error)
	// Client returns a go-redis client for addr from the vantage point with the given
	// credentials, deadlines on every call and no retries. The caller closes it.
	Client(from Vantage, addr string, creds Credentials) (*redis.Client, error)
	// LoadDialer returns a dialer for the load generator from the vantage point with
	// the valid credentials. The caller closes it.
	LoadDialer(from Vantage, addr string, conns int) (loadgen.Dialer, error)
	// Probe carries out one measurement from the vantage point: the same tools/probe
	// code on every target (in-process in a network namespace on the sandbox, the
	// redisprobe binary in a pod on kube). A vantage the target cannot offer is an
	// UnsupportedError; the Report holds what was measured even with an error.
	Probe(ctx context.Context, from Vantage, req probe.Request) (probe.Report, error)
	// Prometheus is the monitoring API, or an error naming why there is none.
	Prometheus() (*Prometheus, error)
	Facts(ctx context.Context) (Facts, error)
	// Leaks reports whether data contains the Redis password, without revealing it.
	Leaks(data []byte) bool
	// Kill ends an instance's process abruptly (kill -9); the platform restarts it.
	// Revert waits until the deployment is healthy again.
	Kill(ctx context.Context, instance string) (Revert, error)
	// Hang freezes an instance without ending it, so only its liveness probe can tell.
	Hang(ctx context.Context, instance string) (Revert, error)
	// Stop keeps an instance down until Revert, which lets it start and waits for health.
	Stop(ctx context.Context, instance string) (Revert, error)
	// Restarts returns the platform's restart record of an instance.
	Restarts(ctx context.Context, instance string) (Restart, error)
	// WaitHealthy waits until every instance answers, roles are right and every
	// replica's link is up.
	WaitHealthy(ctx context.Context, timeout time.Duration) error
	// Close releases what the target holds.
	Close() error
}

// ErrNoPrometheus means the target runs no Prometheus for the deployment.
var ErrNoPrometheus = errors.New("no Prometheus scrapes this deployment")

// UnsupportedError is what a target returns for a vantage point or an operation it
// cannot offer where it runs (no probe pod, runner not on the LAN, no outside vantage
// named). Checks skip with its reason; they never count it as a pass or a failure.
type UnsupportedError struct {
	Reason string
}

func (e *UnsupportedError) Error() string { return e.Reason }

// Unsupported builds an UnsupportedError with a formatted reason.
func Unsupported(format string, args ...any) error {
	return &UnsupportedError{Reason: fmt.Sprintf(format, args...)}
}

// IsUnsupported returns the reason when err is (or wraps) an UnsupportedError.
func IsUnsupported(err error) (string, bool) {
	var u *UnsupportedError
	if errors.As(err, &u) {
		return u.Reason, true
	}
	return "", false
}
