package optim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// LRRangeConfig holds the options of LRRangeTest. Zero values are taken literally:
// start from LRRangeDefaults.
type LRRangeConfig struct {
	// MinLR and MaxLR bound the learning rates tried (0 < MinLR < MaxLR).
	MinLR, MaxLR float64
	// Steps is how many steps the test takes at most, one learning rate each (>= 3).
	Steps int
	// Linear spaces the learning rates evenly; the default (false) spaces them
	// geometrically, as Smith's test and fastai's lr_find do.
	Linear bool
	// Smoothing is the weight of the past in the loss's exponential moving average,
	// bias-corrected (fastai's beta), in [0, 1).
	Smoothing float64
	// Diverge stops the test once the smoothed loss exceeds Diverge times the lowest
	// smoothed loss so far (> 1), or the loss is NaN or Inf.
	Diverge float64
}

// LRRangeDefaults is fastai's lr_find: 100 learning rates from 1e-7 to 10,
// geometrically spaced, the loss smoothed with 0.98, stopping at 4 times the best.
func LRRangeDefaults() LRRangeConfig {
	return LRRangeConfig{MinLR: 1e-7, MaxLR: 10, Steps: 100, Smoothing: 0.98, Diverge: 4}
}

func (c LRRangeConfig) validate() error {
	const k = "lr_range_test"
	if !(c.MinLR > 0) || math.IsInf(c.MinLR, 0) {
		return &ConfigError{Optimizer: k, Field: "min_lr", Value: c.MinLR, Reason: "must be finite and > 0"}
	}
	if !(c.MaxLR > c.MinLR) || math.IsInf(c.MaxLR, 0) {
		return &ConfigError{Optimizer: k, Field: "max_lr", Value: c.MaxLR, Reason: "must be finite and > min_lr"}
	}
	if c.Steps < 3 {
		return &ConfigError{Optimizer: k, Field: "steps", Value: float64(c.Steps), Reason: "must be >= 3"}
	}
	if !(c.Smoothing >= 0 && c.Smoothing < 1) {
		return &ConfigError{Optimizer: k, Field: "smoothing", Value: c.Smoothing, Reason: "must be in [0, 1)"}
	}
	if !(c.Diverge > 1) || math.IsInf(c.Diverge, 0) {
		return &ConfigError{Optimizer: k, Field: "diverge", Value: c.Diverge, Reason: "must be finite and > 1"}
	}
	return nil
}

// LRRangeResult is what LRRangeTest recorded and suggests.
type LRRangeResult struct {
	// LRs are the learning rates of group 0 at each step taken, Losses the losses the
	// closure returned at them (before the step) and Smoothed their bias-corrected
	// moving average.
	LRs, Losses, Smoothed []float64
	// Diverged: the test stopped early because the loss diverged (see Diverge).
	Diverged bool
	// Steepest is the learning rate where the smoothed loss falls fastest against
	// log(lr) (the test's first suggestion, fastai's "steep").
	Steepest float64
	// MinOver10 is the learning rate of the lowest smoothed loss divided by 10 (the
	// classic rule of thumb).
	MinOver10 float64
}

// LRRangeTest is the learning-rate range test (Smith 2015, "Cyclical Learning Rates for
// Training Neural Networks"; fastai's lr_find): it raises the learning rate from
// cfg.MinLR to cfg.MaxLR over at most cfg.Steps steps, each one a call of step (which
// runs the model forward and backward on a batch, writes the gradients of params and
// returns the loss) and opt.Step, records the loss, and stops early when it diverges.
// Every group's learning rate keeps its ratio to group 0's.
//
// The test leaves nothing changed: params is every param the closure's model updates
// (normally those of opt), and their values and gradients, the optimizer's state, step
// counts and learning rates are restored exactly afterwards, also when step or the
// optimizer fails. An error from step ends the test with that error; a step the
// optimizer skips for non-finite gradients (SetCheckFinite) counts as divergence.
func LRRangeTest(opt Optimizer, params []*Param, step func() (float64, error), cfg LRRangeConfig) (LRRangeResult,
	error) {
	var res LRRangeResult
	if opt == nil || step == nil {
		return res, fmt.Errorf("optim: lr_range_test: nil optimizer or step function: %w", ErrInvalidArgument)
	}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	snap, err := snapshotParams(params)
	if err != nil {
		return res, err
	}
	var saved bytes.Buffer
	if err := opt.Save(&saved); err != nil {
		return res, fmt.Errorf("optim: lr_range_test: saving the optimizer's state: %w", err)
	}
	base := make([]float64, opt.NumGroups())
	for g := range base {
		base[g] = opt.GroupLR(g)
	}
	runErr := runRange(opt, step, cfg, base, &res)
	restoreErr := errors.Join(snap.restore(), opt.Load(bytes.NewReader(saved.Bytes())))
	if restoreErr != nil {
		return res, fmt.Errorf("optim: lr_range_test: restoring the model and optimizer: %w", errors.Join(runErr,
			restoreErr))
	}
	if runErr != nil {
		return res, runErr
	}
	res.suggest()
	return res, nil
}

// runRange takes the test's steps, recording into res.
func runRange(opt Optimizer, step func() (float64, error), cfg LRRangeConfig, base []float64, res *LRRangeResult) error {
	avg, best := 0.0, math.Inf(1)
	for i := 0; i < cfg.Steps; i++ {
		f := float64(i) / float64(cfg.Steps-1)
		lr := cfg.MinLR * math.Pow(cfg.MaxLR/cfg.MinLR, f)
		if cfg.Linear {
			lr = cfg.MinLR + (cfg.MaxLR-cfg.MinLR)*f
		}
		for g, b := range base {
			glr := lr
			if base[0] != 0 {
				glr = lr * b / base[0]
			}
			if err := opt.SetGroupLR(g, glr); err != nil {
				return fmt.Errorf("optim: lr_range_test: step %d: %w", i, err)
			}
		}
		loss, err := step()
		if err != nil {
			return fmt.Errorf("optim: lr_range_test: step %d: the step function: %w", i, err)
		}
		avg = cfg.Smoothing*avg + (1-cfg.Smoothing)*loss
		smooth := avg / (1 - math.Pow(cfg.Smoothing, float64(i+1)))
		res.LRs, res.Losses, res.Smoothed = append(res.LRs, lr), append(res.Losses, loss), append(res.Smoothed, smooth)
		if math.IsNaN(loss) || math.IsInf(loss, 0) || smooth > cfg.Diverge*best {
			res.Diverged = true
			return nil
		}
		best = math.Min(best, smooth)
		if err := opt.Step(); err != nil {
			if errors.Is(err, ErrNonFinite) {
				res.Diverged = true
				return nil
			}
			return fmt.Errorf("optim: lr_range_test: step %d: %w", i, err)
		}
	}
	return nil
}

// suggest fills Steepest and MinOver10 from the points before divergence.
func (r *LRRangeResult) suggest() {
	n := len(r.Smoothed)
	if r.Diverged {
		n-- // the point that diverged
	}
	if n < 1 {
		return
	}
	lo := 0
	for i := 1; i < n; i++ {
		if r.Smoothed[i] < r.Smoothed[lo] {
			lo = i
		}
	}
	r.MinOver10 = r.LRs[lo] / 10
	r.Steepest = r.LRs[0]
	best := math.Inf(1)
	for i := 1; i+1 < n; i++ {
		d := (r.Smoothed[i+1] - r.Smoothed[i-1]) / (math.Log(r.LRs[i+1]) - math.Log(r.LRs[i-1]))
		if d < best {
			best, r.Steepest = d, r.LRs[i]
		}
	}
}

// paramSnapshot is a host copy of params' values and gradients.
type paramSnapshot struct {
	params      []*Param
	data, grads [][]float32
}

func snapshotParams(params []*Param) (*paramSnapshot, error) {
	s := &paramSnapshot{params: params, data: make([][]float32, len(params)), grads: make([][]float32, len(params))}
	for i, p := range params {
		if p == nil || p.Data == nil {
			return nil, fmt.Errorf("optim: lr_range_test: param %d: %w", i, ErrNilParam)
		}
		s.data[i] = make([]float32, p.Data.Len())
		if err := p.Data.CopyTo(s.data[i]); err != nil {
			return nil, fmt.Errorf("optim: lr_range_test: param %s: %w", p.label(i), err)
		}
		if p.Grad != nil {
			s.grads[i] = make([]float32, p.Grad.Len())
			if err := p.Grad.CopyTo(s.grads[i]); err != nil {
				return nil, fmt.Errorf("optim: lr_range_test: param %s gradient: %w", p.label(i), err)
			}
		}
	}
	return s, nil
}

func (s *paramSnapshot) restore() error {
	var errs []error
	for i, p := range s.params {
		errs = append(errs, p.Data.CopyFrom(s.data[i]))
		if s.grads[i] != nil && p.Grad != nil {
			errs = append(errs, p.Grad.CopyFrom(s.grads[i]))
		}
	}
	return errors.Join(errs...)
}
