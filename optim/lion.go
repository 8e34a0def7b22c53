package optim

import (
	"github.com/goptim/goptim/binding"
)

// LionConfig holds Lion's options, named as in its reference implementation
// (google/automl lion/lion_pytorch.py). Zero values are taken literally: start from
// LionDefaults.
// The options must lie within float32's range, in which the kernels compute:
// validation refuses the rest with a *ConfigError.
type LionConfig struct {
	LR          float64 `json:"lr"`           // lr
	Beta1       float64 `json:"beta1"`        // betas[0]: the momentum the step's sign is taken of
	Beta2       float64 `json:"beta2"`        // betas[1]: the momentum kept
	WeightDecay float64 `json:"weight_decay"` // weight_decay: decoupled, params times 1-lr*weight_decay
}

// LionDefaults is the reference's Lion: lr 1e-4, betas (0.9, 0.99), no weight decay.
func LionDefaults() LionConfig { return LionConfig{LR: 1e-4, Beta1: 0.9, Beta2: 0.99} }

func (c LionConfig) validate() error {
	const k = "lion"
	if err := checkNonNeg(k, "lr", c.LR); err != nil {
		return err
	}
	if err := checkUnit(k, "betas[0]", c.Beta1); err != nil {
		return err
	}
	if err := checkUnit(k, "betas[1]", c.Beta2); err != nil {
		return err
	}
	// The reference leaves weight_decay unchecked; a negative one grows the params
	// every step, which no recipe means.
	if err := checkNonNeg(k, "weight_decay", c.WeightDecay); err != nil {
		return err
	}
	// The kernel takes -lr and 1-lr*weight_decay as float32.
	if err := checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"weight_decay", c.WeightDecay}); err != nil {
		return err
	}
	return checkFloat32Derived(k, "lr*weight_decay", c.LR*c.WeightDecay,
		"weight decay multiplies the params by 1-lr*weight_decay, which would overflow float32")
}

// Lion is the Lion optimizer, EvoLved Sign Momentum (Chen et al. 2023, "Symbolic
// Discovery of Optimization Algorithms"), as its reference google/automl
// lion/lion_pytorch.py computes it:
//
//	p *= 1 - lr*weight_decay
//	p -= lr * sign(beta1*m + (1-beta1)*g)
//	m = beta2*m + (1-beta2)*g
//
// sign(0) is 0, as in the reference (torch.sign): an element whose interpolated
// momentum is exactly zero does not move, where some fused kernels step it by lr. One
// state tensor (4 bytes per parameter).
type Lion struct{ *core[LionConfig] }

var _ OptimizerOf[LionConfig] = (*Lion)(nil)

var lionSpec = spec[LionConfig]{
	kind:     "lion",
	validate: LionConfig.validate,
	lr:       func(c *LionConfig) *float64 { return &c.LR },
	momentum: func(c *LionConfig) *float64 { return &c.Beta1 },
	slots: func(LionConfig) (s [binding.MaxState]string) {
		s[0] = "exp_avg"
		return s
	},
	initial: func(LionConfig, int) float32 { return 0 },
	step: func(ctx *binding.Context, l *binding.List, c LionConfig, t int64, aux *binding.Aux) error {
		return ctx.LionStep(l, &binding.LionParams{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, WeightDecay: c.WeightDecay},
			t, aux)
	},
	// The reference has no fused kernel: GradScaler unscales the gradients in place.
	fusedScaling: false,
}

// NewLion makes a Lion optimizer over params (its first param group).
func NewLion(params []*Param, cfg LionConfig) (*Lion, error) {
	c, err := newCore(lionSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Lion{c}, nil
}
