package optim

import (
	"github.com/goptim/goptim/binding"
)

// RMSpropConfig holds torch.optim.RMSprop's options. Zero values are taken
// literally: start from RMSpropDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type RMSpropConfig struct {
	LR          float64 `json:"lr"`           // lr
	Alpha       float64 `json:"alpha"`        // alpha
	Eps         float64 `json:"eps"`          // eps
	WeightDecay float64 `json:"weight_decay"` // weight_decay
	Momentum    float64 `json:"momentum"`     // momentum
	Centered    bool    `json:"centered"`     // centered
	Maximize    bool    `json:"maximize"`     // maximize
}

// RMSpropDefaults is torch's RMSprop: lr 1e-2, alpha 0.99, eps 1e-8, no momentum.
func RMSpropDefaults() RMSpropConfig { return RMSpropConfig{LR: 1e-2, Alpha: 0.99, Eps: 1e-8} }

func (c RMSpropConfig) validate() error {
	const k = "rmsprop"
	for _, f := range []struct {
		name string
		v    float64
	}{{"lr", c.LR}, {"alpha", c.Alpha}, {"eps", c.Eps}, {"weight_decay", c.WeightDecay}, {"momentum", c.Momentum}} {
		if err := checkNonNeg(k, f.name, f.v); err != nil {
			return err
		}
	}
	// The kernel takes -lr, alpha, 1-alpha, eps, weight_decay and momentum as
	// float32; with alpha within float32's range, so is 1-alpha.
	if err := checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"alpha", c.Alpha}); err != nil {
		return err
	}
	if err := checkFloat32Eps(k, "eps", c.Eps); err != nil {
		return err
	}
	return checkFloat32(k, float32Field{"weight_decay", c.WeightDecay}, float32Field{"momentum", c.Momentum})
}

// RMSprop is torch.optim.RMSprop:
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                       (if weight_decay != 0)
//	sq = alpha*sq + (1-alpha)*g*g
//	avg = sqrt(sq) + eps, or when centered:
//	      ga = alpha*ga + (1-alpha)*g; avg = sqrt(sq - ga*ga) + eps
//	buf = momentum*buf + g/avg; p -= lr*buf     (if momentum > 0)
//	p -= lr * g/avg                             (otherwise)
type RMSprop struct{ *core[RMSpropConfig] }

var rmspropSpec = spec[RMSpropConfig]{
	kind:     "rmsprop",
	validate: RMSpropConfig.validate,
	lr:       func(c *RMSpropConfig) *float64 { return &c.LR },
	momentum: func(c *RMSpropConfig) *float64 { return &c.Momentum },
	slots: func(c RMSpropConfig) (s [binding.MaxState]string) {
		s[0] = "square_avg"
		if c.Momentum > 0 {
			s[1] = "momentum_buffer"
		}
		if c.Centered {
			s[2] = "grad_avg"
		}
		return s
	},
	initial: func(RMSpropConfig, int) float32 { return 0 },
	step: func(ctx *binding.Context, l *binding.List, c RMSpropConfig, t int64, aux *binding.Aux) error {
		return ctx.RMSpropStep(l, &binding.RMSpropParams{LR: c.LR, Alpha: c.Alpha, Eps: c.Eps,
			WeightDecay: c.WeightDecay, Momentum: c.Momentum, Centered: c.Centered, Maximize: c.Maximize}, t, aux)
	},
	// torch has no fused RMSprop: GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewRMSprop makes an RMSprop optimizer over params (its first param group).
func NewRMSprop(params []*Param, cfg RMSpropConfig) (*RMSprop, error) {
	c, err := newCore(rmspropSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &RMSprop{c}, nil
}
