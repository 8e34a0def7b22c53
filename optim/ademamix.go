package optim

import (
	"github.com/goptim/goptim/binding"
)

// AdEMAMixConfig holds AdEMAMix's options, named as in its reference implementation
// (apple/ml-ademamix pytorch/ademamix.py). Zero values are taken literally: start from
// AdEMAMixDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type AdEMAMixConfig struct {
	LR    float64 `json:"lr"`    // lr
	Beta1 float64 `json:"beta1"` // betas[0]: the fast EMA of the gradient (0: none kept, the gradient itself)
	Beta2 float64 `json:"beta2"` // betas[1]: the EMA of its square
	Beta3 float64 `json:"beta3"` // betas[2]: the slow EMA of the gradient
	Alpha float64 `json:"alpha"` // alpha: the weight of the slow EMA
	// Beta3Warmup and AlphaWarmup are the reference's beta3_warmup and alpha_warmup:
	// over that many steps beta3 rises from beta1 (linearly in half-life) and alpha from
	// 0 (linearly); 0 is the reference's None, no warmup.
	Beta3Warmup int     `json:"beta3_warmup"`
	AlphaWarmup int     `json:"alpha_warmup"`
	Eps         float64 `json:"eps"`          // eps
	WeightDecay float64 `json:"weight_decay"` // weight_decay: decoupled, as in AdamW (scaled by lr)
}

// AdEMAMixDefaults is the reference's AdEMAMix: lr 1e-3, betas (0.9, 0.999, 0.9999),
// alpha 2, no warmups, eps 1e-8, no weight decay.
func AdEMAMixDefaults() AdEMAMixConfig {
	return AdEMAMixConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Beta3: 0.9999, Alpha: 2, Eps: 1e-8}
}

func (c AdEMAMixConfig) validate() error {
	const k = "ademamix"
	if err := checkAdamOptions(k, c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay); err != nil {
		return err
	}
	if err := checkUnit(k, "betas[2]", c.Beta3); err != nil {
		return err
	}
	if err := checkNonNeg(k, "alpha", c.Alpha); err != nil {
		return err
	}
	for _, w := range []struct {
		name string
		v    int
	}{{"beta3_warmup", c.Beta3Warmup}, {"alpha_warmup", c.AlphaWarmup}} {
		if w.v < 0 {
			return &ConfigError{Optimizer: k, Field: w.name, Value: float64(w.v),
				Reason: "must be >= 0 (0: no warmup, the reference's None)"}
		}
	}
	// The kernel takes alpha and -lr as float32 (lr checked with the Adam options); the
	// bias corrections lie in (0, 1] whatever the betas.
	return checkFloat32(k, float32Field{"alpha", c.Alpha})
}

func (c AdEMAMixConfig) params() *binding.AdEMAMixParams {
	return &binding.AdEMAMixParams{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Beta3: c.Beta3, Alpha: c.Alpha,
		Eps: c.Eps, WeightDecay: c.WeightDecay, AlphaWarmup: int64(c.AlphaWarmup), Beta3Warmup: int64(c.Beta3Warmup)}
}

// AdEMAMix is the AdEMAMix optimizer (Pagliardini, Ablin & Grangier 2024, "The AdEMAMix
// Optimizer: Better, Faster, Older"), Adam with a second, slow EMA of the gradient mixed
// into the numerator, as its reference apple/ml-ademamix pytorch/ademamix.py computes it:
//
//	m1 = beta1*m1 + (1-beta1)*g              (beta1 = 0: m1 is g, and no state is kept)
//	m2 = beta3_t*m2 + (1-beta3_t)*g
//	v  = beta2*v + (1-beta2)*g*g
//	u  = (m1/(1-beta1^t) + alpha_t*m2) / (sqrt(v)/sqrt(1-beta2^t) + eps) + weight_decay*p
//	p -= lr*u
//
// alpha_t and beta3_t follow their warmups (AlphaWarmup, Beta3Warmup). Three state
// tensors, 40 bytes per parameter moved per step (two with beta1 = 0, 32).
type AdEMAMix struct{ *core[AdEMAMixConfig] }

var _ OptimizerOf[AdEMAMixConfig] = (*AdEMAMix)(nil)

var ademamixSpec = spec[AdEMAMixConfig]{
	kind:     "ademamix",
	validate: AdEMAMixConfig.validate,
	lr:       func(c *AdEMAMixConfig) *float64 { return &c.LR },
	momentum: func(c *AdEMAMixConfig) *float64 { return &c.Beta1 },
	slots: func(c AdEMAMixConfig) (s [binding.MaxState]string) {
		if c.Beta1 != 0 {
			s[0] = "exp_avg_fast"
		}
		s[1], s[2] = "exp_avg_slow", "exp_avg_sq"
		return s
	},
	initial: func(AdEMAMixConfig, int) float32 { return 0 },
	step: func(ctx *binding.Context, l *binding.List, c AdEMAMixConfig, t int64, aux *binding.Aux) error {
		return ctx.AdEMAMixStep(l, c.params(), t, aux)
	},
	// The reference has no fused kernel: GradScaler unscales the gradients in place.
	fusedScaling: false,
}

// NewAdEMAMix makes an AdEMAMix optimizer over params (its first param group).
func NewAdEMAMix(params []*Param, cfg AdEMAMixConfig) (*AdEMAMix, error) {
	c, err := newCore(ademamixSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &AdEMAMix{c}, nil
}
