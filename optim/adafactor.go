package optim

import (
	"math"

	"github.com/goptim/goptim/binding"
)

// AdafactorConfig holds torch.optim.Adafactor's options (torch 2.5+). Zero values are
// taken literally: start from AdafactorDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range where the kernels compute with them: validation refuses the rest with a
// *ConfigError.
type AdafactorConfig struct {
	// LR (torch's lr) caps the relative step size rho_t = min(lr, 1/sqrt(t)) and scales
	// the weight decay; it is not a step size itself.
	LR         float64 `json:"lr"`
	Beta2Decay float64 `json:"beta2_decay"` // beta2_decay: 1-beta2_t = t^beta2_decay
	// Eps1 is torch's eps[0], the floor of the second-moment estimate (squared) and of
	// row_var's mean. torch's default None means the param dtype's machine epsilon,
	// 2^-23 for float32, which AdafactorDefaults sets.
	Eps1        float64 `json:"eps1"`
	Eps2        float64 `json:"eps2"`         // eps[1]: the floor of the params' RMS in the step size
	D           float64 `json:"d"`            // d: the update is clipped to RMS d
	WeightDecay float64 `json:"weight_decay"` // weight_decay: decoupled, params times 1-lr*weight_decay
	Maximize    bool    `json:"maximize"`     // maximize
}

// AdafactorDefaults is torch's Adafactor: lr 1e-2, beta2_decay -0.8, eps (None, 1e-3)
// with None as 2^-23 (float32's machine epsilon, what torch uses for float32 params),
// d 1, no weight decay.
func AdafactorDefaults() AdafactorConfig {
	return AdafactorConfig{LR: 1e-2, Beta2Decay: -0.8, Eps1: 0x1p-23, Eps2: 1e-3, D: 1}
}

func (c AdafactorConfig) validate() error {
	const k = "adafactor"
	if err := checkNonNeg(k, "lr", c.LR); err != nil {
		return err
	}
	if !(c.Beta2Decay <= 0) || math.IsInf(c.Beta2Decay, 0) {
		return &ConfigError{Optimizer: k, Field: "beta2_decay", Value: c.Beta2Decay, Reason: "must be finite and <= 0"}
	}
	if err := checkNonNeg(k, "eps[0]", c.Eps1); err != nil {
		return err
	}
	if err := checkNonNeg(k, "eps[1]", c.Eps2); err != nil {
		return err
	}
	if !(c.D >= 1) {
		return &ConfigError{Optimizer: k, Field: "d", Value: c.D, Reason: "must be >= 1"}
	}
	if err := checkNonNeg(k, "weight_decay", c.WeightDecay); err != nil {
		return err
	}
	// The kernel takes eps1, eps1^2 and 1-lr*weight_decay as float32, and the step's
	// factor, at most max(eps2, RMS(p)) * min(lr, 1), which eps2 bounds from below. lr
	// itself is held to float32's range as every optimizer's is.
	if err := checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"eps[0]", c.Eps1},
		float32Field{"eps[1]", c.Eps2}); err != nil {
		return err
	}
	if err := checkFloat32Derived(k, "eps[0]^2", c.Eps1*c.Eps1,
		"the second-moment estimate is floored at eps[0]^2 in float32"); err != nil {
		return err
	}
	return checkFloat32Derived(k, "lr*weight_decay", c.LR*c.WeightDecay,
		"weight decay multiplies the params by 1-lr*weight_decay, which would overflow float32")
}

// Adafactor is torch.optim.Adafactor (Shazeer & Stern 2018, with torch's use of lr and
// eps), which keeps no first moment and, for a matrix, only a row and a column factor
// of the second moment: rows+cols floats instead of rows*cols. A param is a matrix
// when its Shape has two or more dimensions (the last two are factored, the others a
// stack), a vector otherwise. Per param, with t its step count:
//
//	g = maximize ? -grad : grad
//	beta2_t = 1 - t^beta2_decay,  rho = min(lr, 1/sqrt(t))
//	alpha = max(eps2, RMS(p)) * rho
//	p *= 1 - lr*weight_decay
//	matrix: R = beta2_t*R + (1-beta2_t)*mean(g*g, over each row)
//	        C = beta2_t*C + (1-beta2_t)*mean(g*g, over each column)
//	        V = R C^T / max(mean(R), eps1)
//	vector: V = beta2_t*V + (1-beta2_t)*g*g
//	U = g / sqrt(max(V, eps1^2))
//	p -= alpha * U / max(1, RMS(U)/d)
//
// The RMS norms and means are reductions over the whole param, so a step is three
// passes over it, not one. They are summed in double, where torch sums in float32 in
// its own order: results agree with torch's to float32 rounding, not bit for bit.
type Adafactor struct{ *core[AdafactorConfig] }

var _ OptimizerOf[AdafactorConfig] = (*Adafactor)(nil)

var adafactorSpec = spec[AdafactorConfig]{
	kind:     "adafactor",
	validate: AdafactorConfig.validate,
	lr:       func(c *AdafactorConfig) *float64 { return &c.LR },
	slots: func(AdafactorConfig) (s [binding.MaxState]string) {
		s[0], s[1], s[2] = "row_var", "col_var", "variance"
		return s
	},
	initial: func(AdafactorConfig, int) float32 { return 0 },
	shaped:  true,
	slotLen: func(shape []int, n, k int) int {
		r, c := matrixOf(shape)
		if r > 0 && c > 0 {
			switch k {
			case 0:
				return n / c // one per row of every matrix
			case 1:
				return n / r // one per column of every matrix
			}
			return 0
		}
		if k == 2 {
			return n
		}
		return 0
	},
	stepShaped: func(ctx *binding.Context, l *binding.List, rows, cols []int64, c AdafactorConfig, t int64, aux *binding.Aux) error {
		return ctx.AdafactorStep(l, rows, cols, &binding.AdafactorParams{LR: c.LR, Beta2Decay: c.Beta2Decay,
			Eps1: c.Eps1, Eps2: c.Eps2, D: c.D, WeightDecay: c.WeightDecay, Maximize: c.Maximize}, t, aux)
	},
	// torch's Adafactor refuses a grad_scale: GradScaler unscales its gradients in place.
	fusedScaling: false,
}

// NewAdafactor makes an Adafactor optimizer over params (its first param group). Each
// param's Shape is read here: set it before.
func NewAdafactor(params []*Param, cfg AdafactorConfig) (*Adafactor, error) {
	c, err := newCore(adafactorSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Adafactor{c}, nil
}
