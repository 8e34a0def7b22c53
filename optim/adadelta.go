package optim

import (
	"github.com/goptim/goptim/binding"
)

// AdadeltaConfig holds torch.optim.Adadelta's options. Zero values are taken literally:
// start from AdadeltaDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type AdadeltaConfig struct {
	LR          float64 `json:"lr"`           // lr
	Rho         float64 `json:"rho"`          // rho
	Eps         float64 `json:"eps"`          // eps
	WeightDecay float64 `json:"weight_decay"` // weight_decay (L2, added to the gradient)
	Maximize    bool    `json:"maximize"`     // maximize
}

// AdadeltaDefaults is torch's Adadelta: lr 1.0, rho 0.9, eps 1e-6, no weight decay.
func AdadeltaDefaults() AdadeltaConfig { return AdadeltaConfig{LR: 1, Rho: 0.9, Eps: 1e-6} }

func (c AdadeltaConfig) validate() error {
	const k = "adadelta"
	if err := checkNonNeg(k, "lr", c.LR); err != nil {
		return err
	}
	if !(c.Rho >= 0 && c.Rho <= 1) {
		return &ConfigError{Optimizer: k, Field: "rho", Value: c.Rho, Reason: "must be in [0, 1]"}
	}
	if err := checkNonNeg(k, "eps", c.Eps); err != nil {
		return err
	}
	if err := checkNonNeg(k, "weight_decay", c.WeightDecay); err != nil {
		return err
	}
	// The kernel takes -lr, rho, 1-rho, eps and weight_decay as float32.
	if err := checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"weight_decay", c.WeightDecay}); err != nil {
		return err
	}
	return checkFloat32Eps(k, "eps", c.Eps)
}

// Adadelta is torch.optim.Adadelta (Zeiler 2012):
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                    (if weight_decay != 0)
//	sq = rho*sq + (1-rho)*g*g
//	delta = sqrt(acc + eps) / sqrt(sq + eps) * g
//	acc = rho*acc + (1-rho)*delta*delta
//	p -= lr * delta
type Adadelta struct{ *core[AdadeltaConfig] }

var _ OptimizerOf[AdadeltaConfig] = (*Adadelta)(nil)

var adadeltaSpec = spec[AdadeltaConfig]{
	kind:     "adadelta",
	validate: AdadeltaConfig.validate,
	lr:       func(c *AdadeltaConfig) *float64 { return &c.LR },
	slots: func(AdadeltaConfig) (s [binding.MaxState]string) {
		s[0], s[1] = "square_avg", "acc_delta"
		return s
	},
	initial: func(AdadeltaConfig, int) float32 { return 0 },
	step: func(ctx *binding.Context, l *binding.List, c AdadeltaConfig, t int64, aux *binding.Aux) error {
		return ctx.AdadeltaStep(l, &binding.AdadeltaParams{LR: c.LR, Rho: c.Rho, Eps: c.Eps,
			WeightDecay: c.WeightDecay, Maximize: c.Maximize}, t, aux)
	},
	// torch's Adadelta has no fused kernel: GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewAdadelta makes an Adadelta optimizer over params (its first param group).
func NewAdadelta(params []*Param, cfg AdadeltaConfig) (*Adadelta, error) {
	c, err := newCore(adadeltaSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Adadelta{c}, nil
}
