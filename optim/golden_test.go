package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/internal/golden"
)

// Golden tolerances against torch 2.6's fp32 trajectories (testdata/torch): a
// relative error per element, with an absolute floor scaled by the tensor's largest
// magnitude for elements that pass near zero, where a relative error means nothing.
const (
	goldenRel   = 1e-6
	goldenFloor = 1e-7
)

// newFromGolden builds the optimizer a golden case describes over params.
func newFromGolden(c *golden.OptimCase, params []*Param) (Optimizer, error) {
	h, err := c.Hyper()
	if err != nil {
		return nil, err
	}
	switch c.Optimizer {
	case golden.SGD:
		return NewSGD(params, SGDConfig{LR: h.LR, Momentum: h.Momentum, Dampening: h.Dampening,
			WeightDecay: h.WeightDecay, Nesterov: h.Nesterov, Maximize: h.Maximize})
	case golden.Adam, golden.AdamW:
		cfg := AdamConfig{LR: h.LR, Beta1: h.Beta1, Beta2: h.Beta2, Eps: h.Eps, WeightDecay: h.WeightDecay,
			AMSGrad: h.Amsgrad, Maximize: h.Maximize}
		if c.Optimizer == golden.AdamW {
			return NewAdamW(params, cfg)
		}
		return NewAdam(params, cfg)
	case golden.Adagrad:
		return NewAdagrad(params, AdagradConfig{LR: h.LR, LRDecay: h.LRDecay, WeightDecay: h.WeightDecay,
			InitialAccumulatorValue: h.InitialAccumulatorValue, Eps: h.Eps, Maximize: h.Maximize})
	case golden.RMSprop:
		return NewRMSprop(params, RMSpropConfig{LR: h.LR, Alpha: h.Alpha, Eps: h.Eps, WeightDecay: h.WeightDecay,
			Momentum: h.Momentum, Centered: h.Centered, Maximize: h.Maximize})
	case golden.RAdam:
		return NewRAdam(params, RAdamConfig{LR: h.LR, Beta1: h.Beta1, Beta2: h.Beta2, Eps: h.Eps,
			WeightDecay: h.WeightDecay, DecoupledWeightDecay: h.DecoupledWeightDecay, Maximize: h.Maximize})
	case golden.Adadelta:
		return NewAdadelta(params, AdadeltaConfig{LR: h.LR, Rho: h.Rho, Eps: h.Eps, WeightDecay: h.WeightDecay,
			Maximize: h.Maximize})
	case golden.Rprop:
		return NewRprop(params, RpropConfig{LR: h.LR, EtaMinus: h.EtaMinus, EtaPlus: h.EtaPlus,
			StepSizeMin: h.StepSizeMin, StepSizeMax: h.StepSizeMax, Maximize: h.Maximize})
	case golden.NAdam:
		return NewNAdam(params, NAdamConfig{LR: h.LR, Beta1: h.Beta1, Beta2: h.Beta2, Eps: h.Eps,
			WeightDecay: h.WeightDecay, MomentumDecay: h.MomentumDecay,
			DecoupledWeightDecay: h.DecoupledWeightDecay, Maximize: h.Maximize})
	case golden.Lion:
		return NewLion(params, LionConfig{LR: h.LR, Beta1: h.Beta1, Beta2: h.Beta2, WeightDecay: h.WeightDecay})
	case golden.LAMB:
		return NewLAMB(params, LAMBConfig{LR: h.LR, BiasCorrection: h.BiasCorrection, Beta1: h.Beta1, Beta2: h.Beta2,
			Eps: h.Eps, WeightDecay: h.WeightDecay, AdamWMode: h.AdamWMode, GradAveraging: h.GradAveraging,
			MaxGradNorm: h.MaxGradNorm, UseNVLAMB: h.UseNVLAMB, TrustClip: h.TrustClip})
	case golden.LARS:
		return NewLARS(params, LARSConfig{LR: h.LR, Momentum: h.Momentum, Dampening: h.Dampening,
			WeightDecay: h.WeightDecay, Nesterov: h.Nesterov, Maximize: h.Maximize,
			TrustCoefficient: h.TrustCoefficient, Clip: h.Clip, Eps: h.Eps})
	case golden.AdEMAMix:
		return NewAdEMAMix(params, AdEMAMixConfig{LR: h.LR, Beta1: h.Beta1, Beta2: h.Beta2, Beta3: h.Beta3,
			Alpha: h.Alpha, Beta3Warmup: h.Beta3Warmup, AlphaWarmup: h.AlphaWarmup, Eps: h.Eps, WeightDecay: h.WeightDecay})
	case golden.Adafactor:
		return NewAdafactor(params, AdafactorConfig{LR: h.LR, Beta2Decay: h.Beta2Decay, Eps1: h.Eps1, Eps2: h.Eps2,
			D: h.D, WeightDecay: h.WeightDecay, Maximize: h.Maximize})
	case golden.ASGD:
		return NewASGD(params, ASGDConfig{LR: h.LR, Lambd: h.Lambd, Alpha: h.Alpha, T0: h.T0,
			WeightDecay: h.WeightDecay, Maximize: h.Maximize})
	case golden.Adamax:
		return NewAdamax(params, AdamaxConfig{LR: h.LR, Beta1: h.Beta1, Beta2: h.Beta2, Eps: h.Eps,
			WeightDecay: h.WeightDecay, Maximize: h.Maximize})
	}
	return nil, fmt.Errorf("unknown optimizer %q", c.Optimizer)
}

// closeTo reports the worst violation of the golden tolerance in got vs want.
func closeTo(got, want []float32) (worst float64, at int) {
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	at = -1
	for j := range want {
		d := math.Abs(float64(got[j]) - float64(want[j]))
		tol := goldenRel*math.Abs(float64(want[j])) + goldenFloor*scale
		if r := d / math.Max(tol, math.SmallestNonzeroFloat32); r > worst {
			worst, at = r, j
		}
	}
	return worst, at
}

// bitsDiffer counts the elements of got whose bits differ from want's.
func bitsDiffer(got, want []float32) int {
	n := 0
	for j := range want {
		if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
			n++
		}
	}
	return n
}

// runGolden replays a torch trajectory: the same initial params and gradients, every
// step compared element by element, and the final state tensors too. It returns how
// many of the compared elements differ from torch's in any bit, and how many it
// compared.
func runGolden(t *testing.T, c *golden.OptimCase) (differ, compared int) {
	t.Helper()
	params := make([]*Param, len(c.Lengths))
	for i, n := range c.Lengths {
		p, err := NewParam(fmt.Sprintf("p%d", i), n)
		require.NoError(t, err)
		defer p.Close()
		require.NoError(t, p.Data.CopyFrom(c.Init[i]))
		if c.Shapes != nil {
			p.Shape = c.Shapes[i]
		}
		params[i] = p
	}
	opt, err := newFromGolden(c, params)
	require.NoError(t, err)
	defer opt.Close()
	for s := 0; s < c.Steps; s++ {
		for i, p := range params {
			require.NoError(t, p.Grad.CopyFrom(c.Grads[s][i]))
		}
		require.NoError(t, opt.Step())
		for i, p := range params {
			got, err := p.Data.Values()
			require.NoError(t, err)
			if worst, j := closeTo(got, c.Params[s][i]); worst > 1 {
				t.Fatalf("%s: step %d tensor %d elem %d: got %.9g, torch %.9g (%.2f times the tolerance)",
					c.Name, s+1, i, j, got[j], c.Params[s][i][j], worst)
			}
			differ += bitsDiffer(got, c.Params[s][i])
			compared += len(got)
		}
	}
	for _, key := range c.State.Keys() {
		for i := range params {
			if c.StateLen(key, i) == 0 {
				continue // Adafactor: a matrix keeps no variance, a vector no row_var or col_var
			}
			got, err := stateOf(opt, i, key)
			require.NoError(t, err, "%s: state %s", c.Name, key)
			if worst, j := closeTo(got, c.State.Tensors[key][i]); worst > 1 {
				t.Fatalf("%s: final state %s tensor %d elem %d: got %.9g, torch %.9g (%.2f times the tolerance)",
					c.Name, key, i, j, got[j], c.State.Tensors[key][i][j], worst)
			}
			differ += bitsDiffer(got, c.State.Tensors[key][i])
			compared += len(got)
		}
	}
	if c.State.Step != nil {
		for i := range params {
			require.Equal(t, int64(*c.State.Step), opt.StepCount(0, i))
		}
	}
	return differ, compared
}

// stateOf is the state tensor key of param i of group 0.
func stateOf(opt Optimizer, i int, key string) ([]float32, error) { return opt.State(0, i, key) }

// TestGoldenTorchTrajectories: every optimizer and option against torch, on every
// instruction set the machine has and with 1 and 3 threads.
func TestGoldenTorchTrajectories(t *testing.T) {
	f, err := golden.LoadDefaultOptim()
	require.NoError(t, err)
	require.NotEmpty(t, f.Cases)
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			t.Run(fmt.Sprintf("%v/threads=%d", isa, threads), func(t *testing.T) {
				differ, compared := 0, 0
				reduced, reducedDiffer := 0, 0
				for _, c := range f.Cases {
					d, n := runGolden(t, c)
					if c.Optimizer == golden.Adafactor {
						// Its norms and means are reductions, summed in double here and
						// in float32 in torch's order there: within the tolerance, not
						// bit for bit (see Adafactor's doc).
						reducedDiffer += d
						reduced += n
						continue
					}
					differ += d
					compared += n
				}
				t.Logf("adafactor: %d of %d elements bit-identical to torch, the rest within the golden tolerance",
					reduced-reducedDiffer, reduced)
				// Stronger than the tolerance: the kernels round exactly as torch's CPU
				// kernels do (kernel.h), so every element carries torch's bits. A
				// difference means an operation was reordered, fused or split.
				t.Logf("%d of %d elements bit-identical to torch", compared-differ, compared)
				require.Zero(t, differ, "elements that differ from torch's in some bit (of %d)", compared)
			})
		}
	}
	require.NoError(t, SetISA(ISAAuto))
	require.NoError(t, SetThreads(0))
}

// TestGoldenClipping: ClipGradNorm and ClipGradValue against torch's
// clip_grad_norm_ and clip_grad_value_.
func TestGoldenClipping(t *testing.T) {
	f, err := golden.LoadDefaultClip()
	require.NoError(t, err)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			params := make([]*Param, len(c.Lengths))
			for i, n := range c.Lengths {
				p, err := NewParam("", n)
				require.NoError(t, err)
				defer p.Close()
				require.NoError(t, p.Grad.CopyFrom(c.Grads[i]))
				params[i] = p
			}
			switch c.Kind {
			case golden.ClipNorm:
				total, err := ClipGradNorm(params, c.MaxNorm, c.NormType, true)
				require.NoError(t, err)
				require.InDelta(t, float64(c.TotalNorm), total, 2e-6*float64(c.TotalNorm)+1e-30)
			case golden.ClipValue:
				require.NoError(t, ClipGradValue(params, c.ClipValue))
			}
			for i, p := range params {
				got, err := p.Grad.Values()
				require.NoError(t, err)
				if worst, j := closeTo(got, c.Clipped[i]); worst > 2 {
					t.Fatalf("tensor %d elem %d: got %.9g, torch %.9g (%.2f times the tolerance)",
						i, j, got[j], c.Clipped[i][j], worst)
				}
			}
		})
	}
}
