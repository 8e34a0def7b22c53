package schedule

import (
	"errors"
	"fmt"

	"github.com/goptim/goptim/optim"
)

// SequentialLRConfig configures SequentialLR (torch.optim.lr_scheduler.SequentialLR).
type SequentialLRConfig struct {
	// Schedulers are the schedules to run one after the other, built on the same
	// optimizer just before (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR,
	// PolynomialLR, CosineAnnealingLR, LambdaLR, MultiplicativeLR,
	// CosineAnnealingWarmRestarts, CyclicLR or OneCycleLR).
	Schedulers []Scheduler
	// Milestones are the steps at which the next schedule takes over: one fewer than
	// Schedulers, > 0 and strictly increasing.
	Milestones []int
}

// SequentialLR is torch.optim.lr_scheduler.SequentialLR: Schedulers[i] drives the lr
// from Milestones[i-1] on. It does what torch does, quirks included:
//
//   - Construction puts every group's lr back to its initial lr (the lr before the
//     first of the children was built), winds every child back by one step and
//     restarts the first: the lrs are the first schedule's at its epoch 0.
//   - At a milestone the next schedule takes torch's step(0): its closed form at epoch
//     0 where torch has one, computed from its base lr and not from the current lr
//     (LinearLR restarts at base_lr*start_factor, CosineAnnealingLR at base_lr, and
//     so on), else its usual step to epoch 0 (LambdaLR: base_lr*lr_lambda(0);
//     MultiplicativeLR keeps the current lr; CyclicLR and CosineAnnealingWarmRestarts
//     restart their cycle). From there it steps as usual; its epochs count from the
//     milestone.
//   - The children's base lrs are the initial lrs, as in torch where they all read the
//     optimizer's shared initial_lr (see ChainedScheduler).
//
// LastLR is the active child's LastLR. The schedule owns its children: do not step
// them yourself.
type SequentialLR struct {
	groups     optim.LRGroups // nil only when not made by NewSequentialLR; the methods check it
	kids       []*lrSchedule
	scheds     []Scheduler
	milestones []int
	epoch      int
	last       []float64
}

// NewSequentialLR checks cfg, resets the groups' lrs and restarts the first schedule,
// as torch's constructor does.
func NewSequentialLR(g optim.LRGroups, cfg SequentialLRConfig) (*SequentialLR, error) {
	if _, err := checkGroups(kindSequential, g); err != nil {
		return nil, err
	}
	kids, err := children(kindSequential, g, cfg.Schedulers)
	if err != nil {
		return nil, err
	}
	if len(cfg.Milestones) != len(kids)-1 {
		return nil, configErr(kindSequential, "milestones", float64(len(cfg.Milestones)),
			fmt.Sprintf("needs one fewer milestone than schedulers (%d)", len(kids)))
	}
	if err := checkMilestones(kindSequential, cfg.Milestones); err != nil {
		return nil, err
	}
	initial := rebase(kids)
	for i, lr := range initial {
		if err := g.SetGroupLR(i, lr); err != nil {
			return nil, fmt.Errorf("schedule: SequentialLR: group %d: initial lr %v: %w", i, lr, err)
		}
	}
	for _, k := range kids {
		k.epoch--
	}
	if err := kids[0].advance(false); err != nil {
		return nil, err
	}
	return &SequentialLR{groups: g, kids: kids, scheds: append([]Scheduler(nil), cfg.Schedulers...),
		milestones: append([]int(nil), cfg.Milestones...), last: kids[0].LastLR()}, nil
}

// Step advances by one: the child for the new step count takes one step (at its
// milestone: jumps to its epoch 0).
func (s *SequentialLR) Step() error {
	if s.groups == nil {
		return errNotMade(kindSequential)
	}
	if s.epoch >= MaxSteps {
		return errPastMaxSteps(kindSequential)
	}
	epoch := s.epoch + 1
	idx := 0 // bisect_right(milestones, epoch)
	for idx < len(s.milestones) && s.milestones[idx] <= epoch {
		idx++
	}
	k := s.kids[idx]
	var err error
	if idx > 0 && s.milestones[idx-1] == epoch {
		err = k.advance(true)
	} else {
		err = k.advance(false)
	}
	if err != nil {
		return err
	}
	s.epoch = epoch
	s.last = k.LastLR()
	return nil
}

// LastLR is the lr of every group after the latest step.
func (s *SequentialLR) LastLR() []float64 { return append([]float64(nil), s.last...) }

// LastEpoch is the number of Steps since construction.
func (s *SequentialLR) LastEpoch() int { return s.epoch }

// Schedulers returns the children.
func (s *SequentialLR) Schedulers() []Scheduler { return append([]Scheduler(nil), s.scheds...) }

// Milestones returns the milestones.
func (s *SequentialLR) Milestones() []int { return append([]int(nil), s.milestones...) }

// State returns the step count, the last lrs and the children's states.
func (s *SequentialLR) State() State {
	if s.groups == nil {
		return State{}
	}
	return State{Kind: kindSequential, LastEpoch: s.epoch, LastLR: s.LastLR(), Children: childStates(s.kids)}
}

// SetState restores what State returned, children included, on a SequentialLR built
// the same way. It does not change the groups' lrs.
func (s *SequentialLR) SetState(st State) error {
	if s.groups == nil {
		return errNotMade(kindSequential)
	}
	if st.Kind != kindSequential || st.LastEpoch < 0 || len(st.BaseLRs) != 0 || len(st.LastLR) != s.groups.NumGroups() {
		return fmt.Errorf("schedule: %s: state does not fit (kind %s, last_epoch %d, %d groups): %w",
			kindSequential, st.Kind, st.LastEpoch, len(st.LastLR), optim.ErrCheckpoint)
	}
	if st.LastEpoch > MaxSteps {
		return errStateEpoch(kindSequential, st.LastEpoch)
	}
	if err := setChildStates(kindSequential, s.kids, st.Children); err != nil {
		return err
	}
	s.epoch = st.LastEpoch
	s.last = append([]float64(nil), st.LastLR...)
	return nil
}

// ChainedScheduler is torch.optim.lr_scheduler.ChainedScheduler: Step steps every
// child in order, so their recursive formulas compose (multiply, for the
// multiplicative ones): e.g. ConstantLR and ExponentialLR give a damped start of an
// exponential decay. LastLR is the groups' lrs after the last child's step.
//
// As in torch, where every scheduler's base_lrs come from the optimizer's shared
// initial_lr (set by the first scheduler built on it), the children built after the
// first get the first one's base lrs. This matters for CosineAnnealingLR, whose step
// past T_max uses its base lr.
type ChainedScheduler struct {
	groups optim.LRGroups // nil only when not made by NewChainedScheduler; the methods check it
	kids   []*lrSchedule
	scheds []Scheduler
	last   []float64
}

// NewChainedScheduler chains schedules built on the same optimizer (StepLR,
// MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR,
// LambdaLR, MultiplicativeLR, CosineAnnealingWarmRestarts, CyclicLR or OneCycleLR).
// Like torch's, it changes no lr.
func NewChainedScheduler(schedulers []Scheduler) (*ChainedScheduler, error) {
	kids, err := children(kindChained, nil, schedulers)
	if err != nil {
		return nil, err
	}
	rebase(kids)
	g := kids[0].groups
	return &ChainedScheduler{groups: g, kids: kids, scheds: append([]Scheduler(nil), schedulers...),
		last: groupLRs(g)}, nil
}

// Step steps every child, in order. If one fails, the ones before it have stepped;
// a child that has counted MaxSteps fails the step before any child moves.
func (c *ChainedScheduler) Step() error {
	if c.groups == nil {
		return errNotMade(kindChained)
	}
	for i, k := range c.kids {
		if k.epoch >= MaxSteps {
			return fmt.Errorf("schedule: ChainedScheduler: schedulers[%d]: %w", i, errPastMaxSteps(k.kind))
		}
	}
	for i, k := range c.kids {
		if err := k.advance(false); err != nil {
			c.last = groupLRs(c.groups)
			return fmt.Errorf("schedule: ChainedScheduler: schedulers[%d]: %w", i, err)
		}
	}
	c.last = groupLRs(c.groups)
	return nil
}

// LastLR is the lr of every group after the latest step.
func (c *ChainedScheduler) LastLR() []float64 { return append([]float64(nil), c.last...) }

// Schedulers returns the children.
func (c *ChainedScheduler) Schedulers() []Scheduler { return append([]Scheduler(nil), c.scheds...) }

// State returns the last lrs and the children's states.
func (c *ChainedScheduler) State() State {
	if c.groups == nil {
		return State{}
	}
	return State{Kind: kindChained, LastLR: c.LastLR(), Children: childStates(c.kids)}
}

// SetState restores what State returned, children included, on a ChainedScheduler
// built the same way. It does not change the groups' lrs.
func (c *ChainedScheduler) SetState(st State) error {
	if c.groups == nil {
		return errNotMade(kindChained)
	}
	if st.Kind != kindChained || st.LastEpoch != 0 || len(st.BaseLRs) != 0 || len(st.LastLR) != c.groups.NumGroups() {
		return fmt.Errorf("schedule: %s: state does not fit (kind %s, %d groups): %w",
			kindChained, st.Kind, len(st.LastLR), optim.ErrCheckpoint)
	}
	if err := setChildStates(kindChained, c.kids, st.Children); err != nil {
		return err
	}
	c.last = append([]float64(nil), st.LastLR...)
	return nil
}

func childStates(kids []*lrSchedule) []State {
	out := make([]State, len(kids))
	for i, k := range kids {
		out[i] = k.State()
	}
	return out
}

// setChildStates checks every child's state before it sets any.
func setChildStates(kind string, kids []*lrSchedule, st []State) error {
	if len(st) != len(kids) {
		return fmt.Errorf("schedule: %s: state has %d children, have %d: %w", kind, len(st), len(kids), optim.ErrCheckpoint)
	}
	var errs []error
	for i, k := range kids {
		if err := k.checkState(st[i]); err != nil {
			errs = append(errs, fmt.Errorf("child %d: %w", i, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i, k := range kids {
		_ = k.SetState(st[i])
	}
	return nil
}
