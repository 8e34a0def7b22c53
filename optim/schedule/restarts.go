package schedule

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/optim"
)

// CosineAnnealingWarmRestartsConfig configures CosineAnnealingWarmRestarts
// (torch.optim.lr_scheduler.CosineAnnealingWarmRestarts).
type CosineAnnealingWarmRestartsConfig struct {
	T0     int     // T_0: epochs of the first cycle; > 0
	TMult  int     // T_mult: each cycle is T_mult times as long as the one before; >= 1 (torch's default 1)
	EtaMin float64 // eta_min: the lr at the end of a cycle; >= 0 (torch's default 0)
}

// restartsMaxEpoch bounds StepEpoch's epoch: below 2^52 a float64 epoch still has a
// fractional part to speak of, and the cycle arithmetic stays in exact integers.
const restartsMaxEpoch = 1 << 52

// CosineAnnealingWarmRestarts is torch.optim.lr_scheduler.CosineAnnealingWarmRestarts
// (SGDR): the lr follows
//
//	eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2
//
// where T_cur counts the epochs since the last restart and T_i is the current cycle's
// length: T_0 for the first, times T_mult for each one after. Step advances T_cur by
// one and restarts (T_cur -= T_i, T_i *= T_mult) when it reaches T_i. StepEpoch sets a
// fractional epoch, as torch's step(epoch + i/iters) called every batch. The lr
// depends on T_cur, T_i and the base lrs only: changes made to the lr from outside do
// not carry on (as in torch).
//
// One difference from torch: for StepEpoch with T_mult > 1, torch finds the cycle of an
// epoch with a floating-point logarithm, which at an epoch that is exactly a restart
// can land one cycle early (T_cur = T_i, lr eta_min instead of base_lr: T_0 = 10,
// T_mult = 10 at epoch 1110, for one); this package finds it exactly.
type CosineAnnealingWarmRestarts struct {
	*lrSchedule
	cfg            CosineAnnealingWarmRestartsConfig
	tCur, nextTCur float64
	tI, nextTI     int
}

// NewCosineAnnealingWarmRestarts records the groups' lrs as base lrs and returns the
// schedule at epoch 0 (T_cur 0, T_i T_0; the lrs are unchanged).
func NewCosineAnnealingWarmRestarts(g optim.LRGroups, cfg CosineAnnealingWarmRestartsConfig) (*CosineAnnealingWarmRestarts, error) {
	if cfg.T0 <= 0 {
		return nil, configErr(kindRestarts, "T_0", float64(cfg.T0), "must be > 0")
	}
	if cfg.TMult < 1 {
		return nil, configErr(kindRestarts, "T_mult", float64(cfg.TMult), "must be >= 1")
	}
	if !finite(cfg.EtaMin) || cfg.EtaMin < 0 {
		return nil, configErr(kindRestarts, "eta_min", cfg.EtaMin, "must be finite and >= 0")
	}
	s, err := newLRSchedule(kindRestarts, g)
	if err != nil {
		return nil, err
	}
	w := &CosineAnnealingWarmRestarts{lrSchedule: s, cfg: cfg, tI: cfg.T0}
	s.own = w
	s.lrAt = func(e int) ([]float64, []float64, error) {
		if e == 0 { // construction, or SequentialLR's step(0)
			w.nextTCur, w.nextTI = 0, cfg.T0
		} else {
			w.nextTCur, w.nextTI = w.tCur+1, w.tI
			if w.nextTCur >= float64(w.nextTI) {
				if w.nextTI > math.MaxInt/cfg.TMult {
					return nil, nil, fmt.Errorf("schedule: %s: epoch %d: the next cycle's length overflows: %w",
						kindRestarts, e, optim.ErrInvalidConfig)
				}
				w.nextTCur -= float64(w.nextTI)
				w.nextTI *= cfg.TMult
			}
		}
		return w.lrs(w.nextTCur, w.nextTI), nil, nil
	}
	if err := s.advance(false); err != nil {
		return nil, err
	}
	return w, nil
}

// lrs is the cosine at T_cur of a cycle of T_i epochs, for every group.
func (w *CosineAnnealingWarmRestarts) lrs(tCur float64, tI int) []float64 {
	c := 1 + math.Cos(float64(math.Pi*tCur)/float64(tI))
	out := make([]float64, len(w.base))
	for i, b := range w.base {
		out[i] = w.cfg.EtaMin + float64((b-w.cfg.EtaMin)*c)/2
	}
	return out
}

// StepEpoch sets the schedule to a given, possibly fractional, epoch: torch's
// step(epoch). Called every batch as StepEpoch(epoch + batch/batches), it anneals
// within the epoch. LastEpoch becomes floor(epoch); a later Step goes on from there
// by whole epochs. epoch must be finite, >= 0 and below 2^52.
func (w *CosineAnnealingWarmRestarts) StepEpoch(epoch float64) error {
	if w.lrSchedule == nil { // not made by the constructor: no groups, and T_mult 0
		return errNotMade(kindRestarts)
	}
	if !(epoch >= 0 && epoch < restartsMaxEpoch) {
		return fmt.Errorf("schedule: %s: epoch %v: must be finite, >= 0 and < 2^52: %w", kindRestarts, epoch, optim.ErrInvalidConfig)
	}
	t0, mult := w.cfg.T0, w.cfg.TMult
	tCur, tI := epoch, t0
	switch {
	case epoch < float64(t0):
	case mult == 1:
		tCur = math.Mod(epoch, float64(t0))
	default:
		// The cycle that holds epoch: restarts at T_0*(T_mult^n - 1)/(T_mult - 1).
		// Cycles at least double, so this loops at most 52 times.
		// epoch - start is exact (both below 2^52) and, unlike start + tI, cannot
		// overflow when tI is near math.MaxInt.
		start := 0
		for float64(tI) <= epoch-float64(start) {
			if tI > math.MaxInt/mult {
				return fmt.Errorf("schedule: %s: epoch %v: the cycle's length overflows: %w", kindRestarts, epoch, optim.ErrInvalidConfig)
			}
			start += tI
			tI *= mult
		}
		tCur = epoch - float64(start)
	}
	w.nextTCur, w.nextTI = tCur, tI
	return w.apply(int(math.Floor(epoch)), w.lrs(tCur, tI), nil)
}

// TCur is torch's T_cur: the epochs since the last restart (fractional after
// StepEpoch).
func (w *CosineAnnealingWarmRestarts) TCur() float64 { return w.tCur }

// TI is torch's T_i: the length of the current cycle.
func (w *CosineAnnealingWarmRestarts) TI() int { return w.tI }

// Config returns the schedule's config.
func (w *CosineAnnealingWarmRestarts) Config() CosineAnnealingWarmRestartsConfig { return w.cfg }

func (w *CosineAnnealingWarmRestarts) commit() { w.tCur, w.tI = w.nextTCur, w.nextTI }

func (w *CosineAnnealingWarmRestarts) save(st *State) { st.TCur, st.TI = w.tCur, w.tI }

// check accepts T_i = T_0*T_mult^k and 0 <= T_cur < T_i, the states Step and
// StepEpoch reach.
func (w *CosineAnnealingWarmRestarts) check(st State) error {
	ti := w.cfg.T0
	for ti < st.TI && w.cfg.TMult > 1 && ti <= math.MaxInt/w.cfg.TMult {
		ti *= w.cfg.TMult
	}
	if ti != st.TI || !(st.TCur >= 0 && st.TCur < float64(st.TI)) {
		return fmt.Errorf("schedule: %s: state has T_cur %v, T_i %d (T_0 %d, T_mult %d): %w",
			kindRestarts, st.TCur, st.TI, w.cfg.T0, w.cfg.TMult, optim.ErrCheckpoint)
	}
	return nil
}

func (w *CosineAnnealingWarmRestarts) load(st State) { w.tCur, w.tI = st.TCur, st.TI }
