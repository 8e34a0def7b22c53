package optim

import (
	"github.com/goptim/goptim/binding"
)

// SGDConfig holds torch.optim.SGD's options. Zero values are taken literally: start
// from SGDDefaults. The JSON keys, used in checkpoints, are torch's option names.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type SGDConfig struct {
	LR          float64 `json:"lr"`           // lr
	Momentum    float64 `json:"momentum"`     // momentum
	Dampening   float64 `json:"dampening"`    // dampening
	WeightDecay float64 `json:"weight_decay"` // weight_decay (L2 penalty added to the gradient)
	Nesterov    bool    `json:"nesterov"`     // nesterov
	Maximize    bool    `json:"maximize"`     // maximize
}

// SGDDefaults is torch's SGD with the given learning rate: no momentum, dampening,
// weight decay or Nesterov. With these options SGD over the full batch is plain
// gradient descent.
func SGDDefaults(lr float64) SGDConfig { return SGDConfig{LR: lr} }

func (c SGDConfig) validate() error {
	const k = "sgd"
	for _, f := range []struct {
		name string
		v    float64
	}{{"lr", c.LR}, {"momentum", c.Momentum}, {"dampening", c.Dampening}, {"weight_decay", c.WeightDecay}} {
		if err := checkNonNeg(k, f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkNesterov(k, c.Nesterov, c.Momentum, c.Dampening); err != nil {
		return err
	}
	// The kernel takes -lr, momentum, 1-dampening and weight_decay as float32; with
	// dampening within float32's range, so is 1-dampening.
	return checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"momentum", c.Momentum},
		float32Field{"dampening", c.Dampening}, float32Field{"weight_decay", c.WeightDecay})
}

// checkNesterov is torch SGD's rule for Nesterov momentum (SGD's and LARS's): a momentum
// > 0 and no dampening. Each error says which option is at fault and shows its value.
func checkNesterov(kind string, nesterov bool, momentum, dampening float64) error {
	if nesterov && momentum <= 0 {
		return &ConfigError{Optimizer: kind, Field: "nesterov", Value: momentum,
			Reason: "Nesterov momentum requires a momentum > 0 (value shown: momentum)"}
	}
	if nesterov && dampening != 0 {
		return &ConfigError{Optimizer: kind, Field: "nesterov", Value: dampening,
			Reason: "Nesterov momentum requires zero dampening (value shown: dampening)"}
	}
	return nil
}

// SGD is stochastic gradient descent, optionally with momentum, as torch.optim.SGD:
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                          (if weight_decay != 0)
//	buf = t == 1 ? g : momentum*buf + (1-dampening)*g   (if momentum != 0)
//	g = nesterov ? g + momentum*buf : buf
//	p -= lr * g
type SGD struct{ *core[SGDConfig] }

var sgdSpec = spec[SGDConfig]{
	kind:     "sgd",
	validate: SGDConfig.validate,
	lr:       func(c *SGDConfig) *float64 { return &c.LR },
	momentum: func(c *SGDConfig) *float64 { return &c.Momentum },
	slots: func(c SGDConfig) (s [binding.MaxState]string) {
		if c.Momentum != 0 {
			s[0] = "momentum_buffer"
		}
		return s
	},
	initial: func(SGDConfig, int) float32 { return 0 },
	step: func(ctx *binding.Context, l *binding.List, c SGDConfig, t int64, aux *binding.Aux) error {
		return ctx.SGDStep(l, &binding.SGDParams{LR: c.LR, Momentum: c.Momentum, Dampening: c.Dampening,
			WeightDecay: c.WeightDecay, Nesterov: c.Nesterov, Maximize: c.Maximize}, t, aux)
	},
	// torch's SGD with fused=True takes GradScaler's scale into the kernel.
	fusedScaling: true,
}

// NewSGD makes an SGD optimizer over params (its first param group).
func NewSGD(params []*Param, cfg SGDConfig) (*SGD, error) {
	c, err := newCore(sgdSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &SGD{c}, nil
}
