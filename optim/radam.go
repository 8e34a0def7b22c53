package optim

import (
	"github.com/goptim/goptim/binding"
)

// RAdamConfig holds torch.optim.RAdam's options. Zero values are taken literally: start
// from RAdamDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type RAdamConfig struct {
	LR          float64 `json:"lr"`           // lr
	Beta1       float64 `json:"beta1"`        // betas[0]
	Beta2       float64 `json:"beta2"`        // betas[1]
	Eps         float64 `json:"eps"`          // eps
	WeightDecay float64 `json:"weight_decay"` // weight_decay: L2 penalty, or decoupled decay with DecoupledWeightDecay
	// DecoupledWeightDecay (torch's decoupled_weight_decay) shrinks the params by
	// 1-lr*weight_decay instead of adding weight_decay*p to the gradient (RAdamW).
	DecoupledWeightDecay bool `json:"decoupled_weight_decay"`
	Maximize             bool `json:"maximize"` // maximize
}

// RAdamDefaults is torch's RAdam: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.
func RAdamDefaults() RAdamConfig { return RAdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

func (c RAdamConfig) validate() error {
	const k = "radam"
	// The kernel takes lr, 1-beta1, beta2, 1-beta2, eps, weight_decay and, per step,
	// 1-beta1^t, sqrt(1-beta2^t) (both in (0, 1]) and the rectification term (in
	// (0, 1), as rho_t < rho_inf) as float32; RAdamW also 1-lr*weight_decay.
	if err := checkAdamOptions(k, c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay); err != nil {
		return err
	}
	if c.DecoupledWeightDecay {
		return checkFloat32Derived(k, "lr*weight_decay", c.LR*c.WeightDecay,
			"decoupled weight decay multiplies the params by 1-lr*weight_decay, which would overflow float32")
	}
	return nil
}

// RAdam is torch.optim.RAdam, rectified Adam (Liu et al. 2020), and RAdamW with
// DecoupledWeightDecay:
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                      (if weight_decay != 0, not decoupled)
//	p *= 1 - lr*weight_decay                   (decoupled)
//	m = beta1*m + (1-beta1)*g                  (torch 2.x: m.lerp_(g, 1-beta1))
//	v = beta2*v + (1-beta2)*g*g
//	rho_inf = 2/(1-beta2) - 1, rho_t = rho_inf - 2t*beta2^t/(1-beta2^t)
//	rho_t > 5: p -= lr * m/(1-beta1^t) * sqrt(1-beta2^t)/(sqrt(v)+eps) * r_t,
//	           r_t = sqrt((rho_t-4)(rho_t-2)rho_inf / ((rho_inf-4)(rho_inf-2)rho_t))
//	otherwise: p -= lr * m/(1-beta1^t)
type RAdam struct{ *core[RAdamConfig] }

var _ OptimizerOf[RAdamConfig] = (*RAdam)(nil)

var radamSpec = spec[RAdamConfig]{
	kind:     "radam",
	validate: RAdamConfig.validate,
	lr:       func(c *RAdamConfig) *float64 { return &c.LR },
	momentum: func(c *RAdamConfig) *float64 { return &c.Beta1 },
	slots: func(RAdamConfig) (s [binding.MaxState]string) {
		s[0], s[1] = "exp_avg", "exp_avg_sq"
		return s
	},
	initial: func(RAdamConfig, int) float32 { return 0 },
	step: func(ctx *binding.Context, l *binding.List, c RAdamConfig, t int64, aux *binding.Aux) error {
		return ctx.RAdamStep(l, &binding.RAdamParams{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps,
			WeightDecay: c.WeightDecay, DecoupledWeightDecay: c.DecoupledWeightDecay, Maximize: c.Maximize}, t, aux)
	},
	// torch's RAdam has no fused kernel: GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewRAdam makes an RAdam optimizer over params (its first param group).
func NewRAdam(params []*Param, cfg RAdamConfig) (*RAdam, error) {
	c, err := newCore(radamSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &RAdam{c}, nil
}
