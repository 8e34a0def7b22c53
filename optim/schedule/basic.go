package schedule

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/optim"
)

// The simple epoch-driven schedules. Each formula below is torch 1.13's get_lr(): the
// recursive form that scheduler.step() applies to the group's current lr. Products
// are wrapped in float64() so that no platform fuses them into an FMA: torch rounds
// every operation.

// mulAll returns lr*f for the current lr of every group.
func mulAll(g optim.LRGroups, f float64) []float64 {
	lrs := groupLRs(g)
	for i := range lrs {
		lrs[i] = float64(lrs[i] * f)
	}
	return lrs
}

func checkGamma(kind string, gamma float64) error {
	if !finite(gamma) || gamma <= 0 {
		return configErr(kind, "gamma", gamma, "must be finite and > 0 (torch's default is 0.1)")
	}
	return nil
}

// StepLRConfig configures StepLR (torch.optim.lr_scheduler.StepLR).
type StepLRConfig struct {
	StepSize int     // step_size: epochs between decays; > 0
	Gamma    float64 // gamma: the decay factor; > 0 (torch's default 0.1)
}

// StepLR is torch.optim.lr_scheduler.StepLR: every StepSize epochs the lr is multiplied
// by Gamma. Step sets lr = lr*gamma when last_epoch is a positive multiple of
// step_size, else leaves it (closed form: base_lr * gamma^(last_epoch / step_size)).
type StepLR struct {
	*lrSchedule
	cfg StepLRConfig
}

// NewStepLR records the groups' lrs as base lrs and returns a StepLR at epoch 0 (the
// lrs are unchanged).
func NewStepLR(g optim.LRGroups, cfg StepLRConfig) (*StepLR, error) {
	if cfg.StepSize <= 0 {
		return nil, configErr(kindStep, "step_size", float64(cfg.StepSize), "must be > 0")
	}
	if err := checkGamma(kindStep, cfg.Gamma); err != nil {
		return nil, err
	}
	s, err := newLRSchedule(kindStep, g)
	if err != nil {
		return nil, err
	}
	s.lrAt = func(e int) ([]float64, []float64, error) {
		if e == 0 || e%cfg.StepSize != 0 {
			return groupLRs(g), nil, nil
		}
		return mulAll(g, cfg.Gamma), nil, nil
	}
	s.closed = func(e int) []float64 {
		out := make([]float64, len(s.base))
		for i, b := range s.base {
			out[i] = float64(b * math.Pow(cfg.Gamma, float64(e/cfg.StepSize)))
		}
		return out
	}
	return &StepLR{s, cfg}, s.advance(false)
}

// Config returns the schedule's config.
func (s *StepLR) Config() StepLRConfig { return s.cfg }

// MultiStepLRConfig configures MultiStepLR (torch.optim.lr_scheduler.MultiStepLR).
type MultiStepLRConfig struct {
	Milestones []int   // milestones: epochs of the decays; > 0 and strictly increasing
	Gamma      float64 // gamma: the decay factor; > 0 (torch's default 0.1)
}

// MultiStepLR is torch.optim.lr_scheduler.MultiStepLR: the lr is multiplied by Gamma
// when last_epoch reaches each milestone (closed form: base_lr * gamma^(number of
// milestones <= last_epoch)). Torch accepts repeated milestones (the decay is applied
// once per repetition); this package asks for strictly increasing ones.
type MultiStepLR struct {
	*lrSchedule
	cfg MultiStepLRConfig
}

// NewMultiStepLR records the groups' lrs as base lrs and returns a MultiStepLR at epoch
// 0 (the lrs are unchanged).
func NewMultiStepLR(g optim.LRGroups, cfg MultiStepLRConfig) (*MultiStepLR, error) {
	if err := checkMilestones(kindMultiStep, cfg.Milestones); err != nil {
		return nil, err
	}
	if err := checkGamma(kindMultiStep, cfg.Gamma); err != nil {
		return nil, err
	}
	cfg.Milestones = append([]int(nil), cfg.Milestones...)
	s, err := newLRSchedule(kindMultiStep, g)
	if err != nil {
		return nil, err
	}
	s.lrAt = func(e int) ([]float64, []float64, error) {
		for _, m := range cfg.Milestones {
			if m == e {
				// torch: lr * gamma ** milestones[e], a count of 1 here
				return mulAll(g, math.Pow(cfg.Gamma, 1)), nil, nil
			}
		}
		return groupLRs(g), nil, nil
	}
	s.closed = func(e int) []float64 {
		n := 0 // bisect_right(milestones, e)
		for n < len(cfg.Milestones) && cfg.Milestones[n] <= e {
			n++
		}
		out := make([]float64, len(s.base))
		for i, b := range s.base {
			out[i] = float64(b * math.Pow(cfg.Gamma, float64(n)))
		}
		return out
	}
	return &MultiStepLR{s, cfg}, s.advance(false)
}

// Config returns the schedule's config (a copy).
func (s *MultiStepLR) Config() MultiStepLRConfig {
	c := s.cfg
	c.Milestones = append([]int(nil), c.Milestones...)
	return c
}

func checkMilestones(kind string, ms []int) error {
	for i, m := range ms {
		field := fmt.Sprintf("milestones[%d]", i)
		if m <= 0 {
			return configErr(kind, field, float64(m), "must be > 0")
		}
		if i > 0 && m <= ms[i-1] {
			return configErr(kind, field, float64(m),
				fmt.Sprintf("must be greater than milestones[%d] = %d (milestones must be strictly increasing)", i-1, ms[i-1]))
		}
	}
	return nil
}

// ConstantLRConfig configures ConstantLR (torch.optim.lr_scheduler.ConstantLR).
type ConstantLRConfig struct {
	Factor     float64 // factor: in (0, 1] (torch's default 1/3)
	TotalIters int     // total_iters: epochs at the reduced lr; >= 0 (torch's default 5)
}

// ConstantLRDefaults returns torch's defaults: factor 1/3, total_iters 5.
func ConstantLRDefaults() ConstantLRConfig { return ConstantLRConfig{Factor: 1.0 / 3, TotalIters: 5} }

// ConstantLR is torch.optim.lr_scheduler.ConstantLR: the lr is base_lr*factor until
// epoch total_iters, then base_lr. Step: lr*factor at epoch 0, lr*(1/factor) at epoch
// total_iters, lr otherwise.
type ConstantLR struct {
	*lrSchedule
	cfg ConstantLRConfig
}

// NewConstantLR records the groups' lrs as base lrs and sets lr = base_lr*factor.
func NewConstantLR(g optim.LRGroups, cfg ConstantLRConfig) (*ConstantLR, error) {
	// torch allows factor 0, which makes 1/factor infinite at total_iters.
	if !(cfg.Factor > 0 && cfg.Factor <= 1) {
		return nil, configErr(kindConstant, "factor", cfg.Factor, "must be in (0, 1]")
	}
	if cfg.TotalIters < 0 {
		return nil, configErr(kindConstant, "total_iters", float64(cfg.TotalIters), "must be >= 0")
	}
	s, err := newLRSchedule(kindConstant, g)
	if err != nil {
		return nil, err
	}
	s.lrAt = func(e int) ([]float64, []float64, error) {
		switch {
		case e == 0:
			return mulAll(g, cfg.Factor), nil, nil
		case e != cfg.TotalIters:
			return groupLRs(g), nil, nil
		}
		return mulAll(g, 1.0/cfg.Factor), nil, nil
	}
	s.closed = func(e int) []float64 {
		var after float64
		if e >= cfg.TotalIters {
			after = 1
		}
		out := make([]float64, len(s.base))
		for i, b := range s.base {
			out[i] = float64(b * float64(cfg.Factor+float64(after*(1-cfg.Factor))))
		}
		return out
	}
	return &ConstantLR{s, cfg}, s.advance(false)
}

// Config returns the schedule's config.
func (s *ConstantLR) Config() ConstantLRConfig { return s.cfg }

// LinearLRConfig configures LinearLR (torch.optim.lr_scheduler.LinearLR).
type LinearLRConfig struct {
	StartFactor float64 // start_factor: in (0, 1] (torch's default 1/3)
	EndFactor   float64 // end_factor: in [0, 1] (torch's default 1)
	TotalIters  int     // total_iters: epochs to go from start to end; > 0 (torch's default 5)
}

// LinearLRDefaults returns torch's defaults: start_factor 1/3, end_factor 1,
// total_iters 5.
func LinearLRDefaults() LinearLRConfig {
	return LinearLRConfig{StartFactor: 1.0 / 3, EndFactor: 1, TotalIters: 5}
}

// LinearLR is torch.optim.lr_scheduler.LinearLR, the usual warm-up: the lr goes
// linearly from base_lr*start_factor to base_lr*end_factor over total_iters epochs and
// stays there. Construction sets lr = base_lr*start_factor; Step at epoch
// 1 <= e <= total_iters sets
//
//	lr = lr * (1 + (end-start) / (total_iters*start + (e-1)*(end-start)))
//
// (closed form: base_lr * (start + (end-start)*min(e, total_iters)/total_iters)).
type LinearLR struct {
	*lrSchedule
	cfg LinearLRConfig
}

// NewLinearLR records the groups' lrs as base lrs and sets lr = base_lr*start_factor.
func NewLinearLR(g optim.LRGroups, cfg LinearLRConfig) (*LinearLR, error) {
	// torch allows start_factor 0, which divides by zero at the first step.
	if !(cfg.StartFactor > 0 && cfg.StartFactor <= 1) {
		return nil, configErr(kindLinear, "start_factor", cfg.StartFactor, "must be in (0, 1]")
	}
	if !(cfg.EndFactor >= 0 && cfg.EndFactor <= 1) {
		return nil, configErr(kindLinear, "end_factor", cfg.EndFactor, "must be in [0, 1]")
	}
	if cfg.TotalIters <= 0 {
		return nil, configErr(kindLinear, "total_iters", float64(cfg.TotalIters), "must be > 0")
	}
	s, err := newLRSchedule(kindLinear, g)
	if err != nil {
		return nil, err
	}
	sf, ef, n := cfg.StartFactor, cfg.EndFactor, float64(cfg.TotalIters)
	s.lrAt = func(e int) ([]float64, []float64, error) {
		switch {
		case e == 0:
			return mulAll(g, sf), nil, nil
		case e > cfg.TotalIters:
			return groupLRs(g), nil, nil
		}
		d := ef - sf
		f := 1. + d/float64(float64(n*sf)+float64(float64(e-1)*d))
		return mulAll(g, f), nil, nil
	}
	s.closed = func(e int) []float64 {
		m := float64(min(cfg.TotalIters, e))
		out := make([]float64, len(s.base))
		for i, b := range s.base {
			out[i] = float64(b * float64(sf+float64((ef-sf)*m)/n))
		}
		return out
	}
	return &LinearLR{s, cfg}, s.advance(false)
}

// Config returns the schedule's config.
func (s *LinearLR) Config() LinearLRConfig { return s.cfg }

// ExponentialLRConfig configures ExponentialLR (torch.optim.lr_scheduler.ExponentialLR).
type ExponentialLRConfig struct {
	Gamma float64 // gamma: the factor per epoch; > 0
}

// ExponentialLR is torch.optim.lr_scheduler.ExponentialLR: every Step sets
// lr = lr*gamma (closed form: base_lr * gamma^last_epoch).
type ExponentialLR struct {
	*lrSchedule
	cfg ExponentialLRConfig
}

// NewExponentialLR records the groups' lrs as base lrs and returns an ExponentialLR at
// epoch 0 (the lrs are unchanged).
func NewExponentialLR(g optim.LRGroups, cfg ExponentialLRConfig) (*ExponentialLR, error) {
	if err := checkGamma(kindExponential, cfg.Gamma); err != nil {
		return nil, err
	}
	s, err := newLRSchedule(kindExponential, g)
	if err != nil {
		return nil, err
	}
	s.lrAt = func(e int) ([]float64, []float64, error) {
		if e == 0 {
			return groupLRs(g), nil, nil
		}
		return mulAll(g, cfg.Gamma), nil, nil
	}
	s.closed = func(e int) []float64 {
		out := make([]float64, len(s.base))
		for i, b := range s.base {
			out[i] = float64(b * math.Pow(cfg.Gamma, float64(e)))
		}
		return out
	}
	return &ExponentialLR{s, cfg}, s.advance(false)
}

// Config returns the schedule's config.
func (s *ExponentialLR) Config() ExponentialLRConfig { return s.cfg }

// PolynomialLRConfig configures PolynomialLR (torch.optim.lr_scheduler.PolynomialLR).
type PolynomialLRConfig struct {
	TotalIters int     // total_iters: epochs until the lr reaches 0; > 0 (torch's default 5)
	Power      float64 // power: the polynomial's power; >= 0 (torch's default 1)
}

// PolynomialLRDefaults returns torch's defaults: total_iters 5, power 1.
func PolynomialLRDefaults() PolynomialLRConfig { return PolynomialLRConfig{TotalIters: 5, Power: 1} }

// PolynomialLR is torch.optim.lr_scheduler.PolynomialLR: the lr decays as
// base_lr * (1 - e/total_iters)^power and stays at 0 (for power > 0) after total_iters.
// Step at epoch 1 <= e <= total_iters sets
//
//	lr = lr * ((1 - e/total_iters) / (1 - (e-1)/total_iters))^power.
type PolynomialLR struct {
	*lrSchedule
	cfg PolynomialLRConfig
}

// NewPolynomialLR records the groups' lrs as base lrs and returns a PolynomialLR at
// epoch 0 (the lrs are unchanged).
func NewPolynomialLR(g optim.LRGroups, cfg PolynomialLRConfig) (*PolynomialLR, error) {
	if cfg.TotalIters <= 0 {
		return nil, configErr(kindPolynomial, "total_iters", float64(cfg.TotalIters), "must be > 0")
	}
	if !finite(cfg.Power) || cfg.Power < 0 {
		return nil, configErr(kindPolynomial, "power", cfg.Power, "must be finite and >= 0")
	}
	s, err := newLRSchedule(kindPolynomial, g)
	if err != nil {
		return nil, err
	}
	n := float64(cfg.TotalIters)
	s.lrAt = func(e int) ([]float64, []float64, error) {
		if e == 0 || e > cfg.TotalIters {
			return groupLRs(g), nil, nil
		}
		f := math.Pow((1.0-float64(e)/n)/(1.0-float64(e-1)/n), cfg.Power)
		return mulAll(g, f), nil, nil
	}
	s.closed = func(e int) []float64 {
		m := float64(min(cfg.TotalIters, e))
		out := make([]float64, len(s.base))
		for i, b := range s.base {
			out[i] = float64(b * math.Pow(1.0-m/n, cfg.Power))
		}
		return out
	}
	return &PolynomialLR{s, cfg}, s.advance(false)
}

// Config returns the schedule's config.
func (s *PolynomialLR) Config() PolynomialLRConfig { return s.cfg }

// CosineAnnealingLRConfig configures CosineAnnealingLR
// (torch.optim.lr_scheduler.CosineAnnealingLR).
type CosineAnnealingLRConfig struct {
	TMax   int     // T_max: epochs of the half cosine; > 0
	EtaMin float64 // eta_min: the lr at T_max; >= 0 (torch's default 0)
}

// CosineAnnealingLR is torch.optim.lr_scheduler.CosineAnnealingLR: the lr follows
//
//	eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2
//
// through the recursive form torch's step() uses:
//
//	lr = (1 + cos(pi*e/T_max)) / (1 + cos(pi*(e-1)/T_max)) * (lr - eta_min) + eta_min
//
// except at e = T_max+1 (mod 2*T_max), where it adds (base_lr - eta_min) *
// (1 - cos(pi/T_max)) / 2. Past T_max the lr therefore climbs back up along the cosine
// (torch does not restart nor hold at eta_min); use SequentialLR to hold or restart.
type CosineAnnealingLR struct {
	*lrSchedule
	cfg CosineAnnealingLRConfig
}

// NewCosineAnnealingLR records the groups' lrs as base lrs (eta_max) and returns a
// CosineAnnealingLR at epoch 0 (the lrs are unchanged).
func NewCosineAnnealingLR(g optim.LRGroups, cfg CosineAnnealingLRConfig) (*CosineAnnealingLR, error) {
	if cfg.TMax <= 0 {
		return nil, configErr(kindCosine, "T_max", float64(cfg.TMax), "must be > 0")
	}
	if !finite(cfg.EtaMin) || cfg.EtaMin < 0 {
		return nil, configErr(kindCosine, "eta_min", cfg.EtaMin, "must be finite and >= 0")
	}
	s, err := newLRSchedule(kindCosine, g)
	if err != nil {
		return nil, err
	}
	tmax, emin := float64(cfg.TMax), cfg.EtaMin
	s.lrAt = func(e int) ([]float64, []float64, error) {
		lrs := groupLRs(g)
		switch {
		case e == 0:
		case restartOfCosine(e, cfg.TMax):
			for i := range lrs {
				lrs[i] += float64(float64(s.base[i]-emin)*(1-math.Cos(math.Pi/tmax))) / 2
			}
		default:
			r := (1 + math.Cos(float64(math.Pi*float64(e))/tmax)) /
				(1 + math.Cos(float64(math.Pi*float64(e-1))/tmax))
			for i := range lrs {
				lrs[i] = float64(r*(lrs[i]-emin)) + emin
			}
		}
		return lrs, nil, nil
	}
	s.closed = func(e int) []float64 {
		out := make([]float64, len(s.base))
		c := 1 + math.Cos(float64(math.Pi*float64(e))/tmax)
		for i, b := range s.base {
			out[i] = emin + float64(float64((b-emin)*c)/2)
		}
		return out
	}
	return &CosineAnnealingLR{s, cfg}, s.advance(false)
}

// Config returns the schedule's config.
func (s *CosineAnnealingLR) Config() CosineAnnealingLRConfig { return s.cfg }

// restartOfCosine is torch's (e - 1 - T_max) % (2 * T_max) == 0 for e >= 1: e-1 is
// an odd multiple of T_max. It is written without 2*T_max, which overflows int for
// a T_max above math.MaxInt/2.
func restartOfCosine(e, tmax int) bool {
	return (e-1)%tmax == 0 && ((e-1)/tmax)%2 == 1
}
