package schedule

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/optim"
)

// AnnealStrategy is OneCycleLR's anneal_strategy.
type AnnealStrategy int

const (
	// AnnealCos is torch's "cos" (the default): end + (start-end)/2 * (1 + cos(pi*pct)).
	AnnealCos AnnealStrategy = iota
	// AnnealLinear is torch's "linear": (end-start)*pct + start.
	AnnealLinear
)

// String returns torch's name: "cos" or "linear".
func (a AnnealStrategy) String() string {
	switch a {
	case AnnealCos:
		return "cos"
	case AnnealLinear:
		return "linear"
	}
	return fmt.Sprintf("AnnealStrategy(%d)", int(a))
}

// OneCycleLRConfig configures OneCycleLR (torch.optim.lr_scheduler.OneCycleLR). The
// "float or list" options of torch (MaxLR, BaseMomentum, MaxMomentum) take one value
// for every group or one value per group.
type OneCycleLRConfig struct {
	// MaxLR is max_lr: the peak lr; >= 0 and finite.
	MaxLR []float64
	// TotalSteps is total_steps; if 0, Epochs*StepsPerEpoch (both > 0) is used.
	TotalSteps    int
	Epochs        int
	StepsPerEpoch int
	// PctStart is pct_start: the fraction of the cycle spent raising the lr; in [0, 1]
	// (torch's default 0.3).
	PctStart float64
	// AnnealStrategy is anneal_strategy (torch's default, the zero value, is cos).
	AnnealStrategy AnnealStrategy
	// CycleMomentum is cycle_momentum (torch's default true): cycle the momentum (SGD,
	// RMSprop) or beta1 (Adam, AdamW) inversely to the lr between MaxMomentum and
	// BaseMomentum. The optimizer must have one (GroupMomentum's ok) and accept both
	// ends: the constructor tries them (SGD cannot move between momentum 0 and a
	// non-zero momentum).
	CycleMomentum bool
	// BaseMomentum and MaxMomentum are base_momentum and max_momentum (torch's
	// defaults 0.85 and 0.95); used only with CycleMomentum.
	BaseMomentum []float64
	MaxMomentum  []float64
	// DivFactor is div_factor: initial_lr = max_lr/div_factor; > 0 (torch's default 25).
	DivFactor float64
	// FinalDivFactor is final_div_factor: min_lr = initial_lr/final_div_factor; > 0
	// (torch's default 1e4).
	FinalDivFactor float64
	// ThreePhase is three_phase: warm up to max_lr, come back to initial_lr
	// symmetrically, then anneal to min_lr (the original paper's schedule), instead of
	// fastai's two phases.
	ThreePhase bool
}

// OneCycleLRDefaults returns torch's defaults for a cycle of totalSteps steps peaking
// at maxLR (one value, or one per group): pct_start 0.3, cos, cycle_momentum with
// base 0.85 and max 0.95, div_factor 25, final_div_factor 1e4, two phases.
func OneCycleLRDefaults(totalSteps int, maxLR ...float64) OneCycleLRConfig {
	return OneCycleLRConfig{
		MaxLR: append([]float64(nil), maxLR...), TotalSteps: totalSteps, PctStart: 0.3,
		AnnealStrategy: AnnealCos, CycleMomentum: true,
		BaseMomentum: []float64{0.85}, MaxMomentum: []float64{0.95},
		DivFactor: 25, FinalDivFactor: 1e4,
	}
}

// OneCycleLR is torch.optim.lr_scheduler.OneCycleLR, the 1cycle policy, stepped once
// per batch. With initial_lr = max_lr/div_factor and min_lr = initial_lr/final_div_factor
// the phases end at steps pct_start*total_steps - 1 and total_steps - 1 (three phases:
// pct_start*total_steps - 1, 2*pct_start*total_steps - 2 and total_steps - 1), and at
// step t inside a phase from step a (0 for the first) to step b
//
//	pct = (t - a) / (b - a),  lr = anneal(start_lr, end_lr, pct)
//
// going initial_lr -> max_lr -> min_lr (three phases: initial_lr -> max_lr ->
// initial_lr -> min_lr), and the momentum, with CycleMomentum, max -> base -> max (three
// phases: max -> base -> max -> max). It is not chainable: the lr depends on the step
// only. Construction sets the momentum to max_momentum and the lr to step 0's, as torch.
//
// Like torch, Step accepts total_steps steps after construction (the last one
// extrapolates the final phase one step past min_lr) and fails with
// ErrFinished after that.
type OneCycleLR struct {
	*lrSchedule
	cfg   OneCycleLRConfig
	total int
}

// NewOneCycleLR checks cfg, sets every group's momentum to max_momentum (with
// CycleMomentum) and its lr to max_lr/div_factor, and returns a OneCycleLR at step 0.
func NewOneCycleLR(g optim.LRGroups, cfg OneCycleLRConfig) (*OneCycleLR, error) {
	if _, err := checkGroups(kindOneCycle, g); err != nil {
		return nil, err
	}
	n := g.NumGroups()
	total := cfg.TotalSteps
	switch {
	case cfg.TotalSteps < 0:
		return nil, configErr(kindOneCycle, "total_steps", float64(cfg.TotalSteps), "must be > 0")
	case cfg.TotalSteps == 0 && cfg.Epochs <= 0:
		return nil, configErr(kindOneCycle, "epochs", float64(cfg.Epochs),
			"must be > 0 when total_steps is 0 (set total_steps, or epochs and steps_per_epoch)")
	case cfg.TotalSteps == 0 && cfg.StepsPerEpoch <= 0:
		return nil, configErr(kindOneCycle, "steps_per_epoch", float64(cfg.StepsPerEpoch),
			"must be > 0 when total_steps is 0 (set total_steps, or epochs and steps_per_epoch)")
	case cfg.TotalSteps == 0 && cfg.Epochs > MaxSteps/cfg.StepsPerEpoch:
		// Checked before multiplying: the product could overflow int.
		return nil, configErr(kindOneCycle, "epochs*steps_per_epoch",
			float64(cfg.Epochs)*float64(cfg.StepsPerEpoch),
			fmt.Sprintf("must be at most %d, the most steps a schedule counts (epochs %d, steps_per_epoch %d)",
				MaxSteps, cfg.Epochs, cfg.StepsPerEpoch))
	case cfg.TotalSteps == 0:
		total = cfg.Epochs * cfg.StepsPerEpoch
	case cfg.TotalSteps > MaxSteps:
		return nil, configErr(kindOneCycle, "total_steps", float64(cfg.TotalSteps),
			fmt.Sprintf("must be at most %d, the most steps a schedule counts", MaxSteps))
	}
	if !(cfg.PctStart >= 0 && cfg.PctStart <= 1) {
		return nil, configErr(kindOneCycle, "pct_start", cfg.PctStart, "must be in [0, 1]")
	}
	if cfg.AnnealStrategy != AnnealCos && cfg.AnnealStrategy != AnnealLinear {
		return nil, configErr(kindOneCycle, "anneal_strategy", float64(cfg.AnnealStrategy),
			"must be AnnealCos or AnnealLinear")
	}
	if !finite(cfg.DivFactor) || cfg.DivFactor <= 0 {
		return nil, configErr(kindOneCycle, "div_factor", cfg.DivFactor, "must be finite and > 0")
	}
	if !finite(cfg.FinalDivFactor) || cfg.FinalDivFactor <= 0 {
		return nil, configErr(kindOneCycle, "final_div_factor", cfg.FinalDivFactor, "must be finite and > 0")
	}
	if len(cfg.MaxLR) == 0 {
		return nil, configErr(kindOneCycle, "max_lr", 0, "is required (one value, or one per group)")
	}
	maxLR, err := perGroup(kindOneCycle, "max_lr", cfg.MaxLR, n, 0)
	if err != nil {
		return nil, err
	}
	for i, v := range maxLR {
		if !finite(v) || v < 0 {
			return nil, configErr(kindOneCycle, fmt.Sprintf("max_lr[%d]", i), v, "must be finite and >= 0")
		}
	}
	var baseMom, maxMom []float64
	if cfg.CycleMomentum {
		for i := 0; i < n; i++ {
			if _, ok := g.GroupMomentum(i); !ok {
				return nil, configErr(kindOneCycle, "cycle_momentum", 1,
					fmt.Sprintf("needs an optimizer with momentum or betas (group %d has neither)", i))
			}
		}
		if baseMom, err = perGroup(kindOneCycle, "base_momentum", cfg.BaseMomentum, n, 0.85); err != nil {
			return nil, err
		}
		if maxMom, err = perGroup(kindOneCycle, "max_momentum", cfg.MaxMomentum, n, 0.95); err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			if !finite(baseMom[i]) || !finite(maxMom[i]) {
				return nil, configErr(kindOneCycle, "base_momentum/max_momentum", baseMom[i]+maxMom[i], "must be finite")
			}
		}
	}
	cfg.MaxLR = append([]float64(nil), cfg.MaxLR...)
	cfg.BaseMomentum = append([]float64(nil), cfg.BaseMomentum...)
	cfg.MaxMomentum = append([]float64(nil), cfg.MaxMomentum...)

	initial := make([]float64, n)
	minLR := make([]float64, n)
	for i := range initial {
		initial[i] = maxLR[i] / cfg.DivFactor
		minLR[i] = initial[i] / cfg.FinalDivFactor
	}
	s := &lrSchedule{groups: g, kind: kindOneCycle, seq: buildSeq.Add(1), base: initial,
		last: groupLRs(g), epoch: -1, maxEpoch: total}
	o := &OneCycleLR{lrSchedule: s, cfg: cfg, total: total}

	// torch: end_step = float(pct_start * total_steps) - 1, ...
	T := float64(total)
	p1 := float64(cfg.PctStart*T) - 1
	type phase struct {
		end              float64
		startLR, endLR   []float64
		startMom, endMom []float64
	}
	var phases []phase
	if cfg.ThreePhase {
		phases = []phase{
			{p1, initial, maxLR, maxMom, baseMom},
			{float64(2*cfg.PctStart*T) - 2, maxLR, initial, baseMom, maxMom},
			{T - 1, initial, minLR, maxMom, maxMom},
		}
	} else {
		phases = []phase{
			{p1, initial, maxLR, maxMom, baseMom},
			{T - 1, maxLR, minLR, baseMom, maxMom},
		}
	}
	anneal := annealCos
	if cfg.AnnealStrategy == AnnealLinear {
		anneal = annealLinear
	}
	s.lrAt = func(step int) ([]float64, []float64, error) {
		if step > total {
			return nil, nil, fmt.Errorf("schedule: OneCycleLR: tried to step %d times with total_steps %d: %w",
				step+1, total, ErrFinished)
		}
		t := float64(step)
		start := 0.0
		for k, ph := range phases {
			if t <= ph.end || k == len(phases)-1 {
				if ph.end-start == 0 {
					// torch raises ZeroDivisionError here
					return nil, nil, configErr(kindOneCycle, "pct_start", cfg.PctStart,
						fmt.Sprintf("gives phase %d no length with total_steps %d", k+1, total))
				}
				pct := (t - start) / (ph.end - start)
				lrs := make([]float64, n)
				var moms []float64
				if cfg.CycleMomentum {
					moms = make([]float64, n)
				}
				for i := range lrs {
					lrs[i] = anneal(ph.startLR[i], ph.endLR[i], pct)
					if moms != nil {
						moms[i] = anneal(ph.startMom[i], ph.endMom[i], pct)
					}
				}
				return lrs, moms, nil
			}
			start = ph.end
		}
		panic("unreachable")
	}
	if cfg.CycleMomentum {
		if err := probeMomenta(kindOneCycle, g, baseMom, maxMom); err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			if err := g.SetGroupMomentum(i, maxMom[i]); err != nil {
				return nil, fmt.Errorf("schedule: OneCycleLR: group %d: max_momentum %v: %w", i, maxMom[i], err)
			}
		}
	}
	return o, s.advance(false)
}

// Config returns the schedule's config (a copy).
func (o *OneCycleLR) Config() OneCycleLRConfig {
	c := o.cfg
	c.MaxLR = append([]float64(nil), c.MaxLR...)
	c.BaseMomentum = append([]float64(nil), c.BaseMomentum...)
	c.MaxMomentum = append([]float64(nil), c.MaxMomentum...)
	return c
}

// TotalSteps is the length of the cycle: total_steps, or epochs*steps_per_epoch.
func (o *OneCycleLR) TotalSteps() int { return o.total }

// annealCos is torch's _annealing_cos: end + (start-end)/2 * (cos(pi*pct) + 1).
func annealCos(start, end, pct float64) float64 {
	cosOut := math.Cos(float64(math.Pi*pct)) + 1
	return end + float64((start-end)/2.0*cosOut)
}

// annealLinear is torch's _annealing_linear: (end-start)*pct + start.
func annealLinear(start, end, pct float64) float64 {
	return float64((end-start)*pct) + start
}
