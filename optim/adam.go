package optim

import (
	"github.com/goptim/goptim/binding"
)

// AdamConfig holds the options of torch.optim.Adam and torch.optim.AdamW. Zero values
// are taken literally: start from AdamDefaults or AdamWDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type AdamConfig struct {
	LR          float64 `json:"lr"`           // lr
	Beta1       float64 `json:"beta1"`        // betas[0]
	Beta2       float64 `json:"beta2"`        // betas[1]
	Eps         float64 `json:"eps"`          // eps
	WeightDecay float64 `json:"weight_decay"` // weight_decay: L2 penalty for Adam, decoupled decay for AdamW
	AMSGrad     bool    `json:"amsgrad"`      // amsgrad
	Maximize    bool    `json:"maximize"`     // maximize
}

// AdamDefaults is torch's Adam: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.
func AdamDefaults() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// AdamWDefaults is torch's AdamW: as Adam with weight_decay 1e-2.
func AdamWDefaults() AdamConfig {
	c := AdamDefaults()
	c.WeightDecay = 1e-2
	return c
}

// checkAdamOptions checks the options the Adam family (Adam, AdamW, Adamax, RAdam)
// shares with torch's rules (lr, eps and weight_decay >= 0, betas in [0, 1)) and that
// the kernels can hold lr, eps and weight_decay as float32.
func checkAdamOptions(kind string, lr, beta1, beta2, eps, weightDecay float64) error {
	if err := checkNonNeg(kind, "lr", lr); err != nil {
		return err
	}
	if err := checkUnit(kind, "betas[0]", beta1); err != nil {
		return err
	}
	if err := checkUnit(kind, "betas[1]", beta2); err != nil {
		return err
	}
	if err := checkNonNeg(kind, "eps", eps); err != nil {
		return err
	}
	if err := checkNonNeg(kind, "weight_decay", weightDecay); err != nil {
		return err
	}
	if err := checkFloat32(kind, float32Field{"lr", lr}); err != nil {
		return err
	}
	if err := checkFloat32Eps(kind, "eps", eps); err != nil {
		return err
	}
	return checkFloat32(kind, float32Field{"weight_decay", weightDecay})
}

// checkStepSize: a step size lr/(1-beta1^t) is largest at t = 1, where it is
// lr/(1-beta1) (lr when beta1 = 0), and the kernels take it as float32.
func checkStepSize(kind string, lr, beta1 float64) error {
	return checkFloat32Derived(kind, "lr/(1-betas[0])", lr/(1-beta1),
		"the step size lr/(1-betas[0]^t) at step 1, its largest, would overflow float32")
}

func (c AdamConfig) validate(kind string, decoupled bool) error {
	// The kernels take beta1, beta2, 1-beta1 and 1-beta2 (all in [0, 1]), eps,
	// weight_decay, and per step t, as float32: the step size lr/(1-beta1^t) and
	// sqrt(1-beta2^t), and 1-lr*weight_decay, which only AdamW's kernel reads (Adam's
	// may hold an Inf there that nothing uses). sqrt(1-beta2^t) lies in
	// [sqrt(1-beta2), 1], at least 1e-8 for any beta2 < 1, a normal float32.
	if err := checkAdamOptions(kind, c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay); err != nil {
		return err
	}
	if err := checkStepSize(kind, c.LR, c.Beta1); err != nil {
		return err
	}
	if decoupled {
		return checkFloat32Derived(kind, "lr*weight_decay", c.LR*c.WeightDecay,
			"AdamW multiplies the params by 1-lr*weight_decay, which would overflow float32")
	}
	return nil
}

// Adam is torch.optim.Adam, or torch.optim.AdamW when made by NewAdamW:
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                     (Adam, if weight_decay != 0)
//	p *= 1 - lr*weight_decay                  (AdamW)
//	m = beta1*m + (1-beta1)*g
//	v = beta2*v + (1-beta2)*g*g
//	vmax = max(vmax, v)                       (amsgrad; then v below is vmax)
//	p -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps)
//
// Bias corrections are computed in double, as torch does.
type Adam struct{ *core[AdamConfig] }

func adamSpec(kind string, decoupled bool) spec[AdamConfig] {
	return spec[AdamConfig]{
		kind:     kind,
		validate: func(c AdamConfig) error { return c.validate(kind, decoupled) },
		lr:       func(c *AdamConfig) *float64 { return &c.LR },
		momentum: func(c *AdamConfig) *float64 { return &c.Beta1 },
		slots: func(c AdamConfig) (s [binding.MaxState]string) {
			s[0], s[1] = "exp_avg", "exp_avg_sq"
			if c.AMSGrad {
				s[2] = "max_exp_avg_sq"
			}
			return s
		},
		initial: func(AdamConfig, int) float32 { return 0 },
		step: func(ctx *binding.Context, l *binding.List, c AdamConfig, t int64, aux *binding.Aux) error {
			return ctx.AdamStep(l, &binding.AdamParams{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps,
				WeightDecay: c.WeightDecay, AMSGrad: c.AMSGrad, Maximize: c.Maximize,
				DecoupledWeightDecay: decoupled}, t, aux)
		},
		// torch's Adam and AdamW with fused=True take GradScaler's scale into the kernel.
		fusedScaling: true,
	}
}

var (
	adamSpecL2    = adamSpec("adam", false)
	adamSpecDecay = adamSpec("adamw", true)
)

// NewAdam makes an Adam optimizer over params (its first param group).
func NewAdam(params []*Param, cfg AdamConfig) (*Adam, error) {
	c, err := newCore(adamSpecL2, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Adam{c}, nil
}

// NewAdamW makes an AdamW optimizer (decoupled weight decay) over params.
func NewAdamW(params []*Param, cfg AdamConfig) (*Adam, error) {
	c, err := newCore(adamSpecDecay, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Adam{c}, nil
}
