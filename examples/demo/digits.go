package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goptim/goptim/examples/mlp"
)

const (
	digitsFile     = "testdata/digits/digits.csv.gz"
	digitsFeatures = 64 // 8x8 pixels, 0..16
	digitsClasses  = 10
	heldOutFrac    = 0.2
)

// dataset is a set of samples: row-major features scaled to [0, 1], and labels.
type dataset struct {
	x []float32
	y []int
}

func (d dataset) len() int { return len(d.y) }

// findDigits returns path if given, else testdata/digits/digits.csv.gz in the current
// folder or the nearest parent that has it (so the demo runs from anywhere in the repo).
func findDigits(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, digitsFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found here or in a parent folder: run from the repository or pass -data", digitsFile)
		}
		dir = parent
	}
}

// loadDigits reads the gzipped CSV (64 pixel values then the label on each line).
func loadDigits(path string) (dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return dataset{}, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return dataset{}, fmt.Errorf("%s: %w", path, err)
	}
	var d dataset
	sc := bufio.NewScanner(z)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if len(fields) != digitsFeatures+1 {
			return dataset{}, fmt.Errorf("%s:%d: %d fields, want %d", path, line, len(fields), digitsFeatures+1)
		}
		for i, s := range fields {
			v, err := strconv.Atoi(s)
			if err != nil {
				return dataset{}, fmt.Errorf("%s:%d: %w", path, line, err)
			}
			switch {
			case i < digitsFeatures && v >= 0 && v <= 16:
				d.x = append(d.x, float32(v)/16)
			case i == digitsFeatures && v >= 0 && v < digitsClasses:
				d.y = append(d.y, v)
			default:
				return dataset{}, fmt.Errorf("%s:%d: value %d out of range in field %d", path, line, v, i+1)
			}
		}
	}
	if err := errors.Join(sc.Err(), z.Close()); err != nil {
		return dataset{}, fmt.Errorf("%s: %w", path, err)
	}
	if d.len() == 0 {
		return dataset{}, fmt.Errorf("%s: no samples", path)
	}
	return d, nil
}

// subset returns the samples at idx, in that order.
func (d dataset) subset(idx []int) dataset {
	out := dataset{x: make([]float32, 0, len(idx)*digitsFeatures), y: make([]int, 0, len(idx))}
	for _, i := range idx {
		out.x = append(out.x, d.x[i*digitsFeatures:(i+1)*digitsFeatures]...)
		out.y = append(out.y, d.y[i])
	}
	return out
}

// split shuffles the samples (seeded) and holds out a fifth of them.
func (d dataset) split(seed uint64) (train, heldOut dataset) {
	perm := rand.New(rand.NewPCG(seed, 3)).Perm(d.len())
	n := int(float64(d.len()) * heldOutFrac)
	return d.subset(perm[n:]), d.subset(perm[:n])
}

// epochStats are the numbers reported after each epoch; Epochs[0] is the start.
type epochStats struct {
	TrainLoss   float64 // mean cross-entropy over the whole training set
	HeldOutLoss float64
	Accuracy    float64 // held out
	LR          float64 // at the end of the epoch
	Clipped     int     // steps in the epoch whose gradient norm was clipped
}

// digitsRun is one optimizer's training run.
type digitsRun struct {
	Key, Name string
	LR        float64
	Batch     int
	FullBatch bool      // every step sees the whole training set
	StepLoss  []float64 // the batch loss of every step, before the step
	// StepEval[k] is the number of the gradient evaluation (from 1) that measured
	// StepLoss[k]: k+1 for one evaluation per step; L-BFGS's line search takes more.
	StepEval []int
	Evals    int // gradient evaluations in all, each over the step's batch
	Epochs   []epochStats
	elapsed  time.Duration // not compared between runs
}

type digitsConfig struct {
	epochs, batch, hidden int
	lbfgsIter             int
	lr, clip              float64
	seed                  uint64
	// Part 3's deep nets: the hidden layers' sizes (nil: one of hidden units), the
	// activation and initial scale, and a hook called after every backward pass with
	// the step's number (from 1), loss and learning rate, before the optimizer steps.
	layers []int
	arch   mlp.Options
	record func(step int, loss, lr float64) error
}

// sizes are the MLP's layer sizes: inputs, hidden layers, classes.
func (c digitsConfig) sizes() []int {
	hidden := c.layers
	if hidden == nil {
		hidden = []int{c.hidden}
	}
	return append(append([]int{digitsFeatures}, hidden...), digitsClasses)
}

// trainDigits trains an MLP (64 → hidden → 10) with optimizer o: the same initial
// weights and the same batch order for every optimizer (both drawn from the seed),
// a cosine learning-rate schedule over all steps, and gradient clipping fused into the
// step (except for closure methods: see closureStepper). report is called after every
// epoch.
func trainDigits(o optimizer, train, heldOut dataset, cfg digitsConfig, report func(r *digitsRun)) (*digitsRun, error) {
	start := time.Now()
	r := &digitsRun{Key: o.key, Name: o.name, LR: o.digitsLR, Batch: cfg.batch}
	if cfg.lr > 0 {
		r.LR = cfg.lr
	}
	if o.fullBatch || r.Batch > train.len() {
		r.Batch = train.len() // gradient descent: the whole training set every step
	}
	r.FullBatch = r.Batch == train.len()
	net, err := mlp.NewWithOptions(cfg.sizes(), max(r.Batch, heldOut.len()), rand.New(rand.NewPCG(cfg.seed, 4)), cfg.arch)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	opt, err := o.build(net.Params(), hyper{lr: r.LR, lbfgsIter: cfg.lbfgsIter})
	if err != nil {
		return nil, err
	}
	defer opt.close()
	stepsPerEpoch := (train.len() + r.Batch - 1) / r.Batch
	if err := opt.train(cfg.clip, cfg.epochs*stepsPerEpoch); err != nil {
		return nil, err
	}

	evaluate := func(st epochStats) (err error) {
		if sw, ok := opt.(evalSwitcher); ok {
			if err := sw.toEval(); err != nil {
				return err
			}
			defer func() { err = errors.Join(err, sw.toTrain()) }()
		}
		var err1, err2 error
		st.TrainLoss, _, err1 = net.Evaluate(train.x, train.y)
		st.HeldOutLoss, st.Accuracy, err2 = net.Evaluate(heldOut.x, heldOut.y)
		st.LR = opt.lr()
		r.Epochs = append(r.Epochs, st)
		return errors.Join(err1, err2)
	}
	if err := evaluate(epochStats{}); err != nil {
		return nil, err
	}
	order := rand.New(rand.NewPCG(cfg.seed, 5))
	perm := make([]int, train.len())
	for i := range perm {
		perm[i] = i
	}
	for epoch := 1; epoch <= cfg.epochs; epoch++ {
		order.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		batches := train.subset(perm) // this epoch's order
		clippedBefore := opt.clipped()
		for lo := 0; lo < train.len(); lo += r.Batch {
			hi := min(lo+r.Batch, train.len())
			x, y := batches.x[lo*digitsFeatures:hi*digitsFeatures], batches.y[lo:hi]
			loss, n, err := opt.step(func() (float64, error) {
				loss, err := net.TrainStep(x, y)
				if err == nil && cfg.record != nil {
					err = cfg.record(len(r.StepLoss)+1, loss, opt.lr())
				}
				return loss, err
			})
			if err != nil {
				return nil, err
			}
			r.StepLoss, r.StepEval = append(r.StepLoss, loss), append(r.StepEval, r.Evals+1)
			r.Evals += n
		}
		st := epochStats{Clipped: opt.clipped() - clippedBefore}
		if err := evaluate(st); err != nil {
			return nil, err
		}
		report(r)
	}
	r.elapsed = time.Since(start)
	return r, nil
}
