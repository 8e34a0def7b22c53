package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

// An optimizer the demo compares, with the learning rate it uses in each part unless
// -lr overrides it, and how to build it over a list of params.
type optimizer struct {
	key, name        string
	quadLR, digitsLR float64
	// fullBatch: every step sees the whole training set in part 2 (GD, and the methods
	// built for exact gradients: Rprop, L-BFGS). subBatch: in part 1 each step sees the
	// gradient of a random tenth of the coordinates (mini-batch SGD).
	fullBatch, subBatch bool
	// family: drawn in the figures' second panel, beside Adam, instead of with the
	// first-order classics, so that neither panel holds more curves than the eye can
	// follow.
	family bool
	// overlaps: its curves lie on an earlier entry's (AdamW on Adam), so they are
	// drawn dotted to let both show.
	overlaps bool
	build    func(params []*optim.Param, h hyper) (stepper, error)
}

// hyper are the options an optimizer is built with: the learning rate, and for L-BFGS
// its iterations per Step (-lbfgs-iter).
type hyper struct {
	lr        float64
	lbfgsIter int
}

// optimizers are the contenders, in the order of every table and plot. The learning
// rates are each one's well-tried value for the problem, not a tuning contest: see
// README.md. Adding one is an entry here: its key, name, learning rates, and its
// constructor with torch's defaults and the learning rate replaced.
var optimizers = []optimizer{
	{key: "gd", name: "GD", quadLR: 0.05, digitsLR: 0.5, fullBatch: true, build: sgd(0)},
	{key: "sgd", name: "SGD (mini-batch)", quadLR: 0.05, digitsLR: 0.1, subBatch: true, build: sgd(0)},
	{key: "momentum", name: "SGD+momentum", quadLR: 0.05, digitsLR: 0.05, build: sgd(0.9)},
	{key: "adagrad", name: "Adagrad", quadLR: 0.5, digitsLR: 0.05,
		build: firstOrder(optim.AdagradDefaults, optim.NewAdagrad, func(c *optim.AdagradConfig, lr float64) { c.LR = lr })},
	{key: "rmsprop", name: "RMSprop", quadLR: 0.01, digitsLR: 1e-3,
		build: firstOrder(optim.RMSpropDefaults, optim.NewRMSprop, func(c *optim.RMSpropConfig, lr float64) { c.LR = lr })},
	{key: "adam", name: "Adam", quadLR: 0.1, digitsLR: 3e-3,
		build: firstOrder(optim.AdamDefaults, optim.NewAdam, func(c *optim.AdamConfig, lr float64) { c.LR = lr })},
	{key: "adamw", name: "AdamW", quadLR: 0.1, digitsLR: 3e-3, overlaps: true,
		build: firstOrder(optim.AdamWDefaults, optim.NewAdamW, func(c *optim.AdamConfig, lr float64) { c.LR = lr })},

	{key: "adamax", name: "Adamax", quadLR: 0.2, digitsLR: 6e-3, family: true,
		build: firstOrder(optim.AdamaxDefaults, optim.NewAdamax, func(c *optim.AdamaxConfig, lr float64) { c.LR = lr })},
	{key: "radam", name: "RAdam", quadLR: 0.1, digitsLR: 3e-3, family: true,
		build: firstOrder(optim.RAdamDefaults, optim.NewRAdam, func(c *optim.RAdamConfig, lr float64) { c.LR = lr })},
	{key: "adadelta", name: "Adadelta", quadLR: 1, digitsLR: 1, family: true,
		build: firstOrder(optim.AdadeltaDefaults, optim.NewAdadelta, func(c *optim.AdadeltaConfig, lr float64) { c.LR = lr })},
	{key: "rprop", name: "Rprop", quadLR: 0.01, digitsLR: 0.01, fullBatch: true, family: true,
		build: firstOrder(optim.RpropDefaults, optim.NewRprop, func(c *optim.RpropConfig, lr float64) { c.LR = lr })},
	{key: "nadam", name: "NAdam", quadLR: 0.1, digitsLR: 3e-3, family: true,
		build: firstOrder(optim.NAdamDefaults, optim.NewNAdam, func(c *optim.NAdamConfig, lr float64) { c.LR = lr })},
	{key: "asgd", name: "ASGD", quadLR: 0.05, digitsLR: 0.1, family: true,
		build: firstOrder(optim.ASGDDefaults, optim.NewASGD, func(c *optim.ASGDConfig, lr float64) { c.LR = lr })},
	{key: "adafactor", name: "Adafactor", quadLR: 0.1, digitsLR: 0.03, family: true,
		build: firstOrder(optim.AdafactorDefaults, optim.NewAdafactor, func(c *optim.AdafactorConfig, lr float64) { c.LR = lr })},
	{key: "lion", name: "Lion", quadLR: 0.01, digitsLR: 1e-3, family: true,
		build: firstOrder(optim.LionDefaults, optim.NewLion, func(c *optim.LionConfig, lr float64) { c.LR = lr })},
	{key: "ademamix", name: "AdEMAMix", quadLR: 0.1, digitsLR: 3e-3, family: true,
		build: firstOrder(optim.AdEMAMixDefaults, optim.NewAdEMAMix, func(c *optim.AdEMAMixConfig, lr float64) { c.LR = lr })},
	// Muon steps the weight matrices (the MLP gives its params torch's shapes) and its
	// AdamW the rest, both at lr; on the quadratic θ is one vector: AdamW alone.
	{key: "muon", name: "Muon", quadLR: 0.1, digitsLR: 0.02, family: true,
		build: firstOrder(optim.MuonDefaults, optim.NewMuon, func(c *optim.MuonConfig, lr float64) {
			c.LR, c.Aux.LR = lr, lr
		})},
	// LAMB scales each tensor's Adam step by ‖θ‖/‖update‖ (weight decay 0.01 turns
	// the ratio on); LARS is SGD with momentum 0.9 whose lr each tensor caps by
	// 0.02·‖θ‖/‖g‖ (apex's LARC).
	{key: "lamb", name: "LAMB", quadLR: 0.1, digitsLR: 0.01, family: true,
		build: firstOrder(optim.LAMBDefaults, optim.NewLAMB, func(c *optim.LAMBConfig, lr float64) { c.LR = lr })},
	{key: "lars", name: "LARS", quadLR: 0.05, digitsLR: 0.1, family: true,
		build: firstOrder(func() optim.LARSConfig {
			c := optim.LARSDefaults(0)
			c.Momentum = 0.9
			return c
		}, optim.NewLARS, func(c *optim.LARSConfig, lr float64) { c.LR = lr })},
	// Schedule-Free AdamW trains without part 2's cosine schedule (its average of the
	// iterates takes the schedule's place) and is evaluated at that average.
	{key: "schedulefree", name: "Schedule-Free AdamW", quadLR: 0.1, digitsLR: 3e-3, family: true,
		build: scheduleFree},
	{key: "lbfgs", name: "L-BFGS", quadLR: 1, digitsLR: 1, fullBatch: true, family: true, build: lbfgs},
}

// selectOptimizers parses -opt: "all" or a comma-separated list of keys.
func selectOptimizers(s string) ([]optimizer, error) {
	if s == "all" || s == "" {
		return optimizers, nil
	}
	var out []optimizer
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(strings.ToLower(k))
		found := false
		for _, o := range optimizers {
			if o.key == k {
				out, found = append(out, o), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown optimizer %q (want all or some of %s)", k, optimizerKeys())
		}
	}
	return out, nil
}

func optimizerKeys() string {
	var ks []string
	for _, o := range optimizers {
		ks = append(ks, o.key)
	}
	return strings.Join(ks, ",")
}

// sgd builds torch's SGD with the given momentum.
func sgd(momentum float64) func([]*optim.Param, hyper) (stepper, error) {
	return func(params []*optim.Param, h hyper) (stepper, error) {
		cfg := optim.SGDDefaults(h.lr)
		cfg.Momentum = momentum
		opt, err := optim.NewSGD(params, cfg)
		if err != nil {
			return nil, err
		}
		return &gradStepper{opt: opt}, nil
	}
}

// firstOrder builds an optimizer of package optim from its torch defaults with the
// learning rate replaced (setLR writes it into the config).
func firstOrder[C any, O optim.Optimizer](defaults func() C, newOpt func([]*optim.Param, C) (O, error),
	setLR func(*C, float64)) func([]*optim.Param, hyper) (stepper, error) {
	return func(params []*optim.Param, h hyper) (stepper, error) {
		cfg := defaults()
		setLR(&cfg, h.lr)
		opt, err := newOpt(params, cfg)
		if err != nil {
			return nil, err
		}
		return &gradStepper{opt: opt}, nil
	}
}

// lbfgs builds torch's LBFGS with its strong Wolfe line search and h.lbfgsIter
// iterations per Step. The demo's default is one, so that a Step is one quasi-Newton
// step, plotted as one point like a step of GD, with the evaluations its line search
// takes counted in the tables; torch's default of 20 would hide up to 20 steps and 25
// evaluations in each Step (README.md compares the two).
func lbfgs(params []*optim.Param, h hyper) (stepper, error) {
	cfg := optim.LBFGSDefaults()
	cfg.LR, cfg.MaxIter, cfg.LineSearch = h.lr, h.lbfgsIter, optim.LineSearchStrongWolfe
	opt, err := optim.NewLBFGS(params, cfg)
	if err != nil {
		return nil, err
	}
	return &closureStepper{opt: opt, rate: h.lr}, nil
}

// stepper is an optimizer as the demo's training loops drive it, whether it takes a
// gradient per step (package optim's Optimizer) or evaluates the loss as often as it
// needs through a closure (L-BFGS).
type stepper interface {
	// step takes one step. eval computes the loss at the params' current values and
	// writes their gradients; step returns the loss before the step and how many
	// times it called eval.
	step(eval func() (float64, error)) (loss float64, evals int, err error)
	// train sets up part 2's training recipe over the given number of steps: gradient
	// clipping to L2 norm clip (0: none) and a cosine learning-rate schedule.
	train(clip float64, steps int) error
	lr() float64  // the current learning rate
	clipped() int // the steps so far whose gradient norm was clipped
	close() error
}

// gradStepper drives an optimizer that takes one gradient per step.
type gradStepper struct {
	opt      optim.Optimizer
	clip     float64
	sched    schedule.Scheduler
	nClipped int
}

func (s *gradStepper) step(eval func() (float64, error)) (float64, int, error) {
	loss, err := eval()
	if err != nil {
		return 0, 1, err
	}
	if s.clip > 0 {
		err = s.opt.ClipStep(s.clip, 2) // clip_grad_norm_ and step in one pass
		if norm, err2 := s.opt.LastGradNorm(); err2 == nil && norm > s.clip {
			s.nClipped++
		}
	} else {
		err = s.opt.Step()
	}
	if err == nil && s.sched != nil {
		err = s.sched.Step()
	}
	return loss, 1, err
}

func (s *gradStepper) train(clip float64, steps int) error {
	sched, err := schedule.NewCosineAnnealingLR(s.opt, schedule.CosineAnnealingLRConfig{TMax: steps})
	if err != nil {
		return err
	}
	s.clip, s.sched = clip, sched
	return nil
}

func (s *gradStepper) lr() float64  { return s.opt.GroupLR(0) }
func (s *gradStepper) clipped() int { return s.nClipped }
func (s *gradStepper) close() error { return s.opt.Close() }

// evalSwitcher is a stepper whose params hold the point the gradients are taken at,
// not the one to evaluate (Schedule-Free's y and x): every evaluation of part 2 is
// bracketed by toEval and toTrain.
type evalSwitcher interface {
	toEval() error
	toTrain() error
}

// scheduleFree builds Schedule-Free AdamW with its reference's defaults and the
// learning rate replaced, in train mode.
func scheduleFree(params []*optim.Param, h hyper) (stepper, error) {
	cfg := optim.ScheduleFreeAdamWDefaults()
	cfg.LR = h.lr
	opt, err := optim.NewScheduleFreeAdamW(params, cfg)
	if err != nil {
		return nil, err
	}
	if err := opt.Train(); err != nil {
		return nil, errors.Join(err, opt.Close())
	}
	return &sfStepper{gradStepper: gradStepper{opt: opt}, sf: opt}, nil
}

// sfStepper is gradStepper without the learning-rate schedule, switching the params
// between the training point and the average for evaluations.
type sfStepper struct {
	gradStepper
	sf *optim.ScheduleFreeAdamW
}

func (s *sfStepper) train(clip float64, steps int) error {
	s.clip = clip
	return nil
}

func (s *sfStepper) toEval() error  { return s.sf.Eval() }
func (s *sfStepper) toTrain() error { return s.sf.Train() }

// closureOptimizer is an optimizer whose Step calls closure, which computes the loss
// and writes the gradients, as many times as it needs (torch's LBFGS).
type closureOptimizer interface {
	Step(closure func() (float64, error)) (float64, error)
	Close() error
}

// closureStepper drives a closureOptimizer. Part 2's recipe is left out: its line
// search chooses the step length, which a schedule would only rescale, and its
// curvature pairs assume exact gradient differences, which clipping would distort.
type closureStepper struct {
	opt  closureOptimizer
	rate float64
}

func (s *closureStepper) step(eval func() (float64, error)) (float64, int, error) {
	n := 0
	loss, err := s.opt.Step(func() (float64, error) {
		n++
		return eval()
	})
	return loss, n, err
}

func (s *closureStepper) train(float64, int) error { return nil }
func (s *closureStepper) lr() float64              { return s.rate }
func (s *closureStepper) clipped() int             { return 0 }
func (s *closureStepper) close() error             { return s.opt.Close() }
