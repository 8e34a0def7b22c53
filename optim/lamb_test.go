package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/binding"
)

// LAMB's own properties, beyond the generic suites (allKinds) and the golden data:
// the global gradient norm spans every group, the trust ratio is per tensor (an
// arena's params are never merged into one), the results do not depend on the thread
// count or instruction set, and a tensor without a norm takes the plain lr. The
// helpers here (ln*) serve lars_test.go too.

// lnParams makes one separately allocated param per length, closed with the test.
func lnParams(t *testing.T, lengths []int) []*Param {
	t.Helper()
	ps := make([]*Param, len(lengths))
	for i, n := range lengths {
		p, err := NewParam(fmt.Sprintf("p%d", i), n)
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		ps[i] = p
	}
	return ps
}

// lnArena makes the same params as views of one arena, closed with the test.
func lnArena(t *testing.T, lengths []int) []*Param {
	t.Helper()
	a, err := NewArena(nil, lengths)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return a.Params()
}

// lnFill puts reproducible random data (scale 1) into the params and returns it.
func lnFill(t *testing.T, ps []*Param, seed uint64) [][]float32 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	out := make([][]float32, len(ps))
	for i, p := range ps {
		out[i] = randVec(rng, p.Data.Len(), 1)
		require.NoError(t, p.Data.CopyFrom(out[i]))
	}
	return out
}

// lnGrads are reproducible random gradients for step s, of the given scale.
func lnGrads(lengths []int, seed uint64, s int, scale float64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, uint64(1000+s)))
	out := make([][]float32, len(lengths))
	for i, n := range lengths {
		out[i] = randVec(rng, n, scale)
	}
	return out
}

func lnSetGrads(t *testing.T, ps []*Param, g [][]float32) {
	t.Helper()
	for i, p := range ps {
		require.NoError(t, p.Grad.CopyFrom(g[i]))
	}
}

func lnSetData(t *testing.T, ps []*Param, d [][]float32) {
	t.Helper()
	for i, p := range ps {
		require.NoError(t, p.Data.CopyFrom(d[i]))
	}
}

// lnBits is every param's data and every state tensor named in names, per param of
// group 0 then group 1 ..., as bits: what two runs that must agree compare.
func lnBits(t *testing.T, opt Optimizer, ps []*Param, names ...string) [][]uint32 {
	t.Helper()
	var out [][]uint32
	for _, p := range ps {
		out = append(out, bitsOf(t, p.Data))
	}
	for g := 0; ; g++ {
		gp := opt.Params(g)
		if gp == nil {
			break
		}
		for i := range gp {
			for _, n := range names {
				st, err := opt.State(g, i, n)
				require.NoError(t, err)
				out = append(out, bitsOfSlice(st))
			}
		}
	}
	return out
}

// lnLengths are a few hundred tensors of lengths 0 to 200k (0 and the vector widths'
// neighbours among them), the layout whose per-tensor sums must not depend on how the
// parallel loop splits the list.
func lnLengths(short bool) []int {
	rng := rand.New(rand.NewPCG(42, 42))
	big := 200000
	count := 300
	if short {
		big, count = 40000, 120
	}
	out := make([]int, count)
	for i := range out {
		switch {
		case i%97 == 3:
			out[i] = big - i
		case i%11 == 0:
			out[i] = 0
		case i%13 == 1:
			out[i] = []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 255, 256, 257}[i%12]
		case i%5 == 0:
			out[i] = rng.IntN(20000)
		default:
			out[i] = rng.IntN(700)
		}
	}
	return out
}

// The global norm is over every group: two groups with the same options step
// exactly as one group holding all their params.
func TestLAMBGlobalNormSpansGroups(t *testing.T) {
	lengths := []int{37, 5, 70, 19, 300}
	for _, cfg := range []LAMBConfig{
		LAMBDefaults(),
		{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.05, MaxGradNorm: 0.5, UseNVLAMB: true, TrustClip: true},
	} {
		one, two := lnParams(t, lengths), lnParams(t, lengths)
		init := lnFill(t, one, 1)
		lnSetData(t, two, init)
		whole, err := NewLAMB(one, cfg)
		require.NoError(t, err)
		defer whole.Close()
		split, err := NewLAMB(two[:2], cfg)
		require.NoError(t, err)
		defer split.Close()
		require.NoError(t, split.AddParamGroup(two[2:], cfg))
		for s := 0; s < 4; s++ {
			g := lnGrads(lengths, 1, s, 0.3) // global norm about 3.6: clipped
			lnSetGrads(t, one, g)
			lnSetGrads(t, two, g)
			require.NoError(t, whole.Step())
			require.NoError(t, split.Step())
		}
		// Params, then each param's moments in the same order (group 0's, group 1's).
		require.Equal(t, lnBits(t, whole, one, "exp_avg", "exp_avg_sq"), lnBits(t, split, two, "exp_avg", "exp_avg_sq"),
			"%+v", cfg)
	}
}

// The clip divisor is norm/max_grad_norm with the norm of every gradient of every
// group, also of a group that does not clip: a group whose gradients are divided by
// that in memory beforehand, with the clipping off, steps to the same bits.
func TestLAMBClipDividesByTheNormOfAllGradients(t *testing.T) {
	lengths := []int{37, 5, 70, 19}
	const maxNorm = 0.75
	clipping := LAMBDefaults()
	clipping.LR, clipping.MaxGradNorm = 0.01, maxNorm
	off := clipping
	off.MaxGradNorm = 0
	other := LAMBConfig{LR: 5e-3, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.05, UseNVLAMB: true}

	ps, twin := lnParams(t, lengths), lnParams(t, lengths)
	lnSetData(t, twin, lnFill(t, ps, 2))
	opt, err := NewLAMB(ps[:2], clipping)
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.AddParamGroup(ps[2:], other)) // reads no norm, clips nothing
	ref, err := NewLAMB(twin[:2], off)
	require.NoError(t, err)
	defer ref.Close()
	require.NoError(t, ref.AddParamGroup(twin[2:], other))

	clipped := 0
	for s := 0; s < 5; s++ {
		scale := []float64{0.3, 0.01, 1, 0.05, 3}[s] // norms about 3.4, 0.11, 11, 0.57, 34
		g := lnGrads(lengths, 2, s, scale)
		lnSetGrads(t, ps, g)
		lnSetGrads(t, twin, g)
		gn, err := GradNorm(ps, 2) // the kernel the step's norm comes from
		require.NoError(t, err)
		first, err := GradNorm(ps[:2], 2)
		require.NoError(t, err)
		require.NotEqual(t, gn, first, "the first group's own norm is another divisor")
		if gn > maxNorm {
			// apex: clip = norm / max_grad_norm in float32, g / clip per element.
			clipped++
			clip := float32(gn) / float32(maxNorm)
			for i := 0; i < 2; i++ {
				d := make([]float32, len(g[i]))
				for j, x := range g[i] {
					d[j] = x / clip
				}
				require.NoError(t, twin[i].Grad.CopyFrom(d))
			}
		}
		require.NoError(t, opt.Step())
		require.NoError(t, ref.Step())
		require.Equal(t, lnBits(t, ref, twin, "exp_avg", "exp_avg_sq"), lnBits(t, opt, ps, "exp_avg", "exp_avg_sq"),
			"step %d (global norm %v)", s, gn)
		// The gradients in memory are left as they were.
		for i, p := range ps {
			require.Equal(t, bitsOfSlice(g[i]), bitsOf(t, p.Grad), "step %d grad %d", s, i)
		}
	}
	require.Equal(t, 3, clipped, "the norms straddle max_grad_norm")
}

// MaxGradNorm 0 turns the clipping off and computes no norm: the step equals one whose
// max_grad_norm no norm reaches, and the C step takes no norm then (it refuses a
// missing one when it would read it).
func TestLAMBMaxGradNormZeroReadsNoNorm(t *testing.T) {
	lengths := []int{100, 3, 1000}
	cfg := LAMBDefaults()
	cfg.MaxGradNorm = 0
	never := cfg
	never.MaxGradNorm = 1e30
	ps, twin := lnParams(t, lengths), lnParams(t, lengths)
	lnSetData(t, twin, lnFill(t, ps, 3))
	opt, err := NewLAMB(ps, cfg)
	require.NoError(t, err)
	defer opt.Close()
	ref, err := NewLAMB(twin, never)
	require.NoError(t, err)
	defer ref.Close()
	for s := 0; s < 3; s++ {
		g := lnGrads(lengths, 3, s, 100) // a norm of about 3300: max_grad_norm 0 does not clip
		lnSetGrads(t, ps, g)
		lnSetGrads(t, twin, g)
		require.NoError(t, opt.Step())
		require.NoError(t, ref.Step())
		require.Equal(t, lnBits(t, ref, twin, "exp_avg", "exp_avg_sq"), lnBits(t, opt, ps, "exp_avg", "exp_avg_sq"))
	}
	require.Nil(t, opt.scratch, "no norm computed, no scratch made")
	require.NotNil(t, ref.scratch)

	// Turned on mid-run, the norm is computed from then on.
	cfg.MaxGradNorm = 0.5
	require.NoError(t, opt.SetConfig(0, cfg))
	require.NoError(t, ref.SetConfig(0, cfg))
	g := lnGrads(lengths, 3, 9, 1)
	lnSetGrads(t, ps, g)
	lnSetGrads(t, twin, g)
	require.NoError(t, opt.Step())
	require.NoError(t, ref.Step())
	require.NotNil(t, opt.scratch)
	require.Equal(t, lnBits(t, ref, twin, "exp_avg", "exp_avg_sq"), lnBits(t, opt, ps, "exp_avg", "exp_avg_sq"))

	// The C step: no norm is needed with max_grad_norm 0, and one is required above.
	ctx, err := engine()
	require.NoError(t, err)
	p := lnParams(t, []int{8})[0]
	require.NoError(t, p.Data.Fill(1))
	require.NoError(t, p.Grad.Fill(0.5))
	m, err := NewTensor(8)
	require.NoError(t, err)
	defer m.Close()
	v, err := NewTensor(8)
	require.NoError(t, err)
	defer v.Close()
	l := binding.NewList(1)
	defer l.Free()
	l.Append(8, p.Data.addr(), p.Grad.addr(), [binding.MaxState]uintptr{m.addr(), v.addr()})
	h := LAMBDefaults().params(nil)
	h.MaxGradNorm = 0
	require.NoError(t, ctx.LAMBStep(l, h, 1, nil))
	before := bitsOf(t, p.Data)
	h.MaxGradNorm = 1
	err = ctx.LAMBStep(l, h, 2, nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.ErrorContains(t, err, "lamb_step: max_grad_norm 1 > 0 needs global_grad_norm")
	require.Equal(t, before, bitsOf(t, p.Data), "a refused step changes nothing")
}

// ClipStep clips the gradients in memory before the step (the norm LAMB divides by is
// then that of the clipped gradients, as after torch's clip_grad_norm_): it equals
// ClipGradNorm followed by Step bit for bit, gradients in memory included (where the
// other optimizers' fused clip leaves them unscaled).
func TestLAMBClipStepIsClipGradNormThenStep(t *testing.T) {
	for _, normType := range []float64{2, math.Inf(1)} {
		// Below the groups' max_grad_norm (1) and above it; 1e6 clips nothing.
		for _, maxNorm := range []float64{0.5, 2, 1e6} {
			t.Run(fmt.Sprintf("norm%v/max%v", normType, maxNorm), func(t *testing.T) {
				fused, fusedParams := twoGroupSetup(t, "lamb", 7)
				apart, apartParams := twoGroupSetup(t, "lamb", 7)
				for s := 0; s < 3; s++ {
					fillRandom(t, fusedParams, uint64(20+s))
					fillRandom(t, apartParams, uint64(20+s))
					before := takeSnapshot(t, nil, fusedParams).grads
					require.NoError(t, fused.ClipStep(maxNorm, normType))
					norm, err := ClipGradNorm(apartParams, maxNorm, normType, false)
					require.NoError(t, err)
					require.NoError(t, apart.Step())
					last, err := fused.LastGradNorm()
					require.NoError(t, err)
					require.Equal(t, math.Float64bits(norm), math.Float64bits(last), "step %d: LastGradNorm", s)
					after := takeSnapshot(t, fused, fusedParams)
					require.Equal(t, takeSnapshot(t, apart, apartParams), after, "step %d", s)
					if maxNorm/(norm+1e-6) < 1 {
						require.NotEqual(t, before, after.grads, "step %d: clipped in memory (norm %v)", s, norm)
					} else {
						require.Equal(t, before, after.grads, "step %d: nothing to clip (norm %v)", s, norm)
					}
				}
			})
		}
	}
}

// The trust ratio is per param, also for an arena's params, contiguous in memory
// (which the other optimizers' steps merge into one list entry): the same bits as
// separately allocated params, and not those of one param holding them all.
func TestLAMBArenaParamsKeepTheirTrustRatios(t *testing.T) {
	lengths := []int{100, 3, 1000, 1, 57, 0, 16}
	total := 0
	for _, n := range lengths {
		total += n
	}
	for _, cfg := range []LAMBConfig{
		LAMBDefaults(),
		{LR: 0.01, BiasCorrection: true, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, MaxGradNorm: 0.5, UseNVLAMB: true,
			TrustClip: true, GradAveraging: true},
	} {
		arena, sep := lnArena(t, lengths), lnParams(t, lengths)
		init := lnFill(t, arena, 4)
		lnSetData(t, sep, init)
		whole := lnParams(t, []int{total})
		var flat []float32
		for _, d := range init {
			flat = append(flat, d...)
		}
		require.NoError(t, whole[0].Data.CopyFrom(flat))
		oa, err := NewLAMB(arena, cfg)
		require.NoError(t, err)
		defer oa.Close()
		osep, err := NewLAMB(sep, cfg)
		require.NoError(t, err)
		defer osep.Close()
		ow, err := NewLAMB(whole, cfg)
		require.NoError(t, err)
		defer ow.Close()
		for s := 0; s < 4; s++ {
			g := lnGrads(lengths, 4, s, 0.2)
			lnSetGrads(t, arena, g)
			lnSetGrads(t, sep, g)
			var gf []float32
			for _, x := range g {
				gf = append(gf, x...)
			}
			require.NoError(t, whole[0].Grad.CopyFrom(gf))
			require.NoError(t, oa.Step())
			require.NoError(t, osep.Step())
			require.NoError(t, ow.Step())
		}
		got := lnBits(t, oa, arena, "exp_avg", "exp_avg_sq")
		require.Equal(t, lnBits(t, osep, sep, "exp_avg", "exp_avg_sq"), got, "%+v", cfg)
		var merged []uint32
		for _, b := range got[:len(lengths)] {
			merged = append(merged, b...)
		}
		require.NotEqual(t, bitsOf(t, whole[0].Data), merged, "one trust ratio for all would be another step")
	}
}

// The per-tensor norms are summed per piece of the parallel loop, so every thread
// count and instruction set gives the same bits, for a list of a few hundred tensors
// of every size in two groups (one clipping by the global norm).
func TestLAMBThreadsAndISAsAgree(t *testing.T) {
	lengths := lnLengths(testing.Short())
	half := len(lengths) / 2
	cfgs := []LAMBConfig{LAMBDefaults(),
		{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.05, UseNVLAMB: true, TrustClip: true}}
	run := func() [][]uint32 {
		ps := lnParams(t, lengths)
		lnFill(t, ps, 5)
		opt, err := NewLAMB(ps[:half], cfgs[0])
		require.NoError(t, err)
		defer opt.Close()
		require.NoError(t, opt.AddParamGroup(ps[half:], cfgs[1]))
		for s := 0; s < 3; s++ {
			lnSetGrads(t, ps, lnGrads(lengths, 5, s, 0.01))
			require.NoError(t, opt.Step())
		}
		out := lnBits(t, opt, ps, "exp_avg", "exp_avg_sq")
		for _, p := range ps {
			require.NoError(t, p.Close())
		}
		return out
	}
	defer func() {
		require.NoError(t, SetISA(ISAAuto))
		require.NoError(t, SetThreads(0))
	}()
	var first [][]uint32
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			got := run()
			if first == nil {
				first = got
				continue
			}
			for i := range first {
				require.Equal(t, first[i], got[i], "isa %v threads %d: tensor %d differs", isa, threads, i)
			}
		}
	}
}

// A param whose norm is 0 takes the plain lr (apex: the ratio applies only where both
// norms are non-zero): at the first step an all-zero param becomes -lr*u, u the Adam
// update in the kernel's float32 operations, while the other params take their trust
// ratio. With use_nvlamb and no weight decay too.
func TestLAMBZeroParamTakesLR(t *testing.T) {
	lengths := []int{33, 50}
	for _, cfg := range []LAMBConfig{
		LAMBDefaults(),
		{LR: 0.02, BiasCorrection: true, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, AdamWMode: true, GradAveraging: true,
			UseNVLAMB: true},
	} {
		cfg.MaxGradNorm = 0
		ps := lnParams(t, lengths)
		// ps[0] stays zero; ps[1]'s norm is about 10 times its update's, so that its
		// trust ratio is far from 1.
		d := lnFill(t, ps[1:], 6)[0]
		for j := range d {
			d[j] *= 10
		}
		require.NoError(t, ps[1].Data.CopyFrom(d))
		opt, err := NewLAMB(ps, cfg)
		require.NoError(t, err)
		defer opt.Close()
		g := lnGrads(lengths, 6, 0, 0.1)
		lnSetGrads(t, ps, g)
		w0, err := ps[1].Data.Values()
		require.NoError(t, err)
		require.NoError(t, opt.Step())

		// gm_lamb_scalars and gm_lamb_update at step 1 with p = 0: m = beta3*g,
		// v = (1-beta2)*g*g, u = (m/bc1)/(sqrt(v/bc2)+eps), p = -lr*u.
		b1, b2 := float32(cfg.Beta1), float32(cfg.Beta2)
		beta3, omb2 := float32(1)-b1, float32(1)-b2
		bc1, bc2 := float32(1-math.Pow(float64(b1), 1)), float32(1-math.Pow(float64(b2), 1))
		lr, eps := float32(cfg.LR), float32(cfg.Eps)
		want := make([]float32, lengths[0])
		for j, x := range g[0] {
			m := float32(beta3 * x)
			v := float32(float32(omb2*x) * x)
			u := float32(float32(m/bc1) / float32(float32(math.Sqrt(float64(float32(v/bc2))))+eps))
			want[j] = float32(-lr * u)
		}
		require.Equal(t, bitsOfSlice(want), bitsOf(t, ps[0].Data), "%+v: the zero param", cfg)

		// The other param's step is lr*||p||/||u|| times u, not lr times u.
		w1, err := ps[1].Data.Values()
		require.NoError(t, err)
		var dn, pn float64
		for j := range w1 {
			d := float64(w1[j]) - float64(w0[j])
			dn += d * d
			pn += float64(w0[j]) * float64(w0[j])
		}
		require.InEpsilon(t, cfg.LR, math.Sqrt(dn/pn), 1e-3, "%+v: ||dp|| = lr*||p||", cfg)
	}
}
