package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync/atomic"

	"github.com/goptim/goptim/optim"
)

// Scheduler is a learning-rate schedule driven by epochs or iterations: torch's
// _LRScheduler. Call Step once per epoch (or per batch for OneCycleLR), after the
// optimizer's Step, as in torch. ReduceLROnPlateau is not a Scheduler: its Step takes
// the metric it watches.
type Scheduler interface {
	// Step advances the schedule by one and sets the new lr of every group.
	Step() error
	// LastLR is the lr of every group after the latest step (or after construction):
	// torch's get_last_lr(). It returns a copy.
	LastLR() []float64
}

// ErrFinished is returned by OneCycleLR.Step past its total steps (torch raises
// "Tried to step N times"), and by the Step of any schedule that has counted
// MaxSteps steps. It leaves the schedule and the learning rates unchanged.
var ErrFinished = errors.New("schedule: stepped past its total steps")

// MaxSteps is the most steps a schedule counts: Step fails with ErrFinished past
// it, SetState refuses a state beyond it, and OneCycleLR refuses a longer cycle. It is 2^53 (math.MaxInt where int is 32 bits): the
// schedules compute with float64(epoch), exact up to there, and every counter
// derived from the step count stays far from overflowing int.
const MaxSteps = min(math.MaxInt, 1<<53)

// errPastMaxSteps is the error of a Step that would count past MaxSteps.
func errPastMaxSteps(kind string) error {
	return fmt.Errorf("schedule: %s: cannot step past epoch %d, the most a schedule counts: %w",
		kind, MaxSteps, ErrFinished)
}

// errNotMade is the error of a method called on a schedule its constructor did not
// make (a zero StepLR, &ReduceLROnPlateau{}): it has no groups to drive. Such a
// schedule's getters return zero values.
func errNotMade(kind string) error {
	if kind == "" { // the nil *lrSchedule of a zero StepLR, LinearLR, ... cannot tell which it is
		return fmt.Errorf("schedule: not made by its constructor (NewStepLR, NewLinearLR, ...): %w", optim.ErrInvalidArgument)
	}
	return fmt.Errorf("schedule: %s: not made by its constructor (New%s): %w", kind, kind, optim.ErrInvalidArgument)
}

// errStateEpoch is SetState's error for a last_epoch above MaxSteps.
func errStateEpoch(kind string, epoch int) error {
	return fmt.Errorf("schedule: %s: state has last_epoch %d, more than the %d steps a schedule counts: %w",
		kind, epoch, MaxSteps, optim.ErrCheckpoint)
}

// State is the mutable state of a schedule, for checkpoints: a schedule's State
// method returns it and its SetState restores it on a schedule constructed with the
// same config over the same groups. It holds what torch's state_dict() holds beyond
// the config: the step count (torch's last_epoch), the base lrs and the last lrs, the
// plateau counters of ReduceLROnPlateau, and the children of SequentialLR and
// ChainedScheduler, in order.
// It encodes to JSON with encoding/json (a non-finite Best as the string "inf", "-inf"
// or "nan").
//
// The learning rates themselves belong to the optimizer: restore them with the
// optimizer's checkpoint; SetState does not change them (neither does torch's
// load_state_dict).
type State struct {
	// Kind is torch's class name, e.g. "CosineAnnealingLR"; SetState checks it.
	Kind string `json:"kind"`
	// LastEpoch is torch's last_epoch: the number of Steps since construction (0 right
	// after construction; -1 for a child of SequentialLR that has not started;
	// floor(epoch) after CosineAnnealingWarmRestarts.StepEpoch); at most
	// MaxSteps (OneCycleLR: its total steps).
	LastEpoch int `json:"last_epoch"`
	// BaseLRs is torch's base_lrs (OneCycleLR: max_lr/div_factor; ReduceLROnPlateau,
	// SequentialLR and ChainedScheduler: nil).
	BaseLRs []float64 `json:"base_lrs,omitempty"`
	// LastLR is what LastLR returns.
	LastLR []float64 `json:"last_lr"`
	// Best, NumBadEpochs and CooldownCounter are ReduceLROnPlateau's counters.
	Best            float64 `json:"-"`
	NumBadEpochs    int     `json:"num_bad_epochs,omitempty"`
	CooldownCounter int     `json:"cooldown_counter,omitempty"`
	// Children are the states of a SequentialLR's or ChainedScheduler's schedules.
	Children []State `json:"children,omitempty"`
	// TCur and TI are CosineAnnealingWarmRestarts' position in its cycle (torch's
	// T_cur, fractional after StepEpoch) and the length of the cycle (T_i).
	TCur float64 `json:"T_cur,omitempty"`
	TI   int     `json:"T_i,omitempty"`
}

type stateJSON State

// MarshalJSON encodes s with Best (ReduceLROnPlateau only) as a number, or as "inf",
// "-inf" or "nan" when it is not finite (it is +inf or -inf before the first metric).
func (s State) MarshalJSON() ([]byte, error) {
	var best any
	if s.Kind == kindPlateau {
		switch {
		case math.IsNaN(s.Best):
			best = "nan"
		case math.IsInf(s.Best, 1):
			best = "inf"
		case math.IsInf(s.Best, -1):
			best = "-inf"
		default:
			best = s.Best
		}
	}
	return json.Marshal(struct {
		stateJSON
		Best any `json:"best,omitempty"`
	}{stateJSON(s), best})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *State) UnmarshalJSON(b []byte) error {
	var v struct {
		stateJSON
		Best json.RawMessage `json:"best"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = State(v.stateJSON)
	s.Best = 0
	if len(v.Best) == 0 || string(v.Best) == "null" {
		return nil
	}
	var str string
	if err := json.Unmarshal(v.Best, &str); err == nil {
		switch str {
		case "inf":
			s.Best = math.Inf(1)
		case "-inf":
			s.Best = math.Inf(-1)
		case "nan":
			s.Best = math.NaN()
		default:
			return fmt.Errorf("schedule: state: bad best %q: %w", str, optim.ErrCheckpoint)
		}
		return nil
	}
	return json.Unmarshal(v.Best, &s.Best)
}

// Torch's class names, used in errors and in State.Kind.
const (
	kindStep        = "StepLR"
	kindMultiStep   = "MultiStepLR"
	kindConstant    = "ConstantLR"
	kindLinear      = "LinearLR"
	kindExponential = "ExponentialLR"
	kindPolynomial  = "PolynomialLR"
	kindCosine      = "CosineAnnealingLR"
	kindOneCycle    = "OneCycleLR"
	kindPlateau     = "ReduceLROnPlateau"
	kindSequential  = "SequentialLR"
	kindChained     = "ChainedScheduler"
	kindLambda      = "LambdaLR"
	kindMultiplicat = "MultiplicativeLR"
	kindCyclic      = "CyclicLR"
	kindRestarts    = "CosineAnnealingWarmRestarts"
)

// chainableKinds lists, for errors, the schedules SequentialLR and ChainedScheduler
// take.
const chainableKinds = "StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, " +
	"CosineAnnealingLR, LambdaLR, MultiplicativeLR, CosineAnnealingWarmRestarts, CyclicLR or OneCycleLR"

// buildSeq numbers schedules in construction order, so that SequentialLR and
// ChainedScheduler can tell which of their children was built first (see rebase).
var buildSeq atomic.Uint64

// configError is an *optim.ConfigError worded as the other errors of this package
// ("schedule: <Kind>: invalid ..."); errors.As finds the *optim.ConfigError in it,
// and it matches optim.ErrInvalidConfig.
type configError struct{ *optim.ConfigError }

func (e *configError) Error() string {
	return fmt.Sprintf("schedule: %s: invalid %s %v: %s", e.Optimizer, e.Field, e.Value, e.Reason)
}

func (e *configError) Unwrap() error { return e.ConfigError }

func configErr(kind, field string, v float64, reason string) error {
	return &configError{&optim.ConfigError{Optimizer: kind, Field: field, Value: v, Reason: reason}}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkGroups validates the LRGroups a schedule drives and returns its current lrs.
func checkGroups(kind string, g optim.LRGroups) ([]float64, error) {
	if g == nil || (reflect.ValueOf(g).Kind() == reflect.Pointer && reflect.ValueOf(g).IsNil()) {
		return nil, fmt.Errorf("schedule: %s: nil LRGroups: %w", kind, optim.ErrInvalidConfig)
	}
	n := g.NumGroups()
	if n < 1 {
		return nil, configErr(kind, "optimizer", float64(n), "has no param groups")
	}
	return groupLRs(g), nil
}

func groupLRs(g optim.LRGroups) []float64 {
	lrs := make([]float64, g.NumGroups())
	for i := range lrs {
		lrs[i] = g.GroupLR(i)
	}
	return lrs
}

// sameGroups reports whether a and b are the same LRGroups (the same optimizer),
// without panicking on incomparable dynamic types.
func sameGroups(a, b optim.LRGroups) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb || ta == nil {
		return ta == tb
	}
	if !ta.Comparable() {
		return false
	}
	return a == b
}

// perGroup expands a "float or list" option of torch (or LambdaLR's "function or
// list"): one value for every group, or one value per group.
func perGroup[T any](kind, field string, v []T, n int, def T) ([]T, error) {
	switch len(v) {
	case 0:
		out := make([]T, n)
		for i := range out {
			out[i] = def
		}
		return out, nil
	case 1:
		out := make([]T, n)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	case n:
		return append([]T(nil), v...), nil
	}
	return nil, configErr(kind, field, float64(len(v)),
		fmt.Sprintf("needs 1 value or one per param group (%d)", n))
}

// lrSchedule is the machinery shared by the epoch-driven schedules: torch's
// _LRScheduler. lrAt is the schedule's get_lr (the chainable form, reading the groups'
// current lrs) and closed its _get_closed_form_lr, used only by SequentialLR at a
// milestone (nil where torch has none: OneCycleLR).
type lrSchedule struct {
	groups optim.LRGroups
	kind   string
	seq    uint64
	base   []float64
	last   []float64
	epoch  int
	lrAt   func(epoch int) (lrs, momenta []float64, err error)
	closed func(epoch int) []float64
	// maxEpoch is the largest last_epoch SetState accepts: MaxSteps, or
	// OneCycleLR's total steps, the last epoch its Step reaches.
	maxEpoch int
	// own, when set, holds counters of the schedule's own beyond the epoch
	// (CosineAnnealingWarmRestarts' T_cur and T_i): lrAt computes them, and they are
	// kept (commit) only once the step has succeeded.
	own ownCounters
}

// ownCounters are a schedule's counters beyond last_epoch, base and last lrs.
type ownCounters interface {
	commit()           // keep what the latest lrAt computed
	save(*State)       // write the counters into a state
	check(State) error // validate a state's counters
	load(State)        // restore them from a checked state
}

func newLRSchedule(kind string, g optim.LRGroups) (*lrSchedule, error) {
	lrs, err := checkGroups(kind, g)
	if err != nil {
		return nil, err
	}
	return &lrSchedule{groups: g, kind: kind, seq: buildSeq.Add(1), base: lrs,
		last: append([]float64(nil), lrs...), epoch: -1, maxEpoch: MaxSteps}, nil
}

// The exported methods below check for a nil s: the embedded *lrSchedule of a
// schedule its constructor did not make (a zero StepLR).

// Step advances the schedule by one epoch (torch: scheduler.step()).
func (s *lrSchedule) Step() error {
	if s == nil {
		return errNotMade("")
	}
	return s.advance(false)
}

// LastLR is the lr of every group after the latest step: torch's get_last_lr().
func (s *lrSchedule) LastLR() []float64 {
	if s == nil {
		return nil
	}
	return append([]float64(nil), s.last...)
}

// BaseLRs are the lrs the schedule starts from: torch's base_lrs.
func (s *lrSchedule) BaseLRs() []float64 {
	if s == nil {
		return nil
	}
	return append([]float64(nil), s.base...)
}

// LastEpoch is the number of Steps since construction: torch's last_epoch.
func (s *lrSchedule) LastEpoch() int {
	if s == nil {
		return 0
	}
	return s.epoch
}

// State returns the schedule's step count, base lrs and last lrs.
func (s *lrSchedule) State() State {
	if s == nil {
		return State{}
	}
	st := State{Kind: s.kind, LastEpoch: s.epoch, BaseLRs: s.BaseLRs(), LastLR: s.LastLR()}
	if s.own != nil {
		s.own.save(&st)
	}
	return st
}

// SetState restores what State returned, on a schedule of the same kind over as many
// groups. It does not change the groups' lrs.
func (s *lrSchedule) SetState(st State) error {
	if s == nil {
		return errNotMade("")
	}
	if err := s.checkState(st); err != nil {
		return err
	}
	s.epoch = st.LastEpoch
	s.base = append([]float64(nil), st.BaseLRs...)
	s.last = append([]float64(nil), st.LastLR...)
	if s.own != nil {
		s.own.load(st)
	}
	return nil
}

func (s *lrSchedule) checkState(st State) error {
	n := s.groups.NumGroups()
	switch {
	case st.Kind != s.kind:
		return fmt.Errorf("schedule: %s: state of a %s: %w", s.kind, st.Kind, optim.ErrCheckpoint)
	case st.LastEpoch < -1:
		return fmt.Errorf("schedule: %s: state has last_epoch %d: %w", s.kind, st.LastEpoch, optim.ErrCheckpoint)
	case st.LastEpoch > MaxSteps:
		return errStateEpoch(s.kind, st.LastEpoch)
	case st.LastEpoch > s.maxEpoch:
		return fmt.Errorf("schedule: %s: state has last_epoch %d, past its total steps %d: %w",
			s.kind, st.LastEpoch, s.maxEpoch, optim.ErrCheckpoint)
	case len(st.BaseLRs) != n || len(st.LastLR) != n:
		return fmt.Errorf("schedule: %s: state for %d/%d groups, have %d: %w",
			s.kind, len(st.BaseLRs), len(st.LastLR), n, optim.ErrCheckpoint)
	case len(st.Children) != 0:
		return fmt.Errorf("schedule: %s: state has children: %w", s.kind, optim.ErrCheckpoint)
	}
	for i := 0; i < n; i++ {
		if !finite(st.BaseLRs[i]) || !finite(st.LastLR[i]) {
			return fmt.Errorf("schedule: %s: state has a non-finite lr: %w", s.kind, optim.ErrCheckpoint)
		}
	}
	if s.own != nil {
		return s.own.check(st)
	}
	if st.TCur != 0 || st.TI != 0 {
		return fmt.Errorf("schedule: %s: state has T_cur/T_i (a CosineAnnealingWarmRestarts'): %w", s.kind, optim.ErrCheckpoint)
	}
	return nil
}

// negligibleLR: a computed lr in [-negligibleLR*max(base_lr, lr), 0) is rounding noise
// around an exact 0 and is set to 0. Torch sets such lrs as they come (LinearLR with
// end_factor 0, for one, ends at -4.7e-18*base_lr), but the optimizers of package optim
// refuse a negative lr. Larger negative lrs (OneCycleLR's linear anneal one step past
// total_steps, or a chainable schedule fed an lr below its eta_min from outside) are
// errors that change nothing.
const negligibleLR = 1e-12

// advance is torch's _LRScheduler.step(): step() when toZero is false, step(0) (the
// closed form at epoch 0, as SequentialLR calls it at a milestone) when true. The new
// lrs are all checked before any is set, so a failing step changes nothing.
func (s *lrSchedule) advance(toZero bool) error {
	if !toZero && s.epoch >= MaxSteps {
		return errPastMaxSteps(s.kind)
	}
	epoch := s.epoch + 1
	var lrs, momenta []float64
	if toZero {
		epoch = 0
	}
	if toZero && s.closed != nil {
		lrs = s.closed(epoch)
	} else {
		var err error
		if lrs, momenta, err = s.lrAt(epoch); err != nil {
			return err
		}
	}
	return s.apply(epoch, lrs, momenta)
}

// apply sets the lrs (and momenta, if any) a step computed and makes epoch the
// schedule's last_epoch. It checks every lr first and puts the momenta back if one
// is refused, so a failing step changes nothing.
func (s *lrSchedule) apply(epoch int, lrs, momenta []float64) error {
	for i, lr := range lrs {
		if lr < 0 && -lr <= negligibleLR*math.Max(s.base[i], s.groups.GroupLR(i)) {
			lrs[i], lr = 0, 0 // rounding below an exact 0, see negligibleLR
		}
		if !finite(lr) || lr < 0 {
			return fmt.Errorf("schedule: %s: epoch %d gives group %d the lr %v: %w",
				s.kind, epoch, i, lr, optim.ErrInvalidConfig)
		}
	}
	// On a refusal (an lr past float32's range for the optimizers of package optim,
	// or whatever an LRGroups of the caller's refuses), put back what this step had
	// set: values accepted before, so accepted again.
	oldMom, oldLR := make([]float64, len(momenta)), groupLRs(s.groups)
	undo := func(moms, lrs int) {
		for j := 0; j < moms; j++ {
			_ = s.groups.SetGroupMomentum(j, oldMom[j])
		}
		for j := 0; j < lrs; j++ {
			_ = s.groups.SetGroupLR(j, oldLR[j])
		}
	}
	for i, m := range momenta {
		oldMom[i], _ = s.groups.GroupMomentum(i)
		if err := s.groups.SetGroupMomentum(i, m); err != nil {
			undo(i, 0)
			return fmt.Errorf("schedule: %s: epoch %d: group %d: momentum %v: %w", s.kind, epoch, i, m, err)
		}
	}
	for i, lr := range lrs {
		if err := s.groups.SetGroupLR(i, lr); err != nil {
			undo(len(momenta), i)
			return fmt.Errorf("schedule: %s: epoch %d: group %d: lr %v: %w", s.kind, epoch, i, lr, err)
		}
	}
	s.epoch = epoch
	s.last = groupLRs(s.groups)
	if s.own != nil {
		s.own.commit()
	}
	return nil
}

// chainable is what SequentialLR and ChainedScheduler need from their children: the
// epoch-driven schedules of this package.
type chainable interface {
	Scheduler
	sched() *lrSchedule
}

func (s *lrSchedule) sched() *lrSchedule { return s }

// children checks the schedules a composite is built from and returns their machinery.
func children(kind string, g optim.LRGroups, list []Scheduler) ([]*lrSchedule, error) {
	if len(list) == 0 {
		return nil, configErr(kind, "schedulers", 0, "needs at least one scheduler")
	}
	out := make([]*lrSchedule, len(list))
	for i, c := range list {
		ch, ok := c.(chainable)
		if ok {
			v := reflect.ValueOf(c)
			ok = v.Kind() != reflect.Pointer || !v.IsNil()
		}
		if ok && ch.sched() == nil { // a zero StepLR, say: stepping it could only fail
			return nil, configErr(kind, fmt.Sprintf("schedulers[%d]", i), float64(i),
				fmt.Sprintf("is a %T not made by its constructor", c))
		}
		if !ok {
			return nil, configErr(kind, fmt.Sprintf("schedulers[%d]", i), float64(i),
				fmt.Sprintf("must be a non-nil %s, not %T", chainableKinds, c))
		}
		out[i] = ch.sched()
		if g != nil && !sameGroups(out[i].groups, g) {
			return nil, configErr(kind, fmt.Sprintf("schedulers[%d]", i), float64(i),
				"drives another optimizer")
		}
		if !sameGroups(out[i].groups, out[0].groups) {
			return nil, configErr(kind, fmt.Sprintf("schedulers[%d]", i), float64(i),
				"drives another optimizer than schedulers[0]")
		}
		for j := 0; j < i; j++ {
			if out[j] == out[i] {
				return nil, configErr(kind, fmt.Sprintf("schedulers[%d]", i), float64(i),
					fmt.Sprintf("is schedulers[%d] again", j))
			}
		}
	}
	return out, nil
}

// rebase gives the children the base lrs torch gives them. In torch, base_lrs come from
// group['initial_lr'], which the first scheduler built on an optimizer sets (setdefault)
// and later ones reuse, although the first one's construction has changed the lr
// (OneCycleLR overwrites initial_lr with max_lr/div_factor). Here each schedule records
// the lr it finds, so the children built after the first are given the first one's base
// lrs (or the latest OneCycleLR's). CyclicLR keeps its own base_lr (torch sets its
// base_lrs after the fact), and when it is built first its base_lr is the initial_lr
// (it sets the lrs to base_lr before torch records them). It returns torch's final
// initial_lr per group.
func rebase(list []*lrSchedule) []float64 {
	order := append([]*lrSchedule(nil), list...)
	for i := 1; i < len(order); i++ { // insertion sort by construction order
		for j := i; j > 0 && order[j].seq < order[j-1].seq; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	var initial []float64
	for _, s := range order {
		if s.kind == kindOneCycle || initial == nil {
			initial = s.base
			continue
		}
		if s.kind == kindCyclic {
			continue // CyclicLR sets its base_lrs from its own base_lr after the fact
		}
		s.base = append([]float64(nil), initial...)
	}
	return append([]float64(nil), initial...)
}

// probeMomenta checks that every group takes both ends of its momentum cycle (with
// CyclicLR's own scales and OneCycleLR's anneals every momentum of the cycle lies
// between them) and puts the momenta back, so that a cycle the optimizer cannot
// follow fails at construction instead of at some later step, again and again.
func probeMomenta(kind string, g optim.LRGroups, baseMom, maxMom []float64) error {
	for i := range baseMom {
		old, _ := g.GroupMomentum(i)
		for _, m := range []float64{baseMom[i], maxMom[i]} {
			if err := g.SetGroupMomentum(i, m); err != nil {
				_ = g.SetGroupMomentum(i, old)
				return fmt.Errorf("schedule: %s: group %d cannot cycle its momentum to %v (base_momentum %v, max_momentum %v): %w",
					kind, i, m, baseMom[i], maxMom[i], err)
			}
		}
		if err := g.SetGroupMomentum(i, old); err != nil {
			return fmt.Errorf("schedule: %s: group %d: momentum %v not restored: %w", kind, i, old, err)
		}
	}
	return nil
}
