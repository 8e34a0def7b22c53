package main

import (
	"math/rand/v2"

	"github.com/goptim/goptim/optim"
)

// quadRun is one optimizer's run on f(θ) = Σθ².
type quadRun struct {
	Key, Name string
	LR        float64
	Loss      []float64 // Loss[t]: f after t steps (Loss[0] is the start)
	Evals     []int     // Evals[t]: gradient evaluations in the first t steps (t, except for L-BFGS)
	StepsTo   int       // first t with Loss[t] <= quadTarget; -1 if never within the steps
	EvalsTo   int       // Evals[StepsTo]; -1 if never
}

const (
	quadN      = 1000 // parameters
	quadTarget = 1e-6 // the loss "steps to reach" counts to
	quadFrac   = 10   // mini-batch SGD sees 1/quadFrac of the coordinates per step
)

// runQuadratic minimises f(θ) = Σθ² from the same random start (θ_i ~ N(0,1), drawn
// from seed) with each optimizer for the given number of steps.
func runQuadratic(opts []optimizer, steps int, lr float64, lbfgsIter int, seed uint64) ([]quadRun, error) {
	start := make([]float32, quadN)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range start {
		start[i] = float32(rng.NormFloat64())
	}
	var runs []quadRun
	for _, o := range opts {
		r := quadRun{Key: o.key, Name: o.name, LR: o.quadLR, StepsTo: -1, EvalsTo: -1}
		if lr > 0 {
			r.LR = lr
		}
		if err := quadOne(o, &r, start, steps, lbfgsIter, seed); err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

func quadOne(o optimizer, r *quadRun, start []float32, steps, lbfgsIter int, seed uint64) error {
	theta, err := optim.NewParam("theta", quadN)
	if err != nil {
		return err
	}
	defer theta.Close()
	if err := theta.Data.CopyFrom(start); err != nil {
		return err
	}
	opt, err := o.build([]*optim.Param{theta}, hyper{lr: r.LR, lbfgsIter: lbfgsIter})
	if err != nil {
		return err
	}
	defer opt.close()

	// The gradient is computed on the host, so this also runs on the GPU build.
	x, g := make([]float32, quadN), make([]float32, quadN)
	pick := rand.New(rand.NewPCG(seed, 2)) // which coordinates mini-batch SGD sees
	perm := make([]int, quadN)
	f := func() (float64, error) {
		if err := theta.Data.CopyTo(x); err != nil {
			return 0, err
		}
		var loss float64
		for _, v := range x {
			loss += float64(v) * float64(v)
		}
		return loss, nil
	}
	eval := func() (float64, error) {
		loss, err := f()
		if err != nil {
			return 0, err
		}
		if o.subBatch {
			// The gradient of the sum over a random tenth of the coordinates.
			clear(g)
			for i := range perm {
				perm[i] = i
			}
			for i := 0; i < quadN/quadFrac; i++ {
				j := i + pick.IntN(quadN-i)
				perm[i], perm[j] = perm[j], perm[i]
				g[perm[i]] = 2 * x[perm[i]]
			}
		} else {
			for i, v := range x {
				g[i] = 2 * v
			}
		}
		return loss, theta.Grad.CopyFrom(g)
	}
	evals := 0
	record := func(t int, loss float64) {
		r.Loss, r.Evals = append(r.Loss, loss), append(r.Evals, evals)
		if r.StepsTo < 0 && loss <= quadTarget {
			r.StepsTo, r.EvalsTo = t, evals
		}
	}
	for t := 0; t < steps; t++ {
		loss, n, err := opt.step(eval) // loss: f before the step, after t steps
		if err != nil {
			return err
		}
		record(t, loss)
		evals += n
	}
	loss, err := f()
	if err != nil {
		return err
	}
	record(steps, loss)
	return nil
}
