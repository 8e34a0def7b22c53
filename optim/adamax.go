package optim

import (
	"github.com/goptim/goptim/binding"
)

// AdamaxConfig holds torch.optim.Adamax's options. Zero values are taken literally:
// start from AdamaxDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type AdamaxConfig struct {
	LR          float64 `json:"lr"`           // lr
	Beta1       float64 `json:"beta1"`        // betas[0]
	Beta2       float64 `json:"beta2"`        // betas[1]
	Eps         float64 `json:"eps"`          // eps
	WeightDecay float64 `json:"weight_decay"` // weight_decay (L2, added to the gradient)
	Maximize    bool    `json:"maximize"`     // maximize
}

// AdamaxDefaults is torch's Adamax: lr 2e-3, betas (0.9, 0.999), eps 1e-8, no weight
// decay.
func AdamaxDefaults() AdamaxConfig {
	return AdamaxConfig{LR: 2e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

func (c AdamaxConfig) validate() error {
	// The kernel takes 1-beta1, beta2, eps, weight_decay and, per step t, the step size
	// lr/(1-beta1^t) as float32.
	if err := checkAdamOptions("adamax", c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay); err != nil {
		return err
	}
	return checkStepSize("adamax", c.LR, c.Beta1)
}

// Adamax is torch.optim.Adamax, Adam with the infinity norm (Kingma & Ba 2015, sec. 7.1):
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                    (if weight_decay != 0)
//	m = beta1*m + (1-beta1)*g                (torch 2.x: m.lerp_(g, 1-beta1))
//	u = max(beta2*u, |g| + eps)
//	p -= lr/(1-beta1^t) * m / u
type Adamax struct{ *core[AdamaxConfig] }

var _ OptimizerOf[AdamaxConfig] = (*Adamax)(nil)

var adamaxSpec = spec[AdamaxConfig]{
	kind:     "adamax",
	validate: AdamaxConfig.validate,
	lr:       func(c *AdamaxConfig) *float64 { return &c.LR },
	momentum: func(c *AdamaxConfig) *float64 { return &c.Beta1 },
	slots: func(AdamaxConfig) (s [binding.MaxState]string) {
		s[0], s[1] = "exp_avg", "exp_inf"
		return s
	},
	initial: func(AdamaxConfig, int) float32 { return 0 },
	step: func(ctx *binding.Context, l *binding.List, c AdamaxConfig, t int64, aux *binding.Aux) error {
		return ctx.AdamaxStep(l, &binding.AdamaxParams{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps,
			WeightDecay: c.WeightDecay, Maximize: c.Maximize}, t, aux)
	},
	// torch's Adamax has no fused kernel: GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewAdamax makes an Adamax optimizer over params (its first param group).
func NewAdamax(params []*Param, cfg AdamaxConfig) (*Adamax, error) {
	c, err := newCore(adamaxSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Adamax{c}, nil
}
