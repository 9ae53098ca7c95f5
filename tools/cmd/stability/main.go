// Command stability summarises the report.json files of repeated `make conformance`
// runs (make stability): the verdict of each run, how often it flipped, each
// requirement whose status was not the same in every run, and the spread
// (min/median/max) of every judged figure. Exit codes: tools/exitcode.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/safeio"
)

type figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

type runReport struct {
	Verdict      string `json:"verdict"`
	Requirements []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Checks []struct {
			ID      string   `json:"id"`
			Figures []figure `json:"figures"`
		} `json:"checks"`
	} `json:"requirements"`
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stability", flag.ContinueOnError)
	if code := exitcode.ParseFlagsAndArgs(fs, args, stderr); code != exitcode.Continue {
		return code
	}
	if fs.NArg() == 0 {
		exitcode.UsageError(stderr, "stability", "give the report.json of each run")
		return exitcode.CouldNotRun
	}
	var runs []runReport
	for _, path := range fs.Args() {
		raw, err := safeio.ReadInput(path, safeio.ReportInputLimit)
		if err != nil {
			fmt.Fprintf(stderr, "stability: %s\n", exitcode.OneLine(err))
			return exitcode.CouldNotRun
		}
		var r runReport
		if err := json.Unmarshal(raw, &r); err != nil {
			fmt.Fprintf(stderr, "stability: %s: %s\n", path, exitcode.OneLine(err))
			return exitcode.CouldNotRun
		}
		runs = append(runs, r)
	}
	fmt.Fprint(stdout, summarise(runs))
	if flips(runs) > 0 {
		return exitcode.Failed
	}
	return exitcode.OK
}

// flips counts the runs whose verdict differs from the run before.
func flips(runs []runReport) int {
	n := 0
	for i := 1; i < len(runs); i++ {
		if runs[i].Verdict != runs[i-1].Verdict {
			n++
		}
	}
	return n
}

func summarise(runs []runReport) string {
	var b strings.Builder
	verdicts := make([]string, 0, len(runs))
	statuses := map[string][]string{}
	values := map[string][]float64{}
	units := map[string]string{}
	for _, r := range runs {
		verdicts = append(verdicts, r.Verdict)
		for _, req := range r.Requirements {
			statuses[req.ID] = append(statuses[req.ID], req.Status)
			for _, c := range req.Checks {
				for _, f := range c.Figures {
					key := req.ID + " " + c.ID + " " + f.Name
					values[key] = append(values[key], f.Value)
					units[key] = f.Unit
				}
			}
		}
	}
	fmt.Fprintf(&b, "%d runs, verdicts %s, %d flips\n", len(runs), strings.Join(verdicts, " "), flips(runs))
	for _, id := range sortedKeys(statuses) {
		if s := statuses[id]; !allSame(s) {
			fmt.Fprintf(&b, "unstable %s: %s\n", id, strings.Join(s, " "))
		}
	}
	fmt.Fprintf(&b, "%-70s %5s %12s %12s %12s\n", "figure", "runs", "min", "median", "max")
	for _, key := range sortedKeys(values) {
		v := append([]float64(nil), values[key]...)
		sort.Float64s(v)
		fmt.Fprintf(&b, "%-70s %5d %12.4g %12.4g %12.4g %s\n", key, len(v), v[0], median(v), v[len(v)-1], units[key])
	}
	return b.String()
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func allSame(s []string) bool {
	for _, v := range s {
		if v != s[0] {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
