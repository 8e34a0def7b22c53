package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/cblas"
	"github.com/goptim/goptim/optim"
)

// short is a demo small enough for a unit test: every optimizer, few steps.
func short(out string) config {
	return config{opt: "all", steps: 60, epochs: 2, batch: 64, hidden: 32, lbfgsIter: 1, clip: 1, seed: 7, threads: 2,
		out: out, part: "all"}
}

func TestShortDemo(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	res, err := run(short(dir), &log, 0)
	require.NoError(t, err)

	for _, name := range []string{"quadratic-loss", "digits-loss", "digits-accuracy", "lr-range-test", "deep-gradients"} {
		for _, ext := range []string{".png", ".svg"} {
			st, err := os.Stat(filepath.Join(dir, name+ext))
			require.NoError(t, err)
			require.Greater(t, st.Size(), int64(1000), name+ext)
		}
	}
	png, err := os.ReadFile(filepath.Join(dir, "quadratic-loss.png"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))
	svg, err := os.ReadFile(filepath.Join(dir, "digits-loss.svg"))
	require.NoError(t, err)
	require.Contains(t, string(svg), "<svg")

	// Every optimizer lowers the loss in both parts, and its evaluations are counted:
	// one per step, or at least one per step for a closure method.
	require.Len(t, res.Quadratic, len(optimizers))
	for i, r := range res.Quadratic {
		require.Equal(t, optimizers[i].key, r.Key)
		require.Len(t, r.Loss, 61, r.Name)
		require.Len(t, r.Evals, 61, r.Name)
		require.Less(t, r.Loss[60], r.Loss[0], r.Name)
		isClosure := closure(t, r.Key)
		for s := 1; s <= 60; s++ {
			if isClosure {
				require.Greater(t, r.Evals[s], r.Evals[s-1], r.Name)
			} else {
				require.Equal(t, s, r.Evals[s], r.Name)
			}
		}
	}
	require.Len(t, res.Digits, len(optimizers))
	for i, r := range res.Digits {
		require.Equal(t, optimizers[i].key, r.Key)
		require.Len(t, r.Epochs, 3, r.Name)
		first, last := r.Epochs[0], r.Epochs[2]
		require.Less(t, last.TrainLoss, first.TrainLoss, r.Name)
		require.Less(t, last.HeldOutLoss, first.HeldOutLoss, r.Name)
		require.Equal(t, optimizers[i].fullBatch, r.FullBatch, r.Name)
		steps := 2 * 23 // 2 epochs of 1438 samples in batches of 64
		if r.FullBatch {
			steps = 2
		}
		require.Len(t, r.StepLoss, steps, r.Name)
		require.Equal(t, 1, r.StepEval[0], r.Name)
		if closure(t, r.Key) {
			require.Greater(t, r.Evals, steps, r.Name) // the line search evaluates too
		} else {
			require.Equal(t, steps, r.Evals, r.Name)
			require.Equal(t, steps, r.StepEval[steps-1], r.Name)
		}
	}

	// The report: the table of part 1, a plain line per epoch (not a terminal), the
	// summary of part 2.
	out := log.String()
	require.Contains(t, out, "steps to f ≤ 1e-06")
	require.Contains(t, out, "Adam             epoch 2/2")
	require.NotContains(t, out, "\r")
	require.Contains(t, out, "held-out accuracy")
	require.Contains(t, out, "results.json")

	// Part 3: both range tests, every deep run with its monitor's CSV.
	require.Len(t, res.RangeTests, len(rangeKeys))
	require.Len(t, res.Deep, len(deepCases))
	for _, r := range res.Deep {
		st, err := os.Stat(filepath.Join(dir, r.Monitor))
		require.NoError(t, err, r.Name)
		require.Greater(t, st.Size(), int64(1000), r.Name)
	}
	require.Contains(t, out, "minimum/10")
	require.Contains(t, out, "The monitor's flags")
}

// The same seed and thread count give the same numbers, bit for bit.
func TestDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	_, err := run(short(a), &bytes.Buffer{}, 0)
	require.NoError(t, err)
	_, err = run(short(b), &bytes.Buffer{}, 0)
	require.NoError(t, err)
	ja, err := os.ReadFile(filepath.Join(a, "results.json"))
	require.NoError(t, err)
	jb, err := os.ReadFile(filepath.Join(b, "results.json"))
	require.NoError(t, err)
	require.Equal(t, string(ja), string(jb))

	// A different seed gives different numbers.
	cfg := short(t.TempDir())
	cfg.seed = 8
	cfg.part = "quadratic"
	res, err := run(cfg, &bytes.Buffer{}, 0)
	require.NoError(t, err)
	var first results
	require.NoError(t, json.Unmarshal(ja, &first))
	require.NotEqual(t, first.Quadratic[0].Loss[0], res.Quadratic[0].Loss[0])
}

// closure reports whether key's optimizer evaluates the loss through a closure.
func closure(t *testing.T, key string) bool {
	p, err := optim.NewParam("p", 1)
	require.NoError(t, err)
	defer p.Close()
	for _, o := range optimizers {
		if o.key == key {
			s, err := o.build([]*optim.Param{p}, hyper{lr: 1, lbfgsIter: 1})
			require.NoError(t, err)
			defer s.close()
			_, ok := s.(*closureStepper)
			return ok
		}
	}
	t.Fatalf("no optimizer %q", key)
	return false
}

// band is what one optimizer reaches with the demo's default settings (seed 1), as
// README.md reports it, with room for another machine's rounding: the steps to
// f ≤ 1e-6 in part 1 (-1: not within 2000), and in part 2 the final training loss and
// a floor for the held-out accuracy.
type band struct {
	stepsLo, stepsHi    int
	lossLo, lossHi, acc float64
}

var bands = map[string]band{
	"gd":           {99, 99, 1.15, 1.40, 0.85},    // 0.81 per step; 30 full-batch steps
	"sgd":          {950, 1250, 0.18, 0.28, 0.93}, // a tenth of the coordinates per step
	"momentum":     {75, 95, 0.04, 0.08, 0.95},
	"adagrad":      {105, 130, 0.025, 0.055, 0.95},
	"rmsprop":      {-1, -1, 0.09, 0.16, 0.94}, // hops around the minimum by about lr
	"adam":         {175, 210, 0.035, 0.075, 0.96},
	"adamw":        {175, 210, 0.035, 0.075, 0.96},
	"adamax":       {165, 200, 0.06, 0.11, 0.95},
	"radam":        {200, 250, 0.14, 0.25, 0.93}, // the rectification's warm-up costs it early steps
	"adadelta":     {800, 950, 0.05, 0.10, 0.95}, // starts with steps of about √eps/√(1−ρ)
	"rprop":        {50, 65, 0.015, 0.04, 0.93},  // 30 full-batch steps
	"nadam":        {-1, -1, 0.035, 0.075, 0.96},
	"asgd":         {99, 99, 0.18, 0.28, 0.93},       // GD in part 1, SGD in part 2: averaging starts at step 1e6
	"adafactor":    {-1, -1, 0.015, 0.05, 0.96},      // steps relative to RMS(θ), floored at eps2 = 1e-3: it stalls near 0
	"lion":         {-1, -1, 0.015, 0.05, 0.95},      // sign steps of lr hop around the minimum
	"ademamix":     {-1, -1, 0.03, 0.07, 0.96},       // its slow EMA overshoots the minimum and keeps it circling
	"muon":         {175, 210, 0.00005, 0.001, 0.96}, // part 1: θ is a vector, so AdamW; part 2: orthogonalised weight steps
	"lamb":         {160, 195, 0.002, 0.012, 0.96},   // Adam's steps scaled to ‖θ‖ per tensor
	"lars":         {115, 145, 0.012, 0.04, 0.96},    // SGD+momentum with LARC's per-tensor cap on the lr
	"schedulefree": {-1, -1, 0.025, 0.06, 0.96},      // part 1: y circles at a constant lr; part 2: evaluated at the average x
	"lbfgs":        {1, 3, 0.005, 0.03, 0.95},        // one curvature pair gives the exact inverse Hessian
}

// With the default settings every optimizer lands in its band.
func TestBands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	// The runs without the figures, which the race detector makes slow to draw.
	require.NoError(t, optim.SetThreads(2))
	cblas.SetThreads(2)
	quad, err := runQuadratic(optimizers, 2000, 0, 1, 1)
	require.NoError(t, err)
	require.Len(t, bands, len(optimizers), "every optimizer has a band")
	for _, r := range quad {
		b, ok := bands[r.Key]
		require.True(t, ok, r.Key)
		if b.stepsLo < 0 {
			require.Equal(t, -1, r.StepsTo, r.Name)
		} else {
			require.GreaterOrEqual(t, r.StepsTo, b.stepsLo, r.Name)
			require.LessOrEqual(t, r.StepsTo, b.stepsHi, r.Name)
		}
	}
	path, err := findDigits("")
	require.NoError(t, err)
	all, err := loadDigits(path)
	require.NoError(t, err)
	train, heldOut := all.split(1)
	dc := digitsConfig{epochs: 30, batch: 64, hidden: 128, lbfgsIter: 1, clip: 1, seed: 1}
	var res results
	for _, o := range optimizers {
		r, err := trainDigits(o, train, heldOut, dc, func(*digitsRun) {})
		require.NoError(t, err, o.name)
		res.Digits = append(res.Digits, r)
	}
	for _, r := range res.Digits {
		b := bands[r.Key]
		last := r.Epochs[len(r.Epochs)-1]
		require.GreaterOrEqual(t, last.TrainLoss, b.lossLo, r.Name)
		require.LessOrEqual(t, last.TrainLoss, b.lossHi, r.Name)
		require.GreaterOrEqual(t, last.Accuracy, b.acc, r.Name)
	}
}

// Every optimizer has a line style of its own, the same in every figure, and it stays
// so when the list grows past the palette, up to a colour in each dash pattern.
func TestStyles(t *testing.T) {
	distinct := func() {
		seen := map[string]string{}
		for _, o := range optimizers {
			st := styleOf(o.key)
			k := fmt.Sprint(st.color, st.dashes)
			require.NotContains(t, seen, k, "%s has %s's style", o.key, seen[k])
			seen[k] = o.key
		}
	}
	distinct()
	saved := optimizers
	defer func() { optimizers = saved }()
	optimizers = slices.Clone(saved)
	for i := 0; len(optimizers) < len(palette)*len(familyDashes); i++ {
		optimizers = append(optimizers, optimizer{key: fmt.Sprint("extra", i), family: true})
	}
	distinct()
}

// With classics and family members both chosen, each figure has two panels: the
// classics, and the family after Adam as their yardstick.
func TestPanels(t *testing.T) {
	var keys []string
	var lines []namedLine
	classics, family := 0, 0
	for _, o := range optimizers {
		keys = append(keys, o.key)
		lines = append(lines, namedLine{name: o.name})
		if o.family {
			family++
		} else {
			classics++
		}
	}
	ps := split("t", keys, lines)
	require.Len(t, ps, 2)
	require.Len(t, ps[0].lines, classics)
	require.Len(t, ps[1].lines, family+1)
	require.Equal(t, "Adam", ps[1].lines[0].name)
	require.Equal(t, "GD", ps[0].lines[0].name)

	require.Len(t, split("t", keys[:3], lines[:3]), 1) // classics only
	last := len(keys) - 1
	one := split("t", keys[last:], lines[last:]) // one family member
	require.Len(t, one, 1)
	require.Len(t, one[0].lines, 1)
}

func TestProgressOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := progress{w: &buf, width: 20}
	p.update("epoch 1 of a rather long line")
	p.update("epoch 2")
	p.finish()
	require.Equal(t, "\r\033[Kepoch 1 of a rather\r\033[Kepoch 2\n", buf.String())

	buf.Reset()
	p = progress{w: &buf}
	p.update("epoch 1")
	p.update("epoch 2")
	p.finish()
	require.Equal(t, "epoch 1\nepoch 2\n", buf.String())
}

func TestBadFlags(t *testing.T) {
	for _, mod := range []func(*config){
		func(c *config) { c.opt = "adam,nosuch" },
		func(c *config) { c.steps = 0 },
		func(c *config) { c.lbfgsIter = 0 },
		func(c *config) { c.lr = -1 },
		func(c *config) { c.part = "both" },
		func(c *config) { c.data = filepath.Join(t.TempDir(), "missing.csv.gz"); c.part = "digits" },
	} {
		cfg := short(t.TempDir())
		mod(&cfg)
		_, err := run(cfg, &bytes.Buffer{}, 0)
		require.Error(t, err)
	}
	opts, err := selectOptimizers(" Adam, sgd")
	require.NoError(t, err)
	require.Equal(t, "adam", opts[0].key)
	require.Equal(t, "sgd", opts[1].key)
}

func TestLoadDigits(t *testing.T) {
	path, err := findDigits("")
	require.NoError(t, err)
	d, err := loadDigits(path)
	require.NoError(t, err)
	require.Equal(t, 1797, d.len())
	require.Len(t, d.x, 1797*64)
	counts := make([]int, 10)
	for _, y := range d.y {
		counts[y]++
	}
	for c, n := range counts {
		require.InDelta(t, 180, n, 7, "class %d", c)
	}
	train, held := d.split(1)
	require.Equal(t, 1438, train.len())
	require.Equal(t, 359, held.len())

	bad := filepath.Join(t.TempDir(), "bad.csv.gz")
	require.NoError(t, os.WriteFile(bad, []byte("not gzip"), 0o644))
	_, err = loadDigits(bad)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "bad.csv.gz"))
}

// fullDigits is part 2's data and recipe at the demo's defaults, for the tests of part 3
// that check what the demo reports.
func fullDigits(t *testing.T) (train, heldOut dataset, dc digitsConfig) {
	t.Helper()
	require.NoError(t, optim.SetThreads(2))
	cblas.SetThreads(2)
	path, err := findDigits("")
	require.NoError(t, err)
	all, err := loadDigits(path)
	require.NoError(t, err)
	train, heldOut = all.split(1)
	return train, heldOut, digitsConfig{epochs: 30, batch: 64, hidden: 128, lbfgsIter: 1, clip: 1, seed: 1}
}

// The range test's suggestions train, with part 2's recipe, to within a point of the
// hand-tuned learning rate's held-out accuracy, for Adam and SGD+momentum.
func TestRangeTestSuggestionsTrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the MLP six times")
	}
	train, heldOut, dc := fullDigits(t)
	runs, err := runRangeTests(train, heldOut, dc, func(string) {})
	require.NoError(t, err)
	require.Len(t, runs, len(rangeKeys))
	for _, r := range runs {
		t.Logf("%s: tuned %g %.4f, steepest %.3g %.4f, minimum/10 %.3g %.4f", r.Name, r.TunedLR, r.TunedAcc, r.Steepest,
			r.SteepestAcc, r.MinOver10, r.MinOver10Acc)
		require.Greater(t, r.TunedAcc, 0.95, r.Name)
		require.InDelta(t, r.TunedAcc, r.SteepestAcc, 0.01, r.Name)
		require.InDelta(t, r.TunedAcc, r.MinOver10Acc, 0.01, r.Name)
		// the suggestions come from the tested range, not from the tuned value
		require.NotEqual(t, r.TunedLR, r.Steepest, r.Name)
		require.True(t, r.Steepest > 1e-4 && r.Steepest < 1, r.Name)
		require.True(t, r.MinOver10 > 1e-4 && r.MinOver10 < 1, r.Name)
		require.True(t, slices.IsSorted(r.LRs), r.Name)
		require.Len(t, r.Losses, len(r.LRs))
	}
}

// The monitor flags the deep sigmoid net as vanishing (its first layers), the tanh net
// with a large initial scale as exploding from the first step (its first layer
// largest), and stays quiet on part 2's MLP, with either optimizer.
func TestMonitorOnDeepNets(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four MLPs")
	}
	train, heldOut, dc := fullDigits(t)
	dir := t.TempDir()
	byKey := map[string]deepCase{}
	for _, c := range deepCases {
		byKey[c.key] = c
	}
	kinds := func(r *deepRun) map[string][]optim.MonitorFlag {
		m := map[string][]optim.MonitorFlag{}
		for _, f := range r.Flags {
			m[f.Kind] = append(m[f.Kind], f)
		}
		return m
	}

	r, err := trainDeep(byKey["sigmoid-sgd"], train, heldOut, dc, dir)
	require.NoError(t, err)
	k := kinds(r)
	require.NotEmpty(t, k[optim.FlagVanishing])
	require.Contains(t, k[optim.FlagVanishing][0].Params, "fc1.weight")
	require.Less(t, r.StartRatio, 1e-6)
	require.Less(t, r.Accuracy, 0.2) // SGD does not get it to learn

	r, err = trainDeep(byKey["tanh6-sgd"], train, heldOut, dc, dir)
	require.NoError(t, err)
	k = kinds(r)
	require.NotEmpty(t, k[optim.FlagExploding])
	require.Contains(t, k[optim.FlagExploding][0].Message, "step 1:")
	require.Equal(t, "fc1.weight", k[optim.FlagExploding][0].Params[0])
	require.Greater(t, r.StartRatio, 5.0)
	require.Empty(t, k[optim.FlagVanishing])

	for _, key := range []string{"mlp-sgd", "mlp-adam"} {
		r, err := trainDeep(byKey[key], train, heldOut, dc, dir)
		require.NoError(t, err)
		require.Empty(t, r.Flags, key)
		require.Greater(t, r.Accuracy, 0.95, key)
		rows, err := os.ReadFile(filepath.Join(dir, r.Monitor))
		require.NoError(t, err)
		require.Equal(t, 30*23+1, bytes.Count(rows, []byte("\n")), key) // a header and a row per step
	}
}
