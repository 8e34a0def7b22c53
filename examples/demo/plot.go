package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// figure is one plot with a line per optimizer.
// AdamW's curves lie almost on Adam's, so they are dashed to let both show.
type figure struct {
	file, title, x, y string
	logX, logY        bool
	yMin, yMax        float64 // fixed y range where yMax > yMin
	hline             float64 // a dotted reference line where > 0
	lines             []namedLine
}

type namedLine struct {
	name   string
	xy     plotter.XYs
	dashed bool
}

// palette: seven colours that stay apart (Tableau 10), one per optimizer.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
}

// save writes f as file.png and file.svg in dir, the legend to the right of the plot,
// and returns their paths.
func (f figure) save(dir string) ([]string, error) {
	p := plot.New()
	p.Title.Text = f.title
	p.X.Label.Text, p.Y.Label.Text = f.x, f.y
	p.Add(plotter.NewGrid())
	if f.logX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	if f.logY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	for i, l := range f.lines {
		line, err := plotter.NewLine(l.xy)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", f.file, l.name, err)
		}
		line.Color = palette[i%len(palette)]
		line.Width = vg.Points(1.3)
		if l.dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(line)
		legend.Add(l.name, line)
	}
	if f.hline > 0 {
		ref, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: f.hline}, {X: p.X.Max, Y: f.hline}})
		if err != nil {
			return nil, err
		}
		ref.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
		p.Add(ref)
		legend.Add(fmt.Sprintf("target %g", f.hline), ref)
	}
	if f.yMax > f.yMin {
		p.Y.Min, p.Y.Max = f.yMin, f.yMax
	}

	const width, height = 10 * vg.Inch, 5.5 * vg.Inch
	var paths []string
	for _, format := range []string{"png", "svg"} {
		cw, err := draw.NewFormattedCanvas(width, height, format)
		if err != nil {
			return nil, err
		}
		dc := draw.New(cw)
		legW := legend.Rectangle(dc).Size().X + vg.Points(16)
		p.Draw(draw.Crop(dc, 0, -legW, 0, 0))
		legend.Draw(draw.Crop(dc, width-legW+vg.Points(8), 0, 0, -vg.Points(30)))

		path := filepath.Join(dir, f.file+"."+format)
		out, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		_, err = cw.WriteTo(out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// logTicks labels the powers of ten of a log axis (at most about eight of them) and
// puts unlabelled ticks between.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	a, b := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	every := max(1, (b-a+7)/8)
	var ticks []plot.Tick
	for e := a; e <= b; e++ {
		v := math.Pow(10, float64(e))
		t := plot.Tick{Value: v}
		if (e-a)%every == 0 {
			t.Label = decade(e)
		}
		ticks = append(ticks, t)
		if b-a <= 4 { // few decades: minor ticks at 2..9
			for m := 2; m <= 9; m++ {
				ticks = append(ticks, plot.Tick{Value: float64(m) * v})
			}
		}
	}
	return ticks
}

func decade(e int) string {
	if e >= -3 && e <= 4 {
		return strconv.FormatFloat(math.Pow(10, float64(e)), 'f', -1, 64)
	}
	return fmt.Sprintf("1e%d", e)
}

// quadraticFigure: f against step for every optimizer, on a log scale.
func quadraticFigure(runs []quadRun) figure {
	f := figure{file: "quadratic-loss", title: fmt.Sprintf("f(θ) = Σθ² over %d parameters, same start", quadN),
		x: "step", y: "f(θ)", logY: true, yMin: 1e-14, hline: quadTarget}
	top := 0.0
	for _, r := range runs {
		xy := make(plotter.XYs, len(r.Loss))
		for t, v := range r.Loss {
			// Exact zeros (and float32 underflow) cannot sit on a log axis; the axis
			// stops at yMin anyway.
			xy[t] = plotter.XY{X: float64(t), Y: math.Max(v, 1e-300)}
			top = math.Max(top, v)
		}
		f.lines = append(f.lines, namedLine{fmt.Sprintf("%s, lr %g", r.Name, r.LR), xy, r.Key == "adamw"})
	}
	f.yMax = top * 3
	return f
}

// digitsLossFigure: training loss against step (log-log, so that GD's few full-batch
// steps show beside the mini-batch runs' hundreds). Mini-batch losses are noisy, so each
// point of those is the mean of the last smooth batches.
func digitsLossFigure(runs []*digitsRun, smooth int) figure {
	f := figure{file: "digits-loss", title: fmt.Sprintf("MLP on the UCI digits: training loss (mini-batch: mean of the last %d batches)", smooth),
		x: "step", y: "cross-entropy", logX: true, logY: true}
	for _, r := range runs {
		w := smooth
		if r.FullBatch {
			w = 1
		}
		xy := make(plotter.XYs, len(r.StepLoss))
		sum := 0.0
		for t, v := range r.StepLoss {
			sum += v
			if t >= w {
				sum -= r.StepLoss[t-w]
			}
			xy[t] = plotter.XY{X: float64(t + 1), Y: sum / float64(min(t+1, w))}
		}
		name := fmt.Sprintf("%s, lr %g", r.Name, r.LR)
		if r.FullBatch {
			name += ", full batch"
		}
		f.lines = append(f.lines, namedLine{name, xy, r.Key == "adamw"})
	}
	return f
}

// digitsAccuracyFigure: held-out accuracy after every epoch.
func digitsAccuracyFigure(runs []*digitsRun) figure {
	f := figure{file: "digits-accuracy", title: "MLP on the UCI digits: held-out accuracy after each epoch",
		x: "epoch", y: "accuracy", yMin: 0.75, yMax: 1}
	for _, r := range runs {
		xy := make(plotter.XYs, len(r.Epochs))
		for e, st := range r.Epochs {
			xy[e] = plotter.XY{X: float64(e), Y: st.Accuracy}
		}
		f.lines = append(f.lines, namedLine{r.Name, xy, r.Key == "adamw"})
	}
	return f
}
