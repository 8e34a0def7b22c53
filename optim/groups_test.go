package optim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// addLike adds params with the config of group 0: code generic in the config type
// reaches AddParamGroup and Config through OptimizerOf, with no type switch.
func addLike[C any](opt OptimizerOf[C], params []*Param) error {
	return opt.AddParamGroup(params, opt.Config(0))
}

// Every optimizer is an OptimizerOf its config, and a group added through it takes
// that config and steps like the first.
func TestOptimizerOfAddsGroupsGenerically(t *testing.T) {
	mk := func(t *testing.T) (a, b *Param) {
		a, err := NewParam("a", 5)
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		b, err = NewParam("b", 5)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		fillRandom(t, []*Param{a}, 3)
		fillRandom(t, []*Param{b}, 3)
		return a, b
	}
	check := func(t *testing.T, opt Optimizer, a, b *Param) {
		t.Cleanup(func() { opt.Close() })
		require.Equal(t, 2, opt.NumGroups())
		require.NoError(t, opt.Step())
		require.Equal(t, bitsOf(t, a.Data), bitsOf(t, b.Data), "the added group steps as the first")
		require.Equal(t, []*Param{b}, opt.Params(1))
	}
	t.Run("sgd", func(t *testing.T) {
		a, b := mk(t)
		opt, err := NewSGD([]*Param{a}, SGDConfig{LR: 0.1, Momentum: 0.9})
		require.NoError(t, err)
		require.NoError(t, addLike(opt, []*Param{b}))
		require.Equal(t, opt.Config(0), opt.Config(1))
		check(t, opt, a, b)
	})
	for _, kind := range []string{"adam", "adamw"} {
		t.Run(kind, func(t *testing.T) {
			a, b := mk(t)
			newAdam := map[string]func([]*Param, AdamConfig) (*Adam, error){"adam": NewAdam, "adamw": NewAdamW}[kind]
			opt, err := newAdam([]*Param{a}, AdamWDefaults())
			require.NoError(t, err)
			require.NoError(t, addLike(opt, []*Param{b}))
			check(t, opt, a, b)
		})
	}
	t.Run("adagrad", func(t *testing.T) {
		a, b := mk(t)
		opt, err := NewAdagrad([]*Param{a}, AdagradConfig{LR: 0.1, InitialAccumulatorValue: 0.25, Eps: 1e-10})
		require.NoError(t, err)
		require.NoError(t, addLike(opt, []*Param{b}))
		check(t, opt, a, b)
	})
	t.Run("rmsprop", func(t *testing.T) {
		a, b := mk(t)
		opt, err := NewRMSprop([]*Param{a}, RMSpropConfig{LR: 0.01, Alpha: 0.9, Eps: 1e-8, Centered: true})
		require.NoError(t, err)
		require.NoError(t, addLike(opt, []*Param{b}))
		check(t, opt, a, b)
	})
}

// Each Adagrad group's sum starts at that group's initial_accumulator_value, the
// first group's and every added group's (torch 1.13 takes the constructor's for all).
func TestAdagradGroupsStartAtTheirOwnAccumulator(t *testing.T) {
	ps := make([]*Param, 3)
	for i := range ps {
		p, err := NewParam("", 4)
		require.NoError(t, err)
		defer p.Close()
		ps[i] = p
	}
	opt, err := NewAdagrad(ps[:1], AdagradConfig{LR: 0.1, InitialAccumulatorValue: 0.25})
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.AddParamGroup(ps[1:2], AdagradConfig{LR: 0.1, InitialAccumulatorValue: 0.5}))
	require.NoError(t, opt.AddParamGroup(ps[2:], AdagradConfig{LR: 0.1}))
	for g, want := range []float32{0.25, 0.5, 0} {
		sum, err := opt.State(g, 0, "sum")
		require.NoError(t, err)
		require.Equal(t, []float32{want, want, want, want}, sum, "group %d", g)
	}
}
