package optim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// GradScaler against torch 2.6's torch.amp.GradScaler("cpu") driving the same
// optimizer (testdata/gradscaler.json, written by tests/torch/gen_gradscaler.py, whose
// docstring gives the format): the scale before every step, which steps are skipped and
// the gradients after every step (scaled after a skipped fused step, unscaled
// otherwise) bit for bit in every case; the params after every step and the final
// state bit for bit where goptim's update rounds as the torch kernel does
// (torchUpdateDiffers), within the golden tolerance elsewhere. Schedule-Free AdamW's
// cases (testdata/torch/gen_schedulefree.py's reference, put in train mode first) also
// hold its final weight_sum and lr_max, compared exactly, and the params after Eval.

type scalerGolden struct {
	TorchVersion string             `json:"torch_version"`
	Cases        []scalerGoldenCase `json:"cases"`
}

type scalerGoldenCase struct {
	Name      string             `json:"name"`
	Optimizer string             `json:"optimizer"`
	Options   map[string]any     `json:"options"`
	Path      string             `json:"path"` // "fused" or "unscale": the path torch's GradScaler took
	Scaler    map[string]float64 `json:"scaler"`
	Seed      uint64             `json:"seed"`
	Lengths   []int              `json:"lengths"`
	Steps     []struct {
		Scale    float64  `json:"scale"`
		Inject   []any    `json:"inject"` // [param, element, "inf" | "-inf" | "nan"] or null
		Skipped  bool     `json:"skipped"`
		Params   []string `json:"params"`
		GradsFNV []string `json:"grads_fnv"`
	} `json:"steps"`
	FinalScale float64         `json:"final_scale"`
	State      json.RawMessage `json:"state"`
	// EvalParams: Schedule-Free only, the params after eval() at the end.
	EvalParams []string `json:"eval_params"`
}

// splitmix64 and unit are the generator's; the gradients and initial params are made
// the same way on both sides instead of being stored.
type splitmix64 struct{ state uint64 }

func (r *splitmix64) next() uint64 {
	r.state += 0x9E3779B97F4A7C15
	z := r.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (r *splitmix64) unit() float32 {
	u := r.next() >> 40
	return float32((float64(u) - (1 << 23)) / (1 << 23))
}

func decodeF32(t *testing.T, s string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	require.Zero(t, len(b)%4)
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func fnvF32(v []float32) string {
	h := uint64(0xCBF29CE484222325)
	var b [4]byte
	for _, f := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(f))
		for _, c := range b {
			h = (h ^ uint64(c)) * 0x100000001B3
		}
	}
	return fmt.Sprintf("%016x", h)
}

// firstBitDiff is the first element whose bits differ, or -1.
func firstBitDiff(got, want []float32) int {
	if len(got) != len(want) {
		return 0
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return i
		}
	}
	return -1
}

func tensorValues(t *testing.T, x *Tensor) []float32 {
	t.Helper()
	v := make([]float32, x.Len())
	require.NoError(t, x.CopyTo(v))
	return v
}

// torchUpdateDiffers says why goptim's update rounds differently from the torch 2.6
// kernel that made the case, or "" when it rounds the same. The differences are between
// torch's fused kernels and its own single-tensor path, in the update, not in the loss
// scaling: the scale, the skips and the gradients match bit for bit regardless.
func torchUpdateDiffers(c *scalerGoldenCase) string {
	switch {
	case c.Optimizer == "sgd" && c.Options["momentum"] != 0.0:
		return "torch's fused SGD rounds the scalar tail of each tensor (the elements after its last full " +
			"vector) with other fused multiply-adds than its vector body; goptim rounds every element as the body does"
	case c.Optimizer == "adam" || c.Optimizer == "adamw":
		return "torch's fused CPU Adam (fused=True, the kernel GradScaler drives) rounds exp_avg_sq's " +
			"(1-beta2)*grad*grad otherwise than its single-tensor path, which goptim follows (optim.json)"
	case c.Optimizer == "adafactor":
		return "Adafactor's norms are reductions, summed in double by goptim and in float32 by torch"
	}
	return ""
}

// usesFusedScaling says which path GradScaler.Step takes for the optimizer.
func (c *core[C]) usesFusedScaling() bool { return c.spec.fusedScaling }

func newFromScalerGolden(t *testing.T, c *scalerGoldenCase, params []*Param) Optimizer {
	t.Helper()
	o := c.Options
	f := func(k string) float64 {
		v, ok := o[k].(float64)
		require.True(t, ok, "%s: option %s", c.Name, k)
		return v
	}
	b := func(k string) bool {
		v, ok := o[k].(bool)
		require.True(t, ok, "%s: option %s", c.Name, k)
		return v
	}
	var opt Optimizer
	var err error
	switch c.Optimizer {
	case "adam", "adamw":
		betas := o["betas"].([]any)
		cfg := AdamConfig{LR: f("lr"), Beta1: betas[0].(float64), Beta2: betas[1].(float64), Eps: f("eps"),
			WeightDecay: f("weight_decay"), AMSGrad: b("amsgrad"), Maximize: b("maximize")}
		if c.Optimizer == "adamw" {
			opt, err = NewAdamW(params, cfg)
		} else {
			opt, err = NewAdam(params, cfg)
		}
	case "sgd":
		opt, err = NewSGD(params, SGDConfig{LR: f("lr"), Momentum: f("momentum"), Dampening: f("dampening"),
			WeightDecay: f("weight_decay"), Nesterov: b("nesterov"), Maximize: b("maximize")})
	case "adamax":
		betas := o["betas"].([]any)
		opt, err = NewAdamax(params, AdamaxConfig{LR: f("lr"), Beta1: betas[0].(float64), Beta2: betas[1].(float64),
			Eps: f("eps"), WeightDecay: f("weight_decay"), Maximize: b("maximize")})
	case "radam":
		betas := o["betas"].([]any)
		opt, err = NewRAdam(params, RAdamConfig{LR: f("lr"), Beta1: betas[0].(float64), Beta2: betas[1].(float64),
			Eps: f("eps"), WeightDecay: f("weight_decay"), DecoupledWeightDecay: b("decoupled_weight_decay"),
			Maximize: b("maximize")})
	case "rprop":
		etas, sizes := o["etas"].([]any), o["step_sizes"].([]any)
		opt, err = NewRprop(params, RpropConfig{LR: f("lr"), EtaMinus: etas[0].(float64), EtaPlus: etas[1].(float64),
			StepSizeMin: sizes[0].(float64), StepSizeMax: sizes[1].(float64), Maximize: b("maximize")})
	case "nadam":
		betas := o["betas"].([]any)
		opt, err = NewNAdam(params, NAdamConfig{LR: f("lr"), Beta1: betas[0].(float64), Beta2: betas[1].(float64),
			Eps: f("eps"), WeightDecay: f("weight_decay"), MomentumDecay: f("momentum_decay"),
			DecoupledWeightDecay: b("decoupled_weight_decay"), Maximize: b("maximize")})
	case "lion":
		betas := o["betas"].([]any)
		opt, err = NewLion(params, LionConfig{LR: f("lr"), Beta1: betas[0].(float64), Beta2: betas[1].(float64),
			WeightDecay: f("weight_decay")})
	case "ademamix":
		betas := o["betas"].([]any)
		warm := func(k string) int {
			if o[k] == nil {
				return 0
			}
			return int(f(k))
		}
		opt, err = NewAdEMAMix(params, AdEMAMixConfig{LR: f("lr"), Beta1: betas[0].(float64), Beta2: betas[1].(float64),
			Beta3: betas[2].(float64), Alpha: f("alpha"), Beta3Warmup: warm("beta3_warmup"), AlphaWarmup: warm("alpha_warmup"),
			Eps: f("eps"), WeightDecay: f("weight_decay")})
	case "lamb":
		betas := o["betas"].([]any)
		opt, err = NewLAMB(params, LAMBConfig{LR: f("lr"), BiasCorrection: b("bias_correction"), Beta1: betas[0].(float64),
			Beta2: betas[1].(float64), Eps: f("eps"), WeightDecay: f("weight_decay"), AdamWMode: b("adam_w_mode"),
			GradAveraging: b("grad_averaging"), MaxGradNorm: f("max_grad_norm"), UseNVLAMB: b("use_nvlamb"),
			TrustClip: b("trust_clip")})
	case "lars":
		// The generator puts back the gradients LARC scales in place (LARSKeepGrads):
		// goptim leaves them as GradScaler left them.
		opt, err = NewLARS(params, LARSConfig{LR: f("lr"), Momentum: f("momentum"), Dampening: f("dampening"),
			WeightDecay: f("weight_decay"), Nesterov: b("nesterov"), Maximize: b("maximize"),
			TrustCoefficient: f("trust_coefficient"), Clip: b("clip"), Eps: f("eps")})
	case "schedulefree_adamw":
		// The generator's reference starts in eval mode and calls train() before the first
		// step, as goptim's must.
		betas := o["betas"].([]any)
		sf, e := NewScheduleFreeAdamW(params, ScheduleFreeAdamWConfig{LR: f("lr"), Beta1: betas[0].(float64),
			Beta2: betas[1].(float64), Eps: f("eps"), WeightDecay: f("weight_decay"),
			WarmupSteps: int(f("warmup_steps")), R: f("r"), WeightLRPower: f("weight_lr_power")})
		if e == nil {
			e = sf.Train()
			opt = sf
		}
		err = e
	case "adafactor":
		eps := o["eps"].([]any)
		eps1 := 0x1p-23 // torch's None: float32's machine epsilon
		if eps[0] != nil {
			eps1 = eps[0].(float64)
		}
		opt, err = NewAdafactor(params, AdafactorConfig{LR: f("lr"), Beta2Decay: f("beta2_decay"), Eps1: eps1,
			Eps2: eps[1].(float64), D: f("d"), WeightDecay: f("weight_decay"), Maximize: b("maximize")})
	case "asgd":
		opt, err = NewASGD(params, ASGDConfig{LR: f("lr"), Lambd: f("lambd"), Alpha: f("alpha"), T0: f("t0"),
			WeightDecay: f("weight_decay"), Maximize: b("maximize")})
	case "adadelta":
		opt, err = NewAdadelta(params, AdadeltaConfig{LR: f("lr"), Rho: f("rho"), Eps: f("eps"),
			WeightDecay: f("weight_decay"), Maximize: b("maximize")})
	case "adagrad":
		opt, err = NewAdagrad(params, AdagradConfig{LR: f("lr"), LRDecay: f("lr_decay"), WeightDecay: f("weight_decay"),
			InitialAccumulatorValue: f("initial_accumulator_value"), Eps: f("eps"), Maximize: b("maximize")})
	case "rmsprop":
		opt, err = NewRMSprop(params, RMSpropConfig{LR: f("lr"), Alpha: f("alpha"), Eps: f("eps"),
			WeightDecay: f("weight_decay"), Momentum: f("momentum"), Centered: b("centered"), Maximize: b("maximize")})
	default:
		t.Fatalf("%s: unknown optimizer %q", c.Name, c.Optimizer)
	}
	require.NoError(t, err, c.Name)
	return opt
}

func TestGradScalerTorchTrajectories(t *testing.T) {
	raw, err := os.ReadFile("testdata/gradscaler.json")
	require.NoError(t, err)
	var f scalerGolden
	require.NoError(t, json.Unmarshal(raw, &f))
	require.NotEmpty(t, f.Cases)
	paths := map[string]int{}
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			for i := range f.Cases {
				c := &f.Cases[i]
				paths[c.Path]++
				t.Run(fmt.Sprintf("%v/threads=%d/%s", isa, threads, c.Name), func(t *testing.T) {
					runScalerGolden(t, c)
				})
			}
		}
	}
	require.NoError(t, SetISA(ISAAuto))
	require.NoError(t, SetThreads(0))
	// Both of GradScaler's paths are covered.
	require.NotZero(t, paths["fused"])
	require.NotZero(t, paths["unscale"])
}

func runScalerGolden(t *testing.T, c *scalerGoldenCase) {
	rng := &splitmix64{state: c.Seed}
	params := make([]*Param, len(c.Lengths))
	for i, n := range c.Lengths {
		p, err := NewParam(fmt.Sprintf("p%d", i), n)
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		init := make([]float32, n)
		for j := range init {
			init[j] = rng.unit()
		}
		require.NoError(t, p.Data.CopyFrom(init))
		params[i] = p
	}
	opt := newFromScalerGolden(t, c, params)
	t.Cleanup(func() { opt.Close() })
	fused := opt.(interface{ usesFusedScaling() bool }).usesFusedScaling()
	require.Equal(t, c.Path == "fused", fused,
		"torch's GradScaler took the %q path for this optimizer; goptim's spec.fusedScaling is %v", c.Path, fused)
	differs := torchUpdateDiffers(c)
	// sameAs compares params or state with torch's: bit for bit, or within the golden
	// tolerance where the update rounds differently. It returns the failure, if any.
	bitDiffs, compared := 0, 0
	sameAs := func(got, want []float32) string {
		compared += len(want)
		j := firstBitDiff(got, want)
		if j < 0 {
			return ""
		}
		if differs == "" {
			return fmt.Sprintf("element %d: got %.9g (%#08x), torch %.9g (%#08x)",
				j, got[j], math.Float32bits(got[j]), want[j], math.Float32bits(want[j]))
		}
		bitDiffs += bitsDiffer(got, want)
		if worst, k := closeTo(got, want); worst > 1 {
			return fmt.Sprintf("element %d: got %.9g, torch %.9g (%.2f times the golden tolerance)", k, got[k], want[k], worst)
		}
		return ""
	}
	defer func() {
		if differs != "" {
			t.Logf("params and state within tolerance, %d of %d elements bit-identical (%s)",
				compared-bitDiffs, compared, differs)
		}
	}()
	prev := make([][]float32, len(params))
	for i, p := range params {
		prev[i] = tensorValues(t, p.Data)
	}

	scaler, err := NewGradScaler(GradScalerConfig{InitScale: c.Scaler["init_scale"], GrowthFactor: c.Scaler["growth_factor"],
		BackoffFactor: c.Scaler["backoff_factor"], GrowthInterval: int(c.Scaler["growth_interval"])})
	require.NoError(t, err)

	for si, st := range c.Steps {
		step := si + 1
		// The scale is a float32 on both sides; torch reports it as a Python float.
		require.Equal(t, math.Float64bits(st.Scale), math.Float64bits(scaler.Scale()),
			"step %d: scale before the step: got %v, torch %v", step, scaler.Scale(), st.Scale)
		scale := float32(scaler.Scale())
		grads := make([][]float32, len(params))
		for i, p := range params {
			e := rng.next() % 10
			mag := float32(math.Ldexp(1, int(e)-8))
			g := make([]float32, p.Grad.Len())
			for j := range g {
				g[j] = (rng.unit() * mag) * scale
			}
			grads[i] = g
		}
		if st.Inject != nil {
			pi, j := int(st.Inject[0].(float64)), int(st.Inject[1].(float64))
			switch st.Inject[2].(string) {
			case "inf":
				grads[pi][j] = float32(math.Inf(1))
			case "-inf":
				grads[pi][j] = float32(math.Inf(-1))
			case "nan":
				grads[pi][j] = math.Float32frombits(0x7fc00000)
			default:
				t.Fatalf("step %d: unknown injection %v", step, st.Inject)
			}
		}
		for i, p := range params {
			require.NoError(t, p.Grad.CopyFrom(grads[i]))
		}

		stepped, err := scaler.Step(opt)
		require.NoError(t, err, "step %d", step)
		require.Equal(t, !st.Skipped, stepped, "step %d: torch skipped=%v", step, st.Skipped)

		for i, p := range params {
			got := tensorValues(t, p.Data)
			if st.Skipped {
				if j := firstBitDiff(got, prev[i]); j >= 0 {
					t.Fatalf("step %d: skipped, yet param %d element %d changed from %.9g to %.9g", step, i, j, prev[i][j], got[j])
				}
			}
			if msg := sameAs(got, decodeF32(t, st.Params[i])); msg != "" {
				t.Fatalf("step %d (scale %v, skipped=%v): param %d %s", step, st.Scale, st.Skipped, i, msg)
			}
			prev[i] = got
		}
		for i, p := range params {
			got := tensorValues(t, p.Grad)
			if h := fnvF32(got); h != st.GradsFNV[i] {
				// torch's gradients are stored as a hash; name the model they follow.
				var model []float32
				var what string
				switch {
				case c.Path == "unscale":
					inv := float32(1 / float64(scale))
					what = fmt.Sprintf("g * float32(1/scale) = g * %v, stepped or not", inv)
					model = make([]float32, len(grads[i]))
					for j, g := range grads[i] {
						model[j] = g * inv
					}
				case st.Skipped:
					what, model = "the scaled gradient, untouched", grads[i]
				default:
					what = fmt.Sprintf("g / scale = g / %v", scale)
					model = make([]float32, len(grads[i]))
					for j, g := range grads[i] {
						model[j] = g / scale
					}
				}
				msg := fmt.Sprintf("step %d (scale %v, skipped=%v, %s path): gradient %d after the step differs from torch's (FNV %s, torch %s)",
					step, st.Scale, st.Skipped, c.Path, i, h, st.GradsFNV[i])
				if fnvF32(model) != st.GradsFNV[i] {
					t.Fatalf("%s; torch's is not %s either", msg, what)
				}
				j := firstBitDiff(got, model)
				t.Fatalf("%s; torch's is %s: element %d: got %.9g, want %.9g (the gradient given was %.9g)",
					msg, what, j, got[j], model[j], grads[i][j])
			}
		}
	}
	require.Equal(t, math.Float64bits(c.FinalScale), math.Float64bits(scaler.Scale()),
		"final scale: got %v, torch %v", scaler.Scale(), c.FinalScale)

	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(c.State, &state))
	for key, v := range state {
		if key == "step" {
			n, err := strconv.ParseInt(string(v), 10, 64)
			require.NoError(t, err)
			for i := range params {
				require.Equal(t, n, opt.StepCount(0, i), "final step count of param %d", i)
			}
			continue
		}
		if sf, ok := opt.(*ScheduleFreeAdamW); ok && (key == "weight_sum" || key == "lr_max") {
			// Python floats, kept in double on both sides: exactly (a skipped step
			// advances neither).
			var want []float64
			require.NoError(t, json.Unmarshal(v, &want))
			for i := range params {
				_, ws, lm := sfHost(sf, 0, i)
				got := map[string]float64{"weight_sum": ws, "lr_max": lm}[key]
				require.Equal(t, math.Float64bits(want[i]), math.Float64bits(got),
					"final %s of param %d: got %v, the reference %v", key, i, got, want[i])
			}
			continue
		}
		var tensors []string
		require.NoError(t, json.Unmarshal(v, &tensors))
		for i := range params {
			got, err := stateOf(opt, i, key)
			require.NoError(t, err, "state %s", key)
			if msg := sameAs(got, decodeF32(t, tensors[i])); msg != "" {
				t.Fatalf("final state %s of param %d %s", key, i, msg)
			}
		}
	}
	if sf, ok := opt.(*ScheduleFreeAdamW); ok {
		// Eval after the last step puts the params at x, as the reference's eval().
		require.NotEmpty(t, c.EvalParams, "a Schedule-Free case records its params after eval()")
		require.NotEmpty(t, c.State, "and its host values")
		require.NoError(t, sf.Eval())
		for i, p := range params {
			if msg := sameAs(tensorValues(t, p.Data), decodeF32(t, c.EvalParams[i])); msg != "" {
				t.Fatalf("param %d after Eval %s", i, msg)
			}
		}
	} else {
		require.Empty(t, c.EvalParams, "eval_params is Schedule-Free's")
	}
}
