package optim

import (
	"unsafe"

	"github.com/goptim/goptim/binding"
)

// LAMBConfig holds the options of LAMB as apex's FusedLAMB names them
// (apex/optimizers/fused_lamb.py), plus timm's trust_clip. Zero values are taken
// literally: start from LAMBDefaults.
// The options must lie within float32's range, in which the kernels compute (apex takes
// them as float): validation refuses the rest with a *ConfigError.
type LAMBConfig struct {
	LR             float64 `json:"lr"`              // lr
	BiasCorrection bool    `json:"bias_correction"` // bias_correction
	Beta1          float64 `json:"beta1"`           // betas[0]
	Beta2          float64 `json:"beta2"`           // betas[1]
	Eps            float64 `json:"eps"`             // eps
	WeightDecay    float64 `json:"weight_decay"`    // weight_decay
	// AdamWMode is adam_w_mode: decay added to the update (true) or to the gradient.
	AdamWMode bool `json:"adam_w_mode"`
	// GradAveraging is grad_averaging: the first moment takes (1-beta1)*g (true) or g.
	GradAveraging bool `json:"grad_averaging"`
	// MaxGradNorm is max_grad_norm: the gradients are divided by norm/max_grad_norm
	// when the L2 norm of all of them (every group's) exceeds it. 0 turns this off
	// (apex has no off switch: its 0 divides every gradient by +Inf).
	MaxGradNorm float64 `json:"max_grad_norm"`
	// UseNVLAMB is use_nvlamb: the trust ratio for every tensor, not only for those
	// with weight decay.
	UseNVLAMB bool `json:"use_nvlamb"`
	// TrustClip caps the trust ratio ||p||/||u|| at 1 (timm's trust_clip, "LAMBC").
	TrustClip bool `json:"trust_clip"`
}

// LAMBDefaults is apex's FusedLAMB: lr 1e-3, bias correction, betas (0.9, 0.999), eps
// 1e-6, weight_decay 0.01, adam_w_mode, grad_averaging, max_grad_norm 1, no NVLAMB, no
// trust clip.
func LAMBDefaults() LAMBConfig {
	return LAMBConfig{LR: 1e-3, BiasCorrection: true, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, WeightDecay: 0.01,
		AdamWMode: true, GradAveraging: true, MaxGradNorm: 1}
}

func (c LAMBConfig) validate() error {
	const k = "lamb"
	if err := checkAdamOptions(k, c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay); err != nil {
		return err
	}
	if err := checkNonNeg(k, "max_grad_norm", c.MaxGradNorm); err != nil {
		return err
	}
	return checkFloat32(k, float32Field{"max_grad_norm", c.MaxGradNorm})
}

func (c LAMBConfig) params(norm unsafe.Pointer) *binding.LAMBParams {
	return &binding.LAMBParams{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay,
		MaxGradNorm: c.MaxGradNorm, BiasCorrection: c.BiasCorrection, GradAveraging: c.GradAveraging,
		AdamWMode: c.AdamWMode, UseNVLAMB: c.UseNVLAMB, TrustClip: c.TrustClip, GlobalGradNorm: norm}
}

// LAMB is Layer-wise Adaptive Moments for Batch training (You et al. 2019, "Large Batch
// Optimization for Deep Learning: Training BERT in 76 minutes") as apex's FusedLAMB
// computes it, with every scalar in float32 as apex's kernel takes it:
//
//	clip = max_grad_norm > 0 && gn > max_grad_norm ? gn/max_grad_norm : 1
//	s = g / clip                                  (gn: L2 norm of every gradient, all groups)
//	s += weight_decay * p                         (adam_w_mode false)
//	m = beta1*m + beta3*s,  beta3 = grad_averaging ? 1-beta1 : 1
//	v = beta2*v + (1-beta2)*s*s
//	u = (m/bc1) / (sqrt(v/bc2) + eps)             (bc = 1-beta^t with bias_correction, else 1)
//	u += weight_decay * p                         (adam_w_mode true)
//	p -= lr * trust * u
//
// per tensor trust = ||p||/||u|| when use_nvlamb or weight_decay != 0 and both norms are
// non-zero, else 1 (capped at 1 with TrustClip). The norms are summed in double and
// rounded to float32 once, where apex sums in float: the results can differ from apex's
// in the last bits, and are the same on every ISA and thread count.
//
// The step makes one pass over the params, gradients and moments, and, when the trust
// ratio applies, a second over the params and moments (the update is recomputed, the
// gradients stay as they are); with MaxGradNorm > 0 the gradients' norm is one more
// read of them. ClipStep scales the gradients in memory before that norm is taken (the
// norm LAMB divides by is the clipped one). GradScaler unscales the gradients in place
// first (apex's FusedLAMB takes no scale).
type LAMB struct{ *core[LAMBConfig] }

var _ OptimizerOf[LAMBConfig] = (*LAMB)(nil)

var lambSpec = spec[LAMBConfig]{
	kind:     "lamb",
	validate: LAMBConfig.validate,
	lr:       func(c *LAMBConfig) *float64 { return &c.LR },
	momentum: func(c *LAMBConfig) *float64 { return &c.Beta1 },
	slots: func(LAMBConfig) (s [binding.MaxState]string) {
		s[0], s[1] = "exp_avg", "exp_avg_sq"
		return s
	},
	initial:    func(LAMBConfig, int) float32 { return 0 },
	perTensor:  true,
	globalNorm: func(c LAMBConfig) bool { return c.MaxGradNorm > 0 },
	stepNorm: func(ctx *binding.Context, l *binding.List, c LAMBConfig, t int64, norm unsafe.Pointer,
		aux *binding.Aux) error {
		return ctx.LAMBStep(l, c.params(norm), t, aux)
	},
	fusedScaling: false,
}

// NewLAMB makes a LAMB optimizer over params (its first param group).
func NewLAMB(params []*Param, cfg LAMBConfig) (*LAMB, error) {
	c, err := newCore(lambSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &LAMB{c}, nil
}
