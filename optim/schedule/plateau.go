package schedule

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/optim"
)

// PlateauMode is ReduceLROnPlateau's mode.
type PlateauMode int

const (
	// PlateauMin is torch's "min" (the default): the metric should decrease (a loss).
	PlateauMin PlateauMode = iota
	// PlateauMax is torch's "max": the metric should increase (an accuracy).
	PlateauMax
)

// String returns torch's name: "min" or "max".
func (m PlateauMode) String() string {
	switch m {
	case PlateauMin:
		return "min"
	case PlateauMax:
		return "max"
	}
	return fmt.Sprintf("PlateauMode(%d)", int(m))
}

// ThresholdMode is ReduceLROnPlateau's threshold_mode.
type ThresholdMode int

const (
	// ThresholdRel is torch's "rel" (the default): better means below best*(1-threshold)
	// (mode min) or above best*(1+threshold) (mode max).
	ThresholdRel ThresholdMode = iota
	// ThresholdAbs is torch's "abs": better means below best-threshold (mode min) or
	// above best+threshold (mode max).
	ThresholdAbs
)

// String returns torch's name: "rel" or "abs".
func (m ThresholdMode) String() string {
	switch m {
	case ThresholdRel:
		return "rel"
	case ThresholdAbs:
		return "abs"
	}
	return fmt.Sprintf("ThresholdMode(%d)", int(m))
}

// ReduceLROnPlateauConfig configures ReduceLROnPlateau
// (torch.optim.lr_scheduler.ReduceLROnPlateau).
type ReduceLROnPlateauConfig struct {
	Mode          PlateauMode   // mode (torch's default, the zero value: min)
	Factor        float64       // factor: new_lr = lr*factor; in (0, 1) (torch's default 0.1)
	Patience      int           // patience: bad epochs tolerated; >= 0 (torch's default 10)
	Threshold     float64       // threshold: >= 0 (torch's default 1e-4)
	ThresholdMode ThresholdMode // threshold_mode (torch's default, the zero value: rel)
	Cooldown      int           // cooldown: epochs ignored after a reduction; >= 0 (default 0)
	// MinLR is min_lr: the lowest lr, one value for every group or one per group; >= 0
	// (nil: 0, torch's default).
	MinLR []float64
	Eps   float64 // eps: reductions smaller than eps are skipped; >= 0 (torch's default 1e-8)
}

// ReduceLROnPlateauDefaults returns torch's defaults: mode min, factor 0.1, patience
// 10, threshold 1e-4 rel, cooldown 0, min_lr 0, eps 1e-8.
func ReduceLROnPlateauDefaults() ReduceLROnPlateauConfig {
	return ReduceLROnPlateauConfig{Mode: PlateauMin, Factor: 0.1, Patience: 10, Threshold: 1e-4,
		ThresholdMode: ThresholdRel, Cooldown: 0, MinLR: nil, Eps: 1e-8}
}

// ReduceLROnPlateau is torch.optim.lr_scheduler.ReduceLROnPlateau: it reduces the lr
// when a metric has stopped improving. It is not a Scheduler, because its Step needs
// the metric (a validation loss, say), and it cannot be a child of SequentialLR or
// ChainedScheduler (torch cannot do that either).
//
// Step(metric) compares the metric with the best seen so far: better means, in mode
// min, metric < best*(1-threshold) (rel) or metric < best-threshold (abs); in mode max,
// metric > best*(1+threshold) or metric > best+threshold. A better metric becomes the
// best and clears the count of bad epochs; any other (NaN included) counts one. During
// a cooldown the cooldown counter runs down and bad epochs are not counted. When the
// count exceeds patience, every group's lr becomes max(lr*factor, min_lr), unless that
// changes it by eps or less, the cooldown starts and the count is cleared.
//
// Construction does not change the lrs.
type ReduceLROnPlateau struct {
	groups   optim.LRGroups // nil only when not made by NewReduceLROnPlateau; the methods check it
	cfg      ReduceLROnPlateauConfig
	minLRs   []float64
	best     float64
	bad      int
	cooldown int
	epoch    int
	last     []float64
}

// NewReduceLROnPlateau checks cfg and returns a ReduceLROnPlateau that has seen no
// metric yet.
func NewReduceLROnPlateau(g optim.LRGroups, cfg ReduceLROnPlateauConfig) (*ReduceLROnPlateau, error) {
	lrs, err := checkGroups(kindPlateau, g)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Mode != PlateauMin && cfg.Mode != PlateauMax:
		return nil, configErr(kindPlateau, "mode", float64(cfg.Mode), "must be PlateauMin or PlateauMax")
	case cfg.ThresholdMode != ThresholdRel && cfg.ThresholdMode != ThresholdAbs:
		return nil, configErr(kindPlateau, "threshold_mode", float64(cfg.ThresholdMode),
			"must be ThresholdRel or ThresholdAbs")
	case !(cfg.Factor > 0 && cfg.Factor < 1):
		return nil, configErr(kindPlateau, "factor", cfg.Factor, "must be in (0, 1) (torch's default 0.1)")
	case cfg.Patience < 0:
		return nil, configErr(kindPlateau, "patience", float64(cfg.Patience), "must be >= 0")
	case !finite(cfg.Threshold) || cfg.Threshold < 0:
		return nil, configErr(kindPlateau, "threshold", cfg.Threshold, "must be finite and >= 0")
	case cfg.Cooldown < 0:
		return nil, configErr(kindPlateau, "cooldown", float64(cfg.Cooldown), "must be >= 0")
	case !finite(cfg.Eps) || cfg.Eps < 0:
		return nil, configErr(kindPlateau, "eps", cfg.Eps, "must be finite and >= 0")
	}
	minLRs, err := perGroup(kindPlateau, "min_lr", cfg.MinLR, len(lrs), 0)
	if err != nil {
		return nil, err
	}
	for i, v := range minLRs {
		if !finite(v) || v < 0 {
			return nil, configErr(kindPlateau, fmt.Sprintf("min_lr[%d]", i), v, "must be finite and >= 0")
		}
	}
	cfg.MinLR = append([]float64(nil), cfg.MinLR...)
	p := &ReduceLROnPlateau{groups: g, cfg: cfg, minLRs: minLRs, last: lrs}
	p.reset()
	return p, nil
}

// reset is torch's _reset: no best yet, no bad epochs, no cooldown.
func (p *ReduceLROnPlateau) reset() {
	p.best = p.worst()
	p.bad = 0
	p.cooldown = 0
}

// worst is torch's mode_worse.
func (p *ReduceLROnPlateau) worst() float64 {
	if p.cfg.Mode == PlateauMin {
		return math.Inf(1)
	}
	return math.Inf(-1)
}

func (p *ReduceLROnPlateau) isBetter(a float64) bool {
	th := p.cfg.Threshold
	switch {
	case p.cfg.Mode == PlateauMin && p.cfg.ThresholdMode == ThresholdRel:
		return a < float64(p.best*(1.-th))
	case p.cfg.Mode == PlateauMin:
		return a < p.best-th
	case p.cfg.ThresholdMode == ThresholdRel:
		return a > float64(p.best*(th+1.))
	}
	return a > p.best+th
}

// Step takes the metric of the epoch just finished and reduces the lrs if it has not
// improved for more than patience epochs. An error from the optimizer's SetGroupLR
// leaves the counters as they were before the call.
func (p *ReduceLROnPlateau) Step(metric float64) error {
	if p.groups == nil {
		return errNotMade(kindPlateau)
	}
	if p.epoch >= MaxSteps {
		return errPastMaxSteps(kindPlateau)
	}
	epoch, best, bad, cooldown := p.epoch+1, p.best, p.bad, p.cooldown
	if p.isBetter(metric) {
		best, bad = metric, 0
	} else {
		bad++
	}
	if cooldown > 0 {
		cooldown--
		bad = 0 // ignore any bad epochs in cooldown
	}
	if bad > p.cfg.Patience {
		n := p.groups.NumGroups()
		lrs := make([]float64, n)
		for i := range lrs {
			old := p.groups.GroupLR(i)
			lrs[i] = old
			nlr := float64(old * p.cfg.Factor)
			if p.minLRs[i] > nlr {
				nlr = p.minLRs[i]
			}
			if old-nlr > p.cfg.Eps {
				lrs[i] = nlr
			}
		}
		for i, lr := range lrs {
			if err := p.groups.SetGroupLR(i, lr); err != nil {
				return fmt.Errorf("schedule: ReduceLROnPlateau: epoch %d: group %d: lr %v: %w", epoch, i, lr, err)
			}
		}
		cooldown, bad = p.cfg.Cooldown, 0
	}
	p.epoch, p.best, p.bad, p.cooldown = epoch, best, bad, cooldown
	p.last = groupLRs(p.groups)
	return nil
}

// LastLR is the lr of every group after the latest Step (or at construction).
func (p *ReduceLROnPlateau) LastLR() []float64 { return append([]float64(nil), p.last...) }

// LastEpoch is the number of Steps taken: torch's last_epoch.
func (p *ReduceLROnPlateau) LastEpoch() int { return p.epoch }

// Best is the best metric seen: +Inf (mode min) or -Inf (mode max) before any.
func (p *ReduceLROnPlateau) Best() float64 { return p.best }

// NumBadEpochs is torch's num_bad_epochs: epochs since the metric last improved, not
// counting those in a cooldown.
func (p *ReduceLROnPlateau) NumBadEpochs() int { return p.bad }

// InCooldown reports whether the schedule is in a cooldown after a reduction.
func (p *ReduceLROnPlateau) InCooldown() bool { return p.cooldown > 0 }

// Config returns the schedule's config (a copy).
func (p *ReduceLROnPlateau) Config() ReduceLROnPlateauConfig {
	c := p.cfg
	c.MinLR = append([]float64(nil), c.MinLR...)
	return c
}

// State returns the step count, the last lrs and the counters (best, num_bad_epochs,
// cooldown_counter).
func (p *ReduceLROnPlateau) State() State {
	if p.groups == nil {
		return State{}
	}
	return State{Kind: kindPlateau, LastEpoch: p.epoch, LastLR: p.LastLR(), Best: p.best,
		NumBadEpochs: p.bad, CooldownCounter: p.cooldown}
}

// SetState restores what State returned, on a ReduceLROnPlateau over as many groups.
// It does not change the groups' lrs. It refuses counters Step cannot reach:
// last_epoch above MaxSteps, and more bad epochs than epochs (so that
// neither count can overflow as Step advances them).
func (p *ReduceLROnPlateau) SetState(st State) error {
	if p.groups == nil {
		return errNotMade(kindPlateau)
	}
	n := p.groups.NumGroups()
	switch {
	case st.Kind != kindPlateau:
		return fmt.Errorf("schedule: %s: state of a %s: %w", kindPlateau, st.Kind, optim.ErrCheckpoint)
	case st.LastEpoch < 0 || st.NumBadEpochs < 0 || st.CooldownCounter < 0:
		return fmt.Errorf("schedule: %s: state has a negative counter: %w", kindPlateau, optim.ErrCheckpoint)
	case st.LastEpoch > MaxSteps:
		return errStateEpoch(kindPlateau, st.LastEpoch)
	case st.NumBadEpochs > st.LastEpoch:
		return fmt.Errorf("schedule: %s: state has num_bad_epochs %d after %d epochs: %w",
			kindPlateau, st.NumBadEpochs, st.LastEpoch, optim.ErrCheckpoint)
	case len(st.LastLR) != n || len(st.BaseLRs) != 0 || len(st.Children) != 0:
		return fmt.Errorf("schedule: %s: state for %d groups, have %d: %w", kindPlateau, len(st.LastLR), n, optim.ErrCheckpoint)
	}
	p.epoch, p.best, p.bad, p.cooldown = st.LastEpoch, st.Best, st.NumBadEpochs, st.CooldownCounter
	p.last = append([]float64(nil), st.LastLR...)
	return nil
}
