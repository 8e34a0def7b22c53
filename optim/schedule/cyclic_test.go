package schedule_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

func TestScheduleCyclicValidation(t *testing.T) {
	g := func() *fakeGroups { return newFakeGroups([]float64{0.1, 0.2}, []float64{0.9, 0.9}) }
	with := func(f func(*schedule.CyclicLRConfig)) func() error {
		return func() error {
			c := schedule.CyclicLRDefaults(0.01, 0.1)
			f(&c)
			_, err := schedule.NewCyclicLR(g(), c)
			return err
		}
	}
	cases := []schedConfigCase{
		{"no base_lr", "base_lr", with(func(c *schedule.CyclicLRConfig) { c.BaseLR = nil })},
		{"no max_lr", "max_lr", with(func(c *schedule.CyclicLRConfig) { c.MaxLR = nil })},
		{"base_lr count", "base_lr", with(func(c *schedule.CyclicLRConfig) { c.BaseLR = []float64{0.1, 0.1, 0.1} })},
		{"negative base_lr", "base_lr[1]", with(func(c *schedule.CyclicLRConfig) { c.BaseLR = []float64{0.1, -0.1} })},
		{"nan max_lr", "max_lr[0]", with(func(c *schedule.CyclicLRConfig) { c.MaxLR = []float64{math.NaN()} })},
		{"step_size_up 0", "step_size_up", with(func(c *schedule.CyclicLRConfig) { c.StepSizeUp = 0 })},
		{"step_size_down < 0", "step_size_down", with(func(c *schedule.CyclicLRConfig) { c.StepSizeDown = -1 })},
		{"mode", "mode", with(func(c *schedule.CyclicLRConfig) { c.Mode = 9 })},
		{"gamma", "gamma", with(func(c *schedule.CyclicLRConfig) { c.Mode, c.Gamma = schedule.CyclicExpRange, 0 })},
		{"scale_mode", "scale_mode", with(func(c *schedule.CyclicLRConfig) {
			c.ScaleFn, c.ScaleMode = func(float64) float64 { return 1 }, 5
		})},
		{"momentum count", "max_momentum", with(func(c *schedule.CyclicLRConfig) { c.MaxMomentum = []float64{0.9, 0.9, 0.9} })},
		{"momentum inf", "base_momentum[0]", with(func(c *schedule.CyclicLRConfig) { c.BaseMomentum = []float64{math.Inf(-1)} })},
		{"no momentum", "cycle_momentum", func() error {
			_, err := schedule.NewCyclicLR(newFakeGroups([]float64{0.1}, nil), schedule.CyclicLRDefaults(0.01, 0.1))
			return err
		}},
	}
	requireConfigErrors(t, cases)
}

// Property: triangular cycles stay within [base_lr, max_lr] and [base_momentum,
// max_momentum], move the two inversely, hit base_lr at every cycle's start and
// max_lr at step_size_up into it; triangular2 halves the amplitude every cycle.
func TestScheduleCyclicShape(t *testing.T) {
	const up, down = 4, 6
	for _, mode := range []schedule.CyclicMode{schedule.CyclicTriangular, schedule.CyclicTriangular2} {
		g := newFakeGroups([]float64{0.3}, []float64{0.5})
		c := schedule.CyclicLRDefaults(0.01, 0.11)
		c.StepSizeUp, c.StepSizeDown, c.Mode = up, down, mode
		s, err := schedule.NewCyclicLR(g, c)
		require.NoError(t, err)
		require.Equal(t, []float64{0.01}, g.lr) // construction: base_lr, max_momentum
		require.Equal(t, []float64{0.9}, g.mom)
		for it := 1; it <= 10*(up+down); it++ {
			require.NoError(t, s.Step())
			lr, m := g.lr[0], g.mom[0]
			require.GreaterOrEqual(t, lr, 0.01-1e-15, "%v iteration %d", mode, it)
			require.LessOrEqual(t, lr, 0.11+1e-15, "%v iteration %d", mode, it)
			// momentum mirrors the lr: (lr-base)/(max-base) == (max_m-m)/(max_m-base_m)
			require.InDelta(t, (lr-0.01)/0.1, (0.9-m)/0.1, 1e-12, "%v iteration %d", mode, it)
			cycle := it/(up+down) + 1
			amp := 0.1
			if mode == schedule.CyclicTriangular2 {
				amp /= math.Pow(2, float64(cycle-1))
			}
			switch it % (up + down) {
			case 0:
				require.InDelta(t, 0.01, lr, 1e-15, "%v cycle start %d", mode, it)
			case up:
				require.InDelta(t, 0.01+amp, lr, 1e-15, "%v peak %d", mode, it)
			}
		}
	}
}

// With an Adam optimizer CyclicLR cycles beta1, as torch 2.x does.
func TestScheduleCyclicWithAdam(t *testing.T) {
	p, err := optim.NewParam("w", 4)
	require.NoError(t, err)
	defer p.Close()
	adam, err := optim.NewAdam([]*optim.Param{p}, optim.AdamDefaults())
	require.NoError(t, err)
	defer adam.Close()
	c := schedule.CyclicLRDefaults(1e-4, 1e-3)
	c.StepSizeUp, c.StepSizeDown = 5, 5
	s, err := schedule.NewCyclicLR(adam, c)
	require.NoError(t, err)
	b1, ok := adam.GroupMomentum(0)
	require.True(t, ok)
	require.Equal(t, 0.9, b1)
	for k := 0; k < 5; k++ {
		require.NoError(t, adam.Step())
		require.NoError(t, s.Step())
	}
	require.InDelta(t, 1e-3, adam.GroupLR(0), 1e-17)
	b1, _ = adam.GroupMomentum(0)
	require.InDelta(t, 0.8, b1, 1e-15)
	require.Equal(t, c.BaseLR, s.Config().BaseLR)
}

// A momentum the optimizer refuses fails construction and puts back what was set.
func TestScheduleCyclicRefusedMomentum(t *testing.T) {
	g := newFakeGroups([]float64{0.1, 0.2}, []float64{0.5, 0.6})
	c := schedule.CyclicLRDefaults(0.01, 0.1)
	c.MaxMomentum = []float64{0.9, 1.5} // group 1's is refused (fakeGroups wants < 1)
	_, err := schedule.NewCyclicLR(g, c)
	require.ErrorIs(t, err, optim.ErrInvalidConfig)
	require.Contains(t, err.Error(), "group 1 cannot cycle its momentum to 1.5")
	require.Equal(t, []float64{0.1, 0.2}, g.lr)
	require.Equal(t, []float64{0.5, 0.6}, g.mom)

	// SGD cannot go between momentum 0 and a non-zero one (torch's can): refused at
	// construction, not at the step that would reach 0.
	p, err := optim.NewParam("w", 3)
	require.NoError(t, err)
	defer p.Close()
	sgd, err := optim.NewSGD([]*optim.Param{p}, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	require.NoError(t, err)
	defer sgd.Close()
	c = schedule.CyclicLRDefaults(0.01, 0.1)
	c.BaseMomentum = []float64{0}
	_, err = schedule.NewCyclicLR(sgd, c)
	require.ErrorIs(t, err, optim.ErrInvalidConfig)
	m, _ := sgd.GroupMomentum(0)
	require.Equal(t, 0.9, m)
	require.Equal(t, 0.1, sgd.GroupLR(0))

	// OneCycleLR tries its momentum ends the same way.
	oc := schedule.OneCycleLRDefaults(100, 0.5)
	oc.BaseMomentum = []float64{0}
	_, err = schedule.NewOneCycleLR(sgd, oc)
	require.ErrorIs(t, err, optim.ErrInvalidConfig)
	require.Contains(t, err.Error(), "OneCycleLR: group 0 cannot cycle its momentum to 0")
	m, _ = sgd.GroupMomentum(0)
	require.Equal(t, 0.9, m)
	require.Equal(t, 0.1, sgd.GroupLR(0))
}

// A custom scale that sends one group's momentum out of range fails that step and
// puts back the momenta the step had already set.
func TestScheduleCyclicFailedStepRollsBack(t *testing.T) {
	g := newFakeGroups([]float64{0.1, 0.2}, []float64{0.5, 0.6})
	c := schedule.CyclicLRDefaults(0.01, 0.1)
	c.StepSizeUp, c.StepSizeDown = 4, 4
	c.BaseMomentum, c.MaxMomentum = []float64{0.8, 0.5}, []float64{0.9, 0.9}
	c.ScaleMode = schedule.ScaleIterations
	c.ScaleFn = func(x float64) float64 {
		if x == 2 {
			return 10 // group 1: 0.9 - 0.4*0.5*10 < 0
		}
		return 1
	}
	s, err := schedule.NewCyclicLR(g, c)
	require.NoError(t, err)
	require.NoError(t, s.Step())
	lr, mom := append([]float64(nil), g.lr...), append([]float64(nil), g.mom...)
	err = s.Step()
	require.ErrorIs(t, err, optim.ErrInvalidConfig)
	require.Equal(t, lr, g.lr)
	require.Equal(t, mom, g.mom)
	require.Equal(t, 1, s.LastEpoch())
}
