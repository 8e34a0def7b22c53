package optim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The kernels compute in float32: options, and the scalars the host derives from
// them, that do not fit float32 are refused wherever a config is validated, with a
// *ConfigError naming the option (or the derived expression) and its value.

// float32Param is a param with the given data and gradient, closed with the test.
func float32Param(t *testing.T, data, grad []float32) *Param {
	t.Helper()
	p, err := NewParam("w", len(data))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	require.NoError(t, p.Data.CopyFrom(data))
	require.NoError(t, p.Grad.CopyFrom(grad))
	return p
}

func dataOf(t *testing.T, p *Param) []float32 {
	t.Helper()
	v, err := p.Data.Values()
	require.NoError(t, err)
	return v
}

// requireFloat32Refusal checks err is the *ConfigError of kind's field with value v
// and float32's limit as the reason.
func requireFloat32Refusal(t *testing.T, err error, kind, field string, v float64) {
	t.Helper()
	require.ErrorIs(t, err, ErrInvalidConfig)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, kind, ce.Optimizer)
	require.Equal(t, field, ce.Field)
	require.Equal(t, v, ce.Value)
	require.Contains(t, ce.Reason, "float32")
}

// refusedEverywhere checks that setting an option to v is refused at construction
// and by SetConfig, which leaves the config as it was.
func refusedEverywhere[C comparable](t *testing.T, kind, field string, v float64, base C, set func(*C, float64),
	mk func([]*Param, C) (OptimizerOf[C], error)) {
	t.Helper()
	p := float32Param(t, []float32{1, 2}, []float32{0, 0})
	bad := base
	set(&bad, v)
	_, err := mk([]*Param{p}, bad)
	requireFloat32Refusal(t, err, kind, field, v)

	opt, err := mk([]*Param{p}, base)
	require.NoError(t, err)
	defer opt.Close()
	requireFloat32Refusal(t, opt.SetConfig(0, bad), kind, field, v)
	require.Equal(t, base, opt.Config(0))
}

func mkSGD(ps []*Param, c SGDConfig) (OptimizerOf[SGDConfig], error) {
	o, err := NewSGD(ps, c)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func mkAdam(ps []*Param, c AdamConfig) (OptimizerOf[AdamConfig], error) {
	o, err := NewAdam(ps, c)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func mkAdamW(ps []*Param, c AdamConfig) (OptimizerOf[AdamConfig], error) {
	o, err := NewAdamW(ps, c)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func mkAdagrad(ps []*Param, c AdagradConfig) (OptimizerOf[AdagradConfig], error) {
	o, err := NewAdagrad(ps, c)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func mkRMSprop(ps []*Param, c RMSpropConfig) (OptimizerOf[RMSpropConfig], error) {
	o, err := NewRMSprop(ps, c)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func mkLAMB(ps []*Param, c LAMBConfig) (OptimizerOf[LAMBConfig], error) {
	o, err := NewLAMB(ps, c)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func mkLARS(ps []*Param, c LARSConfig) (OptimizerOf[LARSConfig], error) {
	o, err := NewLARS(ps, c)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func mkSF(ps []*Param, c ScheduleFreeAdamWConfig) (OptimizerOf[ScheduleFreeAdamWConfig], error) {
	o, err := NewScheduleFreeAdamW(ps, c)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// 1e39 is finite in float64 and Inf in float32: every option the kernels take is
// refused at that value, at construction and by SetConfig.
func TestFloat32RangeOptionsRefused(t *testing.T) {
	const v = 1e39
	sgdBase := SGDConfig{LR: 0.1, Momentum: 0.9}
	for _, f := range []struct {
		field string
		set   func(*SGDConfig, float64)
	}{
		{"lr", func(c *SGDConfig, v float64) { c.LR = v }},
		{"momentum", func(c *SGDConfig, v float64) { c.Momentum = v }},
		{"dampening", func(c *SGDConfig, v float64) { c.Dampening = v }},
		{"weight_decay", func(c *SGDConfig, v float64) { c.WeightDecay = v }},
	} {
		t.Run("sgd/"+f.field, func(t *testing.T) { refusedEverywhere(t, "sgd", f.field, v, sgdBase, f.set, mkSGD) })
	}
	for _, f := range []struct {
		field string
		set   func(*AdamConfig, float64)
	}{
		{"lr", func(c *AdamConfig, v float64) { c.LR = v }},
		{"eps", func(c *AdamConfig, v float64) { c.Eps = v }},
		{"weight_decay", func(c *AdamConfig, v float64) { c.WeightDecay = v }},
	} {
		t.Run("adam/"+f.field, func(t *testing.T) {
			refusedEverywhere(t, "adam", f.field, v, AdamDefaults(), f.set, mkAdam)
		})
		t.Run("adamw/"+f.field, func(t *testing.T) {
			refusedEverywhere(t, "adamw", f.field, v, AdamWDefaults(), f.set, mkAdamW)
		})
	}
	for _, f := range []struct {
		field string
		set   func(*AdagradConfig, float64)
	}{
		{"lr", func(c *AdagradConfig, v float64) { c.LR = v }},
		{"weight_decay", func(c *AdagradConfig, v float64) { c.WeightDecay = v }},
		{"initial_accumulator_value", func(c *AdagradConfig, v float64) { c.InitialAccumulatorValue = v }},
		{"eps", func(c *AdagradConfig, v float64) { c.Eps = v }},
	} {
		t.Run("adagrad/"+f.field, func(t *testing.T) {
			refusedEverywhere(t, "adagrad", f.field, v, AdagradDefaults(), f.set, mkAdagrad)
		})
	}
	rmsBase := RMSpropDefaults()
	rmsBase.Momentum = 0.9
	for _, f := range []struct {
		field string
		set   func(*RMSpropConfig, float64)
	}{
		{"lr", func(c *RMSpropConfig, v float64) { c.LR = v }},
		{"alpha", func(c *RMSpropConfig, v float64) { c.Alpha = v }},
		{"eps", func(c *RMSpropConfig, v float64) { c.Eps = v }},
		{"weight_decay", func(c *RMSpropConfig, v float64) { c.WeightDecay = v }},
		{"momentum", func(c *RMSpropConfig, v float64) { c.Momentum = v }},
	} {
		t.Run("rmsprop/"+f.field, func(t *testing.T) {
			refusedEverywhere(t, "rmsprop", f.field, v, rmsBase, f.set, mkRMSprop)
		})
	}

	for _, f := range []struct {
		field string
		set   func(*LAMBConfig, float64)
	}{
		{"lr", func(c *LAMBConfig, v float64) { c.LR = v }},
		{"eps", func(c *LAMBConfig, v float64) { c.Eps = v }},
		{"weight_decay", func(c *LAMBConfig, v float64) { c.WeightDecay = v }},
		{"max_grad_norm", func(c *LAMBConfig, v float64) { c.MaxGradNorm = v }},
	} {
		t.Run("lamb/"+f.field, func(t *testing.T) {
			refusedEverywhere(t, "lamb", f.field, v, LAMBDefaults(), f.set, mkLAMB)
		})
	}
	larsBase := LARSDefaults(0.1)
	larsBase.Momentum = 0.9
	for _, f := range []struct {
		field string
		set   func(*LARSConfig, float64)
	}{
		{"lr", func(c *LARSConfig, v float64) { c.LR = v }},
		{"momentum", func(c *LARSConfig, v float64) { c.Momentum = v }},
		{"dampening", func(c *LARSConfig, v float64) { c.Dampening = v }},
		{"weight_decay", func(c *LARSConfig, v float64) { c.WeightDecay = v }},
		{"trust_coefficient", func(c *LARSConfig, v float64) { c.TrustCoefficient = v }},
		{"eps", func(c *LARSConfig, v float64) { c.Eps = v }},
	} {
		t.Run("lars/"+f.field, func(t *testing.T) {
			refusedEverywhere(t, "lars", f.field, v, larsBase, f.set, mkLARS)
		})
	}

	// Schedule-Free AdamW's kernels take lr, eps and weight_decay as float32 (betas are
	// refused by their (0, 1) and [0, 1) checks first; warmup_steps, r and
	// weight_lr_power stay on the host, in double).
	for _, f := range []struct {
		field string
		set   func(*ScheduleFreeAdamWConfig, float64)
	}{
		{"lr", func(c *ScheduleFreeAdamWConfig, v float64) { c.LR = v }},
		{"eps", func(c *ScheduleFreeAdamWConfig, v float64) { c.Eps = v }},
		{"weight_decay", func(c *ScheduleFreeAdamWConfig, v float64) { c.WeightDecay = v }},
	} {
		t.Run("schedulefree_adamw/"+f.field, func(t *testing.T) {
			refusedEverywhere(t, "schedulefree_adamw", f.field, v, ScheduleFreeAdamWDefaults(), f.set, mkSF)
		})
	}
	// Eval's lerp weight 1-1/betas[0] is a float32 too: a betas[0] of 1e-39 (in (0, 1))
	// makes it about -1e39, refused by its expression at construction, by SetConfig and
	// by SetGroupMomentum.
	t.Run("schedulefree_adamw/1-1/betas[0]", func(t *testing.T) {
		p := float32Param(t, []float32{1, 2}, []float32{0, 0})
		beta1 := 1e-39
		weight := 1 - 1/beta1 // in float64, as validation derives it
		bad := ScheduleFreeAdamWDefaults()
		bad.Beta1 = beta1
		_, err := NewScheduleFreeAdamW([]*Param{p}, bad)
		requireFloat32Refusal(t, err, "schedulefree_adamw", "1-1/betas[0]", weight)
		opt, err := NewScheduleFreeAdamW([]*Param{p}, ScheduleFreeAdamWDefaults())
		require.NoError(t, err)
		defer opt.Close()
		requireFloat32Refusal(t, opt.SetConfig(0, bad), "schedulefree_adamw", "1-1/betas[0]", weight)
		requireFloat32Refusal(t, opt.SetGroupMomentum(0, 1e-39), "schedulefree_adamw", "1-1/betas[0]", weight)
		require.Equal(t, ScheduleFreeAdamWDefaults(), opt.Config(0))
		// Just inside: 1-1/betas[0] = -3e38 fits float32.
		ok := ScheduleFreeAdamWDefaults()
		ok.Beta1 = 1 / (1 + 3e38)
		require.NoError(t, opt.SetConfig(0, ok))
	})

	_, err := NewSGD([]*Param{float32Param(t, []float32{1}, []float32{0})}, SGDDefaults(v))
	require.EqualError(t, err, "optim: sgd: invalid lr 1e+39: must be at most 3.4028234663852886e+38 "+
		"(float32's largest finite value): the kernels compute in float32")
}

// SetGroupLR and SetGroupMomentum (what schedules call) refuse 1e39 too, and leave
// the group as it was.
func TestFloat32RangeSettersRefused(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			p := float32Param(t, []float32{1, 2}, []float32{0, 0})
			opt, err := newKind(kind, []*Param{p})
			require.NoError(t, err)
			defer opt.Close()
			lr := opt.GroupLR(0)
			requireFloat32Refusal(t, opt.SetGroupLR(0, 1e39), kind, "lr", 1e39)
			require.Equal(t, lr, opt.GroupLR(0))
			m, ok := opt.GroupMomentum(0)
			if !ok {
				return
			}
			err = opt.SetGroupMomentum(0, 1e39)
			got, _ := opt.GroupMomentum(0)
			require.Equal(t, m, got)
			if kind == "adam" || kind == "adamw" || kind == "adamax" || kind == "radam" || kind == "nadam" ||
				kind == "lion" || kind == "ademamix" || kind == "lamb" {
				// beta1 is torch's [0, 1) check's to refuse.
				require.EqualError(t, err, "optim: "+kind+": invalid betas[0] 1e+39: must be in [0, 1)")
				return
			}
			if kind == "schedulefree_adamw" {
				// beta1 as momentum too, refused by its own (0, 1) check.
				require.EqualError(t, err, "optim: schedulefree_adamw: invalid betas[0] 1e+39: must be in (0, 1): "+
					"Eval moves the params by a weight of 1-1/betas[0]")
				return
			}
			requireFloat32Refusal(t, err, kind, "momentum", 1e39)
		})
	}
}

// AdamW multiplies the params by 1-lr*weight_decay, computed in double and rounded
// to float32: lr = weight_decay = 1e20 are each fine, their product is not.
func TestFloat32RangeAdamWDecayRefused(t *testing.T) {
	p := float32Param(t, []float32{0, 1}, []float32{0, 0})
	cfg := AdamWDefaults()
	cfg.LR, cfg.WeightDecay = 1e20, 1e20
	_, err := NewAdamW([]*Param{p}, cfg)
	requireFloat32Refusal(t, err, "adamw", "lr*weight_decay", 1e40)
	require.EqualError(t, err, "optim: adamw: invalid lr*weight_decay 1e+40: must be at most 3.4028234663852886e+38 "+
		"(float32's largest finite value): AdamW multiplies the params by 1-lr*weight_decay, which would overflow float32")

	// Reached by raising the lr of an accepted config (as a schedule would).
	cfg.LR = 1e-3
	opt, err := NewAdamW([]*Param{p}, cfg)
	require.NoError(t, err)
	defer opt.Close()
	requireFloat32Refusal(t, opt.SetGroupLR(0, 1e20), "adamw", "lr*weight_decay", 1e40)
	require.Equal(t, 1e-3, opt.GroupLR(0))

	// Just inside: 1-lr*weight_decay = 1-1e38 is a float32, and a zero gradient
	// leaves p*(1-1e38): 0 stays 0 (not 0*Inf = NaN), 1e-38 becomes about -1.
	cfg.LR, cfg.WeightDecay = 1e19, 1e19
	q := float32Param(t, []float32{0, 1e-38}, []float32{0, 0})
	in, err := NewAdamW([]*Param{q}, cfg)
	require.NoError(t, err)
	defer in.Close()
	require.NoError(t, in.Step())
	decay := float32(1 - 1e38)
	require.Equal(t, []float32{0, float32(1e-38) * decay}, dataOf(t, q))

	// Adam's L2 weight decay never forms 1-lr*weight_decay: the same options are
	// accepted there. The gradient becomes weight_decay*p (1 here), and the step is
	// about lr.
	cfg.LR, cfg.WeightDecay = 1e20, 1e20
	r := float32Param(t, []float32{1e-20}, []float32{0})
	adam, err := NewAdam([]*Param{r}, cfg)
	require.NoError(t, err)
	defer adam.Close()
	require.NoError(t, adam.Step())
	require.InEpsilon(t, -1e20, float64(dataOf(t, r)[0]), 1e-5)
}

// Adam's step size lr/(1-beta1^t) is largest at t = 1: lr/(1-beta1).
func TestFloat32RangeAdamStepSizeRefused(t *testing.T) {
	p := float32Param(t, []float32{0.5, -2}, []float32{0, 0})
	cfg := AdamDefaults()
	cfg.LR = 1e38 // fits float32, but lr/(1-0.9) = 1e39 does not
	_, err := NewAdam([]*Param{p}, cfg)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.Equal(t, "lr/(1-betas[0])", ce.Field)
	require.InEpsilon(t, 1e39, ce.Value, 1e-15)
	require.Equal(t, "must be at most 3.4028234663852886e+38 (float32's largest finite value): "+
		"the step size lr/(1-betas[0]^t) at step 1, its largest, would overflow float32", ce.Reason)

	// A beta1 raised by SetGroupMomentum (OneCycleLR's momentum cycling) is checked
	// against the lr too.
	cfg.LR, cfg.Beta1 = 1e37, 0.5
	opt, err := NewAdam([]*Param{p}, cfg)
	require.NoError(t, err)
	defer opt.Close()
	err = opt.SetGroupMomentum(0, 0.99)
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "lr/(1-betas[0])", ce.Field)
	require.InEpsilon(t, 1e39, ce.Value, 1e-14)
	m, _ := opt.GroupMomentum(0)
	require.Equal(t, 0.5, m)

	// Inside the range (step size 2e37) a zero gradient leaves the params exactly.
	require.NoError(t, opt.Step())
	require.Equal(t, []float32{0.5, -2}, dataOf(t, p))
	require.NoError(t, opt.Step())
	require.Equal(t, []float32{0.5, -2}, dataOf(t, p))
}

// A non-zero eps that rounds to float32 zero would divide by zero; 0 itself is
// taken literally (torch accepts it), and the smallest subnormal is a usable eps.
func TestFloat32RangeEpsRoundingToZeroRefused(t *testing.T) {
	const tiny = 1e-46 // below 2^-150: float32(1e-46) == 0
	require.Zero(t, float32(tiny))
	wantReason := "must be 0 or greater than 7.006492321624085e-46 (2^-150): smaller values round to 0 in " +
		"float32, where the kernels divide by eps"
	for _, kind := range []string{"adam", "adamw", "adagrad", "rmsprop"} {
		t.Run(kind, func(t *testing.T) {
			p := float32Param(t, []float32{0.25, -3}, []float32{0, 0})
			mk := func(eps float64) (Optimizer, error) {
				switch kind {
				case "adam", "adamw":
					c := AdamDefaults()
					c.Eps = eps
					if kind == "adamw" {
						return NewAdamW([]*Param{p}, c)
					}
					return NewAdam([]*Param{p}, c)
				case "adagrad":
					c := AdagradDefaults()
					c.Eps = eps
					return NewAdagrad([]*Param{p}, c)
				default:
					c := RMSpropDefaults()
					c.Eps = eps
					return NewRMSprop([]*Param{p}, c)
				}
			}
			_, err := mk(tiny)
			requireFloat32Refusal(t, err, kind, "eps", tiny)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, wantReason, ce.Reason)

			_, err = mk(0)
			require.NoError(t, err)
			// 1e-45 rounds to 2^-149: the zero gradient divides 0 by it, and the
			// params stay as they are (AdamW's decay 1-1e-3*0 = 1 too).
			opt, err := mk(1e-45)
			require.NoError(t, err)
			defer opt.Close()
			require.NoError(t, opt.Step())
			require.Equal(t, []float32{0.25, -3}, dataOf(t, p))
		})
	}
}

// Values just inside float32's range are accepted, and a step with a zero gradient
// keeps the params finite (exactly as they were); with a small gradient SGD moves
// them by lr*grad, in float32.
func TestFloat32RangeJustInside(t *testing.T) {
	p := float32Param(t, []float32{0, 1.5, -7}, []float32{0, 0, 0})
	opt, err := NewSGD([]*Param{p}, SGDDefaults(1e38))
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.Step())
	require.Equal(t, []float32{0, 1.5, -7}, dataOf(t, p))
	require.NoError(t, p.Grad.CopyFrom([]float32{0x1p-10, -0x1p-12, 0}))
	require.NoError(t, p.Data.CopyFrom([]float32{0, 0, 0}))
	require.NoError(t, opt.Step())
	lr := float32(1e38)
	require.Equal(t, []float32{-lr * 0x1p-10, lr * 0x1p-12, 0}, dataOf(t, p))

	// Every option at exactly float32's largest finite value is accepted.
	const m = math.MaxFloat32
	q := float32Param(t, []float32{0}, []float32{0})
	for _, mk := range []func() (Optimizer, error){
		func() (Optimizer, error) {
			return NewSGD([]*Param{q}, SGDConfig{LR: m, Momentum: m, Dampening: m, WeightDecay: m})
		},
		func() (Optimizer, error) {
			return NewAdam([]*Param{q}, AdamConfig{LR: m, Beta2: 0.999, Eps: m, WeightDecay: m})
		},
		func() (Optimizer, error) {
			return NewAdamW([]*Param{q}, AdamConfig{LR: m, Beta2: 0.999, Eps: m, WeightDecay: 1})
		},
		func() (Optimizer, error) {
			return NewAdagrad([]*Param{q}, AdagradConfig{LR: m, LRDecay: m, WeightDecay: m,
				InitialAccumulatorValue: m, Eps: m})
		},
		func() (Optimizer, error) {
			return NewRMSprop([]*Param{q}, RMSpropConfig{LR: m, Alpha: m, Eps: m, WeightDecay: m, Momentum: m})
		},
	} {
		o, err := mk()
		require.NoError(t, err)
		require.NoError(t, o.Close())
	}
	// The next float64 above it is refused.
	_, err = NewSGD([]*Param{q}, SGDDefaults(math.Nextafter(m, math.Inf(1))))
	requireFloat32Refusal(t, err, "sgd", "lr", math.Nextafter(m, math.Inf(1)))
}

// Adagrad's lr_decay never reaches float32: clr = lr/(1+(t-1)*lr_decay) is computed
// in double and is at most lr. A huge lr_decay is accepted and only makes the
// steps after the first negligible.
func TestFloat32RangeAdagradLRDecayIsDoubleOnly(t *testing.T) {
	for _, decay := range []float64{1e39, 1e300} {
		p := float32Param(t, []float32{1, -2}, []float32{0.5, 0.25})
		opt, err := NewAdagrad([]*Param{p}, AdagradConfig{LR: 0.1, LRDecay: decay, Eps: 1e-10})
		require.NoError(t, err)
		require.NoError(t, opt.Step())
		// Step 1: clr = lr; the sum is g², its root |g| (eps is below half an ulp).
		first := []float32{1 + float32(-0.1)*0.5/0.5, -2 + float32(-0.1)*0.25/0.25}
		require.Equal(t, first, dataOf(t, p))
		// Step 2: clr = 0.1/(1+decay) is at most 1e-40; the update is below half an
		// ulp of the params.
		require.NoError(t, opt.Step())
		require.Equal(t, first, dataOf(t, p))
		require.NoError(t, opt.Close())
	}
}

// ---------------------------------------------------------------- property

// kernelScalars are the scalars the host code of csrc/*.c and cuda/ops.cuh hands a
// kernel at step t, derived in double as there (written from the C sources, not
// from validate). Adam's 1-lr*weight_decay is left out: only AdamW's kernel reads it.
func kernelScalars(c fuzzCfg, t float64) []float64 {
	switch c.kind {
	case "sgd": // momentum, dampening, weight_decay
		return []float64{-c.lr, c.h1, 1 - c.h2, c.h3}
	case "adam", "adamw": // beta1, beta2, eps, weight_decay
		bc1, bc2 := 1-math.Pow(c.h1, t), 1-math.Pow(c.h2, t)
		s := []float64{c.h1, 1 - c.h1, c.h2, 1 - c.h2, -(c.lr / bc1), math.Sqrt(bc2), c.h3, c.h4}
		if c.kind == "adamw" {
			s = append(s, 1-c.lr*c.h4)
		}
		return s
	case "adagrad": // lr_decay, weight_decay, initial_accumulator_value, eps
		return []float64{-(c.lr / (1 + (t-1)*c.h1)), c.h4, c.h2, c.h3}
	case "rmsprop": // alpha, eps, weight_decay, momentum
		return []float64{c.h1, 1 - c.h1, c.h2, c.h3, c.h4, -c.lr}
	}
	panic(c.kind)
}

// kernelEps is the eps the kernel divides by (after a square root is added to it).
func kernelEps(c fuzzCfg) float64 {
	return map[string]float64{"adam": c.h3, "adamw": c.h3, "adagrad": c.h4, "rmsprop": c.h2}[c.kind]
}

// scalarsFit reports whether every scalar of every step is within float32's range
// (bias corrections change with t: checked at a spread of steps) and a non-zero eps
// stays non-zero in float32.
func scalarsFit(c fuzzCfg) bool {
	for _, t := range []float64{1, 2, 3, 10, 1000, 1e9} {
		for _, x := range kernelScalars(c, t) {
			if !(math.Abs(x) <= math.MaxFloat32) {
				return false
			}
		}
	}
	eps := kernelEps(c)
	return eps == 0 || float32(eps) != 0
}

// drawOption is a random option value spread over float32's range and past both
// ends, with the values around 1 that betas and alpha take.
func drawOption(rng *rand.Rand) float64 {
	u := rng.Float64()
	switch rng.IntN(12) {
	case 0:
		return 0
	case 1:
		return math.Pow(10, -50+20*u) // around float32's smallest values
	case 2, 3:
		return math.Pow(10, -8+8*u) // ordinary
	case 4:
		return 1 - math.Pow(10, -17+16*u) // just below 1, some rounding to 1
	case 5:
		return math.Pow(10, 15+10*u) // large, with products past float32
	case 6, 7, 8:
		return math.Pow(10, 36+4*u) // float32's upper end, both sides
	case 9:
		return math.MaxFloat32 * (1 + (u-0.5)*1e-6) // straddling the largest float32
	case 10:
		return 1
	default:
		return []float64{-1, math.NaN(), math.Inf(1), 0.5}[rng.IntN(4)]
	}
}

// For random configs across float32's range, validate accepts exactly those torch
// accepts whose kernel scalars all fit float32 (and refuses the rest with a
// *ConfigError), and two steps of an accepted config over zero params and gradients
// leave the params zero: every scalar is finite, so there is no Inf*0 = NaN. Configs
// whose denominator is 0 for a zero gradient (eps = 0, and for Adagrad an initial
// accumulator of float32 zero too) are not stepped: 0/0 = NaN there, as in torch.
func TestFloat32RangePropertyVerdict(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 39))
	refused := map[string]int{}
	accepted := 0
	for i := 0; i < 8000; i++ {
		c := fuzzCfg{kind: fuzzKinds[rng.IntN(len(fuzzKinds))], lr: drawOption(rng), h1: drawOption(rng),
			h2: drawOption(rng), h3: drawOption(rng), h4: drawOption(rng),
			maximize: rng.IntN(2) == 0, variant: rng.IntN(2) == 0}
		if c.kind == "sgd" && c.variant && rng.IntN(2) == 0 {
			c.h2 = 0 // Nesterov needs zero dampening; keep enough such configs valid
		}
		p := float32Param(t, []float32{0, 0}, []float32{0, 0})
		opt, err := c.make([]*Param{p})
		want := c.torchAccepts() && scalarsFit(c)
		require.Equal(t, want, err == nil, "%+v: %v", c, err)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidConfig)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce, "%+v", c)
			if c.torchAccepts() {
				require.Contains(t, ce.Reason, "float32", "%+v", c)
				refused[ce.Field]++
			}
			continue
		}
		accepted++
		if c.kind == "sgd" || float32(kernelEps(c)) > 0 || (c.kind == "adagrad" && float32(c.h3) > 0) {
			require.NoError(t, opt.Step(), "%+v", c)
			require.NoError(t, opt.Step(), "%+v", c) // momentum and dampening act from step 2
			require.Equal(t, []float32{0, 0}, dataOf(t, p), "%+v", c)
		}
		require.NoError(t, opt.Close())
	}
	// The draw reaches every kind of refusal, and accepts plenty.
	require.Greater(t, accepted, 800)
	for _, f := range []string{"lr", "momentum", "dampening", "weight_decay", "eps", "alpha",
		"initial_accumulator_value", "lr/(1-betas[0])", "lr*weight_decay"} {
		require.Greater(t, refused[f], 0, "no refusal of %s in %v", f, refused)
	}
}

// For random ordinary configs (lr up to 1e30, the other options at most 1, eps at
// least 1e-12, alpha at least 0.5 so that centered RMSprop's sq - ga² does not
// cancel), validate accepts and one step with random small gradients gives finite
// params. The lr stays below 1e30 because the updates themselves multiply it:
// RMSprop's first update is lr/sqrt(1-alpha) whatever the gradient's size.
func TestFloat32RangePropertyOrdinaryStepsFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 41))
	for i := 0; i < 1500; i++ {
		u := func() float64 { return rng.Float64() }
		unit := func() float64 { return 1 - math.Pow(10, -4*u()) }
		eps := func() float64 { return math.Pow(10, -12+10*u()) }
		c := fuzzCfg{kind: fuzzKinds[rng.IntN(len(fuzzKinds))], lr: math.Pow(10, -8+38*u()),
			maximize: rng.IntN(2) == 0, variant: rng.IntN(2) == 0}
		switch c.kind {
		case "sgd":
			c.h1, c.h2, c.h3 = u(), u(), u()
			if c.variant {
				c.h1, c.h2 = math.Max(c.h1, 0.01), 0
			}
		case "adam", "adamw":
			c.h1, c.h2, c.h3, c.h4 = unit(), unit(), eps(), u()
		case "adagrad":
			c.h1, c.h2, c.h3, c.h4 = u(), u(), u(), eps()
		case "rmsprop":
			c.h1, c.h2, c.h3, c.h4 = 0.5+0.5*unit(), eps(), u(), u()
		}
		n := 8
		data, grad := make([]float32, n), make([]float32, n)
		for j := range data {
			data[j] = float32((2*u() - 1) / 16)
			grad[j] = float32(math.Copysign(math.Pow(2, -10+6*u()), u()-0.5))
		}
		p := float32Param(t, data, grad)
		opt, err := c.make([]*Param{p})
		require.NoError(t, err, "%+v", c)
		require.NoError(t, opt.Step(), "%+v", c)
		for j, x := range dataOf(t, p) {
			require.False(t, math.IsNaN(float64(x)) || math.IsInf(float64(x), 0),
				"%+v: param %d %v grad %v gave %v", c, j, data[j], grad[j], x)
		}
		require.NoError(t, opt.Close())
	}
}

// A refusal is a *ConfigError, so errors.As finds it through a schedule's wrapping.
func TestFloat32RangeErrorUnwraps(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", checkFloat32("sgd", float32Field{"lr", 1e39}))
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	require.True(t, errors.Is(err, ErrInvalidConfig))
	require.Nil(t, checkFloat32("sgd", float32Field{"lr", math.MaxFloat32}, float32Field{"momentum", 0}))
	require.Nil(t, checkFloat32Eps("adam", "eps", 0x1p-149))
	require.NotNil(t, checkFloat32Eps("adam", "eps", float32ZeroBound))
}
