package report

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/plotutil"

	"github.com/redis-shared/conformance/tools/evidence"
)

var (
	requireChromium = flag.Bool("require-chromium", false, "fail (not skip) the headless-browser test when Debian's chromium is missing (make test-report-html)")
	screenshotOut   = flag.String("screenshot-out", "", "also copy the browser's screenshot of the HTML report here (docs/report-screenshot.png)")
)

// htmlFixture is a GO report (one requirement waived) whose latency check recorded
// the series of two load runs, as LoadSeries does.
func htmlFixture() (Report, []evidence.Record) {
	rep := waiverReport()
	rep.Requirements[1].Checks[0].ID = "suite:TestPerf/latency"
	rep.Requirements[1].Checks[0].Name = "in-cluster SET and GET latency"
	ApplyWaivers(&rep, []Waiver{
		{Requirement: "SC-001", Reason: "the VM's disk is slow", Owner: "homelab-ops", Expires: "2099-12-31"},
		{Requirement: "FR-018", Reason: "24 h soak not run", Owner: "homelab-ops", Expires: "2099-12-31"},
	}, rep.GeneratedAt)
	rep.Facts = map[string]string{FactKubeContext: "homelab", FactDisruptive: "on"}
	percentiles := func(name string, scale float64) evidence.Series {
		s := evidence.Series{Name: name, XUnit: "percentile", YUnit: "ms"}
		for _, p := range []float64{0, 50, 90, 99, 99.9, 99.99, 100} {
			s.Points = append(s.Points, [2]float64{p, scale * (0.2 + nines(min(p, 99.999)))})
		}
		return s
	}
	rate := evidence.Series{Name: "sustained rate", XUnit: "s", YUnit: "ops/s"}
	for sec := range 30 {
		rate.Points = append(rate.Points, [2]float64{float64(sec), 10000 - float64(sec%3)*40})
	}
	records := []evidence.Record{
		{Test: "TestPerf/latency/p95_under_the_threshold", Series: []evidence.Series{percentiles("baseline latency percentiles", 0.5), percentiles("sustained latency percentiles", 1.1), rate}},
	}
	return rep, records
}

func TestWriteHTMLIsSelfContainedWithVerdictTableAndPlots(t *testing.T) {
	rep, records := htmlFixture()
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, rep, records))
	page := b.String()
	assert.Contains(t, page, `<span id="verdict" class="verdict GO">GO</span>`)
	assert.Equal(t, 2, strings.Count(page, "<svg"), "one percentile plot and one rate plot")
	assert.Contains(t, page, "Latency by percentile (HDR histogram)")
	assert.Contains(t, page, "sustained rate per second")
	assert.Contains(t, page, `data-status="waived"`)
	assert.Contains(t, page, "WAIVED")
	assert.Contains(t, page, "waiver: the VM&#39;s disk is slow (owner homelab-ops, expires 2099-12-31; without it fail)")
	assert.Contains(t, page, "p95 = 14.2 ms")
	for _, external := range []string{"http://", "https://", "src=", "<link"} {
		if external == "http://" {
			// SVG carries its namespace URI; nothing is fetched from it.
			page = strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, "")
			page = strings.ReplaceAll(page, `xmlns:xlink="http://www.w3.org/1999/xlink"`, "")
		}
		assert.NotContains(t, page, external, "self-contained: nothing to fetch")
	}
}

// The HTML report opened in a real headless browser (Debian's chromium): the DOM has
// the verdict and the plots, and the screenshot shows the verdict's colour and the
// plot lines' colour.
func TestHTMLReportInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if *requireChromium {
			t.Fatalf("chromium not found on PATH: make test-report-html installs Debian's chromium (make deps)")
		}
		t.Skip("chromium not installed: `make test-report-html` (part of make test) installs it and runs this test")
	}
	dir := t.TempDir()
	rep, records := htmlFixture()
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, rep, records))
	page := filepath.Join(dir, "report.html")
	require.NoError(t, os.WriteFile(page, b.Bytes(), 0o644))

	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		profile, err := os.MkdirTemp(dir, "profile-")
		require.NoError(t, err)
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + profile, "--window-size=1280,1400", "--hide-scrollbars"}
		cmd := exec.CommandContext(ctx, browser, append(append(base, args...), "file://"+page)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "chromium %v: %s", args, lastLines(stderr.String(), 5))
		return out
	}

	dom := string(run("--dump-dom"))
	assert.Contains(t, dom, `<span id="verdict" class="verdict GO">GO</span>`)
	assert.Equal(t, 2, strings.Count(dom, "<svg"), "both plots are in the rendered DOM")
	assert.Contains(t, dom, "Latency by percentile (HDR histogram)")

	shot := filepath.Join(dir, "report.png")
	run("--screenshot=" + shot)
	raw, err := os.ReadFile(shot)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err, "the screenshot is a PNG")
	assert.Equal(t, image.Rect(0, 0, 1280, 1400), img.Bounds())
	colours := countColours(img)
	assert.Greater(t, len(colours), 20, "not a blank page")
	verdictGreen := color.RGBA{R: 0x1a, G: 0x7f, B: 0x37, A: 0xff}
	assert.Greater(t, nearColour(colours, verdictGreen), 200, "the green GO badge is on screen")
	plotLine := color.RGBAModel.Convert(plotutil.Color(0)).(color.RGBA)
	assert.Greater(t, nearColour(colours, plotLine), 100, "the first plot line is on screen")
	if *screenshotOut != "" {
		require.NoError(t, os.WriteFile(*screenshotOut, raw, 0o644))
	}
}

func countColours(img image.Image) map[color.RGBA]int {
	out := map[color.RGBA]int{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			out[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	return out
}

// nearColour counts pixels within a small distance of want (antialiasing and colour
// management shift exact values).
func nearColour(colours map[color.RGBA]int, want color.RGBA) int {
	n := 0
	for c, count := range colours {
		if absDiff(c.R, want.R) <= 12 && absDiff(c.G, want.G) <= 12 && absDiff(c.B, want.B) <= 12 {
			n += count
		}
	}
	return n
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
