package cutover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/redis-shared/conformance/tools/waitfor"
)

// DataPlane is the optional access to the Redis servers themselves (CLIENT LIST,
// INFO commandstats). Without it the runbook checks only the Kubernetes side and
// says that the data plane was not checked.
type DataPlane struct {
	// New and Old are clients of the new and the old Redis; nil: not given.
	New, Old redis.UniversalClient
	// NewAddr and OldAddr are their addresses, for messages and evidence.
	NewAddr, OldAddr string
	// AppClientName is the client-name prefix of the app's connections, besides
	// its pod IPs; empty: pod IPs only.
	AppClientName string
	// Wait bounds the wait for the app's connections to show on the new Redis
	// (an app may connect on its first request); zero is DefaultDataPlaneWait.
	Wait time.Duration
}

// DefaultDataPlaneWait is DataPlane.Wait's default.
const DefaultDataPlaneWait = 30 * time.Second

// Given says whether any data-plane access was given.
func (dp DataPlane) Given() bool { return dp.New != nil || dp.Old != nil }

// notGivenReason says which access is missing, for "not checked" messages.
func (dp DataPlane) notGivenReason() string {
	var missing []string
	if dp.New == nil {
		missing = append(missing, "--new-redis-addr")
	}
	if dp.Old == nil {
		missing = append(missing, "--old-redis-addr")
	}
	return "no " + strings.Join(missing, " and ") + " given"
}

// DataPlaneEvidence is what the Redis servers showed after the cutover; it is
// recorded in the state annotation.
type DataPlaneEvidence struct {
	CheckedAt time.Time `json:"checkedAt"`
	NewAddr   string    `json:"newAddr,omitempty"`
	OldAddr   string    `json:"oldAddr,omitempty"`
	// App says how the app's connections were recognised (pod IPs, name prefix).
	App string `json:"app"`
	// AppOnNew and AppOnOld are the app's connections on each server.
	AppOnNew []string `json:"appOnNew"`
	AppOnOld []string `json:"appOnOld"`
	// OldCallsSince counts the old Redis's commands since the recorded counts
	// (OldCountsWhen), observers' own commands left out; nil: not known.
	OldCallsSince *int64 `json:"oldCallsSince,omitempty"`
	// OthersOnOld are the other connections on the old Redis, by pod where known.
	OthersOnOld []string `json:"othersOnOld,omitempty"`
	// NotChecked says what was not checked and why.
	NotChecked []string `json:"notChecked,omitempty"`
	// Problems make the move incomplete: no app connection on the new Redis, app
	// connections left on the old one.
	Problems []string `json:"problems,omitempty"`
}

// Lines renders the evidence for humans.
func (e *DataPlaneEvidence) Lines() []string {
	var lines []string
	if e.NewAddr != "" {
		lines = append(lines, fmt.Sprintf("app connections on the new Redis %s: %d%s", e.NewAddr, len(e.AppOnNew), bracket(e.AppOnNew)))
	}
	if e.OldAddr != "" {
		lines = append(lines, fmt.Sprintf("app connections on the old Redis %s: %d%s", e.OldAddr, len(e.AppOnOld), bracket(e.AppOnOld)))
		if e.OldCallsSince != nil {
			lines = append(lines, fmt.Sprintf("commands on the old Redis since the recorded counts: %d", *e.OldCallsSince))
		}
		if len(e.OthersOnOld) > 0 {
			lines = append(lines, fmt.Sprintf("WARNING: other connections on the old Redis (decommission would cut them off): %s", strings.Join(e.OthersOnOld, ", ")))
		}
	}
	for _, n := range e.NotChecked {
		lines = append(lines, "not checked: "+n)
	}
	for _, p := range e.Problems {
		lines = append(lines, "PROBLEM: "+p)
	}
	return lines
}

func bracket(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " (" + strings.Join(items, ", ") + ")"
}

// appClients recognises the Deployment's connections: its pods' IPs and the
// configured client-name prefix.
func (r *Runbook) appClients(ctx context.Context, d *appsv1.Deployment) (AppClients, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return AppClients{}, fmt.Errorf("selector of %s: %w", d.Name, err)
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pods, err := r.cs.CoreV1().Pods(r.opts.Namespace).List(lctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return AppClients{}, fmt.Errorf("list pods of %s: %w", d.Name, err)
	}
	app := AppClients{NamePrefix: r.opts.DataPlane.AppClientName}
	for _, p := range pods.Items {
		for _, ip := range p.Status.PodIPs {
			app.IPs = append(app.IPs, ip.IP)
		}
		if len(p.Status.PodIPs) == 0 && p.Status.PodIP != "" {
			app.IPs = append(app.IPs, p.Status.PodIP)
		}
	}
	slices.Sort(app.IPs)
	return app, nil
}

// podsByIP maps every pod IP of the cluster to "Pod/namespace/name".
func (r *Runbook) podsByIP(ctx context.Context) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pods, err := r.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods in all namespaces: %w", err)
	}
	byIP := map[string]string{}
	for _, p := range pods.Items {
		if p.Spec.HostNetwork {
			continue // its IP is the node's, shared with everything on it
		}
		name := Object{"Pod", p.Namespace, p.Name}.String()
		for _, ip := range p.Status.PodIPs {
			byIP[ip.IP] = name
		}
		if p.Status.PodIP != "" {
			byIP[p.Status.PodIP] = name
		}
	}
	return byIP, nil
}

// describeConn names a connection by its client name, address and pod.
func describeConn(c ClientInfo, byIP map[string]string) string {
	name := c.Name
	if name == "" {
		name = "(no name)"
	}
	pod := byIP[c.IP()]
	if pod == "" {
		pod = "no known pod"
	}
	return fmt.Sprintf("%s from %s (%s)", name, c.Addr, pod)
}

// recordOldCounts reads the old Redis's command counts into the state as the
// baseline of "no commands since the cutover"; when is the moment's name.
func (r *Runbook) recordOldCounts(ctx context.Context, st *State, when string) error {
	if r.opts.DataPlane.Old == nil {
		return nil
	}
	counts, err := ReadCommandCounts(ctx, r.opts.DataPlane.Old)
	if err != nil {
		return fmt.Errorf("old Redis %s: %w", r.opts.DataPlane.OldAddr, err)
	}
	now := r.opts.Now().UTC()
	st.OldCounts, st.OldCountsAt, st.OldCountsWhen = counts, &now, when
	return nil
}

// observe reads both Redis servers once.
func (r *Runbook) observe(ctx context.Context, d *appsv1.Deployment, st *State) (*DataPlaneEvidence, error) {
	dp := r.opts.DataPlane
	app, err := r.appClients(ctx, d)
	if err != nil {
		return nil, err
	}
	byIP, err := r.podsByIP(ctx)
	if err != nil {
		return nil, err
	}
	ev := &DataPlaneEvidence{CheckedAt: r.opts.Now().UTC(), NewAddr: dp.NewAddr, OldAddr: dp.OldAddr, App: app.String(),
		AppOnNew: []string{}, AppOnOld: []string{}}
	if len(app.IPs) == 0 && app.NamePrefix == "" {
		ev.Problems = append(ev.Problems, "the app has no pod IP and no client-name prefix is set: its connections cannot be recognised")
		return ev, nil
	}
	var move Move
	var oldClients []ClientInfo
	switch {
	case dp.New != nil && dp.Old != nil:
		// ObserveMove wants a baseline; without one the calls are not counted.
		if move, err = ObserveMove(ctx, dp.New, dp.Old, app, st.OldCounts); err != nil {
			return nil, err
		}
	case dp.New != nil:
		onNew, err := ListClients(ctx, dp.New)
		if err != nil {
			return nil, fmt.Errorf("new Redis %s: %w", dp.NewAddr, err)
		}
		move.OnNew = app.filter(onNew)
		ev.NotChecked = append(ev.NotChecked, "the old Redis (no --old-redis-addr given): app connections left there and commands since the cutover unknown")
	case dp.Old != nil:
		ev.NotChecked = append(ev.NotChecked, "the new Redis (no --new-redis-addr given): the app's connections there unknown")
	}
	if dp.Old != nil {
		if oldClients, err = ListClients(ctx, dp.Old); err != nil {
			return nil, fmt.Errorf("old Redis %s: %w", dp.OldAddr, err)
		}
		move.OnOld = app.filter(oldClients)
		if st.OldCounts != nil {
			after, err := ReadCommandCounts(ctx, dp.Old)
			if err != nil {
				return nil, fmt.Errorf("old Redis %s: %w", dp.OldAddr, err)
			}
			n := after.CallsSince(st.OldCounts)
			ev.OldCallsSince = &n
		} else {
			ev.NotChecked = append(ev.NotChecked, "commands on the old Redis since the cutover: no counts were recorded at the scale-down (apply ran without --old-redis-addr then); this check records them now as the baseline")
		}
		for _, c := range oldClients {
			if !app.Match(c) && !isObserverConn(c) {
				ev.OthersOnOld = append(ev.OthersOnOld, describeConn(c, byIP))
			}
		}
	}
	for _, c := range move.OnNew {
		ev.AppOnNew = append(ev.AppOnNew, describeConn(c, byIP))
	}
	for _, c := range move.OnOld {
		ev.AppOnOld = append(ev.AppOnOld, describeConn(c, byIP))
	}
	if dp.New != nil && len(move.OnNew) == 0 {
		ev.Problems = append(ev.Problems, fmt.Sprintf("no app connection on the new Redis (%s)", app))
	}
	if len(move.OnOld) > 0 {
		ev.Problems = append(ev.Problems, fmt.Sprintf("%d app connection(s) left on the old Redis", len(move.OnOld)))
	}
	return ev, nil
}

// ObserverClientName is the client name the CLI gives its own data-plane
// connections, so that they are not taken for other clients.
const ObserverClientName = "conform-cutover"

// isObserverConn is one of the runbook's own connections.
func isObserverConn(c ClientInfo) bool { return c.Name == ObserverClientName || c.Cmd == "client|list" }

// ObserveDataPlane is step 6's data-plane part: it waits up to DataPlane.Wait for
// the app's connections on the new Redis and none on the old, and records what it
// saw in the state. Without data-plane access it returns nil and records nothing.
// Commands on the old Redis since the cutover are evidence here, not a problem:
// other clients may still use it; decommission is what requires it idle.
func (r *Runbook) ObserveDataPlane(ctx context.Context, d *appsv1.Deployment, st *State) (*DataPlaneEvidence, error) {
	dp := r.opts.DataPlane
	if !dp.Given() {
		return nil, nil
	}
	wait := dp.Wait
	if wait == 0 {
		wait = DefaultDataPlaneWait
	}
	// Up to wait for the connections to settle; the last observation stands either way.
	var ev *DataPlaneEvidence
	var observeErr error
	settled := func(ctx context.Context) (bool, error) {
		if ev, observeErr = r.observe(ctx, d, st); observeErr != nil {
			return false, observeErr
		}
		return len(ev.Problems) == 0, nil
	}
	if err := waitfor.Until(ctx, "the app's connections on the new Redis only", wait, time.Second, settled); err != nil && (observeErr != nil || ctx.Err() != nil) {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	if st.OldCounts == nil {
		if err := r.recordOldCounts(ctx, st, "verify"); err != nil {
			return nil, fmt.Errorf("data plane: %w", err)
		}
	}
	st.DataPlane = ev
	if err := r.save(ctx, st); err != nil {
		return nil, err
	}
	return ev, nil
}

// OldConnections are the old Redis's connections, the app's and the others', each
// described with its pod.
type OldConnections struct {
	App, Others []string
}

// OldRedisConnections lists the connections on the old Redis (CLIENT LIST) and
// maps their IPs to pods; the runbook's own connection is left out.
func (r *Runbook) OldRedisConnections(ctx context.Context, d *appsv1.Deployment) (OldConnections, error) {
	dp := r.opts.DataPlane
	if dp.Old == nil {
		return OldConnections{}, errors.New("no data-plane access to the old Redis")
	}
	app, err := r.appClients(ctx, d)
	if err != nil {
		return OldConnections{}, err
	}
	byIP, err := r.podsByIP(ctx)
	if err != nil {
		return OldConnections{}, err
	}
	clients, err := ListClients(ctx, dp.Old)
	if err != nil {
		return OldConnections{}, fmt.Errorf("old Redis %s: %w", dp.OldAddr, err)
	}
	var out OldConnections
	for _, c := range clients {
		switch {
		case isObserverConn(c):
		case app.Match(c):
			out.App = append(out.App, describeConn(c, byIP))
		default:
			out.Others = append(out.Others, describeConn(c, byIP))
		}
	}
	return out, nil
}
