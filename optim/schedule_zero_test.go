package optim_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
)

// A schedule not made by its constructor has no groups: its methods that return an
// error refuse with ErrInvalidArgument and change nothing, its getters give zero
// values.
func TestScheduleZeroValuesRefuse(t *testing.T) {
	type stateful interface {
		LastLR() []float64
		State() optim.ScheduleState
		SetState(optim.ScheduleState) error
	}
	embedded := map[string]interface {
		optim.Scheduler
		stateful
		BaseLRs() []float64
		LastEpoch() int
	}{
		"StepLR": &optim.StepLR{}, "MultiStepLR": &optim.MultiStepLR{}, "ConstantLR": &optim.ConstantLR{},
		"LinearLR": &optim.LinearLR{}, "ExponentialLR": &optim.ExponentialLR{},
		"PolynomialLR": &optim.PolynomialLR{}, "CosineAnnealingLR": &optim.CosineAnnealingLR{},
		"CosineAnnealingWarmRestarts": &optim.CosineAnnealingWarmRestarts{}, "CyclicLR": &optim.CyclicLR{},
		"OneCycleLR": &optim.OneCycleLR{}, "LambdaLR": &optim.LambdaLR{},
		"MultiplicativeLR": &optim.MultiplicativeLR{},
	}
	const embeddedErr = "optim: schedule not made by its constructor (NewStepLR, NewLinearLR, ...): goptim: invalid argument"
	for name, s := range embedded {
		require.EqualError(t, s.Step(), embeddedErr, name)
		require.ErrorIs(t, s.SetState(optim.ScheduleState{Kind: name}), optim.ErrInvalidArgument, name)
		require.Nil(t, s.LastLR(), name)
		require.Nil(t, s.BaseLRs(), name)
		require.Zero(t, s.LastEpoch(), name)
		require.Zero(t, s.State(), name)
	}
	require.EqualError(t, (&optim.CosineAnnealingWarmRestarts{}).StepEpoch(0),
		"optim: CosineAnnealingWarmRestarts: schedule not made by its constructor (NewCosineAnnealingWarmRestarts): goptim: invalid argument")

	own := map[string]stateful{
		"SequentialLR": &optim.SequentialLR{}, "ChainedScheduler": &optim.ChainedScheduler{},
		"ReduceLROnPlateau": &optim.ReduceLROnPlateau{},
	}
	for name, s := range own {
		want := "optim: " + name + ": schedule not made by its constructor (New" + name + "): goptim: invalid argument"
		require.EqualError(t, s.SetState(optim.ScheduleState{Kind: name}), want)
		if sch, ok := s.(optim.Scheduler); ok {
			require.EqualError(t, sch.Step(), want)
		}
		require.Nil(t, s.LastLR(), name)
		require.Zero(t, s.State(), name)
	}
	p := &optim.ReduceLROnPlateau{}
	for _, m := range []float64{0, 1, -1} { // a bad epoch past patience 0 would reduce the lrs
		require.ErrorIs(t, p.Step(m), optim.ErrInvalidArgument)
	}
	require.Zero(t, p.LastEpoch())
	require.Zero(t, p.NumBadEpochs())
}

// SequentialLR and ChainedScheduler refuse a nil child, or one not made by its
// constructor, when they are built rather than at a later Step.
func TestComposedSchedulesRefuseUnmadeChildren(t *testing.T) {
	g := newFakeGroups([]float64{1}, nil)
	good, err := optim.NewExponentialLR(g, optim.ExponentialLRConfig{Gamma: 0.5})
	require.NoError(t, err)
	for name, bad := range map[string]optim.Scheduler{
		"nil": nil, "typed nil": (*optim.StepLR)(nil), "zero": &optim.StepLR{},
		"zero OneCycleLR": &optim.OneCycleLR{}, "zero SequentialLR": &optim.SequentialLR{},
	} {
		for _, list := range [][]optim.Scheduler{{bad}, {good, bad}, {bad, good}} {
			_, err := optim.NewChainedScheduler(list)
			require.ErrorIs(t, err, optim.ErrInvalidConfig, name)
			_, err = optim.NewSequentialLR(g, optim.SequentialLRConfig{Schedulers: list, Milestones: make([]int, len(list)-1)})
			require.ErrorIs(t, err, optim.ErrInvalidConfig, name)
		}
	}
	_, err = optim.NewChainedScheduler([]optim.Scheduler{&optim.LinearLR{}})
	require.EqualError(t, err, "optim: ChainedScheduler: invalid schedulers[0] 0: is a *optim.LinearLR not made by its constructor")
	require.Equal(t, []float64{1}, g.lr) // nothing was stepped or reset
}

// Every schedule refuses a nil LRGroups, a typed-nil optimizer and an optimizer not
// made by its constructor (it has no param groups).
func TestSchedulesRefuseNilGroups(t *testing.T) {
	lambda := []optim.LRLambda{func(int) float64 { return 1 }}
	build := map[string]func(optim.LRGroups) (any, error){
		"StepLR": func(g optim.LRGroups) (any, error) {
			return optim.NewStepLR(g, optim.StepLRConfig{StepSize: 1, Gamma: 0.5})
		},
		"MultiStepLR": func(g optim.LRGroups) (any, error) {
			return optim.NewMultiStepLR(g, optim.MultiStepLRConfig{Milestones: []int{1}, Gamma: 0.5})
		},
		"ConstantLR": func(g optim.LRGroups) (any, error) { return optim.NewConstantLR(g, optim.ConstantLRDefaults()) },
		"LinearLR":   func(g optim.LRGroups) (any, error) { return optim.NewLinearLR(g, optim.LinearLRDefaults()) },
		"ExponentialLR": func(g optim.LRGroups) (any, error) {
			return optim.NewExponentialLR(g, optim.ExponentialLRConfig{Gamma: 0.5})
		},
		"PolynomialLR": func(g optim.LRGroups) (any, error) { return optim.NewPolynomialLR(g, optim.PolynomialLRDefaults()) },
		"CosineAnnealingLR": func(g optim.LRGroups) (any, error) {
			return optim.NewCosineAnnealingLR(g, optim.CosineAnnealingLRConfig{TMax: 10})
		},
		"CosineAnnealingWarmRestarts": func(g optim.LRGroups) (any, error) {
			return optim.NewCosineAnnealingWarmRestarts(g, optim.CosineAnnealingWarmRestartsConfig{T0: 10, TMult: 1})
		},
		"CyclicLR":   func(g optim.LRGroups) (any, error) { return optim.NewCyclicLR(g, optim.CyclicLRDefaults(0.1, 1)) },
		"OneCycleLR": func(g optim.LRGroups) (any, error) { return optim.NewOneCycleLR(g, optim.OneCycleLRDefaults(10, 1)) },
		"LambdaLR": func(g optim.LRGroups) (any, error) {
			return optim.NewLambdaLR(g, optim.LambdaLRConfig{LRLambda: lambda})
		},
		"MultiplicativeLR": func(g optim.LRGroups) (any, error) {
			return optim.NewMultiplicativeLR(g, optim.MultiplicativeLRConfig{LRLambda: lambda})
		},
		"ReduceLROnPlateau": func(g optim.LRGroups) (any, error) {
			return optim.NewReduceLROnPlateau(g, optim.ReduceLROnPlateauDefaults())
		},
		"SequentialLR": func(g optim.LRGroups) (any, error) {
			child, err := optim.NewExponentialLR(newFakeGroups([]float64{1}, nil), optim.ExponentialLRConfig{Gamma: 0.5})
			if err != nil {
				return nil, err
			}
			return optim.NewSequentialLR(g, optim.SequentialLRConfig{Schedulers: []optim.Scheduler{child}})
		},
	}
	for name, b := range build {
		for what, g := range map[string]optim.LRGroups{
			"nil": nil, "(*SGD)(nil)": (*optim.SGD)(nil), "&SGD{}": &optim.SGD{}, "&Adam{}": &optim.Adam{},
		} {
			require.NotPanics(t, func() {
				_, err := b(g)
				require.ErrorIs(t, err, optim.ErrInvalidConfig, "%s with %s", name, what)
			}, "%s with %s", name, what)
		}
	}
}
