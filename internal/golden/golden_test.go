package golden

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// defaults are torch's defaults for every option (sgd's lr has none; 0.01 is used
// by the generator's defaults table). "betas" is checked separately.
var defaults = map[string]map[string]any{
	SGD:      {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": false, "maximize": false},
	Adam:     {"lr": 0.001, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": false, "maximize": false},
	AdamW:    {"lr": 0.001, "eps": 1e-8, "weight_decay": 0.01, "amsgrad": false, "maximize": false},
	Adagrad:  {"lr": 0.01, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10, "maximize": false},
	RMSprop:  {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": false, "maximize": false},
	Adamax:   {"lr": 0.002, "eps": 1e-8, "weight_decay": 0.0, "maximize": false},
	RAdam:    {"lr": 0.001, "eps": 1e-8, "weight_decay": 0.0, "decoupled_weight_decay": false, "maximize": false},
	Adadelta: {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0, "maximize": false},
	Rprop:    {"lr": 0.01, "maximize": false},
	NAdam:    {"lr": 0.002, "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 0.004, "decoupled_weight_decay": false, "maximize": false},
	ASGD:     {"lr": 0.01, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0.0, "maximize": false},
	// eps, the pair (None, 1e-3), is checked separately.
	Adafactor: {"lr": 0.01, "beta2_decay": -0.8, "d": 1.0, "weight_decay": 0.0, "maximize": false},
	// The references' defaults (betas and the null warmups are checked separately).
	Lion:     {"lr": 1e-4, "weight_decay": 0.0},
	AdEMAMix: {"lr": 1e-3, "alpha": 2.0, "eps": 1e-8, "weight_decay": 0.0},
	// apex's FusedLAMB with timm's trust_clip off.
	LAMB: {"lr": 1e-3, "bias_correction": true, "eps": 1e-6, "weight_decay": 0.01, "adam_w_mode": true,
		"grad_averaging": true, "max_grad_norm": 1.0, "use_nvlamb": false, "trust_clip": false},
	// torch's SGD (lr as the generator's SGD cases use it) inside apex's LARC.
	LARS: {"lr": 0.01, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": false, "maximize": false,
		"trust_coefficient": 0.02, "clip": true, "eps": 1e-8},
}

func loadOptim(t *testing.T) *OptimFile {
	t.Helper()
	f, err := LoadDefaultOptim()
	require.NoError(t, err)
	return f
}

func loadClip(t *testing.T) *ClipFile {
	t.Helper()
	f, err := LoadDefaultClip()
	require.NoError(t, err)
	return f
}

func TestRepoRootAndPaths(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(b), "module github.com/goptim/goptim")

	td, err := TestdataDir()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, "testdata"), td)

	p, err := OptimPath()
	require.NoError(t, err)
	require.FileExists(t, p)
	p, err = ClipPath()
	require.NoError(t, err)
	require.FileExists(t, p)
	require.FileExists(t, filepath.Join(td, "torch", "gen_golden.py"))
}

func TestOptimHeader(t *testing.T) {
	f := loadOptim(t)
	require.True(t, strings.HasPrefix(f.TorchVersion, "1.") || strings.HasPrefix(f.TorchVersion, "2."), f.TorchVersion)
	require.Equal(t, "testdata/torch/gen_golden.py", f.Generator)
	require.Equal(t, "float32", f.DType)
	require.Equal(t, false, f.Implementation["foreach"])
	require.Equal(t, false, f.Implementation["fused"])
}

func TestOptimStructure(t *testing.T) {
	f := loadOptim(t)
	names := map[string]bool{}
	for _, c := range f.Cases {
		require.False(t, names[c.Name], "duplicate %q", c.Name)
		names[c.Name] = true
		require.True(t, strings.HasPrefix(c.Name, c.Optimizer+"/"), c.Name)
		require.GreaterOrEqual(t, c.Steps, 20, c.Name)
		require.NoError(t, c.Validate())
		require.Len(t, c.Init, len(c.Lengths), c.Name)
		require.Len(t, c.Grads, c.Steps, c.Name)
		require.Len(t, c.Params, c.Steps, c.Name)
		for s := 0; s < c.Steps; s++ {
			require.Len(t, c.Grads[s], len(c.Lengths), c.Name)
			require.Len(t, c.Params[s], len(c.Lengths), c.Name)
			for i, n := range c.Lengths {
				require.Len(t, c.Grads[s][i], n, "%s grads[%d][%d]", c.Name, s, i)
				require.Len(t, c.Params[s][i], n, "%s params[%d][%d]", c.Name, s, i)
				requireFinite(t, c.Grads[s][i], c.Name)
				requireFinite(t, c.Params[s][i], c.Name)
			}
		}
		for i, n := range c.Lengths {
			require.Len(t, c.Init[i], n, c.Name)
			requireFinite(t, c.Init[i], c.Name)
		}

		// The parameters move: the last step differs from the start somewhere.
		moved := false
		for i := range c.Lengths {
			for j, v := range c.Params[c.Steps-1][i] {
				if v != c.Init[i][j] {
					moved = true
				}
			}
		}
		require.True(t, moved, "%s: parameters never change", c.Name)

		checkState(t, c)
	}
}

func requireFinite(t *testing.T, xs []float32, name string) {
	t.Helper()
	for _, x := range xs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("%s: non-finite value %v", name, x)
		}
	}
}

// checkState: torch's state keys per optimizer and option set.
func checkState(t *testing.T, c *OptimCase) {
	t.Helper()
	h, err := c.Hyper()
	require.NoError(t, err)
	var want []string
	switch c.Optimizer {
	case SGD:
		require.Nil(t, c.State.Step, "%s: SGD keeps no step", c.Name)
		if h.Momentum != 0 {
			want = []string{"momentum_buffer"}
		}
	case Adam, AdamW:
		want = []string{"exp_avg", "exp_avg_sq"}
		if h.Amsgrad {
			want = append(want, "max_exp_avg_sq")
		}
	case Adagrad:
		want = []string{"sum"}
	case Adamax:
		want = []string{"exp_avg", "exp_inf"}
	case RAdam:
		want = []string{"exp_avg", "exp_avg_sq"}
	case Adadelta:
		want = []string{"square_avg", "acc_delta"}
	case Rprop:
		want = []string{"prev", "step_size"}
	case NAdam:
		want = []string{"exp_avg", "exp_avg_sq", "mu_product"}
	case ASGD:
		want = []string{"ax", "eta", "mu"}
	case Lion:
		want = []string{"exp_avg"}
	case LAMB:
		want = []string{"exp_avg", "exp_avg_sq"}
	case LARS:
		require.Nil(t, c.State.Step, "%s: SGD keeps no step", c.Name)
		if h.Momentum != 0 {
			want = []string{"momentum_buffer"}
		}
	case AdEMAMix:
		want = []string{"exp_avg_slow", "exp_avg_sq"}
		if h.Beta1 != 0 {
			want = append(want, "exp_avg_fast")
		}
	case Adafactor:
		// row_var and col_var where a tensor is a matrix, variance where one is a vector.
		for i := range c.Lengths {
			for _, k := range []string{"row_var", "col_var", "variance"} {
				if c.StateLen(k, i) > 0 && !slices.Contains(want, k) {
					want = append(want, k)
				}
			}
		}
	case RMSprop:
		want = []string{"square_avg"}
		if h.Momentum != 0 {
			want = append(want, "momentum_buffer")
		}
		if h.Centered {
			want = append(want, "grad_avg")
		}
	default:
		t.Fatalf("%s: unknown optimizer %q", c.Name, c.Optimizer)
	}
	if c.Optimizer != SGD && c.Optimizer != Lion && c.Optimizer != LARS { // none keeps a step count
		require.NotNil(t, c.State.Step, c.Name)
		require.Equal(t, c.Steps, *c.State.Step, c.Name)
	}
	require.ElementsMatch(t, want, c.State.Keys(), c.Name)
	for _, k := range want {
		v := c.State.Tensors[k]
		require.Len(t, v, len(c.Lengths), "%s state %s", c.Name, k)
		for i := range c.Lengths {
			require.Len(t, v[i], c.StateLen(k, i), "%s state %s[%d]", c.Name, k, i)
			requireFinite(t, v[i], c.Name)
		}
	}
}

func oddLength(c *OptimCase) bool {
	for _, n := range c.Lengths {
		if n%2 == 1 {
			return true
		}
	}
	return false
}

// TestOptimCoverage: every optimizer appears, with a multi-tensor group and an odd
// length; every option of every optimizer appears both at its default and away from
// it (booleans both true and false), and each non-default value on an odd length.
func TestOptimCoverage(t *testing.T) {
	f := loadOptim(t)
	for _, opt := range Optimizers {
		cases := f.ByOptimizer(opt)
		require.NotEmpty(t, cases, opt)

		multi, odd, len1, big := false, false, false, false
		for _, c := range cases {
			require.ElementsMatch(t, OptionKeys[opt], c.Options.Keys(), c.Name)
			multi = multi || len(c.Lengths) > 1
			odd = odd || oddLength(c)
			len1 = len1 || (len(c.Lengths) == 1 && c.Lengths[0] == 1)
			big = big || c.NumElements() >= 100
		}
		require.True(t, multi, "%s: no multi-tensor group", opt)
		require.True(t, odd, "%s: no odd length", opt)
		require.True(t, big, "%s: no case with >= 100 elements", opt)
		require.True(t, len1, "%s: no single-element case", opt)

		for _, key := range OptionKeys[opt] {
			atDefault, offDefault, offOdd := false, false, false
			for _, c := range cases {
				isDef := isDefault(t, opt, key, c)
				atDefault = atDefault || isDef
				offDefault = offDefault || !isDef
				offOdd = offOdd || (!isDef && oddLength(c))
			}
			if !(opt == SGD && key == "lr") {
				require.True(t, atDefault, "%s: option %s never at its default", opt, key)
			}
			require.True(t, offDefault, "%s: option %s never set", opt, key)
			require.True(t, offOdd, "%s: option %s never set on an odd length", opt, key)
		}
	}

	// Combinations the kernels specialise on.
	has := func(opt string, pred func(h Hyper) bool) bool {
		for _, c := range f.ByOptimizer(opt) {
			h, err := c.Hyper()
			require.NoError(t, err)
			if pred(h) {
				return true
			}
		}
		return false
	}
	require.True(t, has(SGD, func(h Hyper) bool { return h.Momentum == 0 && h.WeightDecay == 0 && !h.Maximize }), "plain gradient descent")
	require.True(t, has(SGD, func(h Hyper) bool { return h.Nesterov && h.WeightDecay != 0 && h.Maximize }), "sgd nesterov+wd+maximize")
	require.True(t, has(SGD, func(h Hyper) bool { return h.Momentum != 0 && h.Dampening != 0 && h.WeightDecay != 0 }), "sgd momentum+dampening+wd")
	for _, opt := range []string{Adam, AdamW} {
		require.True(t, has(opt, func(h Hyper) bool { return h.Amsgrad && h.WeightDecay != 0 && h.Maximize }), opt+" amsgrad+wd+maximize")
		require.True(t, has(opt, func(h Hyper) bool { return h.Beta1 != 0.9 && h.Beta2 != 0.999 }), opt+" betas")
		require.True(t, has(opt, func(h Hyper) bool { return h.Beta1 == 0 }), opt+" beta1=0")
	}
	require.True(t, has(Adagrad, func(h Hyper) bool {
		return h.LRDecay != 0 && h.WeightDecay != 0 && h.InitialAccumulatorValue != 0 && h.Maximize
	}), "adagrad all options")
	require.True(t, has(RMSprop, func(h Hyper) bool { return h.Centered && h.Momentum != 0 }), "rmsprop centered+momentum")
	require.True(t, has(RMSprop, func(h Hyper) bool { return h.Centered && h.Momentum != 0 && h.WeightDecay != 0 && h.Maximize }), "rmsprop all options")
	require.True(t, has(Adamax, func(h Hyper) bool {
		return h.Beta1 != 0.9 && h.Beta2 != 0.999 && h.Eps != 1e-8 && h.WeightDecay != 0 && h.Maximize
	}), "adamax all options")
	require.True(t, has(Adamax, func(h Hyper) bool { return h.Beta1 < 0.5 }), "adamax lerp weight 1-beta1 > 0.5")
	require.True(t, has(RAdam, func(h Hyper) bool {
		return h.Beta1 != 0.9 && h.Eps != 1e-8 && h.WeightDecay != 0 && h.DecoupledWeightDecay && h.Maximize
	}), "radam all options")
	require.True(t, has(RAdam, func(h Hyper) bool { return h.WeightDecay != 0 && !h.DecoupledWeightDecay }), "radam L2")
	require.True(t, has(RAdam, func(h Hyper) bool { return h.Beta2 == 0.6 }), "radam never rectified")
	require.True(t, has(Adadelta, func(h Hyper) bool {
		return h.Rho != 0.9 && h.Eps != 1e-6 && h.WeightDecay != 0 && h.Maximize
	}), "adadelta all options")
	require.True(t, has(Rprop, func(h Hyper) bool {
		return h.EtaMinus != 0.5 && h.EtaPlus != 1.2 && h.StepSizeMin != 1e-6 && h.StepSizeMax != 50 && h.Maximize
	}), "rprop all options")
	require.True(t, has(NAdam, func(h Hyper) bool {
		return h.Beta1 != 0.9 && h.Beta2 != 0.999 && h.Eps != 1e-8 && h.WeightDecay != 0 && h.MomentumDecay != 0.004 &&
			h.DecoupledWeightDecay && h.Maximize
	}), "nadam all options")
	require.True(t, has(NAdam, func(h Hyper) bool { return h.WeightDecay != 0 && !h.DecoupledWeightDecay }), "nadam L2")
	require.True(t, has(NAdam, func(h Hyper) bool { return h.Beta1 < 0.5 }), "nadam lerp weight 1-beta1 > 0.5")
	require.True(t, has(Lion, func(h Hyper) bool { return h.LR != 1e-4 && h.Beta1 != 0.9 && h.Beta2 != 0.99 && h.WeightDecay != 0 }),
		"lion all options")
	require.True(t, has(Lion, func(h Hyper) bool { return h.Beta1 == 0 && h.Beta2 == 0 }), "lion betas (0, 0)")
	require.True(t, has(AdEMAMix, func(h Hyper) bool {
		return h.LR != 1e-3 && h.Beta1 != 0.9 && h.Beta2 != 0.999 && h.Beta3 != 0.9999 && h.Alpha != 2 &&
			h.Beta3Warmup != 0 && h.AlphaWarmup != 0 && h.Eps != 1e-8 && h.WeightDecay != 0
	}), "ademamix all options")
	require.True(t, has(AdEMAMix, func(h Hyper) bool { return h.Beta1 == 0 && h.Beta3Warmup != 0 }), "ademamix beta1 = 0 with warmups")
	require.True(t, has(LAMB, func(h Hyper) bool {
		return h.LR != 1e-3 && h.Beta1 != 0.9 && h.Beta2 != 0.999 && h.Eps != 1e-6 && h.WeightDecay != 0 && !h.AdamWMode &&
			h.UseNVLAMB && h.TrustClip && h.MaxGradNorm != 1
	}), "lamb all options")
	require.True(t, has(LAMB, func(h Hyper) bool { return h.WeightDecay == 0 && !h.UseNVLAMB }), "lamb without trust ratio")
	require.True(t, has(LAMB, func(h Hyper) bool { return h.MaxGradNorm == 0 }), "lamb without clipping")
	require.True(t, has(LARS, func(h Hyper) bool {
		return h.LR != 0.01 && h.Momentum != 0 && h.Nesterov && h.WeightDecay != 0 && h.TrustCoefficient != 0.02 && h.Maximize
	}), "lars all options")
	require.True(t, has(LARS, func(h Hyper) bool { return !h.Clip }), "lars without LARC's clip")
	require.True(t, has(Adafactor, func(h Hyper) bool {
		return h.LR != 0.01 && h.Beta2Decay != -0.8 && h.Eps1 != 0x1p-23 && h.Eps2 != 1e-3 && h.D != 1 &&
			h.WeightDecay != 0 && h.Maximize
	}), "adafactor all options")
	require.True(t, has(Adafactor, func(h Hyper) bool { return h.Eps1 == 0 && h.Eps2 == 0 }), "adafactor eps (0, 0)")
	require.True(t, has(ASGD, func(h Hyper) bool {
		return h.LR != 0.01 && h.Lambd != 1e-4 && h.Alpha != 0.75 && h.T0 < 20 && h.WeightDecay != 0 && h.Maximize
	}), "asgd all options, averaging within the run")
}

func isDefault(t *testing.T, opt, key string, c *OptimCase) bool {
	t.Helper()
	if opt == AdEMAMix && key == "betas" {
		b1, b2, b3, err := c.Options.Triple(key)
		require.NoError(t, err, c.Name)
		return b1 == 0.9 && b2 == 0.999 && b3 == 0.9999
	}
	if opt == Lion && key == "betas" {
		b1, b2, err := c.Options.Betas()
		require.NoError(t, err, c.Name)
		return b1 == 0.9 && b2 == 0.99
	}
	if key == "betas" {
		b1, b2, err := c.Options.Betas()
		require.NoError(t, err, c.Name)
		return b1 == 0.9 && b2 == 0.999
	}
	if key == "beta3_warmup" || key == "alpha_warmup" {
		return c.Options[key] == nil
	}
	if opt == Adafactor && key == "eps" {
		e1, e2, err := c.Options.EpsPair()
		require.NoError(t, err, c.Name)
		return c.Options["eps"].([]any)[0] == nil && e1 == 0x1p-23 && e2 == 1e-3
	}
	if key == "etas" || key == "step_sizes" {
		a, b, err := c.Options.Pair(key)
		require.NoError(t, err, c.Name)
		if key == "etas" {
			return a == 0.5 && b == 1.2
		}
		return a == 1e-6 && b == 50
	}
	if opt == SGD && key == "lr" {
		return false // torch's SGD has no default lr
	}
	d, ok := defaults[opt][key]
	require.True(t, ok, "%s: no default for %s", opt, key)
	switch d := d.(type) {
	case bool:
		v, err := c.Options.Bool(key)
		require.NoError(t, err, c.Name)
		return v == d
	case float64:
		v, err := c.Options.Float(key)
		require.NoError(t, err, c.Name)
		return v == d
	}
	t.Fatalf("bad default %v", d)
	return false
}

// TestOptimFirstStep replays step 1 of the cases whose first step has a closed
// form, to check that grads[s] and params[s] line up with init (within fp32 rounding).
func TestOptimFirstStep(t *testing.T) {
	f := loadOptim(t)
	checked := 0
	for _, c := range f.Cases {
		h, err := c.Hyper()
		require.NoError(t, err)
		switch c.Optimizer {
		case Adafactor:
			checked += adafactorFirstStep(t, c, h)
			continue
		case LAMB:
			checked += lambFirstStep(t, c, h)
			continue
		case LARS:
			checked += larsFirstStep(t, c, h)
			continue
		}
		for i := range c.Lengths {
			for j, p0 := range c.Init[i] {
				p := float64(p0)
				g := float64(c.Grads[0][i][j])
				if h.Maximize {
					g = -g
				}
				var want float64
				switch c.Optimizer {
				case SGD:
					g += h.WeightDecay * p
					if h.Nesterov {
						g += h.Momentum * g // buf = g at step 1
					}
					want = p - h.LR*g
				case RAdam:
					// Not rectified at step 1: p -= lr * m/bc1 = lr*g.
					if h.DecoupledWeightDecay {
						p *= 1 - h.LR*h.WeightDecay
					} else {
						g += h.WeightDecay * p
					}
					want = p - h.LR*g
				case Rprop:
					// prev = 0 at step 1: sign 0, factor 1, step_size = lr (clamped).
					ss := math.Min(math.Max(h.LR, h.StepSizeMin), h.StepSizeMax)
					sign := 0.0
					if g > 0 {
						sign = 1
					} else if g < 0 {
						sign = -1
					}
					want = p - sign*ss
				case Adadelta:
					g += h.WeightDecay * p
					sq := (1 - h.Rho) * g * g
					delta := math.Sqrt(h.Eps) / math.Sqrt(sq+h.Eps) * g
					want = p - h.LR*delta
				case Lion:
					// m = 0 at step 1: the sign of (1-beta1)*g is g's.
					p *= 1 - h.LR*h.WeightDecay
					want = p - h.LR*math.Copysign(1, g)
					if g == 0 || h.Beta1 == 1 {
						want = p
					}
				case AdEMAMix:
					// fast/bc1 = g, sqrt(v/bc2) = |g|; slow = (1-beta3_1)*g, alpha_1 as warmed up.
					alpha, beta3 := h.Alpha, h.Beta3
					if h.AlphaWarmup > 1 {
						alpha = h.Alpha / float64(h.AlphaWarmup)
					}
					if h.Beta3Warmup > 1 {
						f := func(b float64) float64 { return math.Log(0.5)/math.Log(b+1e-8) - 1 }
						a := 1 / float64(h.Beta3Warmup)
						beta3 = math.Pow(0.5, 1/((1-a)*f(h.Beta1)+a*f(h.Beta3)+1))
					}
					u := (g+alpha*(1-beta3)*g)/(math.Abs(g)+h.Eps) + h.WeightDecay*p
					want = p - h.LR*u
				case NAdam:
					if h.DecoupledWeightDecay {
						p *= 1 - h.LR*h.WeightDecay
					} else {
						g += h.WeightDecay * p
					}
					// mu_product = mu1, m = (1-beta1)g, sqrt(v/bc2) = |g| at step 1.
					mu1 := h.Beta1 * (1 - 0.5*math.Pow(0.96, h.MomentumDecay))
					mu2 := h.Beta1 * (1 - 0.5*math.Pow(0.96, 2*h.MomentumDecay))
					denom := math.Abs(g) + h.Eps
					want = p - h.LR*g/denom - h.LR*mu2/(1-mu1*mu2)*(1-h.Beta1)*g/denom
				case ASGD:
					// eta = lr and mu = 1 at step 1.
					g += h.WeightDecay * p
					want = p*(1-h.Lambd*h.LR) - h.LR*g
				case Adamax:
					// m/bc1 = g and u = |g| + eps at step 1.
					g += h.WeightDecay * p
					want = p - h.LR*g/(math.Abs(g)+h.Eps)
				case Adam, AdamW:
					if c.Optimizer == AdamW {
						p *= 1 - h.LR*h.WeightDecay
					} else {
						g += h.WeightDecay * p
					}
					// m/bc1 = g, sqrt(v/bc2) = |g| at step 1.
					want = p - h.LR*g/(math.Abs(g)+h.Eps)
				case Adagrad:
					g += h.WeightDecay * p
					want = p - h.LR*g/(math.Sqrt(h.InitialAccumulatorValue+g*g)+h.Eps)
				case RMSprop:
					g += h.WeightDecay * p
					sq := (1 - h.Alpha) * g * g
					avg := math.Sqrt(sq) + h.Eps
					if h.Centered {
						ga := (1 - h.Alpha) * g
						avg = math.Sqrt(sq-ga*ga) + h.Eps
					}
					want = p - h.LR*g/avg
				}
				got := float64(c.Params[0][i][j])
				tol := 1e-5 * math.Max(1, math.Abs(want))
				require.InDelta(t, want, got, tol, "%s tensor %d elem %d", c.Name, i, j)
				checked++
			}
		}
	}
	require.Greater(t, checked, 1000)
}

func TestClip(t *testing.T) {
	f := loadClip(t)
	require.NotEmpty(t, f.TorchVersion)
	require.Equal(t, "testdata/torch/gen_golden.py", f.Generator)

	type key struct {
		l2, multi, applied bool
	}
	seenNorm := map[key]bool{}
	seenValue, seenValueMulti := false, false
	for _, c := range f.Cases {
		require.NoError(t, c.Validate())
		require.Len(t, c.Grads, len(c.Lengths))
		require.Len(t, c.Clipped, len(c.Lengths))
		switch c.Kind {
		case ClipNorm:
			require.True(t, c.NormType == 2 || math.IsInf(c.NormType, 1), c.Name)
			require.Greater(t, c.MaxNorm, 0.0, c.Name)
			// Recompute the total norm from the gradients.
			total := 0.0
			for _, g := range c.Grads {
				for _, x := range g {
					if math.IsInf(c.NormType, 1) {
						total = math.Max(total, math.Abs(float64(x)))
					} else {
						total += float64(x) * float64(x)
					}
				}
			}
			if c.NormType == 2 {
				total = math.Sqrt(total)
			}
			require.InDelta(t, total, float64(c.TotalNorm), 1e-5*math.Max(1, total), c.Name)
			coef := c.MaxNorm / (float64(c.TotalNorm) + 1e-6)
			require.Equal(t, coef < 1, c.ClippingApplied, c.Name)
			scale := math.Min(coef, 1)
			for i, g := range c.Grads {
				for j, x := range g {
					want := float64(x) * scale
					require.InDelta(t, want, float64(c.Clipped[i][j]), 1e-6*math.Max(1e-3, math.Abs(want)), "%s [%d][%d]", c.Name, i, j)
				}
			}
			seenNorm[key{c.NormType == 2, len(c.Lengths) > 1, c.ClippingApplied}] = true
		case ClipValue:
			require.Greater(t, c.ClipValue, 0.0, c.Name)
			v := float32(c.ClipValue)
			for i, g := range c.Grads {
				for j, x := range g {
					want := min(max(x, -v), v)
					require.Equal(t, want, c.Clipped[i][j], "%s [%d][%d]", c.Name, i, j)
				}
			}
			seenValue = true
			seenValueMulti = seenValueMulti || len(c.Lengths) > 1
		default:
			t.Fatalf("%s: kind %q", c.Name, c.Kind)
		}
	}
	for _, l2 := range []bool{true, false} {
		for _, applied := range []bool{true, false} {
			require.True(t, seenNorm[key{l2, true, applied}], "norm l2=%v multi applied=%v", l2, applied)
			require.True(t, seenNorm[key{l2, false, applied}], "norm l2=%v single applied=%v", l2, applied)
		}
	}
	require.True(t, seenValue)
	require.True(t, seenValueMulti)
}

func TestOptionsHelpers(t *testing.T) {
	o := Options{"lr": 0.5, "maximize": true, "betas": []any{0.8, 0.99}, "bad": "x"}
	v, err := o.Float("lr")
	require.NoError(t, err)
	require.Equal(t, 0.5, v)
	b, err := o.Bool("maximize")
	require.NoError(t, err)
	require.True(t, b)
	b1, b2, err := o.Betas()
	require.NoError(t, err)
	require.Equal(t, [2]float64{0.8, 0.99}, [2]float64{b1, b2})
	require.True(t, o.Has("lr"))
	require.False(t, o.Has("eps"))

	_, err = o.Float("eps")
	require.ErrorIs(t, err, ErrOption)
	_, err = o.Float("maximize")
	require.ErrorIs(t, err, ErrOption)
	_, err = o.Bool("lr")
	require.ErrorIs(t, err, ErrOption)
	_, _, err = Options{"betas": []any{0.9}}.Betas()
	require.ErrorIs(t, err, ErrOption)
	_, _, err = Options{}.Betas()
	require.ErrorIs(t, err, ErrOption)

	c := &OptimCase{Name: "x", Optimizer: Adam, Options: Options{"lr": 0.1}}
	_, err = c.Hyper()
	require.ErrorIs(t, err, ErrOption)
	c.Optimizer = "lamb"
	_, err = c.Hyper()
	require.Error(t, err)
}

func TestHyperFromFile(t *testing.T) {
	f := loadOptim(t)
	c, ok := f.Case("adam/amsgrad/wd=0.05/maximize/betas=(0.5,0.9)/multi")
	require.True(t, ok)
	h, err := c.Hyper()
	require.NoError(t, err)
	require.Equal(t, Hyper{LR: 0.02, WeightDecay: 0.05, Maximize: true, Eps: 1e-8, Beta1: 0.5, Beta2: 0.9, Amsgrad: true}, h)
	require.Equal(t, []int{17, 1, 64, 3}, c.Lengths)
	require.Equal(t, 85, c.NumElements())

	c, ok = f.Case("rmsprop/alpha=0.95/eps=1e-6/wd=0.05/momentum=0.5/centered/maximize/multi")
	require.True(t, ok)
	h, err = c.Hyper()
	require.NoError(t, err)
	require.Equal(t, Hyper{LR: 0.005, WeightDecay: 0.05, Maximize: true, Eps: 1e-6, Momentum: 0.5, Alpha: 0.95, Centered: true}, h)

	_, ok = f.Case("no such case")
	require.False(t, ok)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadOptim(filepath.Join(dir, "missing.json"))
	require.Error(t, err)
	require.True(t, errors.Is(err, os.ErrNotExist))
	_, err = LoadClip(filepath.Join(dir, "missing.json"))
	require.Error(t, err)

	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	_, err = LoadOptim(write("bad.json", "{"))
	require.Error(t, err)
	_, err = LoadOptim(write("empty.json", `{"cases":[]}`))
	require.Error(t, err)

	good := `{"name":"sgd/x","optimizer":"sgd","options":{"lr":0.1,"momentum":0.0,"dampening":0.0,"weight_decay":0.0,"nesterov":false,"maximize":false},
	 "steps":1,"lengths":[2],"init":[[1,2]],"grads":[[[0.5,0.5]]],"params":[[[0.95,1.95]]],"state":{}}`
	f, err := LoadOptim(write("good.json", `{"cases":[`+good+`]}`))
	require.NoError(t, err)
	require.Len(t, f.Cases, 1)
	require.Equal(t, []float32{0.95, 1.95}, f.Cases[0].Params[0][0])

	_, err = LoadOptim(write("dup.json", `{"cases":[`+good+`,`+good+`]}`))
	require.ErrorContains(t, err, "duplicate")
	_, err = LoadOptim(write("len.json", `{"cases":[`+strings.Replace(good, `"lengths":[2]`, `"lengths":[3]`, 1)+`]}`))
	require.Error(t, err)
	_, err = LoadOptim(write("steps.json", `{"cases":[`+strings.Replace(good, `"steps":1`, `"steps":2`, 1)+`]}`))
	require.Error(t, err)
	_, err = LoadOptim(write("opt.json", `{"cases":[`+strings.Replace(good, `"nesterov":false,`, ``, 1)+`]}`))
	require.ErrorIs(t, err, ErrOption)
	_, err = LoadOptim(write("state.json", `{"cases":[`+strings.Replace(good, `"state":{}`, `"state":{"step":3}`, 1)+`]}`))
	require.Error(t, err)

	clip := `{"name":"n","kind":"norm","max_norm":1.0,"norm_type":"inf","lengths":[1],"grads":[[2]],"total_norm":2,"clipping_applied":true,"clipped":[[1]]}`
	cf, err := LoadClip(write("clip.json", `{"cases":[`+clip+`]}`))
	require.NoError(t, err)
	require.True(t, math.IsInf(cf.Cases[0].NormType, 1))
	cf, err = LoadClip(write("clip2.json", `{"cases":[`+strings.Replace(clip, `"inf"`, `2.0`, 1)+`]}`))
	require.NoError(t, err)
	require.Equal(t, 2.0, cf.Cases[0].NormType)
	_, err = LoadClip(write("clip3.json", `{"cases":[`+strings.Replace(clip, `"inf"`, `"fro"`, 1)+`]}`))
	require.Error(t, err)
	_, err = LoadClip(write("clip4.json", `{"cases":[`+strings.Replace(clip, `"kind":"norm"`, `"kind":"value"`, 1)+`]}`))
	require.Error(t, err)
	_, err = LoadClip(write("clip5.json", `{"cases":[`+strings.Replace(clip, `"lengths":[1]`, `"lengths":[2]`, 1)+`]}`))
	require.Error(t, err)
}

// adafactorFirstStep replays Adafactor's first step in float64 (every state starts at
// 0 and 1-beta2_1 = 1, so the second moment is the gradient's), tensor by tensor.
func adafactorFirstStep(t *testing.T, c *OptimCase, h Hyper) int {
	t.Helper()
	checked := 0
	for i, n := range c.Lengths {
		g := make([]float64, n)
		p := make([]float64, n)
		ss := 0.0
		for j := range g {
			g[j] = float64(c.Grads[0][i][j])
			if h.Maximize {
				g[j] = -g[j]
			}
			p[j] = float64(c.Init[i][j])
			ss += p[j] * p[j]
		}
		alpha := math.Max(h.Eps2, math.Sqrt(ss/float64(n))) * math.Min(h.LR, 1)
		v := make([]float64, n)
		var sh []int
		if c.Shapes != nil {
			sh = c.Shapes[i]
		}
		if len(sh) >= 2 {
			rows, cols := sh[len(sh)-2], sh[len(sh)-1]
			for m := 0; m < n/(rows*cols); m++ {
				r := make([]float64, rows)
				cl := make([]float64, cols)
				for a := 0; a < rows; a++ {
					for b := 0; b < cols; b++ {
						x := g[(m*rows+a)*cols+b]
						r[a] += x * x / float64(cols)
						cl[b] += x * x / float64(rows)
					}
				}
				mean := 0.0
				for _, x := range r {
					mean += x / float64(rows)
				}
				mean = math.Max(mean, h.Eps1)
				for a := 0; a < rows; a++ {
					for b := 0; b < cols; b++ {
						v[(m*rows+a)*cols+b] = r[a] * cl[b] / mean
					}
				}
			}
		} else {
			for j := range g {
				v[j] = g[j] * g[j]
			}
		}
		u := make([]float64, n)
		us := 0.0
		for j := range u {
			u[j] = g[j] / math.Sqrt(math.Max(v[j], h.Eps1*h.Eps1))
			us += u[j] * u[j]
		}
		denom := math.Max(1, math.Sqrt(us/float64(n))/h.D)
		for j := range u {
			want := p[j]*(1-h.LR*h.WeightDecay) - alpha*u[j]/denom
			got := float64(c.Params[0][i][j])
			require.InDelta(t, want, got, 1e-5*math.Max(1, math.Abs(want)), "%s tensor %d elem %d", c.Name, i, j)
			checked++
		}
	}
	return checked
}

// norm64 is the L2 norm of xs in float64.
func norm64(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x * x
	}
	return math.Sqrt(s)
}

// lambFirstStep replays LAMB's first step in float64: the moments start at 0, so with
// bias correction m/bc1 = beta3/(1-beta1)*s and sqrt(v/bc2) = |s|; then each tensor's
// trust ratio from its norms.
func lambFirstStep(t *testing.T, c *OptimCase, h Hyper) int {
	t.Helper()
	gsum := 0.0
	for i := range c.Lengths {
		for _, g := range c.Grads[0][i] {
			gsum += float64(g) * float64(g)
		}
	}
	clip := 1.0
	if gn := math.Sqrt(gsum); h.MaxGradNorm > 0 && gn > h.MaxGradNorm {
		clip = gn / h.MaxGradNorm
	}
	beta3 := 1.0
	if h.GradAveraging {
		beta3 = 1 - h.Beta1
	}
	bc1, bc2 := 1.0, 1.0
	if h.BiasCorrection {
		bc1, bc2 = 1-h.Beta1, 1-h.Beta2
	}
	checked := 0
	for i, n := range c.Lengths {
		p, u := make([]float64, n), make([]float64, n)
		for j := range p {
			p[j] = float64(c.Init[i][j])
			s := float64(c.Grads[0][i][j]) / clip
			if !h.AdamWMode {
				s += h.WeightDecay * p[j]
			}
			m, v := beta3*s, (1-h.Beta2)*s*s
			u[j] = (m / bc1) / (math.Sqrt(v/bc2) + h.Eps)
			if h.AdamWMode {
				u[j] += h.WeightDecay * p[j]
			}
		}
		ratio := h.LR
		if pn, un := norm64(p), norm64(u); (h.UseNVLAMB || h.WeightDecay != 0) && pn != 0 && un != 0 {
			trust := pn / un
			if h.TrustClip {
				trust = math.Min(trust, 1)
			}
			ratio = h.LR * trust
		}
		for j := range p {
			want := p[j] - ratio*u[j]
			require.InDelta(t, want, float64(c.Params[0][i][j]), 1e-5*math.Max(1, math.Abs(want)),
				"%s tensor %d elem %d", c.Name, i, j)
			checked++
		}
	}
	return checked
}

// larsFirstStep replays LARC's first step in float64: the adaptive lr from each
// tensor's norms, then SGD with the momentum buffer set to the scaled gradient.
func larsFirstStep(t *testing.T, c *OptimCase, h Hyper) int {
	t.Helper()
	checked := 0
	for i, n := range c.Lengths {
		p, g := make([]float64, n), make([]float64, n)
		for j := range p {
			p[j], g[j] = float64(c.Init[i][j]), float64(c.Grads[0][i][j])
		}
		pn, gn := norm64(p), norm64(g)
		for j := range p {
			d := g[j]
			if pn != 0 && gn != 0 {
				a := h.TrustCoefficient * pn / (gn + pn*h.WeightDecay + h.Eps)
				if h.Clip {
					a = math.Min(a/h.LR, 1)
				}
				d = (d + h.WeightDecay*p[j]) * a
			}
			if h.Maximize {
				d = -d
			}
			if h.Nesterov {
				d += h.Momentum * d
			}
			want := p[j] - h.LR*d
			require.InDelta(t, want, float64(c.Params[0][i][j]), 1e-5*math.Max(1, math.Abs(want)),
				"%s tensor %d elem %d", c.Name, i, j)
			checked++
		}
	}
	return checked
}
