package optim

import (
	"github.com/goptim/goptim/binding"
)

// LARSConfig holds the options of LARS as apex's LARC wraps torch.optim.SGD
// (apex/parallel/LARC.py): SGD's options and LARC's trust_coefficient, clip and eps.
// Zero values are taken literally: start from LARSDefaults.
// The options must lie within float32's range, in which the kernels compute: validation
// refuses the rest with a *ConfigError.
type LARSConfig struct {
	LR          float64 `json:"lr"`           // lr
	Momentum    float64 `json:"momentum"`     // momentum
	Dampening   float64 `json:"dampening"`    // dampening
	WeightDecay float64 `json:"weight_decay"` // weight_decay (added by LARC before the scaling)
	Nesterov    bool    `json:"nesterov"`     // nesterov
	Maximize    bool    `json:"maximize"`     // maximize
	// TrustCoefficient is LARC's trust_coefficient (eta in You et al. 2017).
	TrustCoefficient float64 `json:"trust_coefficient"`
	// Clip is LARC's clip: the adaptive lr is capped at the group's lr (LARC); false
	// scales the lr by it (LARS).
	Clip bool    `json:"clip"`
	Eps  float64 `json:"eps"` // eps: added to the denominator of the adaptive lr
}

// LARSDefaults is torch's SGD with the given lr wrapped in apex's LARC: trust_coefficient
// 0.02, clip, eps 1e-8; no momentum, dampening, weight decay or Nesterov.
func LARSDefaults(lr float64) LARSConfig {
	return LARSConfig{LR: lr, TrustCoefficient: 0.02, Clip: true, Eps: 1e-8}
}

func (c LARSConfig) validate() error {
	const k = "lars"
	for _, f := range []struct {
		name string
		v    float64
	}{{"lr", c.LR}, {"momentum", c.Momentum}, {"dampening", c.Dampening}, {"weight_decay", c.WeightDecay},
		{"trust_coefficient", c.TrustCoefficient}, {"eps", c.Eps}} {
		if err := checkNonNeg(k, f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkNesterov(k, c.Nesterov, c.Momentum, c.Dampening); err != nil {
		return err
	}
	return checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"momentum", c.Momentum},
		float32Field{"dampening", c.Dampening}, float32Field{"weight_decay", c.WeightDecay},
		float32Field{"trust_coefficient", c.TrustCoefficient}, float32Field{"eps", c.Eps})
}

// LARS is Layer-wise Adaptive Rate Scaling (You, Gitman & Ginsburg 2017) as apex's LARC
// computes it around torch.optim.SGD, per tensor, in float32:
//
//	if ||p|| != 0 and ||g|| != 0:
//	    a = trust_coefficient*||p|| / (||g|| + ||p||*weight_decay + eps)
//	    a = min(a/lr, 1)                          (clip: LARC)
//	    g = (g + weight_decay*p) * a              (else g as it is, without decay)
//	g = maximize ? -g : g
//	buf = t == 1 ? g : momentum*buf + (1-dampening)*g   (if momentum != 0)
//	g = nesterov ? g + momentum*buf : buf
//	p -= lr * g
//
// The norms are summed in double and rounded to float32 once (torch.norm sums in
// float): the results can differ from apex's in the last bits, and are the same on every
// ISA and thread count. The step reads the params and gradients once for the norms, then
// makes SGD's pass; the gradients in memory are left as they are (LARC scales them in
// place). GradScaler unscales the gradients in place first.
type LARS struct{ *core[LARSConfig] }

var _ OptimizerOf[LARSConfig] = (*LARS)(nil)

var larsSpec = spec[LARSConfig]{
	kind:     "lars",
	validate: LARSConfig.validate,
	lr:       func(c *LARSConfig) *float64 { return &c.LR },
	momentum: func(c *LARSConfig) *float64 { return &c.Momentum },
	slots: func(c LARSConfig) (s [binding.MaxState]string) {
		if c.Momentum != 0 {
			s[0] = "momentum_buffer"
		}
		return s
	},
	initial:   func(LARSConfig, int) float32 { return 0 },
	perTensor: true,
	step: func(ctx *binding.Context, l *binding.List, c LARSConfig, t int64, aux *binding.Aux) error {
		return ctx.LARSStep(l, &binding.LARSParams{LR: c.LR, Momentum: c.Momentum, Dampening: c.Dampening,
			WeightDecay: c.WeightDecay, TrustCoefficient: c.TrustCoefficient, Eps: c.Eps, Nesterov: c.Nesterov,
			Maximize: c.Maximize, Clip: c.Clip}, t, aux)
	},
	fusedScaling: false,
}

// NewLARS makes a LARS optimizer over params (its first param group).
func NewLARS(params []*Param, cfg LARSConfig) (*LARS, error) {
	c, err := newCore(larsSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &LARS{c}, nil
}
