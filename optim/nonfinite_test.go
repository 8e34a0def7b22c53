package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Non-finite gradients: SetCheckFinite skips the whole step (every group) and
// reports ErrNonFinite with params, state, gradients and step counts bit-identical;
// GradScaler follows torch.amp.GradScaler's rules exactly.

// twoGroupSetup makes an optimizer of kind over mixedParams in two groups (arena
// params in group 0, the others in group 1), fills in values, and takes three steps,
// the second with param 1's grad nil so that step counts differ between params.
func twoGroupSetup(t *testing.T, kind string, seed uint64) (Optimizer, []*Param) {
	t.Helper()
	params := mixedParams(t)
	opt, err := newKind(kind, params[:2])
	require.NoError(t, err)
	t.Cleanup(func() { opt.Close() })
	require.NoError(t, addKindGroup(kind, opt, params[2:]))
	fillRandom(t, params, seed)
	require.NoError(t, opt.Step())
	g := params[1].Grad
	params[1].Grad = nil
	require.NoError(t, opt.Step())
	params[1].Grad = g
	require.NoError(t, opt.Step())
	require.Equal(t, int64(3), opt.StepCount(0, 0))
	require.Equal(t, int64(2), opt.StepCount(0, 1))
	return opt, params
}

func setElem(t *testing.T, x *Tensor, i int, v float32) float32 {
	t.Helper()
	vals, err := x.Values()
	require.NoError(t, err)
	old := vals[i]
	vals[i] = v
	require.NoError(t, x.CopyFrom(vals))
	return old
}

func TestCheckFiniteSkipsEveryGroup(t *testing.T) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	// Where the bad element goes: param index and element (-1 = last).
	spots := []struct{ param, elem int }{{0, 0}, {1, -1}, {2, 35}, {3, -1}}
	for _, kind := range allKinds {
		for bi, b := range bad {
			for _, spot := range spots {
				name := fmt.Sprintf("%s/%v/param%d", kind, b, spot.param)
				t.Run(name, func(t *testing.T) {
					opt, params := twoGroupSetup(t, kind, uint64(bi))
					twin, twinParams := twoGroupSetup(t, kind, uint64(bi))
					opt.SetCheckFinite(true)

					elem := spot.elem
					if elem < 0 {
						elem = params[spot.param].Grad.Len() - 1
					}
					old := setElem(t, params[spot.param].Grad, elem, b)
					before := takeSnapshot(t, opt, params)
					for _, call := range []struct {
						name string
						do   func() error
					}{{"Step", opt.Step}, {"ClipStep", func() error { return opt.ClipStep(0.5, 2) }},
						{"ClipStep(inf)", func() error { return opt.ClipStep(0.5, math.Inf(1)) }},
						{"ClipStep(0)", func() error { return opt.ClipStep(0, 2) }}} {
						err := call.do()
						require.ErrorIs(t, err, ErrNonFinite, call.name)
						require.EqualError(t, err, "optim: "+kind+
							": step skipped, params and state unchanged: a gradient holds NaN or Inf: goptim: non-finite value")
						requireUnchanged(t, before, opt, params, call.name+" with a non-finite gradient")
						require.Equal(t, int64(3), opt.StepCount(0, 0))
						require.Equal(t, int64(2), opt.StepCount(0, 1))
						require.Equal(t, int64(3), opt.StepCount(1, 1))
					}
					n, err := opt.LastGradNorm()
					require.NoError(t, err)
					require.False(t, !math.IsNaN(n) && !math.IsInf(n, 0), "the norm of a non-finite gradient is %v", n)

					// Once the gradient is fixed the optimizer continues exactly as one
					// that never saw the bad step.
					setElem(t, params[spot.param].Grad, elem, old)
					for s := 0; s < 2; s++ {
						require.NoError(t, opt.Step())
						require.NoError(t, twin.Step())
					}
					require.Equal(t, takeSnapshot(t, twin, twinParams), takeSnapshot(t, opt, params))
				})
			}
		}
	}
}

// Without SetCheckFinite, a NaN gradient flows into the update as in torch: the
// element it belongs to becomes NaN, the others are untouched by it. Rprop and Lion
// move an element by a sign (of the gradient; of the momentum mixed with it), and
// torch's sign of NaN is 0: there the element does not move, as with a zero gradient at
// the first step. LAMB and LARS scale each param by its norms, which a NaN makes NaN:
// the param with the NaN gradient becomes NaN whole, the others are untouched by it.
func TestNonFiniteWithoutCheckStaysLocal(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			opt, params := twoGroupSetup(t, kind, 9)
			twin, twinParams := twoGroupSetup(t, kind, 9)
			setElem(t, params[2].Grad, 10, float32(math.NaN()))
			setElem(t, twinParams[2].Grad, 10, 0)
			if kind == "lamb" {
				// The global gradient norm is NaN too, and NaN > max_grad_norm is false:
				// apex's first group then divides by nothing. The twin, whose norm is
				// finite, does the same with the clipping off.
				c := twin.(*LAMB).Config(0)
				c.MaxGradNorm = 0
				require.NoError(t, twin.(*LAMB).SetConfig(0, c))
			}
			before := takeSnapshot(t, nil, params).data[2][10]
			require.NoError(t, opt.Step())
			require.NoError(t, twin.Step())
			got := takeSnapshot(t, nil, params).data
			want := takeSnapshot(t, nil, twinParams).data
			switch kind {
			case "rprop": // sign(NaN*prev) = 0 as for a zero gradient: the same step
			case "muon", "lamb", "lars":
				// Newton-Schulz mixes every element of a matrix with every other: the
				// param with the NaN gradient (a matrix here) becomes NaN whole. LAMB's
				// trust ratio ||p||/||u|| and LARS's adaptive lr from ||g|| are NaN for
				// that param, and scale all of its update.
				for j := range got[2] {
					require.True(t, math.IsNaN(float64(math.Float32frombits(got[2][j]))), "element %d", j)
				}
				got[2], want[2] = nil, nil
			case "lion":
				// sign(beta1*m + (1-beta1)*NaN) = 0: the element stays where it was (no
				// weight decay in this group), where a zero gradient steps by sign(m).
				require.Equal(t, before, got[2][10])
				got[2][10], want[2][10] = 0, 0
			default:
				require.True(t, math.IsNaN(float64(math.Float32frombits(got[2][10]))))
				got[2][10], want[2][10] = 0, 0
			}
			require.Equal(t, want, got)
		})
	}
}

// torchScaler is torch.amp.GradScaler as torch implements it. The bookkeeping is
// _amp_update_scale_ (aten/src/ATen/native/cpu/AmpGradScalerKernels.cpp): the scale is
// a float32 tensor, products are taken in double and stored as float, and a growth
// that would overflow float32 is dropped. The unscaling depends on the optimizer:
// torch's fused kernels (an optimizer with _step_supports_amp_scaling) divide each
// gradient by the scale during a step that is taken and leave the gradients scaled
// when it is skipped; for any other optimizer
// _amp_foreach_non_finite_check_and_unscale_ multiplies every gradient in place by the
// double reciprocal rounded to float, whether the step is then taken or not.
type torchScaler struct {
	scale           float32
	tracker         int
	growth, backoff float64
	interval        int
}

func (s *torchScaler) invScale() float32 { return float32(1 / float64(s.scale)) }

// unscale is the gradient the step reads.
func (s *torchScaler) unscale(g float32, fused bool) float32 {
	if fused {
		return g / s.scale
	}
	return g * s.invScale()
}

// after is the gradient in memory after GradScaler's step.
func (s *torchScaler) after(g float32, fused, skipped bool) float32 {
	if fused && skipped {
		return g
	}
	return s.unscale(g, fused)
}

// torchFusedScaling: the optimizers whose fused kernels torch 2.6's GradScaler hands
// the scale to (_step_supports_amp_scaling: Adam, AdamW and SGD with fused=True; not
// Adagrad, fused or not, and torch has no fused RMSprop).
var torchFusedScaling = map[string]bool{"sgd": true, "adam": true, "adamw": true, "adagrad": false, "rmsprop": false}

func (s *torchScaler) update(foundInf bool) {
	if foundInf {
		s.scale = float32(float64(s.scale) * s.backoff)
		s.tracker = 0
		return
	}
	successful := s.tracker + 1
	if successful == s.interval {
		ns := float32(float64(s.scale) * s.growth)
		if !math.IsInf(float64(ns), 0) {
			s.scale = ns
		}
		s.tracker = 0
	} else {
		s.tracker = successful
	}
}

func TestGradScalerFollowsTorch(t *testing.T) {
	for ci, cfg := range []GradScalerConfig{
		{InitScale: 1024, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 3},
		{InitScale: 1000, GrowthFactor: 3, BackoffFactor: 0.3, GrowthInterval: 2},
		{InitScale: 0.1, GrowthFactor: 1.7, BackoffFactor: 0.9, GrowthInterval: 1},
	} {
		for _, kind := range allKinds {
			t.Run(fmt.Sprintf("%d/%s", ci, kind), func(t *testing.T) {
				opt, params := twoGroupSetup(t, kind, 5)
				twin, twinParams := twoGroupSetup(t, kind, 5)
				fused := torchFusedScaling[kind]
				require.Equal(t, fused, opt.(interface{ usesFusedScaling() bool }).usesFusedScaling(),
					"GradScaler's path for %s is not torch's", kind)
				scaler, err := NewGradScaler(cfg)
				require.NoError(t, err)
				model := &torchScaler{scale: float32(cfg.InitScale), growth: cfg.GrowthFactor,
					backoff: cfg.BackoffFactor, interval: cfg.GrowthInterval}
				rng := rand.New(rand.NewPCG(uint64(ci), 3))
				rounded := 0 // gradients whose division and multiplication by the reciprocal differ
				for s := 0; s < 40; s++ {
					require.Equal(t, float64(model.scale), scaler.Scale(), "step %d", s)
					inf := rng.IntN(4) == 0
					// Scaled gradients; the twin steps on the unscaled ones the step must
					// read, and after is what GradScaler must leave in memory.
					after := make([][]float32, len(params))
					for i, p := range params {
						g := randVec(rng, p.Grad.Len(), float64(model.scale))
						if inf && i == s%len(params) {
							g[rng.IntN(len(g))] = float32(math.Inf(1 - 2*(s%2)))
						}
						require.NoError(t, p.Grad.CopyFrom(g))
						unscaled := make([]float32, len(g))
						after[i] = make([]float32, len(g))
						for j := range g {
							unscaled[j] = model.unscale(g[j], fused)
							after[i][j] = model.after(g[j], fused, inf)
							if unscaled[j] != model.unscale(g[j], !fused) {
								rounded++
							}
						}
						require.NoError(t, twinParams[i].Grad.CopyFrom(unscaled))
					}
					before := takeSnapshot(t, opt, params)
					stepped, err := scaler.Step(opt)
					require.NoError(t, err)
					require.Equal(t, !inf, stepped, "step %d", s)
					// Bit for bit: divided by the scale on a taken fused step, scaled
					// still on a skipped one; multiplied by 1/scale otherwise.
					for i, p := range params {
						require.Equal(t, bitsOfSlice(after[i]), bitsOf(t, p.Grad), "step %d grad %d (skipped %v)", s, i, inf)
					}
					if inf {
						before.grads = takeSnapshot(t, nil, params).grads
						requireUnchanged(t, before, opt, params, fmt.Sprintf("skipped step %d", s))
						// The twin took no step either; its gradients become what
						// GradScaler left (still scaled on the fused path).
						for i, p := range twinParams {
							require.NoError(t, p.Grad.CopyFrom(after[i]))
						}
					} else {
						require.NoError(t, twin.Step())
					}
					model.update(inf)
					require.Equal(t, takeSnapshot(t, twin, twinParams), takeSnapshot(t, opt, params), "step %d", s)
				}
				require.Equal(t, float64(model.scale), scaler.Scale())
				if cfg.InitScale == 0.1 {
					// A scale that is not a power of two: the two unscalings round
					// differently often, so the comparisons above tell them apart.
					require.NotZero(t, rounded)
				}
			})
		}
	}
}

func bitsOfSlice(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, f := range v {
		out[i] = math.Float32bits(f)
	}
	return out
}

// The scale stops growing below float32's overflow, as torch's does: a scale that
// kept doubling past 2^128 would have a reciprocal that rounds to float32 zero, and
// every gradient would silently be multiplied by 0.
func TestGradScalerStopsAtFloat32Max(t *testing.T) {
	p, err := NewParam("w", 4)
	require.NoError(t, err)
	defer p.Close()
	opt, err := NewSGD([]*Param{p}, SGDDefaults(1))
	require.NoError(t, err)
	defer opt.Close()
	scaler, err := NewGradScaler(GradScalerConfig{InitScale: 0x1p120, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 1})
	require.NoError(t, err)
	for s := 0; s < 300; s++ {
		require.NoError(t, p.Grad.Fill(0))
		stepped, err := scaler.Step(opt)
		require.NoError(t, err)
		require.True(t, stepped)
	}
	require.Equal(t, 0x1p127, scaler.Scale())
	require.NoError(t, p.Grad.CopyFrom([]float32{0x1p100, -0x1p100, 3 * 0x1p100, 0}))
	stepped, err := scaler.Step(opt)
	require.NoError(t, err)
	require.True(t, stepped)
	g, err := p.Grad.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{0x1p-27, -0x1p-27, 3 * 0x1p-27, 0}, g)
	d, err := p.Data.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{-0x1p-27, 0x1p-27, -3 * 0x1p-27, 0}, d)

	// Backing off from there follows torch too.
	require.NoError(t, p.Grad.CopyFrom([]float32{float32(math.NaN()), 0, 0, 0}))
	stepped, err = scaler.Step(opt)
	require.NoError(t, err)
	require.False(t, stepped)
	require.Equal(t, 0x1p126, scaler.Scale())
}

// GradScaler with the optimizer's own SetCheckFinite on: one check, same result.
func TestGradScalerWithCheckFinite(t *testing.T) {
	opt, params := twoGroupSetup(t, "adam", 1)
	opt.SetCheckFinite(true)
	scaler, err := NewGradScaler(GradScalerDefaults())
	require.NoError(t, err)
	setElem(t, params[0].Grad, 3, float32(math.NaN()))
	stepped, err := scaler.Step(opt)
	require.NoError(t, err)
	require.False(t, stepped)
	require.Equal(t, 32768.0, scaler.Scale())
	require.Equal(t, int64(3), opt.StepCount(0, 0))
	setElem(t, params[0].Grad, 3, 1)
	stepped, err = scaler.Step(opt)
	require.NoError(t, err)
	require.True(t, stepped)
	require.Equal(t, int64(4), opt.StepCount(0, 0))
}
