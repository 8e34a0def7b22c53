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

// figure is a plot of a line per optimizer: one panel, or two stacked ones with the
// same axes when both the first-order classics and the rest of the family are there
// (fourteen curves in one panel would be a tangle).
type figure struct {
	file, x, y string
	logX, logY bool
	yMin, yMax float64   // fixed y range where yMax > yMin
	hline      float64   // a dotted reference line where > 0
	panelH     vg.Length // height of each panel (0: 5.5 inches)
	panels     []panel
}

type panel struct {
	title string
	lines []namedLine
}

type namedLine struct {
	name  string
	xy    plotter.XYs
	style lineStyle
	// marks draws the points as large circles instead of a line (the range test's
	// suggestions).
	marks bool
}

type lineStyle struct {
	color  color.RGBA
	dashes []vg.Length // nil: solid
}

// palette: nine colours that stay apart (Tableau 10 without its grey, which reads as
// the grid or a reference line).
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {188, 189, 34, 255},
	{23, 190, 207, 255},
}

var (
	// overlapDashes draw a curve that lies on an earlier one (AdamW on Adam) so that
	// both show.
	overlapDashes = []vg.Length{vg.Points(2), vg.Points(2)}
	// familyDashes: the family's first round of colours is solid (the colours the
	// classics left); each further round takes the next pattern.
	familyDashes = [][]vg.Length{nil, {vg.Points(8), vg.Points(4)}, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}
)

// styleOf is key's line style, the same in every figure and panel and different for
// every optimizer: the classics take the palette's colours in order, solid; the family
// takes the colours after them and, when those run out, the palette again with a dash
// pattern, so no two of the first len(palette)·len(familyDashes) optimizers share
// colour and pattern.
func styleOf(key string) lineStyle {
	classics := 0
	for _, o := range optimizers {
		if !o.family {
			classics++
		}
	}
	var c, f int // classics and family members before key
	for _, o := range optimizers {
		if o.key == key {
			if !o.family {
				st := lineStyle{color: palette[c%len(palette)]}
				if o.overlaps {
					st.dashes = overlapDashes
				}
				return st
			}
			i := classics + f
			return lineStyle{palette[i%len(palette)], familyDashes[(i/len(palette))%len(familyDashes)]}
		}
		if o.family {
			f++
		} else {
			c++
		}
	}
	return lineStyle{color: color.RGBA{A: 255}}
}

// familyReference is the classic drawn in the family's panel too, as the yardstick
// to compare the family with.
const familyReference = "adam"

// split sorts the lines of runs (in the order of optimizers) into the classics' panel
// and the family's, the latter with familyReference again; keys[i] is line i's key.
func split(title string, keys []string, lines []namedLine) []panel {
	isFamily := map[string]bool{}
	for _, o := range optimizers {
		isFamily[o.key] = o.family
	}
	var classics, family []namedLine
	for i, l := range lines {
		if isFamily[keys[i]] {
			family = append(family, l)
		} else {
			classics = append(classics, l)
		}
	}
	if len(classics) == 0 || len(family) == 0 {
		return []panel{{title, lines}}
	}
	for i, l := range lines {
		if keys[i] == familyReference {
			family = append([]namedLine{l}, family...)
		}
	}
	return []panel{{title + ": the first-order classics", classics},
		{title + ": the rest of torch.optim", family}}
}

// save writes f as file.png and file.svg in dir, each panel's legend to its right,
// and returns their paths.
func (f figure) save(dir string) ([]string, error) {
	plots := make([]*plot.Plot, len(f.panels))
	legends := make([]plot.Legend, len(f.panels))
	for k, pn := range f.panels {
		p := plot.New()
		p.Title.Text = pn.title
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
		for _, l := range pn.lines {
			if l.marks {
				sc, err := plotter.NewScatter(l.xy)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", f.file, l.name, err)
				}
				sc.GlyphStyle = draw.GlyphStyle{Color: l.style.color, Radius: vg.Points(4), Shape: draw.RingGlyph{}}
				p.Add(sc)
				legend.Add(l.name, sc)
				continue
			}
			line, err := plotter.NewLine(l.xy)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", f.file, l.name, err)
			}
			line.Color = l.style.color
			line.Width = vg.Points(1.3)
			line.Dashes = l.style.dashes
			p.Add(line)
			legend.Add(l.name, line)
		}
		plots[k], legends[k] = p, legend
	}
	// The panels share their axes, so that their curves can be compared by eye.
	for _, p := range plots[1:] {
		plots[0].X.Min, plots[0].X.Max = math.Min(plots[0].X.Min, p.X.Min), math.Max(plots[0].X.Max, p.X.Max)
		plots[0].Y.Min, plots[0].Y.Max = math.Min(plots[0].Y.Min, p.Y.Min), math.Max(plots[0].Y.Max, p.Y.Max)
	}
	for k, p := range plots {
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = plots[0].X.Min, plots[0].X.Max, plots[0].Y.Min, plots[0].Y.Max
		if f.yMax > f.yMin {
			p.Y.Min, p.Y.Max = f.yMin, f.yMax
		}
		if f.hline > 0 {
			ref, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: f.hline}, {X: p.X.Max, Y: f.hline}})
			if err != nil {
				return nil, err
			}
			ref.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
			p.Add(ref)
			legends[k].Add(fmt.Sprintf("target %g", f.hline), ref)
		}
	}

	const width, panelGap = 10 * vg.Inch, 12 * vg.Millimeter
	panelHeight := 5.5 * vg.Inch
	if f.panelH > 0 {
		panelHeight = f.panelH
	}
	height := panelHeight * vg.Length(len(plots))
	var paths []string
	for _, format := range []string{"png", "svg"} {
		cw, err := draw.NewFormattedCanvas(width, height, format)
		if err != nil {
			return nil, err
		}
		dc := draw.New(cw)
		// One legend width for every panel, so that their plot areas line up.
		var legW vg.Length
		for _, l := range legends {
			legW = max(legW, l.Rectangle(dc).Size().X+vg.Points(16))
		}
		for k, p := range plots {
			top := -panelHeight * vg.Length(k)
			bottom := height + top - panelHeight
			if k > 0 {
				top -= panelGap // keep the title off the x label of the panel above
			}
			p.Draw(draw.Crop(dc, 0, -legW, bottom, top))
			legends[k].Draw(draw.Crop(dc, width-legW+vg.Points(8), 0, bottom, top-vg.Points(30)))
		}

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

// evalAxis names the x axis of the loss figures: an optimizer's gradient evaluations,
// one per step except for L-BFGS, whose line search takes several. (A label much
// longer than this makes gonum/plot narrow the plot area.)
const evalAxis = "gradient evaluations"

// quadraticFigure: f against gradient evaluations for every optimizer, on a log scale.
func quadraticFigure(runs []quadRun) figure {
	f := figure{file: "quadratic-loss", x: evalAxis, y: "f(θ)", logY: true, yMin: 1e-14, hline: quadTarget}
	top := 0.0
	var keys []string
	var lines []namedLine
	for _, r := range runs {
		xy := make(plotter.XYs, len(r.Loss))
		for t, v := range r.Loss {
			// Exact zeros (and float32 underflow) cannot sit on a log axis; the axis
			// stops at yMin anyway.
			xy[t] = plotter.XY{X: float64(r.Evals[t]), Y: math.Max(v, 1e-300)}
			top = math.Max(top, v)
		}
		keys = append(keys, r.Key)
		lines = append(lines, namedLine{name: fmt.Sprintf("%s, lr %g", r.Name, r.LR), xy: xy, style: styleOf(r.Key)})
	}
	f.yMax = top * 3
	f.panels = split(fmt.Sprintf("f(θ) = Σθ² over %d parameters, same start", quadN), keys, lines)
	return f
}

// digitsLossFigure: training loss against gradient evaluations (log-log, so that the
// full-batch runs' few steps show beside the mini-batch runs' hundreds). Mini-batch
// losses are noisy, so each point of those is the mean of the last smooth batches.
func digitsLossFigure(runs []*digitsRun, smooth int) figure {
	f := figure{file: "digits-loss", x: evalAxis, y: "cross-entropy", logX: true, logY: true}
	var keys []string
	var lines []namedLine
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
			xy[t] = plotter.XY{X: float64(r.StepEval[t]), Y: sum / float64(min(t+1, w))}
		}
		name := fmt.Sprintf("%s, lr %g", r.Name, r.LR)
		if r.FullBatch {
			name += ", full batch"
		}
		keys = append(keys, r.Key)
		lines = append(lines, namedLine{name: name, xy: xy, style: styleOf(r.Key)})
	}
	f.panels = split(fmt.Sprintf("MLP on the UCI digits: training loss (mini-batch: mean of the last %d batches)", smooth), keys, lines)
	return f
}

// digitsAccuracyFigure: held-out accuracy after every epoch.
func digitsAccuracyFigure(runs []*digitsRun) figure {
	f := figure{file: "digits-accuracy", x: "epoch", y: "accuracy", yMin: 0.75, yMax: 1}
	var keys []string
	var lines []namedLine
	for _, r := range runs {
		xy := make(plotter.XYs, len(r.Epochs))
		for e, st := range r.Epochs {
			xy[e] = plotter.XY{X: float64(e), Y: st.Accuracy}
		}
		keys = append(keys, r.Key)
		lines = append(lines, namedLine{name: r.Name, xy: xy, style: styleOf(r.Key)})
	}
	f.panels = split("MLP on the UCI digits: held-out accuracy after each epoch", keys, lines)
	return f
}

// rangeFigure: each range test's smoothed loss against the learning rate (log axis),
// the raw losses dotted, and its two suggestions marked on the smoothed curve.
func rangeFigure(runs []rangeRun) figure {
	f := figure{file: "lr-range-test", x: "learning rate", y: "training loss (mini-batch)", logX: true, logY: true,
		yMin: 0.15, yMax: 10} // the divergence at the end runs off the top
	var lines []namedLine
	for _, r := range runs {
		st := styleOf(r.Key)
		raw, smooth := make(plotter.XYs, len(r.LRs)), make(plotter.XYs, len(r.LRs))
		for i, lr := range r.LRs {
			raw[i] = plotter.XY{X: lr, Y: r.Losses[i]}
			smooth[i] = plotter.XY{X: lr, Y: r.Smoothed[i]}
		}
		lines = append(lines,
			namedLine{name: r.Name + ", smoothed", xy: smooth, style: st},
			namedLine{name: "each batch", xy: raw, style: lineStyle{st.color, []vg.Length{vg.Points(1), vg.Points(2)}}},
			namedLine{name: fmt.Sprintf("suggested: %.2g, %.2g", r.Steepest, r.MinOver10),
				xy:    plotter.XYs{{X: r.Steepest, Y: smoothedAt(r, r.Steepest)}, {X: r.MinOver10, Y: smoothedAt(r, r.MinOver10)}},
				style: st, marks: true})
	}
	f.panels = []panel{{"Learning-rate range test on the digits MLP: the loss of each batch as the lr rises", lines}}
	return f
}

// smoothedAt is the smoothed loss at the tested learning rate nearest lr (in log).
func smoothedAt(r rangeRun, lr float64) float64 {
	best := 0
	for i, x := range r.LRs {
		if math.Abs(math.Log(x/lr)) < math.Abs(math.Log(r.LRs[best]/lr)) {
			best = i
		}
	}
	return r.Smoothed[best]
}

// depthColor runs from blue (the first layer) to red (the last) over n layers.
func depthColor(l, n int) color.RGBA {
	t := float64(l) / float64(max(1, n-1))
	return color.RGBA{R: uint8(30 + 200*t), G: uint8(90 - 50*t), B: uint8(220 - 190*t), A: 255}
}

// deepFigure: per deep run (those plotted), every layer's weight-gradient norm
// against the step, on a log scale, the first layer blue and the last red.
func deepFigure(runs []deepRun) figure {
	f := figure{file: "deep-gradients", x: "step", y: "‖∇W‖ (L2)", logY: true, panelH: 3.6 * vg.Inch}
	for _, r := range runs {
		if !plottedDeep(r.Key) || len(r.WeightNorms) == 0 {
			continue
		}
		layers := len(r.WeightNorms[0])
		var lines []namedLine
		for l := 0; l < layers; l++ {
			xy := make(plotter.XYs, 0, len(r.WeightNorms))
			for s, row := range r.WeightNorms {
				if v := row[l]; v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) { // a log axis has no place for 0
					xy = append(xy, plotter.XY{X: float64(s + 1), Y: v})
				}
			}
			if len(xy) > 0 {
				lines = append(lines, namedLine{name: fmt.Sprintf("fc%d.weight", l+1), xy: xy,
					style: lineStyle{color: depthColor(l, layers)}})
			}
		}
		clip := ""
		if r.Clip > 0 {
			clip = fmt.Sprintf(", clipped at %g", r.Clip)
		}
		f.panels = append(f.panels, panel{fmt.Sprintf("%s (lr %g%s): held-out accuracy %.1f%%", r.Name, r.LR, clip,
			100*r.Accuracy), lines})
	}
	return f
}

func plottedDeep(key string) bool {
	for _, c := range deepCases {
		if c.key == key {
			return c.plotted
		}
	}
	return false
}
