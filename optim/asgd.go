package optim

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/binding"
)

// ASGDConfig holds torch.optim.ASGD's options. Zero values are taken literally: start
// from ASGDDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type ASGDConfig struct {
	LR          float64 `json:"lr"`           // lr
	Lambd       float64 `json:"lambd"`        // lambd: decay term
	Alpha       float64 `json:"alpha"`        // alpha: power of the eta update
	T0          float64 `json:"t0"`           // t0: the step after which averaging starts
	WeightDecay float64 `json:"weight_decay"` // weight_decay (L2, added to the gradient)
	Maximize    bool    `json:"maximize"`     // maximize
}

// ASGDDefaults is torch's ASGD: lr 1e-2, lambd 1e-4, alpha 0.75, t0 1e6, no weight
// decay.
func ASGDDefaults() ASGDConfig {
	return ASGDConfig{LR: 1e-2, Lambd: 1e-4, Alpha: 0.75, T0: 1e6}
}

func (c ASGDConfig) validate() error {
	const k = "asgd"
	if err := checkNonNeg(k, "lr", c.LR); err != nil {
		return err
	}
	if err := checkNonNeg(k, "weight_decay", c.WeightDecay); err != nil {
		return err
	}
	// torch leaves lambd, alpha and t0 unchecked. A negative lambd or alpha makes eta
	// grow with the steps (past float32's range, or through a negative base to a
	// complex power), which no averaging schedule means, so they are refused; t0 may be
	// any number.
	if err := checkNonNeg(k, "lambd", c.Lambd); err != nil {
		return err
	}
	if err := checkNonNeg(k, "alpha", c.Alpha); err != nil {
		return err
	}
	if math.IsNaN(c.T0) {
		return &ConfigError{Optimizer: k, Field: "t0", Value: c.T0, Reason: "must be a number"}
	}
	// The kernel takes eta (at most lr), 1-lambd*eta and weight_decay as float32.
	if err := checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"weight_decay", c.WeightDecay}); err != nil {
		return err
	}
	return checkFloat32Derived(k, "lambd*lr", c.Lambd*c.LR,
		"the params are multiplied by 1-lambd*eta with eta up to lr, which would overflow float32")
}

func (c ASGDConfig) params(sc scalars) *binding.ASGDParams {
	return &binding.ASGDParams{LR: c.LR, Lambd: c.Lambd, Alpha: c.Alpha, T0: c.T0, WeightDecay: c.WeightDecay,
		Eta: float32(sc[0]), Mu: float32(sc[1]), Maximize: c.Maximize}
}

// ASGD is torch.optim.ASGD, averaged stochastic gradient descent (Polyak & Juditsky
// 1992), per param with its own eta and mu (float32, State's "eta" and "mu"):
//
//	g = maximize ? -grad : grad
//	g += weight_decay * p                    (if weight_decay != 0)
//	p *= 1 - lambd*eta
//	p -= eta * g
//	ax = mu != 1 ? ax + (p - ax)*mu : p      (the averaged params)
//	eta = lr / (1 + lambd*lr*t)^alpha,  mu = 1 / max(1, t - t0)
//
// eta starts at the lr of the param's first step, mu at 1. Averaged reads ax.
type ASGD struct{ *core[ASGDConfig] }

var _ OptimizerOf[ASGDConfig] = (*ASGD)(nil)

var asgdSpec = spec[ASGDConfig]{
	kind:     "asgd",
	validate: ASGDConfig.validate,
	lr:       func(c *ASGDConfig) *float64 { return &c.LR },
	slots: func(ASGDConfig) (s [binding.MaxState]string) {
		s[0] = "ax"
		return s
	},
	initial:      func(ASGDConfig, int) float32 { return 0 },
	scalarNames:  []string{"eta", "mu"},
	scalars32:    true,
	freshScalars: func(c ASGDConfig) scalars { return scalars{float64(float32(c.LR)), 1} },
	nextScalars: func(c ASGDConfig, t int64, sc scalars) (scalars, error) {
		eta, mu, err := binding.ASGDNext(c.params(sc), t)
		return scalars{float64(eta), float64(mu)}, err
	},
	stepScalars: func(ctx *binding.Context, l *binding.List, c ASGDConfig, t int64, sc scalars, aux *binding.Aux) error {
		return ctx.ASGDStep(l, c.params(sc), t, aux)
	},
	// torch's ASGD has no fused kernel: GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewASGD makes an ASGD optimizer over params (its first param group).
func NewASGD(params []*Param, cfg ASGDConfig) (*ASGD, error) {
	c, err := newCore(asgdSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &ASGD{c}, nil
}

// Averaged is a host copy of the averaged params ax of param i of group g (torch's
// state "ax"): the params themselves until the step after t0, their running average
// from then on. Before the param's first step it is all zeros, as torch creates it.
func (o *ASGD) Averaged(g, i int) ([]float32, error) {
	if o == nil || o.core == nil {
		return nil, fmt.Errorf("optim: asgd: Averaged: %w", errNoCore)
	}
	return o.State(g, i, "ax")
}
