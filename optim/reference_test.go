package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/internal/reference"
)

// refCase is one optimizer configuration run both through the kernels and through
// the float64 reference.
type refCase struct {
	name string
	make func([]*Param) (Optimizer, error)
	// ref returns a stepper over float64 copies: step(p, g, t) for one param i.
	ref func(n []int) func(i int, p, g []float64, t int64)
	// refList, set instead of ref, steps every param at once: for the optimizers
	// whose update of one param reads the others' gradients (LAMB's global norm).
	refList func(n []int) func(p, g [][]float64, t int64)
}

func refCases() []refCase {
	var cases []refCase
	for _, c := range []SGDConfig{
		{LR: 0.1},
		{LR: 0.05, Momentum: 0.9},
		{LR: 0.05, Momentum: 0.9, Dampening: 0.3, WeightDecay: 0.01},
		{LR: 0.05, Momentum: 0.8, Nesterov: true, WeightDecay: 0.02},
		{LR: 0.05, Momentum: 0.9, Maximize: true},
	} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("sgd%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewSGD(p, c) },
			ref: func(n []int) func(int, []float64, []float64, int64) {
				bufs := zeros(n)
				r := reference.SGD{LR: c.LR, Momentum: c.Momentum, Dampening: c.Dampening, WeightDecay: c.WeightDecay,
					Nesterov: c.Nesterov, Maximize: c.Maximize}
				return func(i int, p, g []float64, t int64) { r.Step(p, g, bufs[i], t) }
			},
		})
	}
	for _, decoupled := range []bool{false, true} {
		for _, mod := range []func(*AdamConfig){
			func(*AdamConfig) {},
			func(c *AdamConfig) { c.AMSGrad = true },
			func(c *AdamConfig) { c.WeightDecay = 0.1 },
			func(c *AdamConfig) { c.Maximize = true; c.AMSGrad = true; c.WeightDecay = 0.05 },
			func(c *AdamConfig) { c.Beta1, c.Beta2, c.Eps, c.LR = 0.5, 0.9, 1e-3, 0.01 },
		} {
			c := AdamDefaults()
			if decoupled {
				c = AdamWDefaults()
			}
			mod(&c)
			d := decoupled
			cases = append(cases, refCase{
				name: fmt.Sprintf("adam(decoupled=%v)%+v", d, c),
				make: func(p []*Param) (Optimizer, error) {
					if d {
						return NewAdamW(p, c)
					}
					return NewAdam(p, c)
				},
				ref: func(n []int) func(int, []float64, []float64, int64) {
					m, v, vm := zeros(n), zeros(n), zeros(n)
					r := reference.Adam{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay,
						AMSGrad: c.AMSGrad, Maximize: c.Maximize, Decoupled: d}
					return func(i int, p, g []float64, t int64) { r.Step(p, g, m[i], v[i], vm[i], t) }
				},
			})
		}
	}
	for _, c := range []AdagradConfig{
		AdagradDefaults(),
		{LR: 0.05, LRDecay: 0.01, WeightDecay: 0.1, InitialAccumulatorValue: 0.5, Eps: 1e-6},
		{LR: 0.05, Eps: 1e-10, Maximize: true},
	} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("adagrad%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewAdagrad(p, c) },
			ref: func(n []int) func(int, []float64, []float64, int64) {
				sums := zeros(n)
				for _, s := range sums {
					for j := range s {
						s[j] = float64(float32(c.InitialAccumulatorValue))
					}
				}
				r := reference.Adagrad{LR: c.LR, LRDecay: c.LRDecay, WeightDecay: c.WeightDecay, Eps: c.Eps, Maximize: c.Maximize}
				return func(i int, p, g []float64, t int64) { r.Step(p, g, sums[i], t) }
			},
		})
	}
	for _, c := range []RMSpropConfig{
		RMSpropDefaults(),
		{LR: 0.01, Alpha: 0.9, Eps: 1e-6, Momentum: 0.9},
		{LR: 0.01, Alpha: 0.99, Eps: 1e-8, Centered: true, WeightDecay: 0.1},
		{LR: 0.01, Alpha: 0.95, Eps: 1e-8, Centered: true, Momentum: 0.5, Maximize: true},
	} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("rmsprop%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewRMSprop(p, c) },
			ref: func(n []int) func(int, []float64, []float64, int64) {
				sq, buf, ga := zeros(n), zeros(n), zeros(n)
				r := reference.RMSprop{LR: c.LR, Alpha: c.Alpha, Eps: c.Eps, WeightDecay: c.WeightDecay,
					Momentum: c.Momentum, Centered: c.Centered, Maximize: c.Maximize}
				return func(i int, p, g []float64, _ int64) { r.Step(p, g, sq[i], buf[i], ga[i]) }
			},
		})
	}
	for _, c := range []NAdamConfig{
		NAdamDefaults(),
		{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1, MomentumDecay: 0.05},
		{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.05, MomentumDecay: 0.004,
			DecoupledWeightDecay: true, Maximize: true},
	} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("nadam%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewNAdam(p, c) },
			ref: func(n []int) func(int, []float64, []float64, int64) {
				m, v := zeros(n), zeros(n)
				mp := make([]float64, len(n))
				for i := range mp {
					mp[i] = 1
				}
				r := reference.NAdam{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay,
					MomentumDecay: c.MomentumDecay, Decoupled: c.DecoupledWeightDecay, Maximize: c.Maximize}
				return func(i int, p, g []float64, t int64) { r.Step(p, g, m[i], v[i], &mp[i], t) }
			},
		})
	}
	for _, c := range []ASGDConfig{
		ASGDDefaults(),
		{LR: 0.05, Lambd: 0.01, Alpha: 0.6, T0: 2, WeightDecay: 0.1},
		{LR: 0.02, Lambd: 1e-3, Alpha: 1, T0: 0, Maximize: true},
	} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("asgd%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewASGD(p, c) },
			ref: func(n []int) func(int, []float64, []float64, int64) {
				ax := zeros(n)
				eta, mu := make([]float64, len(n)), make([]float64, len(n))
				for i := range eta {
					eta[i], mu[i] = c.LR, 1
				}
				r := reference.ASGD{LR: c.LR, Lambd: c.Lambd, Alpha: c.Alpha, T0: c.T0, WeightDecay: c.WeightDecay,
					Maximize: c.Maximize}
				return func(i int, p, g []float64, t int64) { r.Step(p, g, ax[i], &eta[i], &mu[i], t) }
			},
		})
	}
	for _, c := range []LionConfig{LionDefaults(), {LR: 3e-3, Beta1: 0.5, Beta2: 0.9, WeightDecay: 0.2}} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("lion%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewLion(p, c) },
			ref: func(n []int) func(int, []float64, []float64, int64) {
				m := zeros(n)
				r := reference.Lion{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, WeightDecay: c.WeightDecay}
				return func(i int, p, g []float64, _ int64) { r.Step(p, g, m[i]) }
			},
		})
	}
	for _, c := range []LAMBConfig{
		LAMBDefaults(),
		{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.05, MaxGradNorm: 0.5, TrustClip: true},
		{LR: 5e-3, BiasCorrection: true, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, AdamWMode: true, GradAveraging: true,
			UseNVLAMB: true},
	} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("lamb%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewLAMB(p, c) },
			refList: func(n []int) func([][]float64, [][]float64, int64) {
				m, v := zeros(n), zeros(n)
				r := reference.LAMB{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay,
					MaxGradNorm: c.MaxGradNorm, BiasCorrection: c.BiasCorrection, GradAveraging: c.GradAveraging,
					AdamWMode: c.AdamWMode, UseNVLAMB: c.UseNVLAMB, TrustClip: c.TrustClip}
				return func(p, g [][]float64, t int64) { r.Step(p, g, m, v, reference.GradNorm(g, 2), t) }
			},
		})
	}
	for _, c := range []LARSConfig{
		LARSDefaults(0.1),
		{LR: 0.05, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true, TrustCoefficient: 0.001, Clip: true, Eps: 1e-8},
		{LR: 0.05, Momentum: 0.8, Dampening: 0.1, WeightDecay: 0.1, Maximize: true, TrustCoefficient: 0.02, Eps: 1e-8},
	} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("lars%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewLARS(p, c) },
			ref: func(n []int) func(int, []float64, []float64, int64) {
				bufs := zeros(n)
				r := reference.LARS{LR: c.LR, Momentum: c.Momentum, Dampening: c.Dampening, WeightDecay: c.WeightDecay,
					TrustCoefficient: c.TrustCoefficient, Eps: c.Eps, Nesterov: c.Nesterov, Maximize: c.Maximize,
					Clip: c.Clip}
				return func(i int, p, g []float64, t int64) { r.Step(p, g, bufs[i], t) }
			},
		})
	}
	// Schedule-Free AdamW starts in eval mode: make puts it in train mode before the
	// steps. With evalEach, every Step is Train, Step, Eval on both sides
	// (sfEvalEachStep), so the params compared are x, the average, and the two lerps
	// between the modes are checked at every step too. Every param steps every step, so
	// goptim's per-param weight_sum and lr_max are the reference's per-group ones.
	for ci, c := range []ScheduleFreeAdamWConfig{
		ScheduleFreeAdamWDefaults(),
		{LR: 0.02, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.05, WarmupSteps: 3, R: 0.5, WeightLRPower: 1},
		{LR: 0.01, Beta1: 0.5, Beta2: 0.9, Eps: 1e-8, WeightDecay: 0.01, WarmupSteps: 2, R: 2, WeightLRPower: 3},
	} {
		for _, evalEach := range []bool{false, true} {
			if evalEach && ci == 1 {
				continue
			}
			c, evalEach := c, evalEach
			cases = append(cases, refCase{
				name: fmt.Sprintf("schedulefree_adamw(evalEach=%v)%+v", evalEach, c),
				make: func(p []*Param) (Optimizer, error) {
					o, err := NewScheduleFreeAdamW(p, c)
					if err != nil {
						return nil, err
					}
					if err := o.Train(); err != nil {
						o.Close()
						return nil, err
					}
					if evalEach {
						return sfEvalEachStep{o}, nil
					}
					return o, nil
				},
				ref: func(n []int) func(int, []float64, []float64, int64) {
					z, v := zeros(n), zeros(n)
					ws, lm := make([]float64, len(n)), make([]float64, len(n))
					for i := range lm {
						lm[i] = -1
					}
					r := reference.ScheduleFreeAdamW{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps,
						WeightDecay: c.WeightDecay, WarmupSteps: c.WarmupSteps, R: c.R, WeightLRPower: c.WeightLRPower}
					return func(i int, p, g []float64, t int64) {
						if evalEach {
							r.Train(p, z[i], t-1)
						}
						r.Step(p, g, z[i], v[i], &ws[i], &lm[i], t)
						if evalEach {
							r.Eval(p, z[i], t)
						}
					}
				},
			})
		}
	}
	for _, c := range []AdEMAMixConfig{
		AdEMAMixDefaults(),
		{LR: 5e-3, Beta1: 0, Beta2: 0.99, Beta3: 0.999, Alpha: 5, Beta3Warmup: 4, AlphaWarmup: 3, Eps: 1e-6, WeightDecay: 0.1},
	} {
		c := c
		cases = append(cases, refCase{
			name: fmt.Sprintf("ademamix%+v", c),
			make: func(p []*Param) (Optimizer, error) { return NewAdEMAMix(p, c) },
			ref: func(n []int) func(int, []float64, []float64, int64) {
				fast, slow, sq := zeros(n), zeros(n), zeros(n)
				r := reference.AdEMAMix{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Beta3: c.Beta3, Alpha: c.Alpha, Eps: c.Eps,
					WeightDecay: c.WeightDecay, AlphaWarmup: c.AlphaWarmup, Beta3Warmup: c.Beta3Warmup}
				return func(i int, p, g []float64, t int64) { r.Step(p, g, fast[i], slow[i], sq[i], t) }
			},
		})
	}
	return cases
}

// sfEvalEachStep is Schedule-Free AdamW whose Step is Train, Step, Eval: the params it
// leaves are x, the average the reference evaluates.
type sfEvalEachStep struct{ *ScheduleFreeAdamW }

func (o sfEvalEachStep) Step() error {
	if err := o.Train(); err != nil {
		return err
	}
	if err := o.ScheduleFreeAdamW.Step(); err != nil {
		return err
	}
	return o.Eval()
}

func zeros(n []int) [][]float64 {
	out := make([][]float64, len(n))
	for i, k := range n {
		out[i] = make([]float64, k)
	}
	return out
}

// runAgainstReference steps the kernels and the float64 reference side by side on
// the same random gradients and checks every element after every step.
func runAgainstReference(t *testing.T, rc refCase, lengths []int, steps int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	params := make([]*Param, len(lengths))
	ref := make([][]float64, len(lengths))
	for i, n := range lengths {
		p, err := NewParam(fmt.Sprintf("p%d", i), n)
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		init := make([]float32, n)
		ref[i] = make([]float64, n)
		for j := range init {
			init[j] = float32(rng.NormFloat64())
			ref[i][j] = float64(init[j])
		}
		require.NoError(t, p.Data.CopyFrom(init))
		params[i] = p
	}
	opt, err := rc.make(params)
	require.NoError(t, err)
	defer opt.Close()
	var step func(int, []float64, []float64, int64)
	var stepList func([][]float64, [][]float64, int64)
	if rc.refList != nil {
		stepList = rc.refList(lengths)
	} else {
		step = rc.ref(lengths)
	}
	for s := 1; s <= steps; s++ {
		scale := math.Pow(10, rng.Float64()*3-2)
		grads := make([][]float64, len(lengths))
		for i, n := range lengths {
			g := make([]float32, n)
			grads[i] = make([]float64, n)
			for j := range g {
				g[j] = float32(scale * (rng.NormFloat64() + 0.1*ref[i][j]))
				grads[i][j] = float64(g[j])
			}
			require.NoError(t, params[i].Grad.CopyFrom(g))
		}
		require.NoError(t, opt.Step())
		if stepList != nil {
			stepList(ref, grads, int64(s))
		}
		for i := range lengths {
			if step != nil {
				step(i, ref[i], grads[i], int64(s))
			}
			got, err := params[i].Data.Values()
			require.NoError(t, err)
			for j := range got {
				want := ref[i][j]
				// fp32 kernels against float64: a few ulps per step, growing slowly.
				tol := 2e-6*float64(s)*math.Abs(want) + 1e-6
				if math.Abs(float64(got[j])-want) > tol {
					t.Fatalf("%s lengths %v: step %d tensor %d elem %d: got %.9g, float64 reference %.9g (diff %.3g > %.3g)",
						rc.name, lengths, s, i, j, got[j], want, math.Abs(float64(got[j])-want), tol)
				}
			}
		}
	}
}

func TestKernelsMatchFloat64Reference(t *testing.T) {
	layouts := [][]int{{0}, {1}, {3}, {15}, {16}, {17}, {1000}, {65537}, {7, 0, 33, 1, 4096, 129}}
	if testing.Short() {
		layouts = layouts[:7]
	}
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 2, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			for ci, rc := range refCases() {
				for li, lengths := range layouts {
					runAgainstReference(t, rc, lengths, 6, uint64(ci*100+li))
				}
			}
		}
	}
	require.NoError(t, SetISA(ISAAuto))
	require.NoError(t, SetThreads(0))
}

// availableISAs is every instruction set this machine can run, so that each code
// path is tested, not only the one the machine picks. The device backend has no CPU
// kernels: it refuses every instruction set with ErrUnsupported (checked here) and
// runs its one set of kernels under ISAAuto, the only entry then.
func availableISAs(t *testing.T) []ISA {
	t.Helper()
	var out []ISA
	for _, isa := range []ISA{ISAPortable, ISAAVX2, ISAAVX512, ISANEON} {
		err := SetISA(isa)
		if err == nil {
			out = append(out, isa)
		} else if OnDevice() {
			require.ErrorIs(t, err, ErrUnsupported, "SetISA(%v) on the %s backend", isa, Backend())
		}
	}
	require.NoError(t, SetISA(ISAAuto))
	if OnDevice() {
		require.Empty(t, out, "the %s backend has no CPU kernels to choose", Backend())
		out = []ISA{ISAAuto}
	}
	require.NotEmpty(t, out)
	t.Logf("instruction sets tested: %v", out)
	return out
}

// TestISAsAndThreadsAgreeBitForBit: every instruction set and thread count gives
// the same bits, so results do not depend on the machine.
func TestISAsAndThreadsAgreeBitForBit(t *testing.T) {
	lengths := []int{100003, 17, 1, 4099}
	var first [][]float32
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 2, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			var all [][]float32
			for ci, rc := range refCases() {
				all = append(all, runSteps(t, rc, lengths, 4, uint64(ci))...)
			}
			if first == nil {
				first = all
				continue
			}
			for i := range all {
				require.Equal(t, first[i], all[i], "isa %v threads %d result %d differs", isa, threads, i)
			}
		}
	}
	require.NoError(t, SetISA(ISAAuto))
	require.NoError(t, SetThreads(0))
}

func runSteps(t *testing.T, rc refCase, lengths []int, steps int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	params := make([]*Param, len(lengths))
	for i, n := range lengths {
		p, err := NewParam("", n)
		require.NoError(t, err)
		defer p.Close()
		require.NoError(t, p.Data.CopyFrom(randVec(rng, n, 1)))
		params[i] = p
	}
	opt, err := rc.make(params)
	require.NoError(t, err)
	defer opt.Close()
	for s := 0; s < steps; s++ {
		for _, p := range params {
			require.NoError(t, p.Grad.CopyFrom(randVec(rng, p.Data.Len(), 0.1)))
		}
		require.NoError(t, opt.Step())
	}
	var out [][]float32
	for _, p := range params {
		v, err := p.Data.Values()
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * rng.NormFloat64())
	}
	return v
}
