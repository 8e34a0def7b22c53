package optim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/goptim/goptim/binding"
)

// ScheduleFreeAdamWConfig holds Schedule-Free AdamW's options, named as in its reference
// implementation (facebookresearch/schedule_free schedulefree/adamw_schedulefree.py).
// Zero values are taken literally: start from ScheduleFreeAdamWDefaults.
// The options, and the scalars a step derives from them, must lie within float32's
// range, in which the kernels compute: validation refuses the rest with a *ConfigError.
type ScheduleFreeAdamWConfig struct {
	LR    float64 `json:"lr"`    // lr: the learning rate after warmup
	Beta1 float64 `json:"beta1"` // betas[0]: where y lies between z and the average x, y = (1-beta1)z + beta1 x
	Beta2 float64 `json:"beta2"` // betas[1]: the second moment's decay
	Eps   float64 `json:"eps"`   // eps
	// WeightDecay is an L2 penalty taken at y, added to the normalised gradient.
	WeightDecay float64 `json:"weight_decay"`
	// WarmupSteps: the lr rises linearly over the first warmup_steps steps (0: none).
	WarmupSteps int `json:"warmup_steps"`
	// R: the average weighs step t by t^r (0: uniformly).
	R float64 `json:"r"`
	// WeightLRPower: the average weighs step t by lr_max^weight_lr_power too, lr_max the
	// largest scheduled lr so far (0: not by the lr).
	WeightLRPower float64 `json:"weight_lr_power"`
}

// ScheduleFreeAdamWDefaults is the reference's: lr 0.0025, betas (0.9, 0.999), eps 1e-8,
// no weight decay, no warmup, r 0, weight_lr_power 2.
func ScheduleFreeAdamWDefaults() ScheduleFreeAdamWConfig {
	return ScheduleFreeAdamWConfig{LR: 0.0025, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightLRPower: 2}
}

const sfKind = "schedulefree_adamw"

func (c ScheduleFreeAdamWConfig) validate() error {
	const k = sfKind
	// The reference checks none of its options. A negative lr, weight_decay or eps, or a
	// beta outside [0, 1), means what it would mean for AdamW (torch's rules for it); a
	// beta1 of 0 makes Eval's weight 1-1/beta1 a division by zero, where the reference
	// raises ZeroDivisionError.
	if err := checkNonNeg(k, "lr", c.LR); err != nil {
		return err
	}
	if !(c.Beta1 > 0 && c.Beta1 < 1) {
		return &ConfigError{Optimizer: k, Field: "betas[0]", Value: c.Beta1,
			Reason: "must be in (0, 1): Eval moves the params by a weight of 1-1/betas[0]"}
	}
	if err := checkUnit(k, "betas[1]", c.Beta2); err != nil {
		return err
	}
	if err := checkNonNeg(k, "eps", c.Eps); err != nil {
		return err
	}
	if err := checkNonNeg(k, "weight_decay", c.WeightDecay); err != nil {
		return err
	}
	if c.WarmupSteps < 0 {
		return &ConfigError{Optimizer: k, Field: "warmup_steps", Value: float64(c.WarmupSteps), Reason: "must be >= 0"}
	}
	for _, f := range []float32Field{{"r", c.R}, {"weight_lr_power", c.WeightLRPower}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return &ConfigError{Optimizer: k, Field: f.name, Value: f.v, Reason: "must be finite"}
		}
	}
	// The kernels take lr (and lr*(beta1*(1-ckp1)-1), at most lr in size), eps,
	// weight_decay, 1-beta2^t (at least 1-beta2) and the lerp weights ckp1 (in [0, 1]),
	// 1-beta1 and 1-1/beta1 as float32.
	if err := checkFloat32(k, float32Field{"lr", c.LR}, float32Field{"weight_decay", c.WeightDecay}); err != nil {
		return err
	}
	if err := checkFloat32Eps(k, "eps", c.Eps); err != nil {
		return err
	}
	return checkFloat32Derived(k, "1-1/betas[0]", 1-1/c.Beta1,
		"Eval moves the params by lerp with weight 1-1/betas[0], which would overflow float32")
}

func (c ScheduleFreeAdamWConfig) params(sc scalars) *binding.ScheduleFreeAdamWParams {
	return &binding.ScheduleFreeAdamWParams{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps,
		WeightDecay: c.WeightDecay, R: c.R, WeightLRPower: c.WeightLRPower, WarmupSteps: int64(c.WarmupSteps),
		WeightSum: sc[0], LRMax: sc[1]}
}

// sfNext is a param's weight_sum and lr_max after step t, from those before it. A sum
// that leaves double's range is refused: the reference raises OverflowError (or
// ZeroDivisionError, for 0 to a negative weight_lr_power) while computing the weight,
// and the values must stay finite to be checkpointed.
func sfNext(c ScheduleFreeAdamWConfig, t int64, sc scalars) (scalars, error) {
	ws, lm, err := binding.ScheduleFreeAdamWNext(c.params(sc), t)
	if err != nil {
		return sc, err
	}
	if math.IsNaN(ws) || math.IsInf(ws, 0) {
		return sc, fmt.Errorf("weight_sum after step %d would be %v: the average's weights step^r * "+
			"lr_max^weight_lr_power (r %v, weight_lr_power %v, lr_max %v) leave double's range or raise 0 to a "+
			"negative power: %w", t, ws, c.R, c.WeightLRPower, lm, ErrInvalidConfig)
	}
	return scalars{ws, lm}, nil
}

var sfAdamWSpec = spec[ScheduleFreeAdamWConfig]{
	kind:     sfKind,
	validate: ScheduleFreeAdamWConfig.validate,
	lr:       func(c *ScheduleFreeAdamWConfig) *float64 { return &c.LR },
	momentum: func(c *ScheduleFreeAdamWConfig) *float64 { return &c.Beta1 },
	slots: func(ScheduleFreeAdamWConfig) (s [binding.MaxState]string) {
		s[0] = "z"
		s[1] = "exp_avg_sq"
		return s
	},
	// z needs no value: the kernel takes the param as z at its first step.
	initial:      func(ScheduleFreeAdamWConfig, int) float32 { return 0 },
	scalarNames:  []string{"weight_sum", "lr_max"},
	freshScalars: func(ScheduleFreeAdamWConfig) scalars { return scalars{0, -1} },
	nextScalars:  sfNext,
	stepScalars: func(ctx *binding.Context, l *binding.List, c ScheduleFreeAdamWConfig, t int64, sc scalars,
		aux *binding.Aux) error {
		return ctx.ScheduleFreeAdamWStep(l, c.params(sc), t, aux)
	},
	// The reference has no fused kernel: GradScaler unscales the gradients in place.
	fusedScaling: false,
}

// ScheduleFreeAdamW is Schedule-Free AdamW (Defazio et al. 2024, "The Road Less
// Scheduled"), as its reference facebookresearch/schedule_free
// schedulefree/adamw_schedulefree.py computes it: no learning-rate schedule is needed
// (only an optional warmup). It keeps z, the sequence of AdamW-like steps, and the
// average x of the zs, weighted by t^r * lr_max^weight_lr_power; the params hold
//
//	in train mode: y = (1-beta1) z + beta1 x, where the gradients are taken
//	in eval mode:  x, the point to evaluate, test and keep
//
// With lr_t the lr after warmup (lr * t/warmup_steps for t <= warmup_steps) and c_t
// the new weight's share of the average, a step is, per element,
//
//	v = beta2 v + (1-beta2) g²
//	u = g / (sqrt(v / (1-beta2^t)) + eps) + weight_decay*y
//	y = lerp(y, z, c_t) + lr_t (beta1 (1-c_t) - 1) u
//	z = z - lr_t u
//
// Like the reference it starts in eval mode: Step fails until Train is called. Call
// Train before training steps and Eval before evaluating the model or saving its
// params; both do nothing in the mode they would enter. Two state tensors ("z",
// "exp_avg_sq": 8 bytes per parameter); z is a copy of the param taken at its first
// step, so State's "z" is zeros before. The mode is part of checkpoints.
//
// The reference keeps its step count k and its weight_sum and lr_max per param group;
// here they are each param's own (StepCount; State's "weight_sum" and "lr_max"), as
// torch keeps step counts. They are the same whenever every param of a group has a
// gradient at every step; a param whose gradient is nil on some step does not advance
// them, where the reference counts the step for the whole group. The mode is the
// optimizer's, where the reference keeps one per group and gives a group added later
// eval mode: here a group added in train mode is in train mode.
type ScheduleFreeAdamW struct {
	*core[ScheduleFreeAdamWConfig]
	mode *sfMode
}

var _ OptimizerOf[ScheduleFreeAdamWConfig] = (*ScheduleFreeAdamW)(nil)

// NewScheduleFreeAdamW makes a Schedule-Free AdamW optimizer over params (its first
// param group), in eval mode.
func NewScheduleFreeAdamW(params []*Param, cfg ScheduleFreeAdamWConfig) (*ScheduleFreeAdamW, error) {
	c, err := newCore(sfAdamWSpec, params, cfg)
	if err != nil {
		return nil, err
	}
	m := &sfMode{c: c}
	c.ext = m
	return &ScheduleFreeAdamW{core: c, mode: m}, nil
}

// Train puts the params at y, where training steps take their gradients (the
// reference's train()): p = lerp(p, z, 1-beta1) for every param that has stepped.
// Nothing happens in train mode.
func (o *ScheduleFreeAdamW) Train() error { return o.setMode(true) }

// Eval puts the params at x, the average to evaluate and keep (the reference's eval()):
// p = lerp(p, z, 1-1/beta1) for every param that has stepped. Nothing happens in eval
// mode.
func (o *ScheduleFreeAdamW) Eval() error { return o.setMode(false) }

// TrainMode reports whether the optimizer is in train mode (false as made, and after
// Eval).
func (o *ScheduleFreeAdamW) TrainMode() bool {
	if o == nil || o.core == nil || o.mode == nil {
		return false
	}
	o.core.mu.Lock()
	defer o.core.mu.Unlock()
	return o.mode.train
}

func (o *ScheduleFreeAdamW) setMode(train bool) error {
	op := "Eval"
	if train {
		op = "Train"
	}
	if o == nil || o.core == nil || o.mode == nil {
		return fmt.Errorf("optim: %s: %s: %w", sfKind, op, errNoCore)
	}
	c := o.core
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("optim: %s: %s: %w", sfKind, op, ErrClosed)
	}
	if o.mode.train == train {
		return nil
	}
	defer c.held.done()
	ctx, err := engine()
	if err != nil {
		return err
	}
	// Every param is checked (as Step checks them) before any moves; those that have
	// stepped, and so have a z, are held and moved.
	moved := make([][]int, len(c.groups))
	for gi, g := range c.groups {
		for i, p := range g.params {
			if p == nil || p.Data == nil {
				return fmt.Errorf("optim: %s: %s: group %d param %d: %w", sfKind, op, gi, i, ErrNilParam)
			}
			if p.Data.Len() != g.numel[i] {
				return &ShapeError{Param: p.label(i), What: "data", Got: p.Data.Len(), Want: g.numel[i]}
			}
			if g.steps[i] == 0 {
				continue
			}
			if !c.held.add(p.Data.buf) {
				return fmt.Errorf("optim: %s: %s: param %s: data tensor: %w", sfKind, op, p.label(i), ErrClosed)
			}
			moved[gi] = append(moved[gi], i)
		}
	}
	if err := c.checkOverlap(c.groups, true); err != nil {
		return err
	}
	for gi, g := range c.groups {
		if len(moved[gi]) == 0 {
			continue
		}
		sfFill(c, g, moved[gi])
		w := 1 - g.cfg.Beta1
		if !train {
			w = 1 - 1/g.cfg.Beta1
		}
		if err := ctx.LerpState(c.list, 0, w); err != nil {
			return fmt.Errorf("optim: %s: %s of group %d: %w", sfKind, op, gi, err)
		}
	}
	o.mode.train = train
	return nil
}

// sfFill puts the data and z (state slot 0) of params idx of group g into the list,
// without gradients, merging neighbours contiguous in both (an arena is one entry).
func sfFill(c *core[ScheduleFreeAdamWConfig], g *group[ScheduleFreeAdamWConfig], idx []int) {
	c.list.Reset()
	var curN int64
	var curP, curZ uintptr
	for _, i := range idx {
		pa, za := g.params[i].Data.addr(), uintptr(g.stateAt(0, i))
		if curN > 0 && curP+uintptr(4*curN) == pa && curZ+uintptr(4*curN) == za {
			curN += int64(g.numel[i])
			continue
		}
		if curN > 0 {
			c.list.Append(curN, curP, 0, [binding.MaxState]uintptr{curZ})
		}
		curN, curP, curZ = int64(g.numel[i]), pa, za
	}
	if curN > 0 {
		c.list.Append(curN, curP, 0, [binding.MaxState]uintptr{curZ})
	}
}

// sfMode is the optimizer's train/eval mode, its check before each step and its part of
// checkpoints (the core's extension; called with the core's lock held).
type sfMode struct {
	c     *core[ScheduleFreeAdamWConfig]
	train bool
}

// sfCheckpoint is the mode's part of a checkpoint header.
type sfCheckpoint struct {
	TrainMode *bool `json:"train_mode"`
}

func (m *sfMode) beforeStep() error {
	if !m.train {
		return fmt.Errorf("optim: %s: Step in eval mode: call Train before training steps (and Eval before "+
			"evaluating or saving the params): %w", sfKind, ErrInvalidArgument)
	}
	// The values after this step of every param that will step, so that a sum leaving
	// double's range refuses the step before any group has moved.
	for gi, g := range m.c.groups {
		var last struct {
			ok bool
			t  int64
			sc scalars
		}
		for i, p := range g.params {
			if p.Grad == nil {
				continue
			}
			t, sc := g.steps[i], m.c.scalarsOf(g, i)
			if last.ok && last.t == t && last.sc == sc {
				continue
			}
			if _, err := sfNext(g.cfg, t+1, sc); err != nil {
				return fmt.Errorf("optim: %s: step of group %d: %w", sfKind, gi, err)
			}
			last.ok, last.t, last.sc = true, t, sc
		}
	}
	return nil
}

func (m *sfMode) saveExtra() (json.RawMessage, error) {
	train := m.train
	return json.Marshal(sfCheckpoint{TrainMode: &train})
}

func (m *sfMode) checkExtra(raw json.RawMessage) error {
	_, err := decodeSFCheckpoint(raw)
	return err
}

func (m *sfMode) commitExtra(raw json.RawMessage) {
	if train, err := decodeSFCheckpoint(raw); err == nil {
		m.train = train
	}
}

func decodeSFCheckpoint(raw json.RawMessage) (bool, error) {
	if len(raw) == 0 {
		return false, errors.New("it has no train/eval mode, which a " + sfKind + " checkpoint holds")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var x sfCheckpoint
	if err := dec.Decode(&x); err != nil {
		return false, fmt.Errorf("its train/eval mode %s: %v", raw, err)
	}
	if x.TrainMode == nil {
		return false, fmt.Errorf("its train/eval mode %s has no train_mode", raw)
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, fmt.Errorf("its train/eval mode %s has more than one value", raw)
	}
	return *x.TrainMode, nil
}

// The mode's hooks are the core's extension.
var _ extension = (*sfMode)(nil)
