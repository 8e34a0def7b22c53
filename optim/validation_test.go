package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every invalid hyperparameter is refused with a ConfigError naming the option.
func TestInvalidConfigsAreRefused(t *testing.T) {
	p, err := NewParam("w", 3)
	require.NoError(t, err)
	defer p.Close()
	ps := []*Param{p}
	adam := func(f func(*AdamConfig)) func() error {
		return func() error {
			c := AdamDefaults()
			f(&c)
			_, err := NewAdam(ps, c)
			return err
		}
	}
	cases := []struct {
		name  string
		field string
		make  func() error
	}{
		{"sgd negative lr", "lr", func() error { _, err := NewSGD(ps, SGDDefaults(-1)); return err }},
		{"sgd NaN lr", "lr", func() error { _, err := NewSGD(ps, SGDDefaults(math.NaN())); return err }},
		{"sgd negative momentum", "momentum", func() error { _, err := NewSGD(ps, SGDConfig{LR: 1, Momentum: -0.1}); return err }},
		{"sgd nesterov without momentum", "nesterov", func() error { _, err := NewSGD(ps, SGDConfig{LR: 1, Nesterov: true}); return err }},
		{"sgd nesterov with dampening", "nesterov", func() error {
			_, err := NewSGD(ps, SGDConfig{LR: 1, Momentum: 0.9, Dampening: 0.1, Nesterov: true})
			return err
		}},
		{"sgd negative weight decay", "weight_decay", func() error { _, err := NewSGD(ps, SGDConfig{LR: 1, WeightDecay: -1}); return err }},
		{"adam negative lr", "lr", adam(func(c *AdamConfig) { c.LR = -1e-3 })},
		{"adam beta1 = 1", "betas[0]", adam(func(c *AdamConfig) { c.Beta1 = 1 })},
		{"adam beta2 < 0", "betas[1]", adam(func(c *AdamConfig) { c.Beta2 = -0.5 })},
		{"adam negative eps", "eps", adam(func(c *AdamConfig) { c.Eps = -1 })},
		{"adam infinite weight decay", "weight_decay", adam(func(c *AdamConfig) { c.WeightDecay = math.Inf(1) })},
		{"adagrad negative lr_decay", "lr_decay", func() error {
			c := AdagradDefaults()
			c.LRDecay = -1
			_, err := NewAdagrad(ps, c)
			return err
		}},
		{"adagrad negative initial accumulator", "initial_accumulator_value", func() error {
			c := AdagradDefaults()
			c.InitialAccumulatorValue = -1
			_, err := NewAdagrad(ps, c)
			return err
		}},
		{"rmsprop negative alpha", "alpha", func() error {
			c := RMSpropDefaults()
			c.Alpha = -0.1
			_, err := NewRMSprop(ps, c)
			return err
		}},
		{"rmsprop negative momentum", "momentum", func() error {
			c := RMSpropDefaults()
			c.Momentum = -0.1
			_, err := NewRMSprop(ps, c)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.make()
			require.ErrorIs(t, err, ErrInvalidConfig)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.field, ce.Field)
		})
	}
}

// A bad param anywhere fails the whole step before anything changes.
func TestStepChecksEverythingFirst(t *testing.T) {
	a, err := NewParam("a", 4)
	require.NoError(t, err)
	defer a.Close()
	b, err := NewParam("b", 4)
	require.NoError(t, err)
	defer b.Close()
	short, err := NewTensor(3)
	require.NoError(t, err)
	defer short.Close()
	require.NoError(t, a.Grad.Fill(1))
	opt, err := NewSGD([]*Param{a, b}, SGDDefaults(0.5))
	require.NoError(t, err)
	defer opt.Close()

	good := b.Grad
	b.Grad = short
	err = opt.Step()
	var se *ShapeError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "b", se.Param)
	v, _ := a.Data.Values()
	require.Equal(t, []float32{0, 0, 0, 0}, v, "param a must not move when b is bad")
	require.Equal(t, int64(0), opt.StepCount(0, 0))

	// A nil gradient is skipped, as torch skips params whose grad is None.
	b.Grad = nil
	require.NoError(t, opt.Step())
	v, _ = a.Data.Values()
	require.Equal(t, []float32{-0.5, -0.5, -0.5, -0.5}, v)
	require.Equal(t, int64(1), opt.StepCount(0, 0))
	require.Equal(t, int64(0), opt.StepCount(0, 1))
	b.Grad = good

	require.NoError(t, opt.Close())
	require.ErrorIs(t, opt.Step(), ErrClosed)
	require.ErrorIs(t, opt.ZeroGrad(), ErrClosed)
}

func TestParamInTwoGroupsIsRefused(t *testing.T) {
	p, err := NewParam("p", 2)
	require.NoError(t, err)
	defer p.Close()
	opt, err := NewAdam([]*Param{p}, AdamDefaults())
	require.NoError(t, err)
	defer opt.Close()
	require.ErrorIs(t, opt.AddParamGroup([]*Param{p}, AdamDefaults()), ErrInvalidConfig)
	_, err = NewAdam([]*Param{nil}, AdamDefaults())
	require.ErrorIs(t, err, ErrNilParam)
}

func TestSetConfigKeepsStateLayout(t *testing.T) {
	p, err := NewParam("p", 2)
	require.NoError(t, err)
	defer p.Close()
	opt, err := NewSGD([]*Param{p}, SGDDefaults(0.1))
	require.NoError(t, err)
	defer opt.Close()
	require.ErrorIs(t, opt.SetGroupMomentum(0, 0.9), ErrInvalidConfig, "momentum buffer would appear mid-run")
	require.NoError(t, opt.SetGroupLR(0, 0.2))
	require.Equal(t, 0.2, opt.GroupLR(0))
	require.ErrorIs(t, opt.SetGroupLR(0, -1), ErrInvalidConfig)
	require.Error(t, opt.SetGroupLR(3, 0.1))
}
