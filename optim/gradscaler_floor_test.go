package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// GradScaler's loss scale has a floor, MinLossScale = 2^-126: an InitScale below it
// is refused, a backoff stops at it, and gradients still non-finite at the floor are
// an error rather than another silently skipped step.

func TestGradScalerFloorInitScale(t *testing.T) {
	_, err := NewGradScaler(GradScalerConfig{InitScale: 1e-39, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 10})
	require.ErrorIs(t, err, ErrInvalidConfig)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "init_scale", ce.Field)
	require.Equal(t, 1e-39, ce.Value)
	require.EqualError(t, err, "optim: grad_scaler: invalid init_scale 1e-39: must be at least "+
		"1.1754943508222875e-38 (MinLossScale, 2^-126, float32's smallest normal): "+
		"below it 1/scale overflows float32 or loses precision")

	// The float32 just below the floor is refused, the floor itself accepted.
	below := float64(math.Nextafter32(float32(MinLossScale), 0))
	_, err = NewGradScaler(GradScalerConfig{InitScale: below, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 10})
	require.ErrorAs(t, err, &ce)
	require.Equal(t, below, ce.Value)
	s, err := NewGradScaler(GradScalerConfig{InitScale: MinLossScale, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 10})
	require.NoError(t, err)
	require.Equal(t, 0x1p-126, s.Scale())
	require.Equal(t, float32(0x1p126), float32(1/s.Scale()))
}

// With torch's defaults, a run of non-finite steps halves the scale from 2^16 down to
// the floor 2^-126 in 142 steps, as torch does; from the 143rd on, each step is an
// error matching ErrNonFinite and the scale stays at the floor (torch's would reach
// 0 and then unscale by Inf). Params and step counts never move, the gradients stay
// as given (SGD takes the scale into its step, so a skipped step leaves them scaled),
// and a clean step afterwards divides them by 2^-126 and steps as usual.
func TestGradScalerFloorNonFiniteRun(t *testing.T) {
	p := float32Param(t, []float32{1, 2, 3, 4}, []float32{0, 0, 0, 0})
	opt, err := NewSGD([]*Param{p}, SGDDefaults(0.5))
	require.NoError(t, err)
	defer opt.Close()
	s, err := NewGradScaler(GradScalerDefaults())
	require.NoError(t, err)

	firstErr := 0
	for step := 1; step <= 200; step++ {
		require.NoError(t, p.Grad.CopyFrom([]float32{float32(math.NaN()), 1, -1, 0}))
		before := s.Scale()
		stepped, err := s.Step(opt)
		require.False(t, stepped, "step %d", step)
		require.Greater(t, s.Scale(), 0.0, "step %d", step)
		if step <= 142 {
			require.NoError(t, err, "step %d", step)
			require.Equal(t, before/2, s.Scale(), "step %d", step)
			require.Equal(t, math.Ldexp(1, 16-step), s.Scale(), "step %d", step)
		} else {
			if firstErr == 0 {
				firstErr = step
			}
			require.ErrorIs(t, err, ErrNonFinite, "step %d", step)
			require.NotErrorIs(t, err, ErrInvalidConfig)
			require.Contains(t, err.Error(), "optim: GradScaler.Step: the loss scale hit its floor "+
				"1.1754943508222875e-38 (MinLossScale) and the gradients are still non-finite, so they are "+
				"non-finite at any scale (a NaN or Inf in the model or the loss): ")
			require.Equal(t, MinLossScale, s.Scale(), "step %d", step)
		}
		require.Equal(t, []float32{1, 2, 3, 4}, dataOf(t, p), "step %d", step)
		require.Equal(t, int64(0), opt.StepCount(0, 0))
		g, err := p.Grad.Values()
		require.NoError(t, err)
		require.True(t, math.IsNaN(float64(g[0])), "step %d", step)
		require.Equal(t, []float32{1, -1, 0}, g[1:], "step %d", step)
	}
	require.Equal(t, 143, firstErr)

	// A clean step at the floor: the gradients are the scaled ones, 2^-126 times
	// the true ones, and unscale exactly.
	require.NoError(t, p.Grad.CopyFrom([]float32{2 * 0x1p-126, -4 * 0x1p-126, 0, 0x1p-126}))
	stepped, err := s.Step(opt)
	require.NoError(t, err)
	require.True(t, stepped)
	g, err := p.Grad.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{2, -4, 0, 1}, g)
	require.Equal(t, []float32{0, 4, 3, 3.5}, dataOf(t, p))
	require.Equal(t, int64(1), opt.StepCount(0, 0))
	require.Equal(t, MinLossScale, s.Scale())
}

// The optimizers GradScaler unscales in place (torch's path for RMSprop and Adagrad)
// multiply by 1/2^-126 = 2^126 at the floor, exact and finite, on skipped steps too.
func TestGradScalerFloorUnscalesInPlace(t *testing.T) {
	p := float32Param(t, []float32{1, 2, 3, 4}, []float32{0, 0, 0, 0})
	opt, err := NewAdagrad([]*Param{p}, AdagradDefaults())
	require.NoError(t, err)
	defer opt.Close()
	s, err := NewGradScaler(GradScalerConfig{InitScale: MinLossScale, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 10})
	require.NoError(t, err)

	require.NoError(t, p.Grad.CopyFrom([]float32{float32(math.Inf(1)), 0x1p-126, -3 * 0x1p-126, 0}))
	stepped, err := s.Step(opt)
	require.ErrorIs(t, err, ErrNonFinite)
	require.False(t, stepped)
	g, err := p.Grad.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{float32(math.Inf(1)), 1, -3, 0}, g) // unscaled although skipped
	require.Equal(t, []float32{1, 2, 3, 4}, dataOf(t, p))

	require.NoError(t, p.Grad.CopyFrom([]float32{2 * 0x1p-126, -4 * 0x1p-126, 0, 0x1p-126}))
	stepped, err = s.Step(opt)
	require.NoError(t, err)
	require.True(t, stepped)
	g, err = p.Grad.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{2, -4, 0, 1}, g)
	require.Equal(t, int64(1), opt.StepCount(0, 0))
}

// A backoff that would jump past the floor stops at it without an error (the floor
// has not been tried yet); the next non-finite step is the error; growth from the
// floor follows torch's rule.
func TestGradScalerFloorBackoffClamps(t *testing.T) {
	p := float32Param(t, []float32{1}, []float32{0})
	opt, err := NewSGD([]*Param{p}, SGDDefaults(1))
	require.NoError(t, err)
	defer opt.Close()
	s, err := NewGradScaler(GradScalerConfig{InitScale: 0x1p-125, GrowthFactor: 4, BackoffFactor: 0.3, GrowthInterval: 1})
	require.NoError(t, err)

	require.NoError(t, p.Grad.CopyFrom([]float32{float32(math.Inf(1))}))
	stepped, err := s.Step(opt)
	require.NoError(t, err)
	require.False(t, stepped)
	require.Equal(t, MinLossScale, s.Scale()) // 0.3 * 2^-125 = 0.6 * 2^-126 is below it

	require.NoError(t, p.Grad.CopyFrom([]float32{float32(math.Inf(-1))}))
	stepped, err = s.Step(opt)
	require.ErrorIs(t, err, ErrNonFinite)
	require.False(t, stepped)
	require.Equal(t, MinLossScale, s.Scale())

	require.NoError(t, p.Grad.CopyFrom([]float32{0x1p-127}))
	stepped, err = s.Step(opt)
	require.NoError(t, err)
	require.True(t, stepped)
	require.Equal(t, []float32{0.5}, dataOf(t, p)) // 1 - 1*(2^-127 * 2^126)
	require.Equal(t, 0x1p-124, s.Scale())          // grown by 4 after 1 clean step
}

// A GradScaler not made by NewGradScaler has no scale; its Step refuses instead of
// unscaling by 0, and the gradients stay as they are.
func TestGradScalerFloorZeroValue(t *testing.T) {
	p := float32Param(t, []float32{1, 2}, []float32{0.5, -1})
	opt, err := NewSGD([]*Param{p}, SGDDefaults(1))
	require.NoError(t, err)
	defer opt.Close()
	var s GradScaler
	stepped, err := s.Step(opt)
	require.False(t, stepped)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.EqualError(t, err, "optim: GradScaler.Step: the GradScaler has no scale: make it with NewGradScaler: "+
		"goptim: invalid argument")
	g, err := p.Grad.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{0.5, -1}, g)
	require.Equal(t, []float32{1, 2}, dataOf(t, p))
}
