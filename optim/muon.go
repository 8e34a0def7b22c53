package optim

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/binding"
)

// MuonConfig holds torch.optim.Muon's options (torch 2.9) and, in Aux, the AdamW options
// of the params that are not matrices. Zero values are taken literally: start from
// MuonDefaults. The options, and the scalars a step derives from them, must lie within
// float32's range, in which the kernels compute: validation refuses the rest with a
// *ConfigError.
type MuonConfig struct {
	LR          float64 `json:"lr"`           // lr: Muon's, before adjust_lr_fn
	WeightDecay float64 `json:"weight_decay"` // weight_decay: decoupled, params times 1-lr*weight_decay
	Momentum    float64 `json:"momentum"`     // momentum
	Nesterov    bool    `json:"nesterov"`     // nesterov
	// NSCoefficients are torch's ns_coefficients (a, b, c) of the Newton-Schulz
	// polynomial: X = a*X + (b*A + c*A*A) X with A = X X^T.
	NSCoefficients [3]float64 `json:"ns_coefficients"`
	Eps            float64    `json:"eps"`      // eps: the floor of the update's Frobenius norm
	NSSteps        int        `json:"ns_steps"` // ns_steps, in [0, 100)
	// AdjustLRFn is torch's adjust_lr_fn: "" (torch's None) or "original" scale lr by
	// sqrt(max(1, rows/cols)), "match_rms_adamw" by 0.2*sqrt(max(rows, cols)).
	AdjustLRFn string `json:"adjust_lr_fn"`
	// BF16 rounds the Newton-Schulz products' inputs to bfloat16, as torch's Muon does,
	// on the GPU backend (tensor cores); the CPU refuses it with ErrUnsupported at
	// Step. The default, float32, is what goptim matches bit for bit.
	BF16 bool `json:"bf16"`
	// BLAS computes the Newton-Schulz products with the backend's sgemm, the adds in its
	// alpha and beta (B = b*A + c*A*A and X = a*X + B*X one call each), for speed: on
	// the CPU OpenBLAS's cblas_sgemm (blocked, with fused multiply-add), on OpenBLAS's own
	// threads (cblas.SetThreads or OPENBLAS_NUM_THREADS; SetThreads sets the rest of the
	// step's). The update then differs from the default's, torch's bits, by rounding
	// (relative Frobenius difference 2e-7 to 1.2e-5 measured, below 1e-4 in the tests),
	// and its bits are OpenBLAS's: they depend on the CPU's OpenBLAS kernel and, for some
	// inner dimensions, on OpenBLAS's thread count, not on SetThreads, SetISA or how
	// matrices are batched. On the GPU every float32 product is cuBLAS's already: BLAS
	// changes nothing there. Not with BF16, whose products are the GPU's BLAS too.
	BLAS bool `json:"blas"`
	// Aux is the AdamW (decoupled weight decay) of the params that are not matrices.
	// Its LR is its own: schedules driving the optimizer's LRGroups set LR only, and
	// AuxLRGroups drives Aux.LR. AMSGrad is refused (no state is kept for it).
	Aux AdamConfig `json:"aux_adamw"`
}

// MuonDefaults is torch's Muon (lr 1e-3, weight_decay 0.1, momentum 0.95, nesterov,
// ns_coefficients (3.4445, -4.7750, 2.0315), eps 1e-7, ns_steps 5, adjust_lr_fn None)
// with torch's AdamW defaults for the params that are not matrices.
func MuonDefaults() MuonConfig {
	return MuonConfig{LR: 1e-3, WeightDecay: 0.1, Momentum: 0.95, Nesterov: true,
		NSCoefficients: [3]float64{3.4445, -4.7750, 2.0315}, Eps: 1e-7, NSSteps: 5, Aux: AdamWDefaults()}
}

const muonMaxNSSteps = 100

func (c MuonConfig) validate() error {
	const k = "muon"
	if err := checkNonNeg(k, "lr", c.LR); err != nil {
		return err
	}
	if err := checkNonNeg(k, "momentum", c.Momentum); err != nil {
		return err
	}
	if err := checkNonNeg(k, "weight_decay", c.WeightDecay); err != nil {
		return err
	}
	if err := checkNonNeg(k, "eps", c.Eps); err != nil {
		return err
	}
	if c.NSSteps < 0 || c.NSSteps >= muonMaxNSSteps {
		return &ConfigError{Optimizer: k, Field: "ns_steps", Value: float64(c.NSSteps),
			Reason: fmt.Sprintf("must be in [0, %d) (torch refuses 100 and more)", muonMaxNSSteps)}
	}
	for i, v := range c.NSCoefficients {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &ConfigError{Optimizer: k, Field: fmt.Sprintf("ns_coefficients[%d]", i), Value: v,
				Reason: "must be finite"}
		}
	}
	switch c.AdjustLRFn {
	case "", "original", "match_rms_adamw":
	default:
		return &ConfigError{Optimizer: k, Field: "adjust_lr_fn", Value: math.NaN(), Text: c.AdjustLRFn,
			Reason: `must be "" (None), "original" or "match_rms_adamw"`}
	}
	// The kernels take momentum and 1-momentum (lerp weights), eps, the coefficients,
	// 1-lr*weight_decay and each matrix's adjusted lr (at most lr*0.2*sqrt(2^31) or
	// lr*sqrt(2^31)) as float32.
	if err := checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"momentum", c.Momentum},
		float32Field{"eps", c.Eps}, float32Field{"ns_coefficients[0]", c.NSCoefficients[0]},
		float32Field{"ns_coefficients[1]", c.NSCoefficients[1]},
		float32Field{"ns_coefficients[2]", c.NSCoefficients[2]}); err != nil {
		return err
	}
	if err := checkFloat32Derived(k, "lr*weight_decay", c.LR*c.WeightDecay,
		"Muon multiplies the params by 1-lr*weight_decay, which would overflow float32"); err != nil {
		return err
	}
	if err := checkFloat32Derived(k, "lr*sqrt(2^31)", c.LR*math.Sqrt(math.MaxInt32),
		"the adjusted lr of a matrix with 2^31 rows would overflow float32"); err != nil {
		return err
	}
	if c.BLAS && c.BF16 {
		return &ConfigError{Optimizer: k, Field: "blas", Value: 1,
			Reason: "bf16 products run on the GPU's BLAS already; blas is the float32 option: set one of the two"}
	}
	if c.Aux.AMSGrad {
		return &ConfigError{Optimizer: k, Field: "aux_adamw.amsgrad", Value: 1,
			Reason: "Muon's AdamW keeps exp_avg and exp_avg_sq only"}
	}
	return c.Aux.validate("muon aux_adamw", true)
}

func (c MuonConfig) params() *binding.MuonParams {
	h := &binding.MuonParams{LR: c.LR, WeightDecay: c.WeightDecay, Momentum: c.Momentum, Eps: c.Eps,
		NSA: c.NSCoefficients[0], NSB: c.NSCoefficients[1], NSC: c.NSCoefficients[2], NSSteps: int32(c.NSSteps),
		Nesterov: c.Nesterov, AdjustLRFn: binding.MuonAdjustOriginal, Precision: binding.MuonFP32,
		Adam: binding.AdamParams{LR: c.Aux.LR, Beta1: c.Aux.Beta1, Beta2: c.Aux.Beta2, Eps: c.Aux.Eps,
			WeightDecay: c.Aux.WeightDecay, Maximize: c.Aux.Maximize, DecoupledWeightDecay: true}}
	if c.AdjustLRFn == "match_rms_adamw" {
		h.AdjustLRFn = binding.MuonAdjustMatchRMSAdamW
	}
	if c.BF16 {
		h.Precision = binding.MuonBF16
	}
	if c.BLAS {
		h.Precision = binding.MuonFP32BLAS
	}
	return h
}

// Muon is torch.optim.Muon (torch 2.9, torch/optim/_muon.py; Jordan et al. 2024) for
// the params whose Shape has two dimensions, with AdamW (Aux) for the others (no Shape,
// or one dimension), in one optimizer as KellerJordan/Muon's MuonWithAuxAdam. Per
// matrix param, rows x cols:
//
//	buf = lerp(buf, grad, 1-momentum)
//	u = nesterov ? lerp(grad, buf, momentum) : buf
//	X = u (transposed when rows > cols) / max(||u||_F, eps)
//	ns_steps times: A = X X^T; B = b*A + c*A A; X = a*X + B X
//	p *= 1 - lr*weight_decay
//	p -= adjusted_lr * X (transposed back)
//
// with adjusted_lr = lr*sqrt(max(1, rows/cols)) ("original") or
// lr*0.2*sqrt(max(rows, cols)) ("match_rms_adamw"). Newton-Schulz runs in float32
// (torch 2.9 casts to bfloat16 first; BF16 asks for that on the GPU), and on the CPU every
// product rounds as torch's does with the reference BLAS, so trajectories are torch's bit
// for bit (the norm is summed in memory order, where torch's norm() has its own order:
// see testdata/torch/gen_muon.py); MuonConfig.BLAS trades those bits for OpenBLAS's
// speed. Same-shape matrices are batched. Params of three or more dimensions are
// refused: give them a two-dimensional Shape (torch's Muon takes 2-D params only;
// KellerJordan's flattens conv filters to rows x rest).
type Muon struct{ *core[MuonConfig] }

var _ OptimizerOf[MuonConfig] = (*Muon)(nil)

func muonIsMatrix(shape []int) bool { return len(shape) == 2 }

var muonSpec = spec[MuonConfig]{
	kind:     "muon",
	validate: MuonConfig.validate,
	lr:       func(c *MuonConfig) *float64 { return &c.LR },
	momentum: func(c *MuonConfig) *float64 { return &c.Momentum },
	slots: func(MuonConfig) (s [binding.MaxState]string) {
		s[0], s[1], s[2] = "momentum_buffer", "exp_avg", "exp_avg_sq"
		return s
	},
	initial: func(MuonConfig, int) float32 { return 0 },
	shaped:  true,
	slotLen: func(shape []int, n, k int) int {
		if muonIsMatrix(shape) == (k == 0) {
			return n
		}
		return 0
	},
	stepShaped: func(ctx *binding.Context, l *binding.List, rows, cols []int64, c MuonConfig, t int64, aux *binding.Aux) error {
		return ctx.MuonStep(l, rows, cols, c.params(), t, aux)
	},
	// torch's Muon and AdamW without fused=True: GradScaler unscales in place.
	fusedScaling: false,
}

// muonCheckShapes refuses params of more than two dimensions before any is added.
func muonCheckShapes(params []*Param) error {
	for i, p := range params {
		if p != nil && len(p.Shape) > 2 {
			return fmt.Errorf("optim: muon: param %s: Shape %v has %d dimensions: Muon steps matrices (2) "+
				"and AdamW vectors (0 or 1); reshape it: %w", p.label(i), p.Shape, len(p.Shape), ErrShape)
		}
	}
	return nil
}

// NewMuon makes a Muon optimizer over params (its first param group). Each param's
// Shape is read here: set it before ([rows, cols] for Muon, none or one dimension for
// AdamW).
func NewMuon(params []*Param, cfg MuonConfig) (*Muon, error) {
	if err := muonCheckShapes(params); err != nil {
		return nil, err
	}
	c, err := newCore(muonSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	return &Muon{c}, nil
}

// AddParamGroup adds params with a config of their own (torch's add_param_group).
func (m *Muon) AddParamGroup(params []*Param, cfg MuonConfig) error {
	if m == nil || m.core == nil {
		return errNoCore
	}
	if err := muonCheckShapes(params); err != nil {
		return err
	}
	return m.core.AddParamGroup(params, cfg)
}

// AuxLRGroups is the AdamW side of the optimizer's groups for the schedules of package
// schedule: group i's lr is Config(i).Aux.LR and its momentum Aux.Beta1. A schedule
// made over it drives the AdamW params' lr as one made over the optimizer drives Muon's.
func (m *Muon) AuxLRGroups() LRGroups { return muonAux{m} }

type muonAux struct{ m *Muon }

func (a muonAux) NumGroups() int {
	if a.m == nil || a.m.core == nil {
		return 0
	}
	return a.m.NumGroups()
}

func (a muonAux) GroupLR(i int) float64 {
	if a.m == nil || a.m.core == nil {
		return 0
	}
	return a.m.Config(i).Aux.LR
}

func (a muonAux) update(i int, f func(c *MuonConfig)) error {
	if a.m == nil || a.m.core == nil {
		return errNoCore
	}
	c := a.m.core
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.groupIndex(i); err != nil {
		return err
	}
	cfg := c.groups[i].cfg
	f(&cfg)
	return c.setConfig(i, cfg)
}

func (a muonAux) SetGroupLR(i int, lr float64) error {
	return a.update(i, func(c *MuonConfig) { c.Aux.LR = lr })
}

func (a muonAux) GroupMomentum(i int) (float64, bool) {
	if a.m == nil || a.m.core == nil || i < 0 || i >= a.m.NumGroups() {
		return 0, false
	}
	return a.m.Config(i).Aux.Beta1, true
}

func (a muonAux) SetGroupMomentum(i int, v float64) error {
	return a.update(i, func(c *MuonConfig) { c.Aux.Beta1 = v })
}
