package optim

import (
	"github.com/goptim/goptim/binding"
)

// AdagradConfig holds torch.optim.Adagrad's options. Zero values are taken
// literally: start from AdagradDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type AdagradConfig struct {
	LR          float64 `json:"lr"`           // lr
	LRDecay     float64 `json:"lr_decay"`     // lr_decay
	WeightDecay float64 `json:"weight_decay"` // weight_decay
	// InitialAccumulatorValue (torch's initial_accumulator_value) is the value every
	// element of the group's sum starts at. Each group's own value is used, for the
	// first group and for each group AddParamGroup adds; torch 1.13 starts the sum of
	// every param at the constructor's value, whatever its group's says.
	InitialAccumulatorValue float64 `json:"initial_accumulator_value"`
	Eps                     float64 `json:"eps"`      // eps
	Maximize                bool    `json:"maximize"` // maximize
}

// AdagradDefaults is torch's Adagrad: lr 1e-2, eps 1e-10, everything else 0.
func AdagradDefaults() AdagradConfig { return AdagradConfig{LR: 1e-2, Eps: 1e-10} }

func (c AdagradConfig) validate() error {
	const k = "adagrad"
	for _, f := range []struct {
		name string
		v    float64
	}{{"lr", c.LR}, {"lr_decay", c.LRDecay}, {"weight_decay", c.WeightDecay},
		{"initial_accumulator_value", c.InitialAccumulatorValue}, {"eps", c.Eps}} {
		if err := checkNonNeg(k, f.name, f.v); err != nil {
			return err
		}
	}
	// The kernel takes -clr, eps and weight_decay as float32, and the sum starts at
	// initial_accumulator_value rounded to float32. clr = lr/(1+(t-1)*lr_decay) is
	// computed in double and is at most lr (lr_decay >= 0; it is lr at t = 1), so
	// lr_decay itself never reaches float32 and any finite lr_decay >= 0 is fine.
	if err := checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"weight_decay", c.WeightDecay},
		float32Field{"initial_accumulator_value", c.InitialAccumulatorValue}); err != nil {
		return err
	}
	return checkFloat32Eps(k, "eps", c.Eps)
}

// Adagrad is torch.optim.Adagrad:
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                   (if weight_decay != 0)
//	clr = lr / (1 + (t-1)*lr_decay)
//	sum += g*g                              (sum starts at initial_accumulator_value)
//	p -= clr * g / (sqrt(sum) + eps)
type Adagrad struct{ *core[AdagradConfig] }

var adagradSpec = spec[AdagradConfig]{
	kind:     "adagrad",
	validate: AdagradConfig.validate,
	lr:       func(c *AdagradConfig) *float64 { return &c.LR },
	slots: func(AdagradConfig) (s [binding.MaxState]string) {
		s[0] = "sum"
		return s
	},
	initial: func(c AdagradConfig, _ int) float32 { return float32(c.InitialAccumulatorValue) },
	step: func(ctx *binding.Context, l *binding.List, c AdagradConfig, t int64, aux *binding.Aux) error {
		return ctx.AdagradStep(l, &binding.AdagradParams{LR: c.LR, LRDecay: c.LRDecay, WeightDecay: c.WeightDecay,
			Eps: c.Eps, Maximize: c.Maximize}, t, aux)
	},
	// torch's Adagrad, fused or not, does not take GradScaler's scale into its kernel
	// (no _step_supports_amp_scaling), so GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewAdagrad makes an Adagrad optimizer over params (its first param group).
func NewAdagrad(params []*Param, cfg AdagradConfig) (*Adagrad, error) {
	c, err := newCore(adagradSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Adagrad{c}, nil
}
