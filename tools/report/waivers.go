package report

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/catalog"
)

// Waivers: a known deviation, written down with a reason, an owner and an expiry
// date. A requirement that did not pass under a waiver that has not expired is
// reported "waived" with all its checks and figures, counted apart, and does not
// block GO. An expired waiver fails its requirement: renew it or remove it.
//
//	waivers:
//	  - requirement: FR-018
//	    reason: the 24 h soak cannot run in the nightly
//	    owner: homelab-ops
//	    expires: 2027-03-31

// Waiver is one entry of the waivers file.
type Waiver struct {
	Requirement string `json:"requirement"`
	Reason      string `json:"reason"`
	Owner       string `json:"owner"`
	// Expires is the last day (UTC) the waiver holds, YYYY-MM-DD.
	Expires string `json:"expires"`
}

type waiverFile struct {
	Waivers []Waiver `json:"waivers"`
}

var dateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// maxWaiverFile bounds the waivers file: it is a short list written by hand.
const maxWaiverFile = 1 << 20

// ReadWaivers reads and checks a waivers file against the catalog. Every problem is
// one line naming the file, the entry and the field.
func ReadWaivers(path string, cat *catalog.Catalog) ([]Waiver, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("waivers file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("waivers file %s: not a regular file", path)
	}
	if st.Size() > maxWaiverFile {
		return nil, fmt.Errorf("waivers file %s: %d bytes, more than %d", path, st.Size(), maxWaiverFile)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("waivers file: %w", err)
	}
	ws, err := ParseWaivers(raw, cat)
	if err != nil {
		return nil, fmt.Errorf("waivers file %s: %w", path, err)
	}
	return ws, nil
}

// ParseWaivers parses the YAML of a waivers file strictly: unknown fields, missing
// fields, an unknown requirement, a bad date or a requirement waived twice are errors.
func ParseWaivers(raw []byte, cat *catalog.Catalog) ([]Waiver, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("empty: want a top-level \"waivers:\" list")
	}
	var f waiverFile
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return nil, fmt.Errorf("%s", oneLine(err.Error()))
	}
	known := map[string]bool{}
	for _, r := range cat.Requirements {
		known[r.ID] = true
	}
	seen := map[string]int{}
	for i, w := range f.Waivers {
		at := fmt.Sprintf("waivers[%d]", i)
		if w.Requirement != "" {
			at += " (" + w.Requirement + ")"
		}
		switch {
		case w.Requirement == "":
			return nil, fmt.Errorf("%s: requirement is missing", at)
		case !known[w.Requirement]:
			return nil, fmt.Errorf("%s: requirement %q is not in the catalog", at, w.Requirement)
		case strings.TrimSpace(w.Reason) == "":
			return nil, fmt.Errorf("%s: reason is missing", at)
		case strings.TrimSpace(w.Owner) == "":
			return nil, fmt.Errorf("%s: owner is missing", at)
		case w.Expires == "":
			return nil, fmt.Errorf("%s: expires is missing (YYYY-MM-DD, the last day the waiver holds)", at)
		}
		if _, err := parseDay(w.Expires); err != nil {
			return nil, fmt.Errorf("%s: expires %q: want a date YYYY-MM-DD", at, w.Expires)
		}
		if j, dup := seen[w.Requirement]; dup {
			return nil, fmt.Errorf("%s: %s is already waived by waivers[%d]", at, w.Requirement, j)
		}
		seen[w.Requirement] = i
	}
	return f.Waivers, nil
}

func parseDay(s string) (time.Time, error) {
	if !dateRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("not YYYY-MM-DD")
	}
	return time.Parse(time.DateOnly, s)
}

// Expired says whether the waiver no longer holds at now: it holds through the whole
// of its expiry day, UTC.
func (w Waiver) Expired(now time.Time) bool {
	day, err := parseDay(w.Expires)
	if err != nil {
		return true
	}
	return !now.UTC().Before(day.AddDate(0, 0, 1))
}

// ApplyWaivers is a separate step after Build: it sets each waived requirement's
// status, then recounts the summary and decides the verdict again (Report.Decide).
func ApplyWaivers(rep *Report, waivers []Waiver, now time.Time) {
	byID := map[string]Waiver{}
	for _, w := range waivers {
		byID[w.Requirement] = w
	}
	for i := range rep.Requirements {
		rr := &rep.Requirements[i]
		w, ok := byID[rr.ID]
		if !ok {
			continue
		}
		res := &WaiverResult{Reason: w.Reason, Owner: w.Owner, Expires: w.Expires, Expired: w.Expired(now), StatusWithout: rr.Status}
		rr.Waiver = res
		switch {
		case res.Expired:
			rr.Reason = fmt.Sprintf("waiver expired on %s (owner %s: %s): renew or remove it; without it: %s, %s", w.Expires, w.Owner, w.Reason, rr.Status, rr.Reason)
			rr.Status = StatusFail
		case rr.Status == StatusPass:
			rr.Reason += fmt.Sprintf("; waiver until %s not needed (owner %s)", w.Expires, w.Owner)
		default:
			rr.Reason = fmt.Sprintf("waived until %s by %s: %s (without the waiver: %s, %s)", w.Expires, w.Owner, w.Reason, rr.Status, rr.Reason)
			rr.Status = StatusWaived
		}
	}
	rep.Decide()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
