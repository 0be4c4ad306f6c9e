package bench

import (
	"fmt"
	"image/color"
	"os"

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

// Chart draws three panels side by side as a PNG at path: CPU seconds and
// API requests over all phases, and the highest peak RSS of any phase,
// each against N, one line per controller.
func (r Report) Chart(path string) error {
	panels := []panel{
		{"CPU seconds, all phases", func(t Result) float64 { return t.Phase.CPU.Seconds() }},
		{"API requests, all phases", func(t Result) float64 { return float64(t.Phase.Requests.Total()) }},
		{"peak RSS (MiB)", func(t Result) float64 { return float64(t.Phase.PeakRSS) / (1 << 20) }},
	}
	const width, height = 15 * vg.Inch, 4.5 * vg.Inch
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
		p, err := r.panelPlot(pn)
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
