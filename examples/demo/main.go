// Command demo is goptim's demonstration (`make demo`): it compares the optimizers of
// package optim on f(θ) = Σθ², trains a small multilayer perceptron on the UCI
// handwritten digits with each of them, answers which learning rate to use (a range
// test) and whether gradients vanish or explode (a deep narrow MLP watched by
// optim.Monitor), and writes figures of each.
// See README.md in this folder for what the output shows.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/goptim/goptim/cblas"
	"github.com/goptim/goptim/optim"
)

type config struct {
	opt           string
	lr, clip      float64
	epochs, batch int
	hidden, steps int
	lbfgsIter     int
	threads       int
	seed          uint64
	out, data     string
	part          string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.opt, "opt", "all", "optimizers to run: all, or a comma-separated list of "+optimizerKeys())
	flag.Float64Var(&cfg.lr, "lr", 0, "learning rate for every chosen optimizer (0: each one's own, listed in README.md)")
	flag.IntVar(&cfg.steps, "steps", 2000, "part 1: optimizer steps on f(θ) = Σθ²")
	flag.IntVar(&cfg.epochs, "epochs", 30, "part 2: training epochs (passes over the training set)")
	flag.IntVar(&cfg.batch, "batch", 64, "part 2: mini-batch size (gd, rprop and lbfgs always take the whole training set)")
	flag.IntVar(&cfg.hidden, "hidden", 128, "part 2: hidden units of the MLP 64 → hidden → 10")
	flag.IntVar(&cfg.lbfgsIter, "lbfgs-iter", 1, "L-BFGS's iterations per step (torch's max_iter; its default is 20)")
	flag.Float64Var(&cfg.clip, "clip", 1, "part 2: clip the gradient's L2 norm to this (0: no clipping)")
	flag.Uint64Var(&cfg.seed, "seed", 1, "random seed: start point, weights, data split and batch order")
	flag.IntVar(&cfg.threads, "threads", 0, "CPU threads for the optimizer kernels and OpenBLAS (0: one per CPU)")
	flag.StringVar(&cfg.out, "out", "demo-out", "folder for the figures and results.json (created if missing)")
	flag.StringVar(&cfg.data, "data", "", "the digits data set (default: "+digitsFile+" in this folder or a parent)")
	flag.StringVar(&cfg.part, "part", "all", "which part to run: all, quadratic, digits or diagnostics")
	flag.Usage = func() {
		w := flag.CommandLine.Output()
		fmt.Fprintf(w, `Usage: go run ./examples/demo [flags]

Compares goptim's optimizers (the keys of -opt below) in two parts, then a third:
  1. minimising f(θ) = Σθ² over %d parameters from one random start: a table of f after
     fixed step counts and the steps (and gradient evaluations) each needs to reach
     f <= %g;
  2. training an MLP (BLAS matrix products, softmax cross-entropy) on the UCI 8x8
     handwritten digits with each optimizer, a cosine learning-rate schedule and gradient
     clipping: training loss and held-out accuracy per epoch;
  3. diagnostics (SGD+momentum and Adam, whatever -opt says): the learning-rate range
     test on part 2's MLP and the accuracy its suggestions train to, and a deep narrow
     MLP (10 layers, sigmoid or tanh) whose per-layer gradient norms vanish or explode,
     watched by optim.Monitor (CSV files), with clipping and Adam.
It writes PNG and SVG figures of loss against gradient evaluations (one per step, more
for L-BFGS's line search) for both parts and results.json to the -out folder. The
numbers are the same on every run with the same -seed and -threads.

Flags:
`, quadN, quadTarget)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	// On a terminal the progress line is rewritten in place, cut to the terminal's width.
	width := 0
	if fd := int(os.Stdout.Fd()); term.IsTerminal(fd) {
		if width, _, _ = term.GetSize(fd); width <= 0 {
			width = 80
		}
	}
	if _, err := run(cfg, os.Stdout, width); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// results is everything the demo measures, as results.json holds it; for a fixed seed
// and thread count it is the same on every run.
type results struct {
	Backend    string
	Threads    int
	Seed       uint64
	Quadratic  []quadRun    `json:",omitempty"`
	Digits     []*digitsRun `json:",omitempty"`
	RangeTests []rangeRun   `json:",omitempty"`
	Deep       []deepRun    `json:",omitempty"`
	Files      []string     `json:"-"`
}

// run runs the demo with cfg, writing its report to w and its files to cfg.out. With
// termWidth > 0, w is a terminal that wide and progress lines are rewritten in place.
func run(cfg config, w io.Writer, termWidth int) (*results, error) {
	opts, err := selectOptimizers(cfg.opt)
	if err != nil {
		return nil, err
	}
	if cfg.steps < 1 || cfg.epochs < 1 || cfg.batch < 1 || cfg.hidden < 1 || cfg.lbfgsIter < 1 || cfg.lr < 0 || cfg.clip < 0 || math.IsNaN(cfg.lr+cfg.clip) {
		return nil, errors.New("-steps, -epochs, -batch, -hidden and -lbfgs-iter must be positive, -lr and -clip not negative")
	}
	doQuad, doDigits := cfg.part == "all" || cfg.part == "quadratic", cfg.part == "all" || cfg.part == "digits"
	doDiag := cfg.part == "all" || cfg.part == "diagnostics"
	if !doQuad && !doDigits && !doDiag {
		return nil, fmt.Errorf("-part %q: want all, quadratic, digits or diagnostics", cfg.part)
	}
	if cfg.threads <= 0 {
		cfg.threads = runtime.NumCPU()
	}
	if err := optim.SetThreads(cfg.threads); err != nil {
		return nil, err
	}
	// On the CPU build the MLP's matrix products (optim.Gemm) run in OpenBLAS, which
	// has its own thread pool: optim.SetThreads sizes only the optimizer kernels'.
	cblas.SetThreads(cfg.threads)
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return nil, err
	}
	res := &results{Backend: optim.Backend(), Threads: cfg.threads, Seed: cfg.seed}
	fmt.Fprintf(w, "goptim demo: %s backend, %d threads, seed %d\n", res.Backend, cfg.threads, cfg.seed)

	if doQuad {
		fmt.Fprintf(w, "\nPart 1: minimise f(θ) = Σθ² over %d parameters from one random start, %d steps\n\n", quadN, cfg.steps)
		res.Quadratic, err = runQuadratic(opts, cfg.steps, cfg.lr, cfg.lbfgsIter, cfg.seed)
		if err != nil {
			return nil, err
		}
		printQuadratic(w, res.Quadratic, cfg.steps)
		files, err := quadraticFigure(res.Quadratic).save(cfg.out)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, files...)
	}

	var train, heldOut dataset
	if doDigits || doDiag {
		path, err := findDigits(cfg.data)
		if err != nil {
			return nil, err
		}
		all, err := loadDigits(path)
		if err != nil {
			return nil, err
		}
		train, heldOut = all.split(cfg.seed)
	}
	dc := digitsConfig{epochs: cfg.epochs, batch: cfg.batch, hidden: cfg.hidden, lbfgsIter: cfg.lbfgsIter, lr: cfg.lr,
		clip: cfg.clip, seed: cfg.seed}

	if doDigits {
		clip := "no clipping"
		if cfg.clip > 0 {
			clip = fmt.Sprintf("gradient norm clipped to %g", cfg.clip)
		}
		fmt.Fprintf(w, "\nPart 2: MLP %d-%d-%d on the UCI handwritten digits (%d training, %d held out), batch %d, %d epochs,\n"+
			"cosine learning-rate schedule, %s\n\n",
			digitsFeatures, cfg.hidden, digitsClasses, train.len(), heldOut.len(), cfg.batch, cfg.epochs, clip)
		p := progress{w: w, width: termWidth}
		for _, o := range opts {
			r, err := trainDigits(o, train, heldOut, dc, func(r *digitsRun) {
				e := len(r.Epochs) - 1
				st := r.Epochs[e]
				p.update(fmt.Sprintf("%-16s epoch %*d/%d  train loss %.4f  held-out loss %.4f  accuracy %6.2f%%  lr %.3g  clipped %d/%d",
					r.Name, len(fmt.Sprint(cfg.epochs)), e, cfg.epochs, st.TrainLoss, st.HeldOutLoss, 100*st.Accuracy, st.LR,
					st.Clipped, len(r.StepLoss)/e))
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.name, err)
			}
			p.finish()
			res.Digits = append(res.Digits, r)
		}
		fmt.Fprintln(w)
		printDigits(w, res.Digits)
		for _, f := range []figure{digitsLossFigure(res.Digits, 10), digitsAccuracyFigure(res.Digits)} {
			files, err := f.save(cfg.out)
			if err != nil {
				return nil, err
			}
			res.Files = append(res.Files, files...)
		}
	}

	if doDiag {
		fmt.Fprintf(w, "\nPart 3a: learning-rate range test on part 2's MLP (lr from 1e-7 to 10 over at most 100 batches),\n"+
			"then part 2's training at the tuned lr and at each suggestion\n\n")
		p := progress{w: w, width: termWidth}
		dcr := dc
		dcr.lr = 0
		res.RangeTests, err = runRangeTests(train, heldOut, dcr, p.update)
		if err != nil {
			return nil, err
		}
		p.finish()
		fmt.Fprintln(w)
		printRangeTests(w, res.RangeTests)
		fmt.Fprintf(w, "\nPart 3b: a deep narrow MLP (64, %d hidden layers of %d, 10), %d epochs as in part 2, gradients watched by optim.Monitor\n\n",
			deepHidden, deepWidth, cfg.epochs)
		res.Deep, err = runDeep(train, heldOut, dc, cfg.out, p.update)
		if err != nil {
			return nil, err
		}
		p.finish()
		fmt.Fprintln(w)
		printDeep(w, res.Deep)
		for _, f := range []figure{rangeFigure(res.RangeTests), deepFigure(res.Deep)} {
			files, err := f.save(cfg.out)
			if err != nil {
				return nil, err
			}
			res.Files = append(res.Files, files...)
		}
		for _, r := range res.Deep {
			res.Files = append(res.Files, filepath.Join(cfg.out, r.Monitor))
		}
	}

	js, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.out, "results.json")
	if err := os.WriteFile(path, append(js, '\n'), 0o644); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, path)
	fmt.Fprintf(w, "\nWrote to %s: %s\n", cfg.out, strings.Join(baseNames(res.Files), ", "))
	return res, nil
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// printQuadratic prints f after 10, 100, 1000, … steps, and the steps and gradient
// evaluations to quadTarget.
func printQuadratic(w io.Writer, runs []quadRun, steps int) {
	var at []int
	for t := 10; t < steps; t *= 10 {
		at = append(at, t)
	}
	at = append(at, steps)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-16s\tlr\tstart", "optimizer")
	for _, t := range at {
		fmt.Fprintf(tw, "\tafter %d", t)
	}
	fmt.Fprintf(tw, "\tsteps to f ≤ %g\tevaluations\t\n", quadTarget)
	for _, r := range runs {
		fmt.Fprintf(tw, "%-16s\t%g\t%.4g", r.Name, r.LR, r.Loss[0]) // padded: names read left-aligned
		for _, t := range at {
			fmt.Fprintf(tw, "\t%.3g", r.Loss[t])
		}
		if r.StepsTo >= 0 {
			fmt.Fprintf(tw, "\t%d\t%d\t\n", r.StepsTo, r.EvalsTo)
		} else {
			fmt.Fprintf(tw, "\t> %d\t> %d\t\n", steps, r.Evals[steps])
		}
	}
	tw.Flush()
}

// printDigits prints each run's start and final numbers, and the steps and gradient
// evaluations (each over the step's batch) it took.
func printDigits(w io.Writer, runs []*digitsRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-16s\tlr\tbatch\tsteps\tevaluations\tstart loss\ttrain loss\theld-out loss\theld-out accuracy\ttime\t\n", "optimizer")
	for _, r := range runs {
		first, last := r.Epochs[0], r.Epochs[len(r.Epochs)-1]
		fmt.Fprintf(tw, "%-16s\t%g\t%d\t%d\t%d\t%.4f\t%.4f\t%.4f\t%.2f%%\t%.2fs\t\n", r.Name, r.LR, r.Batch, len(r.StepLoss),
			r.Evals, first.TrainLoss, last.TrainLoss, last.HeldOutLoss, 100*last.Accuracy, r.elapsed.Seconds())
	}
	tw.Flush()
}

// progress prints a status line that, on a terminal (width > 0), is rewritten in
// place; elsewhere (a pipe, a log file) every update is a line of its own.
type progress struct {
	w       io.Writer
	width   int
	pending bool
}

func (p *progress) update(line string) {
	if p.width > 0 {
		if r := []rune(line); len(r) >= p.width {
			line = string(r[:p.width-1]) // a wrapped line could not be rewritten
		}
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.pending = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// finish keeps the current line and moves on to a new one.
func (p *progress) finish() {
	if p.pending {
		fmt.Fprintln(p.w)
		p.pending = false
	}
}
