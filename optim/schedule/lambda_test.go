package schedule_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

func TestScheduleLambdaValidation(t *testing.T) {
	g := func() *fakeGroups { return newFakeGroups([]float64{0.1, 0.2}, nil) }
	half := func(int) float64 { return 0.5 }
	cases := []schedConfigCase{
		{"lambda none", "lr_lambda", func() error { _, err := schedule.NewLambdaLR(g(), schedule.LambdaLRConfig{}); return err }},
		{"lambda count", "lr_lambda", func() error {
			_, err := schedule.NewLambdaLR(g(), schedule.LambdaLRConfig{LRLambda: []schedule.LRLambda{half, half, half}})
			return err
		}},
		{"lambda nil", "lr_lambda[1]", func() error {
			_, err := schedule.NewLambdaLR(g(), schedule.LambdaLRConfig{LRLambda: []schedule.LRLambda{half, nil}})
			return err
		}},
		{"multiplicative none", "lr_lambda", func() error {
			_, err := schedule.NewMultiplicativeLR(g(), schedule.MultiplicativeLRConfig{})
			return err
		}},
		{"multiplicative nil", "lr_lambda[0]", func() error {
			_, err := schedule.NewMultiplicativeLR(g(), schedule.MultiplicativeLRConfig{LRLambda: []schedule.LRLambda{nil}})
			return err
		}},
	}
	requireConfigErrors(t, cases)
	_, err := schedule.NewLambdaLR(nil, schedule.LambdaLRConfig{LRLambda: []schedule.LRLambda{half}})
	require.ErrorIs(t, err, optim.ErrInvalidConfig)
}

// LambdaLR: lr = base_lr * f(epoch) per group, from the base lrs only; one function
// serves every group.
func TestScheduleLambdaLR(t *testing.T) {
	g := newFakeGroups([]float64{0.1, 0.4}, nil)
	var seen []int
	f := func(e int) float64 { seen = append(seen, e); return 1 / float64(e+1) }
	s, err := schedule.NewLambdaLR(g, schedule.LambdaLRConfig{LRLambda: []schedule.LRLambda{f}})
	require.NoError(t, err)
	require.Equal(t, []float64{0.1, 0.4}, g.lr)
	require.Equal(t, []float64{0.1, 0.4}, s.BaseLRs())
	for e := 1; e <= 9; e++ {
		require.NoError(t, g.SetGroupLR(0, 7)) // not chainable: the base lr rules
		require.NoError(t, s.Step())
		f := 1 / float64(e+1)
		require.Equal(t, []float64{0.1 * f, 0.4 * f}, g.lr, "epoch %d", e)
		require.Equal(t, e, s.LastEpoch())
	}
	require.Equal(t, []int{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9}, seen)
}

// MultiplicativeLR is chainable: lr = lr * f(epoch), from whatever the lr is now.
func TestScheduleMultiplicativeLR(t *testing.T) {
	g := newFakeGroups([]float64{1, 2}, nil)
	s, err := schedule.NewMultiplicativeLR(g, schedule.MultiplicativeLRConfig{LRLambda: []schedule.LRLambda{
		func(int) float64 { return 0.5 },
		func(e int) float64 { return float64(e) },
	}})
	require.NoError(t, err)
	require.Equal(t, []float64{1, 2}, g.lr) // construction changes nothing
	require.NoError(t, s.Step())
	require.Equal(t, []float64{0.5, 2}, g.lr)
	require.NoError(t, g.SetGroupLR(0, 8))
	require.NoError(t, s.Step())
	require.Equal(t, []float64{4, 4}, g.lr)
	require.NoError(t, s.Step())
	require.Equal(t, []float64{2, 12}, g.lr)
}

// A function that gives a bad lr fails the step and changes nothing, construction
// included.
func TestScheduleLambdaBadValue(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), -0.5} {
		g := newFakeGroups([]float64{0.1, 0.2}, nil)
		_, err := schedule.NewLambdaLR(g, schedule.LambdaLRConfig{LRLambda: []schedule.LRLambda{func(int) float64 { return bad }}})
		require.ErrorIs(t, err, optim.ErrInvalidConfig)
		require.Equal(t, []float64{0.1, 0.2}, g.lr)

		f := func(e int) float64 {
			if e == 3 {
				return bad
			}
			return 0.9
		}
		s, err := schedule.NewMultiplicativeLR(g, schedule.MultiplicativeLRConfig{LRLambda: []schedule.LRLambda{f}})
		require.NoError(t, err)
		require.NoError(t, s.Step())
		require.NoError(t, s.Step())
		before := append([]float64(nil), g.lr...)
		err = s.Step()
		require.ErrorIs(t, err, optim.ErrInvalidConfig)
		require.Contains(t, err.Error(), "MultiplicativeLR: epoch 3")
		require.Equal(t, before, g.lr)
		require.Equal(t, 2, s.LastEpoch())
		require.Equal(t, before, s.LastLR())
	}
}
