package schedule_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

// Counters that cannot advance without overflowing int: SetState refuses them, a
// Step that would count past MaxSteps fails with ErrFinished and
// changes nothing, and constructors refuse lengths whose arithmetic would overflow.

// statefulScheduler is what every epoch-driven schedule offers.
type statefulScheduler interface {
	schedule.Scheduler
	State() schedule.State
	SetState(schedule.State) error
	LastEpoch() int
}

// boundedSchedules builds one schedule of every epoch-driven kind over fresh groups.
func boundedSchedules(t *testing.T) map[string]func() (statefulScheduler, *fakeGroups) {
	t.Helper()
	mk := func(build func(g *fakeGroups) (statefulScheduler, error)) func() (statefulScheduler, *fakeGroups) {
		return func() (statefulScheduler, *fakeGroups) {
			g := newFakeGroups([]float64{0.1, 0.2}, nil)
			s, err := build(g)
			require.NoError(t, err)
			return s, g
		}
	}
	half := func(e int) float64 { return 0.5 }
	return map[string]func() (statefulScheduler, *fakeGroups){
		"StepLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewStepLR(g, schedule.StepLRConfig{StepSize: 2, Gamma: 0.5})
		}),
		"MultiStepLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewMultiStepLR(g, schedule.MultiStepLRConfig{Milestones: []int{2, 5}, Gamma: 0.5})
		}),
		"ConstantLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewConstantLR(g, schedule.ConstantLRDefaults())
		}),
		"LinearLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewLinearLR(g, schedule.LinearLRDefaults())
		}),
		"ExponentialLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewExponentialLR(g, schedule.ExponentialLRConfig{Gamma: 0.9})
		}),
		"PolynomialLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewPolynomialLR(g, schedule.PolynomialLRDefaults())
		}),
		"CosineAnnealingLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewCosineAnnealingLR(g, schedule.CosineAnnealingLRConfig{TMax: 10})
		}),
		"LambdaLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewLambdaLR(g, schedule.LambdaLRConfig{LRLambda: []schedule.LRLambda{half}})
		}),
		"MultiplicativeLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewMultiplicativeLR(g, schedule.MultiplicativeLRConfig{LRLambda: []schedule.LRLambda{half}})
		}),
		"CosineAnnealingWarmRestarts": mk(func(g *fakeGroups) (statefulScheduler, error) {
			return schedule.NewCosineAnnealingWarmRestarts(g, schedule.CosineAnnealingWarmRestartsConfig{T0: 3, TMult: 2})
		}),
		"CyclicLR": mk(func(g *fakeGroups) (statefulScheduler, error) {
			c := schedule.CyclicLRDefaults(0.01, 0.1)
			c.CycleMomentum = false
			return schedule.NewCyclicLR(g, c)
		}),
	}
}

func TestScheduleSetStateRefusesCountersThatCannotAdvance(t *testing.T) {
	for kind, build := range boundedSchedules(t) {
		t.Run(kind, func(t *testing.T) {
			s, g := build()
			require.NoError(t, s.Step())
			good := s.State()
			for _, epoch := range []int{math.MaxInt, schedule.MaxSteps + 1} {
				st := s.State()
				st.LastEpoch = epoch
				err := s.SetState(st)
				require.ErrorIs(t, err, optim.ErrCheckpoint, "last_epoch %d", epoch)
				require.Contains(t, err.Error(), "more than the 9007199254740992 steps a schedule counts")
				require.Equal(t, good, s.State(), "a refused state changes nothing")
			}

			// The last epoch a schedule counts is a state Step can reach, so SetState
			// takes it; the Step after it fails and changes nothing.
			st := s.State()
			st.LastEpoch = schedule.MaxSteps
			require.NoError(t, s.SetState(st))
			lrs := append([]float64(nil), g.lr...)
			for k := 0; k < 2; k++ {
				err := s.Step()
				require.ErrorIs(t, err, schedule.ErrFinished)
				require.EqualError(t, err, "schedule: "+kind+": cannot step past epoch 9007199254740992, the most a schedule counts: schedule: stepped past its total steps")
				require.Equal(t, schedule.MaxSteps, s.LastEpoch())
				require.Equal(t, st, s.State())
				require.Equal(t, lrs, g.lr)
			}

			// One below: one more step, then the end.
			st.LastEpoch = schedule.MaxSteps - 1
			require.NoError(t, s.SetState(st))
			require.NoError(t, s.Step())
			require.Equal(t, schedule.MaxSteps, s.LastEpoch())
			require.ErrorIs(t, s.Step(), schedule.ErrFinished)
		})
	}
}

func TestOneCycleLRSetStateRefusesEpochsPastItsTotal(t *testing.T) {
	g := newFakeGroups([]float64{0.1}, nil)
	c := schedule.OneCycleLRDefaults(10, 1)
	c.CycleMomentum = false
	s, err := schedule.NewOneCycleLR(g, c)
	require.NoError(t, err)
	good := s.State()
	for _, epoch := range []int{11, schedule.MaxSteps, math.MaxInt} {
		st := s.State()
		st.LastEpoch = epoch
		require.ErrorIs(t, s.SetState(st), optim.ErrCheckpoint, "last_epoch %d", epoch)
		require.Equal(t, good, s.State())
	}
	st := s.State()
	st.LastEpoch = 11
	require.EqualError(t, s.SetState(st), "schedule: OneCycleLR: state has last_epoch 11, past its total steps 10: optim: bad checkpoint")
	st.LastEpoch = 10 // reached by 10 steps; the next one is refused
	require.NoError(t, s.SetState(st))
	require.ErrorIs(t, s.Step(), schedule.ErrFinished)
	require.Equal(t, 10, s.LastEpoch())
}

func TestReduceLROnPlateauCountersCannotOverflow(t *testing.T) {
	g := newFakeGroups([]float64{0.1, 0.2}, nil)
	c := schedule.ReduceLROnPlateauDefaults()
	c.Patience = math.MaxInt // bad epochs count up for ever
	p, err := schedule.NewReduceLROnPlateau(g, c)
	require.NoError(t, err)
	require.NoError(t, p.Step(1))
	good := p.State()

	for _, f := range []func(*schedule.State){
		func(st *schedule.State) { st.LastEpoch = math.MaxInt },
		func(st *schedule.State) { st.LastEpoch = schedule.MaxSteps + 1 },
		func(st *schedule.State) { st.NumBadEpochs = math.MaxInt },
		func(st *schedule.State) { st.LastEpoch, st.NumBadEpochs = 10, 11 },
	} {
		st := p.State()
		f(&st)
		require.ErrorIs(t, p.SetState(st), optim.ErrCheckpoint, "%+v", st)
		require.Equal(t, good, p.State())
	}
	st := p.State()
	st.LastEpoch, st.NumBadEpochs = 10, 11
	require.EqualError(t, p.SetState(st), "schedule: ReduceLROnPlateau: state has num_bad_epochs 11 after 10 epochs: optim: bad checkpoint")

	// Both counters one below the end: one more bad epoch, then the end, unchanged.
	st = p.State()
	st.LastEpoch, st.NumBadEpochs = schedule.MaxSteps-1, schedule.MaxSteps-1
	require.NoError(t, p.SetState(st))
	require.NoError(t, p.Step(2))
	require.Equal(t, schedule.MaxSteps, p.LastEpoch())
	require.Equal(t, schedule.MaxSteps, p.NumBadEpochs())
	end := p.State()
	lrs := append([]float64(nil), g.lr...)
	err = p.Step(3)
	require.ErrorIs(t, err, schedule.ErrFinished)
	require.EqualError(t, err, "schedule: ReduceLROnPlateau: cannot step past epoch 9007199254740992, the most a schedule counts: schedule: stepped past its total steps")
	require.Equal(t, end, p.State())
	require.Equal(t, lrs, g.lr)
}

func TestComposedSchedulesCannotOverflow(t *testing.T) {
	build := func() (*schedule.SequentialLR, *schedule.ChainedScheduler, *fakeGroups, *fakeGroups) {
		gs, gc := newFakeGroups([]float64{0.1}, nil), newFakeGroups([]float64{0.1}, nil)
		a, err := schedule.NewLinearLR(gs, schedule.LinearLRDefaults())
		require.NoError(t, err)
		b, err := schedule.NewExponentialLR(gs, schedule.ExponentialLRConfig{Gamma: 0.9})
		require.NoError(t, err)
		s, err := schedule.NewSequentialLR(gs, schedule.SequentialLRConfig{Schedulers: []schedule.Scheduler{a, b}, Milestones: []int{3}})
		require.NoError(t, err)
		c1, err := schedule.NewExponentialLR(gc, schedule.ExponentialLRConfig{Gamma: 0.9})
		require.NoError(t, err)
		c2, err := schedule.NewStepLR(gc, schedule.StepLRConfig{StepSize: 2, Gamma: 0.5})
		require.NoError(t, err)
		c, err := schedule.NewChainedScheduler([]schedule.Scheduler{c1, c2})
		require.NoError(t, err)
		return s, c, gs, gc
	}
	s, c, gs, gc := build()
	require.NoError(t, s.Step())
	require.NoError(t, c.Step())

	// SequentialLR: its own counter.
	good := s.State()
	st := s.State()
	st.LastEpoch = math.MaxInt
	err := s.SetState(st)
	require.ErrorIs(t, err, optim.ErrCheckpoint)
	require.EqualError(t, err, "schedule: SequentialLR: state has last_epoch 9223372036854775807, more than the 9007199254740992 steps a schedule counts: optim: bad checkpoint")
	require.Equal(t, good, s.State())
	st.LastEpoch = schedule.MaxSteps
	st.Children[1].LastEpoch = schedule.MaxSteps - 3
	require.NoError(t, s.SetState(st))
	lrs := append([]float64(nil), gs.lr...)
	require.ErrorIs(t, s.Step(), schedule.ErrFinished)
	require.Equal(t, st, s.State())
	require.Equal(t, lrs, gs.lr)

	// A child's counter is checked too.
	st = good
	st.Children = append([]schedule.State(nil), good.Children...)
	st.Children[0].LastEpoch = math.MaxInt
	require.ErrorIs(t, s.SetState(st), optim.ErrCheckpoint)

	// ChainedScheduler: a child at the end fails the step before any child moves.
	cs := c.State()
	cs.Children = append([]schedule.State(nil), cs.Children...)
	cs.Children[1].LastEpoch = schedule.MaxSteps
	require.NoError(t, c.SetState(cs))
	lrs = append([]float64(nil), gc.lr...)
	err = c.Step()
	require.ErrorIs(t, err, schedule.ErrFinished)
	require.True(t, strings.HasPrefix(err.Error(), "schedule: ChainedScheduler: schedulers[1]: schedule: StepLR: cannot step past epoch"), err.Error())
	require.Equal(t, cs, c.State(), "no child stepped")
	require.Equal(t, lrs, gc.lr)
	cs.Children[1].LastEpoch = math.MaxInt
	require.ErrorIs(t, c.SetState(cs), optim.ErrCheckpoint)
}

// OneCycleLR checks epochs*steps_per_epoch before multiplying and blames those
// fields, not pct_start (whose phases an overflowed total would empty).
func TestOneCycleLRTotalStepsOverflow(t *testing.T) {
	for _, tc := range []struct {
		total, epochs, steps int
		field                string
	}{
		{0, 1 << 32, 1 << 32, "epochs*steps_per_epoch"},     // wraps to 0
		{0, 3, math.MaxInt/2 + 1, "epochs*steps_per_epoch"}, // wraps negative
		{0, math.MaxInt, math.MaxInt, "epochs*steps_per_epoch"},
		{0, 1 << 27, 1 << 27, "epochs*steps_per_epoch"}, // 2^54: no overflow, but past MaxSteps
		{math.MaxInt, 0, 0, "total_steps"},
		{schedule.MaxSteps + 1, 0, 0, "total_steps"},
	} {
		g := newFakeGroups([]float64{0.1}, []float64{0.5})
		c := schedule.OneCycleLRDefaults(tc.total, 1)
		c.Epochs, c.StepsPerEpoch = tc.epochs, tc.steps
		_, err := schedule.NewOneCycleLR(g, c)
		require.ErrorIs(t, err, optim.ErrInvalidConfig, "%+v", tc)
		var ce *optim.ConfigError
		require.True(t, errors.As(err, &ce), "%v", err)
		require.Equal(t, tc.field, ce.Field, "%+v: %v", tc, err)
		require.Equal(t, []float64{0.1}, g.lr, "a refused schedule changes no lr")
		require.Equal(t, []float64{0.5}, g.mom, "nor a momentum")
	}
	c := schedule.OneCycleLRDefaults(0, 1)
	c.Epochs, c.StepsPerEpoch = 1<<32, 1<<32
	_, err := schedule.NewOneCycleLR(newFakeGroups([]float64{0.1}, []float64{0.5}), c)
	require.EqualError(t, err, "schedule: OneCycleLR: invalid epochs*steps_per_epoch 1.8446744073709552e+19: must be at most 9007199254740992, the most steps a schedule counts (epochs 4294967296, steps_per_epoch 4294967296)")
	_, err = schedule.NewOneCycleLR(newFakeGroups([]float64{0.1}, []float64{0.5}), schedule.OneCycleLRDefaults(math.MaxInt, 1))
	require.EqualError(t, err, "schedule: OneCycleLR: invalid total_steps 9.223372036854776e+18: must be at most 9007199254740992, the most steps a schedule counts")

	// The longest cycle there is still builds.
	c = schedule.OneCycleLRDefaults(0, 1)
	c.Epochs, c.StepsPerEpoch = 1<<26, 1<<27
	s, err := schedule.NewOneCycleLR(newFakeGroups([]float64{0.1}, []float64{0.5}), c)
	require.NoError(t, err)
	require.Equal(t, schedule.MaxSteps, s.TotalSteps())
}

// CosineAnnealingWarmRestarts.StepEpoch finds the cycle of an epoch without adding
// up cycle lengths near math.MaxInt.
func TestWarmRestartsStepEpochWithHugeCycles(t *testing.T) {
	g := newFakeGroups([]float64{0.1}, nil)
	mult := math.MaxInt / 3
	s, err := schedule.NewCosineAnnealingWarmRestarts(g, schedule.CosineAnnealingWarmRestartsConfig{T0: 3, TMult: mult})
	require.NoError(t, err)
	require.NoError(t, s.StepEpoch(3.5)) // the second cycle: 3*mult epochs from epoch 3
	require.Equal(t, 0.5, s.TCur())
	require.Equal(t, 3*mult, s.TI())
	require.Equal(t, 3, s.LastEpoch())
	require.InDelta(t, 0.1, g.lr[0], 1e-15)
	require.NoError(t, s.StepEpoch(2.5)) // back in the first
	require.Equal(t, 2.5, s.TCur())
	require.Equal(t, 3, s.TI())
	require.NoError(t, s.StepEpoch(1<<51)) // far into the second cycle
	require.Equal(t, float64(1<<51-3), s.TCur())
	require.Equal(t, 3*mult, s.TI())
}
