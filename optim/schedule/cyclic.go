package schedule

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/optim"
)

// CyclicMode is CyclicLR's mode: how the cycle's amplitude changes from one cycle to
// the next.
type CyclicMode int

const (
	// CyclicTriangular is torch's "triangular" (the default): the same amplitude in
	// every cycle.
	CyclicTriangular CyclicMode = iota
	// CyclicTriangular2 is torch's "triangular2": the amplitude halves every cycle.
	CyclicTriangular2
	// CyclicExpRange is torch's "exp_range": the amplitude is scaled by
	// gamma^iteration.
	CyclicExpRange
)

// String returns torch's name: "triangular", "triangular2" or "exp_range".
func (m CyclicMode) String() string {
	switch m {
	case CyclicTriangular:
		return "triangular"
	case CyclicTriangular2:
		return "triangular2"
	case CyclicExpRange:
		return "exp_range"
	}
	return fmt.Sprintf("CyclicMode(%d)", int(m))
}

// CyclicScaleMode is CyclicLR's scale_mode: what a custom ScaleFn is called with.
type CyclicScaleMode int

const (
	// ScaleCycle is torch's "cycle" (the default): ScaleFn gets the cycle number, from 1.
	ScaleCycle CyclicScaleMode = iota
	// ScaleIterations is torch's "iterations": ScaleFn gets the iteration (last_epoch).
	ScaleIterations
)

// String returns torch's name: "cycle" or "iterations".
func (m CyclicScaleMode) String() string {
	switch m {
	case ScaleCycle:
		return "cycle"
	case ScaleIterations:
		return "iterations"
	}
	return fmt.Sprintf("CyclicScaleMode(%d)", int(m))
}

// CyclicLRConfig configures CyclicLR (torch.optim.lr_scheduler.CyclicLR). The "float or
// list" options of torch (BaseLR, MaxLR, BaseMomentum, MaxMomentum) take one value for
// every group or one value per group.
type CyclicLRConfig struct {
	// BaseLR is base_lr: the lr at the bottom of the cycle; finite and >= 0.
	BaseLR []float64
	// MaxLR is max_lr: the lr at the top of the cycle (before Mode's scaling);
	// finite and >= 0.
	MaxLR []float64
	// StepSizeUp is step_size_up: iterations from the bottom to the top; > 0 (torch's
	// default 2000).
	StepSizeUp int
	// StepSizeDown is step_size_down: iterations from the top back to the bottom;
	// >= 0 (torch's default, None, means StepSizeUp: CyclicLRDefaults sets that).
	StepSizeDown int
	// Mode is mode (torch's default, the zero value, is triangular). Ignored when
	// ScaleFn is set.
	Mode CyclicMode
	// Gamma is gamma, exp_range's factor per iteration; finite and > 0 (torch's
	// default 1).
	Gamma float64
	// ScaleFn is scale_fn: a custom amplitude scale, called with the cycle or the
	// iteration (ScaleMode); it replaces Mode. Its values should be finite and keep the
	// lr >= 0; a step that gives a bad lr fails and changes nothing.
	ScaleFn func(x float64) float64
	// ScaleMode is scale_mode, used with ScaleFn only (torch's default, the zero
	// value, is cycle).
	ScaleMode CyclicScaleMode
	// CycleMomentum is cycle_momentum (torch's default true): cycle the momentum (SGD,
	// RMSprop) or beta1 (Adam, AdamW, as torch 2.x does) inversely to the lr, from
	// MaxMomentum at the bottom to BaseMomentum at the top. The optimizer must have
	// one (GroupMomentum's ok) and accept both ends: with Mode's scales the
	// constructor tries them and fails if the optimizer refuses one (SGD cannot move
	// between momentum 0 and a non-zero momentum, whose buffers it would have to
	// create or drop; torch's SGD can).
	CycleMomentum bool
	// BaseMomentum and MaxMomentum are base_momentum and max_momentum (torch's defaults
	// 0.8 and 0.9); used only with CycleMomentum.
	BaseMomentum []float64
	MaxMomentum  []float64
}

// CyclicLRDefaults returns torch's defaults for a cycle between baseLR and maxLR (one
// value each for every group; set the slices for one per group): step_size_up and
// step_size_down 2000, triangular, gamma 1, cycle_momentum with base 0.8 and max 0.9.
func CyclicLRDefaults(baseLR, maxLR float64) CyclicLRConfig {
	return CyclicLRConfig{
		BaseLR: []float64{baseLR}, MaxLR: []float64{maxLR},
		StepSizeUp: 2000, StepSizeDown: 2000, Mode: CyclicTriangular, Gamma: 1,
		ScaleMode: ScaleCycle, CycleMomentum: true,
		BaseMomentum: []float64{0.8}, MaxMomentum: []float64{0.9},
	}
}

// CyclicLR is torch.optim.lr_scheduler.CyclicLR, the cyclical learning rate policy,
// stepped once per batch. With total = step_size_up + step_size_down and
// ratio = step_size_up/total, at iteration t
//
//	cycle = floor(1 + t/total),  x = 1 + t/total - cycle
//	f = x/ratio if x <= ratio, else (x-1)/(ratio-1)
//	lr = base_lr + (max_lr - base_lr)*f * scale
//
// with scale 1 (triangular), 1/2^(cycle-1) (triangular2), gamma^t (exp_range) or
// ScaleFn's; with CycleMomentum, momentum = max_momentum - (max_momentum -
// base_momentum)*f * scale. Construction sets the lrs to base_lr and the momenta to
// max_momentum (iteration 0). The lr depends on the iteration only: changes made to
// the lr from outside do not carry on.
type CyclicLR struct {
	*lrSchedule
	cfg CyclicLRConfig
}

// NewCyclicLR checks cfg, sets every group's lr to base_lr (and momentum to
// max_momentum, with CycleMomentum) and returns a CyclicLR at iteration 0.
func NewCyclicLR(g optim.LRGroups, cfg CyclicLRConfig) (*CyclicLR, error) {
	s, err := newLRSchedule(kindCyclic, g)
	if err != nil {
		return nil, err
	}
	n := len(s.base)
	field := func(name string, v []float64, positive bool) ([]float64, error) {
		if len(v) == 0 {
			return nil, configErr(kindCyclic, name, 0, "is required (one value, or one per group)")
		}
		out, err := perGroup(kindCyclic, name, v, n, 0)
		if err != nil {
			return nil, err
		}
		for i, x := range out {
			switch {
			case !finite(x):
				return nil, configErr(kindCyclic, fmt.Sprintf("%s[%d]", name, i), x, "must be finite")
			case positive && x < 0:
				return nil, configErr(kindCyclic, fmt.Sprintf("%s[%d]", name, i), x, "must be >= 0")
			}
		}
		return out, nil
	}
	baseLR, err := field("base_lr", cfg.BaseLR, true)
	if err != nil {
		return nil, err
	}
	maxLR, err := field("max_lr", cfg.MaxLR, true)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.StepSizeUp <= 0:
		return nil, configErr(kindCyclic, "step_size_up", float64(cfg.StepSizeUp), "must be > 0")
	case cfg.StepSizeDown < 0:
		return nil, configErr(kindCyclic, "step_size_down", float64(cfg.StepSizeDown), "must be >= 0")
	case cfg.ScaleFn == nil && (cfg.Mode < CyclicTriangular || cfg.Mode > CyclicExpRange):
		return nil, configErr(kindCyclic, "mode", float64(cfg.Mode),
			"must be CyclicTriangular, CyclicTriangular2 or CyclicExpRange (or set ScaleFn)")
	case cfg.ScaleFn == nil && cfg.Mode == CyclicExpRange && !(finite(cfg.Gamma) && cfg.Gamma > 0):
		return nil, configErr(kindCyclic, "gamma", cfg.Gamma, "must be finite and > 0 (torch's default is 1)")
	case cfg.ScaleFn != nil && cfg.ScaleMode != ScaleCycle && cfg.ScaleMode != ScaleIterations:
		return nil, configErr(kindCyclic, "scale_mode", float64(cfg.ScaleMode), "must be ScaleCycle or ScaleIterations")
	}
	var baseMom, maxMom []float64
	if cfg.CycleMomentum {
		for i := 0; i < n; i++ {
			if _, ok := g.GroupMomentum(i); !ok {
				return nil, configErr(kindCyclic, "cycle_momentum", 1,
					fmt.Sprintf("needs an optimizer with momentum or betas (group %d has neither)", i))
			}
		}
		if baseMom, err = field("base_momentum", cfg.BaseMomentum, false); err != nil {
			return nil, err
		}
		if maxMom, err = field("max_momentum", cfg.MaxMomentum, false); err != nil {
			return nil, err
		}
		if cfg.ScaleFn == nil {
			if err := probeMomenta(kindCyclic, g, baseMom, maxMom); err != nil {
				return nil, err
			}
		}
	}
	cfg.BaseLR = append([]float64(nil), cfg.BaseLR...)
	cfg.MaxLR = append([]float64(nil), cfg.MaxLR...)
	cfg.BaseMomentum = append([]float64(nil), cfg.BaseMomentum...)
	cfg.MaxMomentum = append([]float64(nil), cfg.MaxMomentum...)
	s.base = baseLR

	// torch: float(step_size_up), float(step_size_down); the scale functions.
	up, down := float64(cfg.StepSizeUp), float64(cfg.StepSizeDown)
	total := up + down
	ratio := up / total
	scale, byIteration := cfg.ScaleFn, cfg.ScaleMode == ScaleIterations
	if scale == nil {
		switch cfg.Mode {
		case CyclicTriangular:
			scale, byIteration = func(float64) float64 { return 1 }, false
		case CyclicTriangular2:
			scale, byIteration = func(x float64) float64 { return 1 / math.Pow(2, x-1) }, false
		case CyclicExpRange:
			scale, byIteration = func(x float64) float64 { return math.Pow(cfg.Gamma, x) }, true
		}
	}
	s.lrAt = func(e int) ([]float64, []float64, error) {
		t := float64(e)
		cycle := math.Floor(1 + t/total)
		x := 1. + t/total - cycle
		var f float64
		if x <= ratio {
			f = x / ratio
		} else {
			f = (x - 1) / (ratio - 1)
		}
		var sc float64
		if byIteration {
			sc = scale(t)
		} else {
			sc = scale(cycle)
		}
		lrs := make([]float64, n)
		for i := range lrs {
			height := float64((maxLR[i] - baseLR[i]) * f)
			lrs[i] = baseLR[i] + float64(height*sc)
		}
		var moms []float64
		if cfg.CycleMomentum {
			moms = make([]float64, n)
			for i := range moms {
				height := float64((maxMom[i] - baseMom[i]) * f)
				moms[i] = maxMom[i] - float64(height*sc)
				if !finite(moms[i]) {
					return nil, nil, fmt.Errorf("schedule: %s: iteration %d gives group %d the momentum %v: %w",
						kindCyclic, e, i, moms[i], optim.ErrInvalidConfig)
				}
			}
		}
		return lrs, moms, nil
	}
	if err := s.advance(false); err != nil {
		return nil, err
	}
	return &CyclicLR{s, cfg}, nil
}

// Config returns the schedule's config (a copy; ScaleFn is the same function).
func (c *CyclicLR) Config() CyclicLRConfig {
	cfg := c.cfg
	cfg.BaseLR = append([]float64(nil), cfg.BaseLR...)
	cfg.MaxLR = append([]float64(nil), cfg.MaxLR...)
	cfg.BaseMomentum = append([]float64(nil), cfg.BaseMomentum...)
	cfg.MaxMomentum = append([]float64(nil), cfg.MaxMomentum...)
	return cfg
}
