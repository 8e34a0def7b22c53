package schedule_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

// ExponentialLR with gamma 10 from lr 1: the lr after 38 steps (about 1e38) fits
// float32, the 39th step's does not, and the optimizers of package optim refuse it
// (their kernels compute in float32). That step and every later one fail, leaving
// the lr and the schedule's epoch at their last valid values, and the optimizer
// still steps.
func TestFloat32RangeScheduleStopsAtLimit(t *testing.T) {
	p, err := optim.NewParam("w", 2)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Data.CopyFrom([]float32{0.5, -1}))
	require.NoError(t, p.Grad.CopyFrom([]float32{0, 0}))
	opt, err := optim.NewSGD([]*optim.Param{p}, optim.SGDDefaults(1))
	require.NoError(t, err)
	defer opt.Close()
	s, err := schedule.NewExponentialLR(opt, schedule.ExponentialLRConfig{Gamma: 10})
	require.NoError(t, err)
	want := 1.0
	for step := 1; step <= 40; step++ {
		err := s.Step()
		if step <= 38 {
			require.NoError(t, err, "step %d", step)
			want *= 10
			require.Equal(t, want, opt.LR(), "step %d", step)
			continue
		}
		require.Error(t, err, "step %d", step)
		// The optimizer's *ConfigError, through the schedule's wrapping.
		require.ErrorIs(t, err, optim.ErrInvalidConfig)
		var ce *optim.ConfigError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, "sgd", ce.Optimizer)
		require.Equal(t, "lr", ce.Field)
		require.Equal(t, want*10, ce.Value)
		require.Contains(t, ce.Reason, "float32")
		require.Equal(t, want, opt.LR(), "step %d", step)
		require.Equal(t, []float64{want}, s.LastLR())
		require.Equal(t, 38, s.LastEpoch())
	}
	require.InEpsilon(t, 1e38, want, 1e-15)
	require.NoError(t, opt.Step())
	got, err := p.Data.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{0.5, -1}, got)
}
