package optim

import (
	"math"

	"github.com/goptim/goptim/binding"
)

// RpropConfig holds torch.optim.Rprop's options. Zero values are taken literally: start
// from RpropDefaults.
// The options must lie within float32's range, in which the kernels compute: validation
// refuses the rest with a *ConfigError.
type RpropConfig struct {
	// LR (torch's lr) is the step size every element starts with, at its param's first
	// step; as in torch, changing it later does not change the steps.
	LR          float64 `json:"lr"`
	EtaMinus    float64 `json:"etaminus"`      // etas[0]: factor of the step size when the gradient changes sign
	EtaPlus     float64 `json:"etaplus"`       // etas[1]: factor when it keeps its sign
	StepSizeMin float64 `json:"step_size_min"` // step_sizes[0]
	StepSizeMax float64 `json:"step_size_max"` // step_sizes[1]
	Maximize    bool    `json:"maximize"`      // maximize
}

// RpropDefaults is torch's Rprop: lr 1e-2, etas (0.5, 1.2), step_sizes (1e-6, 50).
func RpropDefaults() RpropConfig {
	return RpropConfig{LR: 1e-2, EtaMinus: 0.5, EtaPlus: 1.2, StepSizeMin: 1e-6, StepSizeMax: 50}
}

func (c RpropConfig) validate() error {
	const k = "rprop"
	if err := checkNonNeg(k, "lr", c.LR); err != nil {
		return err
	}
	if !(c.EtaMinus > 0 && c.EtaMinus < 1) {
		return &ConfigError{Optimizer: k, Field: "etas[0]", Value: c.EtaMinus, Reason: "must be in (0, 1)"}
	}
	if !(c.EtaPlus > 1) {
		return &ConfigError{Optimizer: k, Field: "etas[1]", Value: c.EtaPlus, Reason: "must be above 1"}
	}
	// torch leaves step_sizes unchecked; the kernel clamps to them as float32, so they
	// must be numbers in its range (min above max is allowed: the clamp then gives max).
	for _, f := range []struct {
		name string
		v    float64
	}{{"step_sizes[0]", c.StepSizeMin}, {"step_sizes[1]", c.StepSizeMax}} {
		if math.IsNaN(f.v) {
			return &ConfigError{Optimizer: k, Field: f.name, Value: f.v, Reason: "must be a number"}
		}
	}
	return checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"etas[1]", c.EtaPlus},
		float32Field{"step_sizes[0]", c.StepSizeMin}, float32Field{"step_sizes[1]", c.StepSizeMax})
}

// Rprop is torch.optim.Rprop, resilient backpropagation (Riedmiller & Braun 1993), per
// element:
//
//	g = maximize ? -grad : grad
//	s = sign(g * prev)
//	step_size = clamp(step_size * (s > 0 ? etaplus : s < 0 ? etaminus : 1), step_size_min, step_size_max)
//	g = 0 where s < 0
//	p -= sign(g) * step_size
//	prev = g
//
// step_size starts at lr at each param's first step, prev at 0.
type Rprop struct{ *core[RpropConfig] }

var _ OptimizerOf[RpropConfig] = (*Rprop)(nil)

var rpropSpec = spec[RpropConfig]{
	kind:     "rprop",
	validate: RpropConfig.validate,
	lr:       func(c *RpropConfig) *float64 { return &c.LR },
	slots: func(RpropConfig) (s [binding.MaxState]string) {
		s[0], s[1] = "prev", "step_size"
		return s
	},
	initial: func(c RpropConfig, k int) float32 {
		if k == 1 {
			return float32(c.LR)
		}
		return 0
	},
	initialAtFirstStep: true,
	step: func(ctx *binding.Context, l *binding.List, c RpropConfig, t int64, aux *binding.Aux) error {
		return ctx.RpropStep(l, &binding.RpropParams{LR: c.LR, EtaMinus: c.EtaMinus, EtaPlus: c.EtaPlus,
			StepSizeMin: c.StepSizeMin, StepSizeMax: c.StepSizeMax, Maximize: c.Maximize}, t, aux)
	},
	// torch's Rprop has no fused kernel: GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewRprop makes an Rprop optimizer over params (its first param group).
func NewRprop(params []*Param, cfg RpropConfig) (*Rprop, error) {
	c, err := newCore(rpropSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Rprop{c}, nil
}
