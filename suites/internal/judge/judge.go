// Package judge holds the verdict logic of the judged figures (SC-002, SC-005,
// SC-006) apart from the code that measures them, so each rule is unit-tested at its
// bound: a value just past it fails. Each function returns one error per broken rule
// (nil when every rule holds), in words that name the figure, the measured value and
// the catalog's limit.
package judge

import (
	"fmt"
	"time"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/loadgen"
)

func holds(id string, l catalog.Limit, measured float64) error {
	ok, err := l.Holds(measured)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("%s: measured %s = %g %s, the catalog requires %s", id, l.Name, measured, l.Unit, l)
	}
	return nil
}

func collect(errs ...error) []error {
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// OfferedRate is the open-loop schedule of SC-006's sustain run: the threshold plus
// the catalog's headroom, so that a server which keeps up achieves the threshold
// over the whole window (the last replies land after the schedule ends, and the
// achieved rate counts them) and one that falls short fails.
func OfferedRate(cat *catalog.Catalog) (float64, error) {
	th, err := cat.Threshold("SC-006")
	if err != nil {
		return 0, err
	}
	headroom, err := cat.Bound("SC-006", "offered_headroom")
	if err != nil {
		return 0, err
	}
	return th.MustFloat() * (1 + headroom.MustFloat()/100), nil
}

// Sustained judges SC-006 on what was measured: the achieved rate of successful
// requests over the whole run (first intended send to last reply), with no allowance
// for a shortfall; no error, nothing unsent; the p95 within the degradation bound.
// The slowest second is evidence beside it, not judged.
func Sustained(cat *catalog.Catalog, res loadgen.Result, p95Bound float64) []error {
	th, err := cat.Threshold("SC-006")
	if err != nil {
		return []error{err}
	}
	var p95 error
	if res.Latency.P95 > p95Bound {
		p95 = fmt.Errorf("SC-006: p95 %.3f ms at %.0f ops/s exceeds the degradation bound %.3f ms", res.Latency.P95, res.TargetRate, p95Bound)
	}
	var errs, unsent error
	if res.Errors > 0 {
		errs = fmt.Errorf("SC-006: %d errors at the sustained rate (samples: %v)", res.Errors, res.ErrorSamples)
	}
	if res.Unsent > 0 {
		unsent = fmt.Errorf("SC-006: %d requests the schedule could not send", res.Unsent)
	}
	return collect(holds("SC-006", th, res.AchievedRate), errs, unsent, p95)
}

// ReplicaDown judges SC-002's first half: with the replica down, reads and writes
// through the master Service, as applications use it, all succeed.
func ReplicaDown(cat *catalog.Catalog, requests, failed int) []error {
	th, err := cat.Threshold("SC-002")
	if err != nil {
		return []error{err}
	}
	var none error
	if requests == 0 {
		none = fmt.Errorf("SC-002: no request reached the master Service while the replica was down")
	}
	return collect(none, holds("SC-002", th, float64(failed)))
}

// MasterDown judges SC-002's second half: without Sentinel writes pause while the
// master is down; the time until the master Service answers writes again is within
// the bound the catalog derives from the probe settings.
func MasterDown(cat *catalog.Catalog, writeRecovery time.Duration) []error {
	bound, err := cat.Bound("SC-002", "write_recovery_within")
	if err != nil {
		return []error{err}
	}
	return collect(holds("SC-002", bound, writeRecovery.Seconds()))
}

// Freshness judges SC-005 on measured ages: the age of the newest sample of each
// instance, observed repeatedly for at least observe_for; the largest age seen is
// within the threshold; the dashboard refreshes at least as often.
func Freshness(cat *catalog.Catalog, maxAge, observedFor, dashboardRefresh time.Duration, observations int) []error {
	th, err := cat.Threshold("SC-005")
	if err != nil {
		return []error{err}
	}
	window, err := cat.Bound("SC-005", "observe_for")
	if err != nil {
		return []error{err}
	}
	refresh, err := cat.Bound("SC-005", "dashboard_refresh")
	if err != nil {
		return []error{err}
	}
	var none error
	if observations < 2 {
		none = fmt.Errorf("SC-005: %d observations of the sample age: not a repeated measurement", observations)
	}
	return collect(none, holds("SC-005", window, observedFor.Seconds()), holds("SC-005", th, maxAge.Seconds()), holds("SC-005", refresh, dashboardRefresh.Seconds()))
}

// Rejected judges SC-008: every unauthorized attempt rejected (probe.IsRejection is
// the one definition of a rejection); no attempt at all proves nothing.
func Rejected(cat *catalog.Catalog, attempts, rejected int) []error {
	th, err := cat.Threshold("SC-008")
	if err != nil {
		return []error{err}
	}
	if attempts == 0 {
		return []error{fmt.Errorf("SC-008: no unauthorized attempt was made")}
	}
	return collect(holds("SC-008", th, 100*float64(rejected)/float64(attempts)))
}
