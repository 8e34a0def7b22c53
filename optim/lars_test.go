package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/internal/reference"
)

// LARS's own properties, beyond the generic suites (allKinds) and the golden data:
// a param with a zero norm steps as plain SGD, the adaptive lr is per param (an
// arena's params are never merged), the results do not depend on the thread count or
// instruction set, and maximize negates the gradient after LARC's scaling. Helpers
// (ln*) are lamb_test.go's.

// A param whose data or gradient has norm 0 is left as LARC leaves it: neither decayed
// nor scaled, so it takes torch's SGD step (without weight decay) bit for bit, momentum
// buffer included; the other params take their adaptive lr.
func TestLARSZeroNormParamsStepAsSGD(t *testing.T) {
	lengths := []int{33, 50, 17}
	for _, cfg := range []LARSConfig{
		{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, TrustCoefficient: 0.02, Clip: true, Eps: 1e-8},
		{LR: 0.05, Momentum: 0.8, Dampening: 0.1, WeightDecay: 0.1, Maximize: true, TrustCoefficient: 0.001, Eps: 1e-8},
		{LR: 0.05, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true, Maximize: true, TrustCoefficient: 0.02, Clip: true},
	} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			// ps[0]: zero data (its norm is 0 at the first step only); ps[1]: zero
			// gradients at every step; ps[2]: neither.
			ps, twin := lnParams(t, lengths), lnParams(t, lengths)
			init := lnFill(t, ps[1:], 7)
			lnSetData(t, twin[1:], init)
			opt, err := NewLARS(ps, cfg)
			require.NoError(t, err)
			defer opt.Close()
			sgd, err := NewSGD(twin, SGDConfig{LR: cfg.LR, Momentum: cfg.Momentum, Dampening: cfg.Dampening,
				Nesterov: cfg.Nesterov, Maximize: cfg.Maximize})
			require.NoError(t, err)
			defer sgd.Close()
			for s := 0; s < 3; s++ {
				g := lnGrads(lengths, 7, s, 0.1)
				g[1] = make([]float32, lengths[1])
				lnSetGrads(t, ps, g)
				lnSetGrads(t, twin, g)
				require.NoError(t, opt.Step())
				require.NoError(t, sgd.Step())
				check := []int{1}
				if s == 0 {
					check = []int{0, 1}
				}
				for _, i := range check {
					require.Equal(t, bitsOf(t, twin[i].Data), bitsOf(t, ps[i].Data), "step %d param %d", s, i)
					want, err := sgd.State(0, i, "momentum_buffer")
					require.NoError(t, err)
					got, err := opt.State(0, i, "momentum_buffer")
					require.NoError(t, err)
					require.Equal(t, bitsOfSlice(want), bitsOfSlice(got), "step %d param %d: momentum_buffer", s, i)
				}
				require.NotEqual(t, bitsOf(t, twin[2].Data), bitsOf(t, ps[2].Data), "step %d: a param with norms", s)
				// LARC scales the gradients in place; goptim leaves them as they are.
				for i, p := range ps {
					require.Equal(t, bitsOfSlice(g[i]), bitsOf(t, p.Grad), "step %d grad %d", s, i)
				}
			}
		})
	}
}

// The adaptive lr is per param, also for an arena's params, contiguous in memory:
// the same bits as separately allocated params, and not those of one param holding
// them all.
func TestLARSArenaParamsKeepTheirAdaptiveLR(t *testing.T) {
	lengths := []int{100, 3, 1000, 1, 57, 0, 16}
	total := 0
	for _, n := range lengths {
		total += n
	}
	for _, cfg := range []LARSConfig{
		{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4, TrustCoefficient: 0.02, Clip: true, Eps: 1e-8},
		{LR: 0.05, WeightDecay: 0.01, TrustCoefficient: 0.001, Eps: 1e-8, Maximize: true},
	} {
		arena, sep := lnArena(t, lengths), lnParams(t, lengths)
		init := lnFill(t, arena, 8)
		lnSetData(t, sep, init)
		whole := lnParams(t, []int{total})
		var flat []float32
		for _, d := range init {
			flat = append(flat, d...)
		}
		require.NoError(t, whole[0].Data.CopyFrom(flat))
		oa, err := NewLARS(arena, cfg)
		require.NoError(t, err)
		defer oa.Close()
		osep, err := NewLARS(sep, cfg)
		require.NoError(t, err)
		defer osep.Close()
		ow, err := NewLARS(whole, cfg)
		require.NoError(t, err)
		defer ow.Close()
		var names []string
		if cfg.Momentum != 0 {
			names = []string{"momentum_buffer"}
		}
		for s := 0; s < 4; s++ {
			// Gradients of very different sizes per param, so that their adaptive lrs
			// differ.
			g := lnGrads(lengths, 8, s, 0.5)
			for i := range g {
				for j := range g[i] {
					g[i][j] *= float32(math.Pow(10, float64(i%3-1)))
				}
			}
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
		got := lnBits(t, oa, arena, names...)
		require.Equal(t, lnBits(t, osep, sep, names...), got, "%+v", cfg)
		var merged []uint32
		for _, b := range got[:len(lengths)] {
			merged = append(merged, b...)
		}
		require.NotEqual(t, bitsOf(t, whole[0].Data), merged, "one adaptive lr for all would be another step")
	}
}

// Every thread count and instruction set gives the same bits, for a list of a few
// hundred tensors of every size in two groups.
func TestLARSThreadsAndISAsAgree(t *testing.T) {
	lengths := lnLengths(testing.Short())
	half := len(lengths) / 2
	cfgs := []LARSConfig{
		{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true, TrustCoefficient: 0.02, Clip: true, Eps: 1e-8},
		{LR: 0.05, Momentum: 0.5, Dampening: 0.1, WeightDecay: 0.01, Maximize: true, TrustCoefficient: 0.001, Eps: 1e-8},
	}
	run := func() [][]uint32 {
		ps := lnParams(t, lengths)
		lnFill(t, ps, 9)
		opt, err := NewLARS(ps[:half], cfgs[0])
		require.NoError(t, err)
		defer opt.Close()
		require.NoError(t, opt.AddParamGroup(ps[half:], cfgs[1]))
		for s := 0; s < 3; s++ {
			lnSetGrads(t, ps, lnGrads(lengths, 9, s, 0.01))
			require.NoError(t, opt.Step())
		}
		out := lnBits(t, opt, ps, "momentum_buffer")
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

// Maximize negates the gradient LARC decayed and scaled (torch's SGD negates what LARC
// hands it): the float64 reference in that order agrees within the tolerance of
// reference_test.go, the other order (the gradient negated before the decay) is far
// off. Without weight decay the two orders are one: maximize on g is the plain step on
// -g, bit for bit.
func TestLARSMaximizeNegatesAfterScaling(t *testing.T) {
	lengths := []int{64, 7, 300}
	cfg := LARSConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.5, Maximize: true, TrustCoefficient: 0.02, Clip: true,
		Eps: 1e-8}
	ps := lnParams(t, lengths)
	init := lnFill(t, ps, 10)
	opt, err := NewLARS(ps, cfg)
	require.NoError(t, err)
	defer opt.Close()
	after := reference.LARS{LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay,
		TrustCoefficient: cfg.TrustCoefficient, Eps: cfg.Eps, Clip: cfg.Clip, Maximize: true}
	before := after
	before.Maximize = false // stepped on -g: negated before LARC
	ref, wrong := make([][]float64, len(lengths)), make([][]float64, len(lengths))
	rbuf, wbuf := zeros(lengths), zeros(lengths)
	for i := range lengths {
		for _, x := range init[i] {
			ref[i] = append(ref[i], float64(x))
			wrong[i] = append(wrong[i], float64(x))
		}
	}
	far := 0
	for s := 1; s <= 5; s++ {
		g := lnGrads(lengths, 10, s, 0.01)
		lnSetGrads(t, ps, g)
		require.NoError(t, opt.Step())
		for i := range lengths {
			gi, neg := make([]float64, lengths[i]), make([]float64, lengths[i])
			for j, x := range g[i] {
				gi[j], neg[j] = float64(x), -float64(x)
			}
			after.Step(ref[i], gi, rbuf[i], int64(s))
			before.Step(wrong[i], neg, wbuf[i], int64(s))
			got, err := ps[i].Data.Values()
			require.NoError(t, err)
			for j, x := range got {
				tol := 2e-6*float64(s)*math.Abs(ref[i][j]) + 1e-6
				require.InDelta(t, ref[i][j], float64(x), tol, "step %d param %d elem %d", s, i, j)
				if math.Abs(wrong[i][j]-float64(x)) > 100*tol {
					far++
				}
			}
		}
	}
	require.Greater(t, far, 100, "the order of decay and negation shows")

	// weight_decay 0: maximize on g and the plain step on -g, bit for bit.
	cfg.WeightDecay = 0
	a, b := lnParams(t, lengths), lnParams(t, lengths)
	lnSetData(t, a, init)
	lnSetData(t, b, init)
	oa, err := NewLARS(a, cfg)
	require.NoError(t, err)
	defer oa.Close()
	plain := cfg
	plain.Maximize = false
	ob, err := NewLARS(b, plain)
	require.NoError(t, err)
	defer ob.Close()
	for s := 0; s < 3; s++ {
		g := lnGrads(lengths, 11, s, 0.01)
		lnSetGrads(t, a, g)
		for i := range g {
			for j := range g[i] {
				g[i][j] = -g[i][j]
			}
		}
		lnSetGrads(t, b, g)
		require.NoError(t, oa.Step())
		require.NoError(t, ob.Step())
		require.Equal(t, lnBits(t, ob, b, "momentum_buffer"), lnBits(t, oa, a, "momentum_buffer"), "step %d", s)
	}
}

// ClipStep folds the clip into the step as the gradients are read (the norms LARC
// takes are those of the clipped gradients): params and state equal ClipGradNorm
// followed by Step bit for bit, and the gradients in memory are left unscaled.
func TestLARSClipStepIsClipGradNormThenStep(t *testing.T) {
	for _, normType := range []float64{2, math.Inf(1)} {
		for _, maxNorm := range []float64{0.5, 1e6} {
			t.Run(fmt.Sprintf("norm%v/max%v", normType, maxNorm), func(t *testing.T) {
				fused, fusedParams := twoGroupSetup(t, "lars", 12)
				apart, apartParams := twoGroupSetup(t, "lars", 12)
				for s := 0; s < 3; s++ {
					fillRandom(t, fusedParams, uint64(30+s))
					fillRandom(t, apartParams, uint64(30+s))
					before := takeSnapshot(t, nil, fusedParams).grads
					require.NoError(t, fused.ClipStep(maxNorm, normType))
					norm, err := ClipGradNorm(apartParams, maxNorm, normType, false)
					require.NoError(t, err)
					require.NoError(t, apart.Step())
					last, err := fused.LastGradNorm()
					require.NoError(t, err)
					require.Equal(t, math.Float64bits(norm), math.Float64bits(last), "step %d: LastGradNorm", s)
					got, want := takeSnapshot(t, fused, fusedParams), takeSnapshot(t, apart, apartParams)
					require.Equal(t, want.ckpt, got.ckpt, "step %d: state", s)
					require.Equal(t, want.data, got.data, "step %d: params", s)
					require.Equal(t, before, got.grads, "step %d: the gradients in memory", s)
					if maxNorm/(norm+1e-6) < 1 {
						require.NotEqual(t, want.grads, got.grads, "step %d: ClipGradNorm scaled its own", s)
					}
				}
			})
		}
	}
}
