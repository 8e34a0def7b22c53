package optim

import (
	"github.com/goptim/goptim/binding"
)

// NAdamConfig holds torch.optim.NAdam's options. Zero values are taken literally: start
// from NAdamDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type NAdamConfig struct {
	LR            float64 `json:"lr"`             // lr
	Beta1         float64 `json:"beta1"`          // betas[0]
	Beta2         float64 `json:"beta2"`          // betas[1]
	Eps           float64 `json:"eps"`            // eps
	WeightDecay   float64 `json:"weight_decay"`   // weight_decay: L2 penalty, or decoupled decay with DecoupledWeightDecay
	MomentumDecay float64 `json:"momentum_decay"` // momentum_decay (psi): the momentum schedule's decay
	// DecoupledWeightDecay (torch's decoupled_weight_decay) shrinks the params by
	// 1-lr*weight_decay instead of adding weight_decay*p to the gradient (NAdamW).
	DecoupledWeightDecay bool `json:"decoupled_weight_decay"`
	Maximize             bool `json:"maximize"` // maximize
}

// NAdamDefaults is torch's NAdam: lr 2e-3, betas (0.9, 0.999), eps 1e-8, no weight
// decay, momentum_decay 4e-3.
func NAdamDefaults() NAdamConfig {
	return NAdamConfig{LR: 2e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, MomentumDecay: 4e-3}
}

func (c NAdamConfig) validate() error {
	const k = "nadam"
	// The kernel takes 1-beta1, beta2, 1-beta2, eps, weight_decay, 1-beta2^t and the two
	// coefficients lr*(1-mu_t)/(1-prod mu) and lr*mu_{t+1}/(1-prod mu) as float32. Every
	// mu_t lies in [beta1/2, beta1), so both coefficients are at most lr/(1-beta1), the
	// bound checkStepSize holds; NAdamW also takes 1-lr*weight_decay.
	if err := checkAdamOptions(k, c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay); err != nil {
		return err
	}
	if err := checkNonNeg(k, "momentum_decay", c.MomentumDecay); err != nil {
		return err
	}
	if err := checkStepSize(k, c.LR, c.Beta1); err != nil {
		return err
	}
	if c.DecoupledWeightDecay {
		return checkFloat32Derived(k, "lr*weight_decay", c.LR*c.WeightDecay,
			"decoupled weight decay multiplies the params by 1-lr*weight_decay, which would overflow float32")
	}
	return nil
}

func (c NAdamConfig) params(muProduct float32) *binding.NAdamParams {
	return &binding.NAdamParams{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay,
		MomentumDecay: c.MomentumDecay, MuProduct: muProduct, DecoupledWeightDecay: c.DecoupledWeightDecay,
		Maximize: c.Maximize}
}

// NAdam is torch.optim.NAdam, Adam with Nesterov momentum (Dozat 2016), and NAdamW with
// DecoupledWeightDecay:
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                      (if weight_decay != 0, not decoupled)
//	p *= 1 - lr*weight_decay                   (decoupled)
//	mu_t = beta1 * (1 - 0.5 * 0.96^(t*momentum_decay)),  mu_product *= mu_t
//	m = beta1*m + (1-beta1)*g                  (torch 2.x: m.lerp_(g, 1-beta1))
//	v = beta2*v + (1-beta2)*g*g
//	denom = sqrt(v/(1-beta2^t)) + eps
//	p -= lr*(1-mu_t)/(1-mu_product) * g/denom
//	p -= lr*mu_{t+1}/(1-mu_product*mu_{t+1}) * m/denom
//
// As in torch, each param keeps its own mu_product (a float32, State's "mu_product").
type NAdam struct{ *core[NAdamConfig] }

var _ OptimizerOf[NAdamConfig] = (*NAdam)(nil)

var nadamSpec = spec[NAdamConfig]{
	kind:     "nadam",
	validate: NAdamConfig.validate,
	lr:       func(c *NAdamConfig) *float64 { return &c.LR },
	momentum: func(c *NAdamConfig) *float64 { return &c.Beta1 },
	slots: func(NAdamConfig) (s [binding.MaxState]string) {
		s[0], s[1] = "exp_avg", "exp_avg_sq"
		return s
	},
	initial:      func(NAdamConfig, int) float32 { return 0 },
	scalarNames:  []string{"mu_product"},
	scalars32:    true,
	freshScalars: func(NAdamConfig) scalars { return scalars{1} },
	nextScalars: func(c NAdamConfig, t int64, sc scalars) (scalars, error) {
		mp, err := binding.NAdamMuProduct(c.params(float32(sc[0])), t)
		return scalars{float64(mp)}, err
	},
	stepScalars: func(ctx *binding.Context, l *binding.List, c NAdamConfig, t int64, sc scalars, aux *binding.Aux) error {
		return ctx.NAdamStep(l, c.params(float32(sc[0])), t, aux)
	},
	// torch's NAdam has no fused kernel: GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewNAdam makes an NAdam optimizer over params (its first param group).
func NewNAdam(params []*Param, cfg NAdamConfig) (*NAdam, error) {
	c, err := newCore(nadamSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &NAdam{c}, nil
}
