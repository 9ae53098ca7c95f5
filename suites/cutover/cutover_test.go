package cutover

// The sandbox rehearsal of the beersystem cutover (user story 4, FR-015..FR-018): the
// stand-in beersystem (tools/cmd/beersystem) serves logins and cached lookups from
// beersystem's own Redis, then the runbook's data-plane steps happen to real
// processes: scale to 0 (SIGTERM), point it at the master Service with the shared
// password, start it, wait for Ready, verify with tools/cutover's data-plane library
// (CLIENT LIST and INFO commandstats on both servers), soak, decommission. The features
// run in order and share one rehearsal; a later one fails (never passes) when an
// earlier step did not happen.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/cutover"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/target"
)

const (
	// whySandbox is why these features run on the sandbox only: on a cluster the real
	// beersystem moves with `conform cutover` and its kube-labelled checks.
	whySandbox = "the rehearsal runs the stand-in beersystem and the old Redis of the sandbox"
	// appPackage is the stand-in, built once by the rehearsal.
	appPackage = "github.com/redis-shared/conformance/tools/cmd/beersystem"
	// stopGrace stands for the pod's terminationGracePeriodSeconds.
	stopGrace = 10 * time.Second
	// readyTimeout bounds each wait for the app's readiness (and for connections to go).
	readyTimeout = 30 * time.Second
	readyPoll    = 50 * time.Millisecond
	// rehearsalSoak stands for FR-018's soak time (catalog: 24 h), shortened so the
	// rehearsal fits a conformance run, like `conform cutover decommission --soak`.
	rehearsalSoak = 2 * time.Second
	// The traffic the rehearsal drives: users logging in and beers looked up.
	users = 5
	beers = 20
	// appNamePrefix starts the stand-in's CLIENT SETNAME (beersystem-<pod>).
	appNamePrefix = "beersystem-"
	// The stand-in's POD_NAME before and after the cutover (new pods get new names).
	podBefore = "before-0"
	podAfter  = "after-0"
)

// Phases the rehearsal reaches, in order.
const (
	phaseNone = iota
	phaseServingOnOld
	phaseScaledDown
	phaseReadyOnNew
	phaseDecommissioned
)

func phaseName(phase int) string {
	switch phase {
	case phaseServingOnOld:
		return "beersystem serving on its own Redis"
	case phaseScaledDown:
		return "beersystem scaled to 0"
	case phaseReadyOnNew:
		return "beersystem Ready on the new Redis"
	case phaseDecommissioned:
		return "old Redis decommissioned"
	default:
		return "not started"
	}
}

// rehearsal is the state the features of one TestCutoverRehearsal share.
type rehearsal struct {
	run     *harness.Run
	sandbox *target.Sandbox
	web     *http.Client
	dir     string
	binary  string
	log     *os.File
	// keyPrefix is the stand-in's BEERSYSTEM_KEY_PREFIX, under the run's prefix.
	keyPrefix string
	app       *target.Beersystem
	matcher   cutover.AppClients

	phase    int
	sessions []string
	// oldBefore are the old Redis's command counts once beersystem was down.
	oldBefore          cutover.CommandCounts
	stoppedAt, readyAt time.Time
	decommissioned     target.Revert
}

func TestCutoverRehearsal(t *testing.T) {
	rh := &rehearsal{dir: t.TempDir()}
	t.Cleanup(func() { rh.cleanup(t) })
	onlySandbox := harness.OnlyOn(harness.TargetSandbox, whySandbox)

	scaleToZero := features.New("beersystem scales to zero without losing anything durable").
		WithLabel("req", "FR-016").
		WithLabel("target", "sandbox").
		Setup(onlySandbox).
		Setup(rh.startOnOld).
		Assess("before the cutover beersystem serves logins and cached lookups from its own Redis", rh.assessServesFromOld).
		Assess("everything beersystem keeps in its Redis expires: sessions and cache entries only", rh.assessOnlyEphemeral).
		Assess("scaled to 0 it stops cleanly and leaves no connection on its Redis", rh.assessScaledToZero).
		Feature()
	connect := features.New("beersystem connects to the master Service with the Secret's password").
		WithLabel("req", "FR-017").
		WithLabel("target", "sandbox").
		Setup(onlySandbox).
		Assess("pointed at the master Service with the shared password it becomes Ready", rh.assessReadyOnNew).
		Assess("its connections show on the master under its client name and pod IP", rh.assessConnectedToMaster).
		Feature()
	migrate := features.New("planned-downtime migration of beersystem").
		WithLabel("req", "FR-015").
		WithLabel("target", "sandbox").
		Setup(onlySandbox).
		Assess("the downtime from scale-down to Ready is recorded", rh.assessDowntime).
		Assess("every beersystem connection moved and no command reached the old Redis", rh.assessMoved).
		Assess("the cache starts empty on the new Redis and fills again", rh.assessCacheStartsEmpty).
		Assess("logins work on the new Redis and the old sessions are the accepted loss", rh.assessSessionsAfter).
		Feature()
	decommission := features.New("safe decommissioning of the old Redis").
		WithLabel("req", "FR-018").
		WithLabel("target", "sandbox").
		Setup(onlySandbox).
		Assess("the old Redis got no command over the soak while beersystem served traffic", rh.assessSoakQuiet).
		Assess("with the old Redis decommissioned beersystem stays healthy", rh.assessDecommission).
		Feature()
	testenv.Test(t, scaleToZero, connect, migrate, decommission)
}

// require ends the step unless the rehearsal got at least to phase: a later check
// cannot be proven when an earlier step did not happen.
func (rh *rehearsal) require(t *testing.T, phase int) {
	t.Helper()
	if rh.phase < phase {
		t.Fatalf("the rehearsal stopped at %q, before %q: see the earlier cutover checks", phaseName(rh.phase), phaseName(phase))
	}
}

// startOnOld builds the stand-in and starts it on beersystem's own Redis.
func (rh *rehearsal) startOnOld(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	rh.run = harness.From(ctx)
	sb, ok := rh.run.Target.(*target.Sandbox)
	if !ok {
		t.Skipf("runs only on the sandbox target (%s); this run is against %s", whySandbox, rh.run.Target.Name())
	}
	rh.sandbox = sb
	web, err := sb.HTTPClient(target.Cluster)
	require.NoError(t, err)
	rh.web = web
	rh.keyPrefix = rh.run.Key("beersystem") + ":"
	rh.binary = buildApp(ctx, t, rh.dir)
	rh.log, err = os.Create(filepath.Join(rh.dir, "beersystem.log"))
	require.NoError(t, err)

	rh.app = rh.startApp(t, target.AppOnOld, podBefore)
	rh.matcher = cutover.AppClients{NamePrefix: appNamePrefix, IPs: []string{rh.app.IP}}
	require.NoError(t, rh.waitReady(ctx), "beersystem on its own Redis")
	rh.phase = phaseServingOnOld
	return ctx
}

func buildApp(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "beersystem")
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, appPackage).CombinedOutput()
	require.NoError(t, err, "go build %s: %s", appPackage, out)
	t.Logf("built the stand-in beersystem in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

func (rh *rehearsal) startApp(t *testing.T, on target.AppRedis, pod string) *target.Beersystem {
	t.Helper()
	app, err := rh.sandbox.StartBeersystem(target.BeersystemOptions{
		Binary: rh.binary, On: on, PodName: pod, KeyPrefix: rh.keyPrefix, TTL: harness.KeyTTL, Log: rh.log,
	})
	require.NoError(t, err)
	return app
}

// waitReady waits (bounded) until the app's readiness endpoint answers 200.
func (rh *rehearsal) waitReady(ctx context.Context) error {
	return harness.WaitFor(ctx, "beersystem /healthz to answer 200", readyTimeout, readyPoll, func(ctx context.Context) (bool, error) {
		if exited, err := rh.app.Exited(); exited {
			return false, fmt.Errorf("beersystem exited (%v): %s", err, rh.logTail())
		}
		code, _, err := rh.call(ctx, http.MethodGet, "/healthz", "", "")
		return err == nil && code == http.StatusOK, nil
	})
}

// call sends one request to the app with a deadline and returns the status and body.
func (rh *rehearsal) call(ctx context.Context, method, path, session, body string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rh.app.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if session != "" {
		req.Header.Set("X-Session", session)
	}
	resp, err := rh.web.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, raw, err
}

// callJSON is call that wants a status and decodes the JSON reply.
func (rh *rehearsal) callJSON(ctx context.Context, t *testing.T, method, path, session, body string, wantStatus int, into any) {
	t.Helper()
	code, raw, err := rh.call(ctx, method, path, session, body)
	require.NoError(t, err)
	require.Equal(t, wantStatus, code, "%s %s answered %s", method, path, raw)
	if into != nil {
		require.NoError(t, json.Unmarshal(raw, into), "%s %s answered %s", method, path, raw)
	}
}

type beerReply struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Cache string `json:"cache"`
}

func (rh *rehearsal) lookUp(ctx context.Context, t *testing.T, id int) beerReply {
	t.Helper()
	var beer beerReply
	rh.callJSON(ctx, t, http.MethodGet, fmt.Sprintf("/beers/%d", id), "", "", http.StatusOK, &beer)
	return beer
}

func (rh *rehearsal) login(ctx context.Context, t *testing.T, user string) string {
	t.Helper()
	var reply struct {
		Session string `json:"session"`
	}
	rh.callJSON(ctx, t, http.MethodPost, "/login", "", fmt.Sprintf(`{"user":%q}`, user), http.StatusOK, &reply)
	require.NotEmpty(t, reply.Session)
	return reply.Session
}

func (rh *rehearsal) oldClient(t *testing.T) *redis.Client {
	t.Helper()
	c, err := rh.sandbox.OldRedisClient(target.Cluster)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (rh *rehearsal) masterClient(ctx context.Context, t *testing.T) *redis.Client {
	t.Helper()
	ep := harness.Endpoints(ctx, t)
	c, err := rh.run.Target.Client(target.Cluster, ep.Master, target.Valid)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (rh *rehearsal) assessServesFromOld(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseServingOnOld)
	for i := range users {
		token := rh.login(ctx, t, fmt.Sprintf("user-%d", i))
		var who map[string]string
		rh.callJSON(ctx, t, http.MethodGet, "/session", token, "", http.StatusOK, &who)
		assert.Equal(t, fmt.Sprintf("user-%d", i), who["user"])
		rh.sessions = append(rh.sessions, token)
	}
	misses, hits := 0, 0
	for id := range beers {
		for range 2 {
			switch rh.lookUp(ctx, t, id).Cache {
			case "miss":
				misses++
			case "hit":
				hits++
			}
		}
	}
	assert.Equal(t, beers, misses, "the first lookup of each beer fills the cache")
	assert.Equal(t, beers, hits, "the second lookup of each beer is a hit")
	// The positive control for the later checks: the matcher finds the app where it is.
	clients, err := cutover.ListClients(ctx, rh.oldClient(t))
	require.NoError(t, err)
	onOld := matching(rh.matcher, clients)
	assert.NotEmpty(t, onOld, "beersystem's connections show on its own Redis (matched by %s)", rh.matcher)
	// A note, not figures: the report's headline is for what FR-016 is about.
	rh.run.Note(t, "before the cutover: %d sessions created, %d cache hits, %d beersystem connection(s) on the old Redis", len(rh.sessions), hits, len(onOld))
	return ctx
}

func (rh *rehearsal) assessOnlyEphemeral(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseServingOnOld)
	old := rh.oldClient(t)
	kinds := map[string]int{}
	var durable []string
	var cursor uint64
	for {
		scanCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		keys, next, err := old.Scan(scanCtx, cursor, rh.keyPrefix+"*", 500).Result()
		require.NoError(t, err, "SCAN the old Redis")
		for _, key := range keys {
			ttl, err := old.PTTL(scanCtx, key).Result()
			require.NoError(t, err, "PTTL %s", key)
			kind, _, _ := strings.Cut(strings.TrimPrefix(key, rh.keyPrefix), ":")
			kinds[kind]++
			if ttl < 0 {
				durable = append(durable, key)
			}
		}
		cancel()
		if cursor = next; cursor == 0 {
			break
		}
	}
	assert.Equal(t, users, kinds["session"], "sessions kept on the old Redis")
	assert.Equal(t, beers, kinds["beer"], "cache entries kept on the old Redis")
	assert.Len(t, kinds, 2, "beersystem keeps only sessions and cache entries: %v", kinds)
	assert.Empty(t, durable, "keys without a TTL would be data that scaling to 0 and moving could lose")
	rh.run.Note(t, "beersystem's keys on its own Redis: %d sessions, %d cache entries, %d without a TTL; nothing durable to migrate (the spec's cutover starts the new Redis empty)", kinds["session"], kinds["beer"], len(durable))
	rh.run.Figures(t, evidence.Figure{Name: "keys without a TTL", Value: float64(len(durable)), Unit: "count"})
	return ctx
}

func (rh *rehearsal) assessScaledToZero(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseServingOnOld)
	old := rh.oldClient(t)
	rh.stoppedAt = time.Now()
	err := rh.app.Stop(ctx, stopGrace)
	stopped := time.Since(rh.stoppedAt)
	require.NoError(t, err, "beersystem ends cleanly on SIGTERM: %s", rh.logTail())
	var left []cutover.ClientInfo
	err = harness.WaitFor(ctx, "beersystem's connections to leave its Redis", readyTimeout, readyPoll, func(ctx context.Context) (bool, error) {
		clients, err := cutover.ListClients(ctx, old)
		if err != nil {
			return false, err
		}
		left = matching(rh.matcher, clients)
		return len(left) == 0, nil
	})
	require.NoError(t, err, "still connected: %v", left)
	// What the old Redis has counted up to here; anything after it reached it after the cutover.
	rh.oldBefore, err = cutover.ReadCommandCounts(ctx, old)
	require.NoError(t, err)
	rh.phase = phaseScaledDown
	rh.run.Figures(t,
		evidence.Figure{Name: "SIGTERM to exit", Value: stopped.Seconds(), Unit: "s"},
		evidence.Figure{Name: "beersystem connections left on the old Redis", Value: 0, Unit: "count"})
	return ctx
}

func (rh *rehearsal) assessReadyOnNew(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseScaledDown)
	started := time.Now()
	rh.app = rh.startApp(t, target.AppOnNew, podAfter)
	require.NoError(t, rh.waitReady(ctx), "beersystem on the new Redis")
	rh.readyAt = time.Now()
	rh.phase = phaseReadyOnNew
	rh.run.Note(t, "beersystem's env: %s", rh.app.Settings)
	rh.run.Figures(t, evidence.Figure{Name: "start to Ready", Value: rh.readyAt.Sub(started).Seconds(), Unit: "s"})
	return ctx
}

func (rh *rehearsal) assessConnectedToMaster(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseReadyOnNew)
	clients, err := cutover.ListClients(ctx, rh.masterClient(ctx, t))
	require.NoError(t, err)
	onMaster := matching(rh.matcher, clients)
	require.NotEmpty(t, onMaster, "no beersystem connection on the master (matched by %s)", rh.matcher)
	for _, c := range onMaster {
		assert.Equal(t, appNamePrefix+podAfter, c.Name, "client name of %s", c.Addr)
		assert.Equal(t, rh.app.IP, c.IP(), "connection %d comes from the app pod", c.ID)
	}
	rh.run.Figures(t, evidence.Figure{Name: "beersystem connections on the master", Value: float64(len(onMaster)), Unit: "count"})
	return ctx
}

func (rh *rehearsal) assessDowntime(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseReadyOnNew)
	downtime := rh.readyAt.Sub(rh.stoppedAt)
	require.Positive(t, downtime)
	rh.run.Figures(t, evidence.Figure{Name: "downtime (scale-down to Ready)", Value: downtime.Seconds(), Unit: "s"})
	rh.run.Note(t, "planned downtime: SIGTERM to the old pod at %s, new pod Ready at %s", rh.stoppedAt.UTC().Format(time.RFC3339Nano), rh.readyAt.UTC().Format(time.RFC3339Nano))
	return ctx
}

func (rh *rehearsal) assessMoved(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseReadyOnNew)
	// Traffic first, so a beersystem still using the old Redis would show there.
	rh.lookUp(ctx, t, 0)
	move, err := cutover.ObserveMove(ctx, rh.masterClient(ctx, t), rh.oldClient(t), rh.matcher, rh.oldBefore)
	require.NoError(t, err)
	rh.run.Figures(t,
		evidence.Figure{Name: "connections moved to the new Redis", Value: float64(len(move.OnNew)), Unit: "count"},
		evidence.Figure{Name: "connections left on the old Redis", Value: float64(len(move.OnOld)), Unit: "count"},
		evidence.Figure{Name: "commands on the old Redis since the cutover", Value: float64(move.OldCallsSince), Unit: "count"})
	assert.Empty(t, move.Problems(), "the move is incomplete")
	return ctx
}

func (rh *rehearsal) assessCacheStartsEmpty(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseReadyOnNew)
	// Beer 0 was looked up by the previous step; the others were cached on the old Redis.
	hits := 0
	for id := 1; id < beers; id++ {
		first := rh.lookUp(ctx, t, id)
		if first.Cache == "hit" {
			hits++
		}
		assert.Equal(t, fmt.Sprintf("beer #%d", id), first.Name, "the answer does not depend on the cache")
		assert.Equal(t, "hit", rh.lookUp(ctx, t, id).Cache, "the cache fills again on the new Redis")
	}
	assert.Zero(t, hits, "the first lookup of a beer cached on the old Redis is a miss on the new one")
	rh.run.Figures(t, evidence.Figure{Name: "cache hits on the first lookup after the cutover", Value: float64(hits), Unit: "count"})
	return ctx
}

func (rh *rehearsal) assessSessionsAfter(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseReadyOnNew)
	lost := 0
	for _, token := range rh.sessions {
		code, _, err := rh.call(ctx, http.MethodGet, "/session", token, "")
		require.NoError(t, err)
		if code == http.StatusUnauthorized {
			lost++
		}
	}
	assert.Equal(t, len(rh.sessions), lost, "sessions from the old Redis do not exist on the new one")
	token := rh.login(ctx, t, "after-cutover")
	var who map[string]string
	rh.callJSON(ctx, t, http.MethodGet, "/session", token, "", http.StatusOK, &who)
	assert.Equal(t, "after-cutover", who["user"])
	rh.run.Figures(t, evidence.Figure{Name: "sessions lost (accepted: users log in again)", Value: float64(lost), Unit: "count"})
	return ctx
}

func (rh *rehearsal) assessSoakQuiet(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseReadyOnNew)
	soakTime := rh.run.Bound(t, "FR-018", "soak_time")
	// Traffic for the whole (shortened) soak: beersystem busy, and still nothing may
	// reach the old Redis.
	served, failed := 0, 0
	deadline := time.Now().Add(rehearsalSoak)
	for i := 0; time.Now().Before(deadline); i++ {
		code, _, err := rh.call(ctx, http.MethodGet, fmt.Sprintf("/beers/%d", i%beers), "", "")
		if err != nil || code != http.StatusOK {
			failed++
			continue
		}
		served++
	}
	move, err := cutover.ObserveMove(ctx, rh.masterClient(ctx, t), rh.oldClient(t), rh.matcher, rh.oldBefore)
	require.NoError(t, err)
	rh.run.Note(t, "soak shortened to %s for the rehearsal (catalog FR-018 %s %s %s; `conform cutover decommission` enforces it on a cluster)", rehearsalSoak, soakTime.Op, soakTime.Text(), soakTime.Unit)
	rh.run.Figures(t,
		evidence.Figure{Name: "commands on the old Redis since the cutover", Value: float64(move.OldCallsSince), Unit: "count"},
		evidence.Figure{Name: "soak (shortened)", Value: rehearsalSoak.Seconds(), Unit: "s"},
		evidence.Figure{Name: "requests served during the soak", Value: float64(served), Unit: "count"},
		evidence.Figure{Name: "failed requests during the soak", Value: float64(failed), Unit: "count"})
	assert.Positive(t, served)
	assert.Zero(t, failed)
	assert.Empty(t, move.Problems(), "decommissioning is not safe")
	return ctx
}

func (rh *rehearsal) assessDecommission(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	rh.require(t, phaseReadyOnNew)
	revert, err := rh.sandbox.DecommissionOldRedis(ctx)
	require.NoError(t, err)
	rh.decommissioned = revert
	rh.phase = phaseDecommissioned
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	assert.Error(t, rh.oldClient(t).Ping(pingCtx).Err(), "the old Redis is gone")

	served := 0
	for id := range beers {
		rh.lookUp(ctx, t, id)
		served++
	}
	token := rh.login(ctx, t, "after-decommission")
	rh.callJSON(ctx, t, http.MethodGet, "/session", token, "", http.StatusOK, nil)
	rh.callJSON(ctx, t, http.MethodGet, "/healthz", "", "", http.StatusOK, nil)
	exited, exitErr := rh.app.Exited()
	assert.False(t, exited, "beersystem exited after the decommission: %v", exitErr)
	rh.run.Figures(t, evidence.Figure{Name: "requests served with the old Redis gone", Value: float64(served + 3), Unit: "count"})
	return ctx
}

// cleanup puts the sandbox back: the app stopped, the old Redis running again, no key
// of this run left on it (the harness proves the same on the deployment under test).
func (rh *rehearsal) cleanup(t *testing.T) {
	if rh.sandbox == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if rh.app != nil {
		if err := rh.app.Stop(ctx, stopGrace); err != nil {
			t.Logf("stop beersystem: %v", err)
		}
	}
	if rh.log != nil {
		_ = rh.log.Close()
	}
	if rh.decommissioned != nil {
		harness.MustRevert(t, ctx, "bring the old beersystem Redis back", rh.decommissioned)
	}
	old, err := rh.sandbox.OldRedisClient(target.Cluster)
	if err != nil {
		t.Errorf("clean the old Redis: %v", err)
		return
	}
	defer old.Close()
	if _, err := loadgen.Cleanup(ctx, old, rh.keyPrefix); err != nil {
		t.Errorf("clean %s* on the old Redis: %v", rh.keyPrefix, err)
	}
	if n, err := loadgen.Remaining(ctx, old, rh.keyPrefix); err != nil || n > 0 {
		t.Errorf("keys left under %s on the old Redis: %d (%v)", rh.keyPrefix, n, err)
	}
}

func (rh *rehearsal) logTail() string {
	raw, err := os.ReadFile(filepath.Join(rh.dir, "beersystem.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}

func matching(m cutover.AppClients, clients []cutover.ClientInfo) []cutover.ClientInfo {
	var out []cutover.ClientInfo
	for _, c := range clients {
		if m.Match(c) {
			out = append(out, c)
		}
	}
	return out
}
