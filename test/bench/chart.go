package bench

import (
	"fmt"
	"image/color"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette gives the subject and each baseline a colour of its own.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // Sluice: blue
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // first baseline: red
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// panel is one small chart: a figure of each controller's totals against N.
type panel struct {
	title string
	value func(Result) float64
}

// Chart draws the suite's panels side by side as a PNG at path. For a
// suite of sizes: CPU seconds and API requests over all phases, and the
// highest peak RSS of any phase, each against N, one line per controller.
// For a suite of scenarios, which has no N to draw a line along: wall
// time, CPU seconds, API requests and peak RSS of each scenario's phases
// as bars, a bar per controller that has the phase.
func (r Report) Chart(path string) error {
	panels := []panel{
		{"CPU seconds, all phases", func(t Result) float64 { return t.Phase.CPU.Seconds() }},
		{"API requests, all phases", func(t Result) float64 { return float64(t.Phase.Requests.Total()) }},
		{"peak RSS (MiB)", func(t Result) float64 { return float64(t.Phase.PeakRSS) / (1 << 20) }},
	}
	plotOf := r.panelPlot
	if len(r.Scenarios()) > 0 {
		panels = []panel{
			{"wall seconds", func(res Result) float64 { return res.Phase.Wall.Seconds() }},
			{"CPU seconds", func(res Result) float64 { return res.Phase.CPU.Seconds() }},
			{"API requests", func(res Result) float64 { return float64(res.Phase.Requests.Total()) }},
			{"peak RSS (MiB)", func(res Result) float64 { return float64(res.Phase.PeakRSS) / (1 << 20) }},
		}
		plotOf = r.barPlot
	}
	const height = 4.5 * vg.Inch
	width := vg.Length(len(panels)) * 5 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 10,
		PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	// The suite's title above the panels.
	title := draw.TextStyle{Color: color.Black, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler,
		XAlign: draw.XCenter, YAlign: draw.YTop}
	title.Font.Size = vg.Points(14)
	dc.FillText(title, vg.Point{X: width / 2, Y: height - vg.Millimeter*2}, r.Suite.Title)
	for i, pn := range panels {
		p, err := plotOf(pn)
		if err != nil {
			return err
		}
		p.Draw(tiles.At(dc, i, 0))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// barPlot is one panel of a suite of scenarios: a group of bars per
// scenario and phase, the subject's first. A controller without the phase
// has no bar there, rather than a bar of zero.
func (r Report) barPlot(pn panel) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.Y.Min = 0
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	controllers := r.Controllers()
	barWidth := vg.Points(40) / vg.Length(len(controllers))
	var labels []string
	var groups []group
	for _, row := range r.Rows() {
		g := group{row.Size, row.Scenario, row.Phase}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
			labels = append(labels, row.Label()+"\n"+row.Phase)
		}
	}
	for i, controller := range controllers {
		c := palette[i%len(palette)]
		var legend *plotter.BarChart
		for x, g := range groups {
			for _, res := range r.Results {
				if res.Controller != controller || groupOf(res) != g {
					continue
				}
				bar, err := plotter.NewBarChart(plotter.Values{pn.value(res)}, barWidth)
				if err != nil {
					return nil, fmt.Errorf("%s, %s: %w", pn.title, controller, err)
				}
				bar.XMin = float64(x)
				// Side by side around the group's tick, the subject first.
				bar.Offset = barWidth * vg.Length(2*i-len(controllers)+1) / 2
				bar.Color, bar.LineStyle.Width = c, 0
				p.Add(bar)
				legend = bar
			}
		}
		if legend != nil {
			p.Legend.Add(controller, legend)
		}
	}
	p.NominalX(labels...)
	// Half a group's room either side, so the outer bars are whole, and
	// room above the tallest bar for the legend.
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	p.Y.Max *= 1.3
	p.Y.Tick.Marker = plainTicks{}
	return p, nil
}

// plainTicks are gonum's default ticks, labelled without needless
// decimals: 5000 rather than 5000.00.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}

func (r Report) panelPlot(pn panel) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.X.Label.Text = "N (" + r.Suite.Unit + "s)"
	// From zero, so the lines show how figures grow with N and a single
	// size still has a scale.
	p.X.Min, p.Y.Min = 0, 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	for i, controller := range r.Controllers() {
		var xys plotter.XYs
		for _, size := range r.Sizes() {
			if t, ok := r.Totals(controller, size); ok {
				xys = append(xys, plotter.XY{X: float64(size), Y: pn.value(t)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("%s, %s: %w", pn.title, controller, err)
		}
		c := palette[i%len(palette)]
		line.Color, line.Width = c, vg.Points(2)
		points.Color, points.Shape = c, draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(controller, line, points)
	}
	return p, nil
}
