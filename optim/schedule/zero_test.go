package schedule_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

// A schedule not made by its constructor has no groups: its methods that return an
// error refuse with ErrInvalidArgument and change nothing, its getters give zero
// values.
func TestScheduleZeroValuesRefuse(t *testing.T) {
	type stateful interface {
		LastLR() []float64
		State() schedule.State
		SetState(schedule.State) error
	}
	embedded := map[string]interface {
		schedule.Scheduler
		stateful
		BaseLRs() []float64
		LastEpoch() int
	}{
		"StepLR": &schedule.StepLR{}, "MultiStepLR": &schedule.MultiStepLR{}, "ConstantLR": &schedule.ConstantLR{},
		"LinearLR": &schedule.LinearLR{}, "ExponentialLR": &schedule.ExponentialLR{},
		"PolynomialLR": &schedule.PolynomialLR{}, "CosineAnnealingLR": &schedule.CosineAnnealingLR{},
		"CosineAnnealingWarmRestarts": &schedule.CosineAnnealingWarmRestarts{}, "CyclicLR": &schedule.CyclicLR{},
		"OneCycleLR": &schedule.OneCycleLR{}, "LambdaLR": &schedule.LambdaLR{},
		"MultiplicativeLR": &schedule.MultiplicativeLR{},
	}
	const embeddedErr = "schedule: not made by its constructor (NewStepLR, NewLinearLR, ...): goptim: invalid argument"
	for name, s := range embedded {
		require.EqualError(t, s.Step(), embeddedErr, name)
		require.ErrorIs(t, s.SetState(schedule.State{Kind: name}), optim.ErrInvalidArgument, name)
		require.Nil(t, s.LastLR(), name)
		require.Nil(t, s.BaseLRs(), name)
		require.Zero(t, s.LastEpoch(), name)
		require.Zero(t, s.State(), name)
	}
	require.EqualError(t, (&schedule.CosineAnnealingWarmRestarts{}).StepEpoch(0),
		"schedule: CosineAnnealingWarmRestarts: not made by its constructor (NewCosineAnnealingWarmRestarts): goptim: invalid argument")

	own := map[string]stateful{
		"SequentialLR": &schedule.SequentialLR{}, "ChainedScheduler": &schedule.ChainedScheduler{},
		"ReduceLROnPlateau": &schedule.ReduceLROnPlateau{},
	}
	for name, s := range own {
		want := "schedule: " + name + ": not made by its constructor (New" + name + "): goptim: invalid argument"
		require.EqualError(t, s.SetState(schedule.State{Kind: name}), want)
		if sch, ok := s.(schedule.Scheduler); ok {
			require.EqualError(t, sch.Step(), want)
		}
		require.Nil(t, s.LastLR(), name)
		require.Zero(t, s.State(), name)
	}
	p := &schedule.ReduceLROnPlateau{}
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
	good, err := schedule.NewExponentialLR(g, schedule.ExponentialLRConfig{Gamma: 0.5})
	require.NoError(t, err)
	for name, bad := range map[string]schedule.Scheduler{
		"nil": nil, "typed nil": (*schedule.StepLR)(nil), "zero": &schedule.StepLR{},
		"zero OneCycleLR": &schedule.OneCycleLR{}, "zero SequentialLR": &schedule.SequentialLR{},
	} {
		for _, list := range [][]schedule.Scheduler{{bad}, {good, bad}, {bad, good}} {
			_, err := schedule.NewChainedScheduler(list)
			require.ErrorIs(t, err, optim.ErrInvalidConfig, name)
			_, err = schedule.NewSequentialLR(g, schedule.SequentialLRConfig{Schedulers: list, Milestones: make([]int, len(list)-1)})
			require.ErrorIs(t, err, optim.ErrInvalidConfig, name)
		}
	}
	_, err = schedule.NewChainedScheduler([]schedule.Scheduler{&schedule.LinearLR{}})
	require.EqualError(t, err, "schedule: ChainedScheduler: invalid schedulers[0] 0: is a *schedule.LinearLR not made by its constructor")
	require.Equal(t, []float64{1}, g.lr) // nothing was stepped or reset
}

// Every schedule refuses a nil LRGroups, a typed-nil optimizer and an optimizer not
// made by its constructor (it has no param groups).
func TestSchedulesRefuseNilGroups(t *testing.T) {
	lambda := []schedule.LRLambda{func(int) float64 { return 1 }}
	build := map[string]func(optim.LRGroups) (any, error){
		"StepLR": func(g optim.LRGroups) (any, error) {
			return schedule.NewStepLR(g, schedule.StepLRConfig{StepSize: 1, Gamma: 0.5})
		},
		"MultiStepLR": func(g optim.LRGroups) (any, error) {
			return schedule.NewMultiStepLR(g, schedule.MultiStepLRConfig{Milestones: []int{1}, Gamma: 0.5})
		},
		"ConstantLR": func(g optim.LRGroups) (any, error) { return schedule.NewConstantLR(g, schedule.ConstantLRDefaults()) },
		"LinearLR":   func(g optim.LRGroups) (any, error) { return schedule.NewLinearLR(g, schedule.LinearLRDefaults()) },
		"ExponentialLR": func(g optim.LRGroups) (any, error) {
			return schedule.NewExponentialLR(g, schedule.ExponentialLRConfig{Gamma: 0.5})
		},
		"PolynomialLR": func(g optim.LRGroups) (any, error) {
			return schedule.NewPolynomialLR(g, schedule.PolynomialLRDefaults())
		},
		"CosineAnnealingLR": func(g optim.LRGroups) (any, error) {
			return schedule.NewCosineAnnealingLR(g, schedule.CosineAnnealingLRConfig{TMax: 10})
		},
		"CosineAnnealingWarmRestarts": func(g optim.LRGroups) (any, error) {
			return schedule.NewCosineAnnealingWarmRestarts(g, schedule.CosineAnnealingWarmRestartsConfig{T0: 10, TMult: 1})
		},
		"CyclicLR": func(g optim.LRGroups) (any, error) { return schedule.NewCyclicLR(g, schedule.CyclicLRDefaults(0.1, 1)) },
		"OneCycleLR": func(g optim.LRGroups) (any, error) {
			return schedule.NewOneCycleLR(g, schedule.OneCycleLRDefaults(10, 1))
		},
		"LambdaLR": func(g optim.LRGroups) (any, error) {
			return schedule.NewLambdaLR(g, schedule.LambdaLRConfig{LRLambda: lambda})
		},
		"MultiplicativeLR": func(g optim.LRGroups) (any, error) {
			return schedule.NewMultiplicativeLR(g, schedule.MultiplicativeLRConfig{LRLambda: lambda})
		},
		"ReduceLROnPlateau": func(g optim.LRGroups) (any, error) {
			return schedule.NewReduceLROnPlateau(g, schedule.ReduceLROnPlateauDefaults())
		},
		"SequentialLR": func(g optim.LRGroups) (any, error) {
			child, err := schedule.NewExponentialLR(newFakeGroups([]float64{1}, nil), schedule.ExponentialLRConfig{Gamma: 0.5})
			if err != nil {
				return nil, err
			}
			return schedule.NewSequentialLR(g, schedule.SequentialLRConfig{Schedulers: []schedule.Scheduler{child}})
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
