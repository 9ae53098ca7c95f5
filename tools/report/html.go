package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/redis-shared/conformance/tools/evidence"
)

// The HTML report: one self-contained file (inline CSS, a few lines of JavaScript for
// the filters, inline SVG plots drawn with gonum/plot), nothing fetched when opened.

// Units of the series LoadSeries records (suites/internal/harness/load.go).
const (
	seriesPercentile = "percentile"
	seriesSeconds    = "s"
)

// htmlPlot is one drawn figure of a check.
type htmlPlot struct {
	Title string
	SVG   template.HTML
}

type htmlCheck struct {
	CheckResult
	Mark  string
	Plots []htmlPlot
}

type htmlRequirement struct {
	RequirementResult
	Mark     string
	Headline string
	Next     string
	Checks   []htmlCheck
	Waiver   *WaiverResult
}

// htmlGallery is the plots of one check, shown at the top of the page.
type htmlGallery struct {
	Label string
	Plots []htmlPlot
}

type htmlPage struct {
	Report
	Counts       string
	Gallery      []htmlGallery
	Requirements []htmlRequirement
	Facts        [][2]string
	// RunFacts are the run's own settings (conform preflight), shown in the header.
	RunFacts  [][2]string
	PlotCount int
	Statuses  []string
}

// WriteHTML renders report.html from the report and the evidence records (for the
// series the plots are drawn from).
func WriteHTML(w io.Writer, rep Report, records []evidence.Record) error {
	series := seriesByCheck(records)
	page := htmlPage{Report: rep, Counts: rep.CountsLine(), Statuses: []string{StatusPass, StatusFail, StatusWaived, StatusSkip, StatusNotRun}}
	for _, k := range sortedKeys(rep.Facts) {
		page.Facts = append(page.Facts, [2]string{k, rep.Facts[k]})
	}
	for _, k := range []string{FactKubeServer, FactKubeContext, FactKubeNamespace, FactDisruptive, FactValues, FactStatic} {
		if v, ok := rep.Facts[k]; ok {
			page.RunFacts = append(page.RunFacts, [2]string{k, v})
		}
	}
	drawn := map[string][]htmlPlot{}
	for _, req := range rep.Requirements {
		hr := htmlRequirement{RequirementResult: req, Mark: statusMark[req.Status], Headline: headlineEvidence(req), Waiver: req.Waiver}
		if req.Status != StatusPass && req.Status != StatusWaived {
			hr.Next = req.NextStep()
		}
		for _, c := range req.Checks {
			hc := htmlCheck{CheckResult: c, Mark: statusMark[c.Status]}
			if plots, ok := drawn[c.ID]; ok {
				hc.Plots = plots
			} else if s := series[c.ID]; len(s) > 0 {
				plots, err := drawPlots(s)
				if err != nil {
					return fmt.Errorf("report.html: plots of %s: %w", c.ID, err)
				}
				drawn[c.ID] = plots
				hc.Plots = plots
				page.PlotCount += len(plots)
				page.Gallery = append(page.Gallery, htmlGallery{Label: req.ID + " · " + c.Name, Plots: plots})
			}
			hr.Checks = append(hr.Checks, hc)
		}
		page.Requirements = append(page.Requirements, hr)
	}
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, page); err != nil {
		return fmt.Errorf("render report.html: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write report.html: %w", err)
	}
	return nil
}

// seriesByCheck gathers the series of each suite check ("suite:<go test name>"),
// including those recorded by its subtests.
func seriesByCheck(records []evidence.Record) map[string][]evidence.Series {
	out := map[string][]evidence.Series{}
	for _, rec := range records {
		if rec.Test == "" || len(rec.Series) == 0 {
			continue
		}
		// A feature is TestX/feature; its assessments are deeper.
		parts := strings.SplitN(rec.Test, "/", 3)
		id := "suite:" + strings.Join(parts[:min(2, len(parts))], "/")
		out[id] = append(out[id], rec.Series...)
	}
	return out
}

// drawPlots draws one latency percentile plot with every percentile series of the
// check, and one rate-over-time plot per rate series.
func drawPlots(series []evidence.Series) ([]htmlPlot, error) {
	var percentiles, rates []evidence.Series
	for _, s := range series {
		switch s.XUnit {
		case seriesPercentile:
			percentiles = append(percentiles, s)
		case seriesSeconds:
			rates = append(rates, s)
		}
	}
	var plots []htmlPlot
	if len(percentiles) > 0 {
		svg, err := percentilePlot(percentiles)
		if err != nil {
			return nil, err
		}
		plots = append(plots, htmlPlot{Title: "latency by percentile", SVG: svg})
	}
	for _, s := range rates {
		svg, err := ratePlot(s)
		if err != nil {
			return nil, err
		}
		plots = append(plots, htmlPlot{Title: s.Name + " over time", SVG: svg})
	}
	return plots, nil
}

// nines maps a percentile onto the HDR plot's axis: 90 -> 1, 99 -> 2, 99.9 -> 3.
func nines(p float64) float64 {
	return -math.Log10(1 - p/100)
}

func percentilePlot(series []evidence.Series) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = "Latency by percentile (HDR histogram)"
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	maxNines := 0.0
	for _, s := range series {
		for _, pt := range s.Points {
			if pt[0] < 100 {
				maxNines = math.Max(maxNines, nines(pt[0]))
			}
		}
	}
	maxX := maxNines + 0.6
	for i, s := range series {
		var xys plotter.XYs
		for _, pt := range s.Points {
			x := maxX
			if pt[0] < 100 {
				x = nines(pt[0])
			}
			xys = append(xys, plotter.XY{X: x, Y: pt[1]})
		}
		sort.Slice(xys, func(a, b int) bool { return xys[a].X < xys[b].X })
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return "", fmt.Errorf("plot %s: %w", s.Name, err)
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		points.Radius = vg.Points(1.5)
		p.Add(line, points)
		p.Legend.Add(s.Name, line)
	}
	p.Add(plotter.NewGrid())
	ticks := plot.ConstantTicks{{Value: 0, Label: "0%"}, {Value: nines(50), Label: "50%"}}
	for n, label := range []string{"90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if float64(n+1) <= maxNines+0.01 {
			ticks = append(ticks, plot.Tick{Value: float64(n + 1), Label: label})
		}
	}
	ticks = append(ticks, plot.Tick{Value: maxX, Label: "max"})
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = 0, maxX+0.25
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return renderSVG(p)
}

func ratePlot(s evidence.Series) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = s.Name + " per second"
	p.X.Label.Text = "time (" + s.XUnit + ")"
	p.Y.Label.Text = s.YUnit
	var xys plotter.XYs
	for _, pt := range s.Points {
		xys = append(xys, plotter.XY{X: pt[0], Y: pt[1]})
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return "", fmt.Errorf("plot %s: %w", s.Name, err)
	}
	line.Color = plotutil.Color(0)
	p.Add(line, plotter.NewGrid())
	p.Y.Min = 0
	return renderSVG(p)
}

// renderSVG draws the plot as inline SVG (without the XML declaration, which has no
// place inside HTML).
func renderSVG(p *plot.Plot) (template.HTML, error) {
	c := vgsvg.New(vg.Points(440), vg.Points(270))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("svg: %w", err)
	}
	svg := b.String()
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:]
	}
	// The SVG is produced by our own code from numbers and the series' names, which
	// vgsvg escapes.
	return template.HTML(svg), nil //nolint:gosec // generated, escaped SVG
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"join":  strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>redis-shared go/no-go: {{.Verdict}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { margin: 0 0 .3em; }
.verdict { display: inline-block; padding: .1em .6em; border-radius: .3em; color: #fff; }
.verdict.GO { background: #1a7f37; } .verdict.NO-GO { background: #cf222e; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
th, td { border: 1px solid #ddd; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.mark { font-weight: 600; white-space: nowrap; }
.pass .mark { color: #1a7f37; } .fail .mark { color: #cf222e; } .waived .mark { color: #9a6700; }
.skip .mark, .not-run .mark { color: #6e7781; }
.filters button { margin-right: .3em; } .filters button.off { opacity: .4; }
.hint { color: #9a6700; } .msg { color: #cf222e; white-space: pre-wrap; }
details { margin: .2em 0; } .plots { display: flex; flex-wrap: wrap; gap: 1em; } .plot { margin: 0; } .plot svg { max-width: 100%; height: auto; }
.facts td:first-child { white-space: nowrap; } .small { color: #57606a; font-size: 90%; }
</style>
</head>
<body>
<h1>redis-shared go/no-go: <span id="verdict" class="verdict {{.Verdict}}">{{.Verdict}}</span></h1>
<p class="small">target {{.Target}} · suite {{.SuiteCommit}} · chart {{.ChartVersion}} · Redis {{.RedisVersion}} · generated {{.GeneratedAt.Format "2006-01-02 15:04:05Z"}}</p>
<p id="counts">{{.Counts}} {{.PlotCount}} plots drawn from the load series in the evidence. GO needs every requirement passed (or waived by an unexpired waiver).</p>
{{if .Problems}}<h2>Problems</h2><ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .RunFacts}}<p id="run">{{range $i, $f := .RunFacts}}{{if $i}} · {{end}}{{index $f 0}}: <b>{{index $f 1}}</b>{{end}}</p>{{end}}
{{if .Gallery}}<h2>Load runs</h2>
{{range .Gallery}}<h3>{{.Label}}</h3><div class="plots">{{range .Plots}}<figure class="plot"><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>{{end}}</div>
{{end}}{{end}}
{{if .Facts}}<details><summary><b>Facts about the target and the run</b> ({{len .Facts}})</summary><table class="facts">{{range .Facts}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table></details>{{end}}
<h2>Requirements</h2>
<div class="filters">show:
{{range .Statuses}}<button type="button" data-status="{{.}}" onclick="toggle(this)">{{.}}</button>{{end}}
<input id="search" type="search" placeholder="filter by id or text" oninput="apply()">
</div>
<table id="requirements">
<thead><tr><th>id</th><th>requirement</th><th>status</th><th>threshold</th><th>evidence</th></tr></thead>
<tbody>
{{range .Requirements}}<tr class="req {{.Status}}" data-status="{{.Status}}" data-text="{{lower .ID}} {{lower .Title}}">
<td>{{.ID}}</td><td>{{.Title}}</td><td class="mark">{{.Mark}}</td><td>{{.Threshold}}</td>
<td>{{.Headline}}
<details><summary>{{.Reason}}</summary>
{{if .Waiver}}<p class="hint">waiver: {{.Waiver.Reason}} (owner {{.Waiver.Owner}}, expires {{.Waiver.Expires}}{{if .Waiver.Expired}}: EXPIRED{{end}}; without it {{.Waiver.StatusWithout}})</p>{{end}}
{{if .Next}}<p class="hint">next: {{.Next}}</p>{{end}}
{{range .Checks}}<div class="check {{.Status}}"><span class="mark">{{.Mark}}</span> {{.Name}} <span class="small">({{.Kind}}, {{.Source}}, {{printf "%.0f" .DurationMS}} ms)</span>
{{if .Evidence}}<ul>{{range .Evidence}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .SkipReason}}<p class="small">skipped: {{.SkipReason}}</p>{{end}}
{{range .Messages}}<p class="msg">{{.}}</p>{{end}}
{{if .Plots}}<p class="small">plots: under "Load runs" above</p>{{end}}
</div>{{end}}
</details></td></tr>
{{end}}</tbody></table>
<script>
function toggle(b) { b.classList.toggle('off'); apply(); }
function apply() {
  var off = {}; document.querySelectorAll('.filters button.off').forEach(function (b) { off[b.dataset.status] = true; });
  var q = document.getElementById('search').value.toLowerCase();
  document.querySelectorAll('#requirements tr.req').forEach(function (r) {
    r.style.display = (off[r.dataset.status] || (q && r.dataset.text.indexOf(q) < 0)) ? 'none' : '';
  });
}
</script>
</body>
</html>
`))
