package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/goptim/goptim/examples/mlp"
	"github.com/goptim/goptim/optim"
)

// Part 3 answers the two questions people bring to an optimizer: which learning rate
// (the range test, checked by training at its suggestions), and are my gradients
// vanishing or exploding (per-layer gradient norms of a deep narrow MLP, watched by
// optim.Monitor, and what clipping and an adaptive optimizer do about it).

// rangeKeys are the optimizers part 3 range-tests: the two most used.
var rangeKeys = []string{"momentum", "adam"}

// rangeRun is one optimizer's learning-rate range test on part 2's MLP and the
// held-out accuracy of part 2's recipe at its tuned learning rate and at the test's two
// suggestions.
type rangeRun struct {
	Key, Name             string
	LRs, Losses, Smoothed []float64
	Diverged              bool
	Steepest, MinOver10   float64
	TunedLR               float64
	// held-out accuracy after part 2's training at TunedLR, Steepest and MinOver10
	TunedAcc, SteepestAcc, MinOver10Acc float64
}

// runRangeTests runs the range test (LRRangeDefaults: 1e-7 to 10 over at most 100
// mini-batches) from part 2's initial weights for each of rangeKeys, then trains with
// part 2's recipe (dc) at the tuned learning rate and at both suggestions.
func runRangeTests(train, heldOut dataset, dc digitsConfig, report func(string)) ([]rangeRun, error) {
	var out []rangeRun
	for _, key := range rangeKeys {
		o, err := optimizerByKey(key)
		if err != nil {
			return nil, err
		}
		rr, err := rangeTest(o, train, dc)
		if err != nil {
			return nil, fmt.Errorf("%s: range test: %w", o.name, err)
		}
		rr.TunedLR = o.digitsLR
		for _, a := range []struct {
			lr  float64
			acc *float64
		}{{rr.TunedLR, &rr.TunedAcc}, {rr.Steepest, &rr.SteepestAcc}, {rr.MinOver10, &rr.MinOver10Acc}} {
			c := dc
			c.lr = a.lr
			r, err := trainDigits(o, train, heldOut, c, func(*digitsRun) {})
			if err != nil {
				return nil, fmt.Errorf("%s at lr %g: %w", o.name, a.lr, err)
			}
			*a.acc = r.Epochs[len(r.Epochs)-1].Accuracy
		}
		report(fmt.Sprintf("%-16s range test: %d steps, steepest %.3g, minimum/10 %.3g", o.name, len(rr.LRs), rr.Steepest,
			rr.MinOver10))
		out = append(out, *rr)
	}
	return out, nil
}

func optimizerByKey(key string) (optimizer, error) {
	for _, o := range optimizers {
		if o.key == key {
			return o, nil
		}
	}
	return optimizer{}, fmt.Errorf("no optimizer %q", key)
}

// rangeTest runs optim.LRRangeTest on a fresh MLP with part 2's initial weights, each
// step on the next mini-batch of a seeded shuffle of the training set.
func rangeTest(o optimizer, train dataset, dc digitsConfig) (*rangeRun, error) {
	net, err := mlp.New(dc.sizes(), dc.batch, rand.New(rand.NewPCG(dc.seed, 4)))
	if err != nil {
		return nil, err
	}
	defer net.Close()
	st, err := o.build(net.Params(), hyper{lr: o.digitsLR, lbfgsIter: dc.lbfgsIter})
	if err != nil {
		return nil, err
	}
	defer st.close()
	gs, ok := st.(*gradStepper)
	if !ok {
		return nil, errors.New("the range test needs an optimizer that takes one gradient per step")
	}
	perm := rand.New(rand.NewPCG(dc.seed, 6)).Perm(train.len())
	batches := train.subset(perm)
	nb := train.len() / dc.batch
	k := 0
	step := func() (float64, error) {
		lo := (k % nb) * dc.batch
		k++
		return net.TrainStep(batches.x[lo*digitsFeatures:(lo+dc.batch)*digitsFeatures], batches.y[lo:lo+dc.batch])
	}
	res, err := optim.LRRangeTest(gs.opt, net.Params(), step, optim.LRRangeDefaults())
	if err != nil {
		return nil, err
	}
	return &rangeRun{Key: o.key, Name: o.name, LRs: res.LRs, Losses: res.Losses, Smoothed: res.Smoothed,
		Diverged: res.Diverged, Steepest: res.Steepest, MinOver10: res.MinOver10}, nil
}

// printRangeTests prints the suggestions and the accuracy each learning rate trains to.
func printRangeTests(w io.Writer, runs []rangeRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-16s\ttuned lr\taccuracy\tsteepest\taccuracy\tminimum/10\taccuracy\t\n", "optimizer")
	for _, r := range runs {
		fmt.Fprintf(tw, "%-16s\t%g\t%.2f%%\t%.3g\t%.2f%%\t%.3g\t%.2f%%\t\n", r.Name, r.TunedLR, 100*r.TunedAcc, r.Steepest,
			100*r.SteepestAcc, r.MinOver10, 100*r.MinOver10Acc)
	}
	tw.Flush()
}

// The deep narrow MLP of part 3: ten linear layers, 64 → 32 × 9 → 10.
const (
	deepWidth  = 32
	deepHidden = 9
)

// deepCase is one training run of the deep MLP: its activation and initial scale,
// the optimizer (a key of optimizers) and its learning rate, and the clipping norm.
type deepCase struct {
	key, name string
	layers    []int // hidden layers (nil: deepHidden of deepWidth)
	arch      mlp.Options
	opt       string
	lr, clip  float64
	plotted   bool // drawn as a panel of the figure
}

// deepCases, each with SGD+momentum as it comes and with what is meant to help:
// clipping (bounds the step however large the gradient) and Adam (scales each
// parameter's step by its own gradient's size, so that tiny and huge gradients both
// give steps of about lr):
//   - sigmoid at torch's initial scale: the gradients vanish towards the input, by
//     about 1e-8 over the ten layers (σ' ≤ 1/4 at every layer);
//   - tanh at torch's initial scale: they shrink too, about 25 times;
//   - tanh at 6 times torch's scale: they explode towards the input (past about 1.7 a
//     deep tanh net amplifies gradients going back);
//   - tanh at 1.7 times, near that critical scale: what the initialisation can do.
var deepCases = []deepCase{
	{key: "sigmoid-sgd", name: "sigmoid, SGD+momentum", arch: mlp.Options{Activation: mlp.Sigmoid}, opt: "momentum", lr: 0.05, plotted: true},
	{key: "sigmoid-adam", name: "sigmoid, Adam + clipping", arch: mlp.Options{Activation: mlp.Sigmoid}, opt: "adam", lr: 3e-3, clip: 1},
	{key: "tanh-sgd", name: "tanh, SGD+momentum", arch: mlp.Options{Activation: mlp.Tanh}, opt: "momentum", lr: 0.05, plotted: true},
	{key: "tanh-adam", name: "tanh, Adam + clipping", arch: mlp.Options{Activation: mlp.Tanh}, opt: "adam", lr: 3e-3, clip: 1, plotted: true},
	{key: "tanh6-sgd", name: "tanh ×6 init, SGD+momentum", arch: mlp.Options{Activation: mlp.Tanh, InitScale: 6}, opt: "momentum", lr: 0.05, plotted: true},
	{key: "tanh6-sgd-clip", name: "tanh ×6 init, SGD+momentum + clipping", arch: mlp.Options{Activation: mlp.Tanh, InitScale: 6}, opt: "momentum", lr: 0.05, clip: 1, plotted: true},
	{key: "tanh6-adam", name: "tanh ×6 init, Adam + clipping", arch: mlp.Options{Activation: mlp.Tanh, InitScale: 6}, opt: "adam", lr: 3e-3, clip: 1},
	{key: "tanh1.7-sgd", name: "tanh ×1.7 init, SGD+momentum", arch: mlp.Options{Activation: mlp.Tanh, InitScale: 1.7}, opt: "momentum", lr: 0.05, plotted: true},
	// part 2's healthy MLP, for the monitor to stay quiet on
	{key: "mlp-sgd", name: "part 2's MLP, SGD+momentum + clipping", layers: []int{128}, opt: "momentum", lr: 0.05, clip: 1},
	{key: "mlp-adam", name: "part 2's MLP, Adam + clipping", layers: []int{128}, opt: "adam", lr: 3e-3, clip: 1},
}

// deepRun is what one deep case measured.
type deepRun struct {
	Key, Name string
	LR, Clip  float64
	// WeightNorms[s][l]: the L2 norm of layer l's weight gradient at step s+1.
	WeightNorms [][]float64 `json:"-"` // in the monitor's CSV file
	// StartRatio and MedianRatio: the first layer's weight gradient norm over the
	// last layer's, at the first step and the median over training.
	StartRatio, MedianRatio float64
	Accuracy                float64 // held out, after training
	Flags                   []optim.MonitorFlag
	Monitor                 string // the monitor's CSV file, in the output folder
}

// deepMonitorConfig is the monitor part 3 watches with: MonitorDefaults (vanishing: an
// L2 norm under 1e-7 for 10 steps; a jump to 10x the median of the last 20) and
// exploding above a global norm of 10, ten times the clipping norm of part 2.
func deepMonitorConfig() optim.MonitorConfig {
	c := optim.MonitorDefaults()
	c.ExplodeAbove = 10
	return c
}

// runDeep trains the deep MLP in every deep case with part 2's recipe otherwise (dc's
// epochs, batch, cosine schedule, seed), a Monitor writing monitor-<key>.csv to out.
func runDeep(train, heldOut dataset, dc digitsConfig, out string, report func(string)) ([]deepRun, error) {
	var runs []deepRun
	for _, c := range deepCases {
		r, err := trainDeep(c, train, heldOut, dc, out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		report(fmt.Sprintf("%-40s accuracy %6.2f%%  flags %d", c.name, 100*r.Accuracy, len(r.Flags)))
		runs = append(runs, *r)
	}
	return runs, nil
}

func trainDeep(c deepCase, train, heldOut dataset, dc digitsConfig, out string) (*deepRun, error) {
	o, err := optimizerByKey(c.opt)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(out, "monitor-"+c.key+".csv")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &deepRun{Key: c.key, Name: c.name, LR: c.lr, Clip: c.clip, Monitor: filepath.Base(path)}
	dc.layers = c.layers
	if dc.layers == nil {
		dc.layers = slices.Repeat([]int{deepWidth}, deepHidden)
	}
	dc.arch, dc.lr, dc.clip = c.arch, c.lr, c.clip
	var mon *optim.Monitor
	var weights []int // indices of the weights among the params
	dc.record = func(step int, loss, lr float64) error {
		rec, err := mon.Record(step, loss, lr, c.clip)
		if err != nil {
			return err
		}
		row := make([]float64, len(weights))
		for i, k := range weights {
			row[i] = rec.Layers[k].L2
		}
		r.WeightNorms = append(r.WeightNorms, row)
		r.Flags = append(r.Flags, rec.Flags...)
		return nil
	}
	// The monitor needs the net's params, which trainDigits makes: it is made on the
	// first call, through a wrapper of the optimizer's builder.
	build := o.build
	o.build = func(params []*optim.Param, h hyper) (stepper, error) {
		mon, err = optim.NewMonitor(f, params, deepMonitorConfig())
		if err != nil {
			return nil, err
		}
		weights = weights[:0]
		for i, p := range params {
			if strings.HasSuffix(p.Name, ".weight") {
				weights = append(weights, i)
			}
		}
		return build(params, h)
	}
	d, err := trainDigits(o, train, heldOut, dc, func(*digitsRun) {})
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	r.Accuracy = d.Epochs[len(d.Epochs)-1].Accuracy
	ratios := make([]float64, len(r.WeightNorms))
	for s, row := range r.WeightNorms {
		ratios[s] = row[0] / row[len(row)-1]
	}
	r.StartRatio = ratios[0]
	r.MedianRatio = median(ratios)
	return r, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b float64) int { // NaN last
		switch {
		case a < b || !math.IsNaN(a) && math.IsNaN(b):
			return -1
		case a > b || math.IsNaN(a) && !math.IsNaN(b):
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

// printDeep prints each deep run's gradient ratio, accuracy and the monitor's first
// flag of each kind.
func printDeep(w io.Writer, runs []deepRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-40s\tlr\tclip\t‖∇W first‖/‖∇W last‖ at start\tmedian\theld-out accuracy\t\n", "MLP")
	for _, r := range runs {
		clip := "-"
		if r.Clip > 0 {
			clip = fmt.Sprint(r.Clip)
		}
		fmt.Fprintf(tw, "%-40s\t%g\t%s\t%.3g\t%.3g\t%.2f%%\t\n", r.Name, r.LR, clip, r.StartRatio, r.MedianRatio,
			100*r.Accuracy)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nThe monitor's flags (first of each kind per run):")
	for _, r := range runs {
		seen := map[string]bool{}
		n := 0
		for _, f := range r.Flags {
			if !seen[f.Kind] {
				seen[f.Kind] = true
				fmt.Fprintf(w, "  %s: %s\n", r.Name, f.Message)
				n++
			}
		}
		if n == 0 {
			fmt.Fprintf(w, "  %s: none\n", r.Name)
		}
	}
}
