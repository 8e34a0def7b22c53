package optim

import (
	"errors"
	"fmt"
	"math"
)

// GradScalerConfig holds torch.amp.GradScaler's options.
type GradScalerConfig struct {
	InitScale      float64 // init_scale
	GrowthFactor   float64 // growth_factor
	BackoffFactor  float64 // backoff_factor
	GrowthInterval int     // growth_interval
}

// GradScalerDefaults is torch's GradScaler: scale 2^16, doubled after 2000 clean
// steps, halved after a step with non-finite gradients.
func GradScalerDefaults() GradScalerConfig {
	return GradScalerConfig{InitScale: 65536, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 2000}
}

// MinLossScale is the floor of GradScaler's loss scale: 2^-126, float32's smallest
// normal number. Its reciprocal 2^126, by which Step unscales the gradients in
// float32 (for the optimizers it unscales in place), is finite and exact; below it
// the scale would be subnormal, and from 2^-128 down its reciprocal overflows
// float32, so every gradient would unscale to Inf or NaN (as it would for a scale
// backed off to 0).
const MinLossScale = 0x1p-126

// GradScaler is dynamic loss scaling for mixed-precision training, as
// torch.amp.GradScaler: multiply the loss by Scale before the backward pass, then call
// Step, which checks the gradients for NaN and Inf, unscales them, and steps the
// optimizer only when they are finite; Step also updates the scale (torch's
// update()): back off after a skipped step, grow after GrowthInterval clean ones.
//
// Unlike torch's, the scale has a floor, MinLossScale: a backoff that would take it
// lower leaves it at the floor. Gradients that are still non-finite when the scale is
// at the floor are non-finite at any scale (a NaN or Inf in the model or the loss, not
// an overflow that a smaller scale avoids), so Step then returns an error matching
// ErrNonFinite instead of reporting an ordinary skipped step; the step is skipped all
// the same, and a later step with finite gradients proceeds as usual. NewGradScaler
// refuses an InitScale below the floor. Above the floor the scale follows torch's
// numbers exactly.
type GradScaler struct {
	cfg GradScalerConfig
	// scale is float32 as torch's scale tensor is: grown in double, it would pass
	// float32's range, where 1/scale rounds to 0 in the float32 unscale.
	scale   float32
	tracker int
}

// NewGradScaler validates cfg and makes a scaler.
func NewGradScaler(cfg GradScalerConfig) (*GradScaler, error) {
	const k = "grad_scaler"
	if err := checkPos(k, "init_scale", cfg.InitScale); err != nil {
		return nil, err
	}
	if !(cfg.GrowthFactor > 1) || math.IsInf(cfg.GrowthFactor, 0) {
		return nil, &ConfigError{Optimizer: k, Field: "growth_factor", Value: cfg.GrowthFactor, Reason: "must be finite and > 1"}
	}
	if !(cfg.BackoffFactor > 0 && cfg.BackoffFactor < 1) {
		return nil, &ConfigError{Optimizer: k, Field: "backoff_factor", Value: cfg.BackoffFactor, Reason: "must be in (0, 1)"}
	}
	if cfg.GrowthInterval <= 0 {
		return nil, &ConfigError{Optimizer: k, Field: "growth_interval", Value: float64(cfg.GrowthInterval), Reason: "must be > 0"}
	}
	s := &GradScaler{cfg: cfg, scale: float32(cfg.InitScale)}
	if math.IsInf(float64(s.scale), 0) || s.scale == 0 {
		return nil, &ConfigError{Optimizer: k, Field: "init_scale", Value: cfg.InitScale,
			Reason: "must round to a finite, non-zero float32 (torch keeps the scale in float32)"}
	}
	if s.scale < MinLossScale {
		return nil, &ConfigError{Optimizer: k, Field: "init_scale", Value: cfg.InitScale,
			Reason: fmt.Sprintf("must be at least %v (MinLossScale, 2^-126, float32's smallest normal): "+
				"below it 1/scale overflows float32 or loses precision", float64(MinLossScale))}
	}
	return s, nil
}

// Scale is the factor to multiply the loss (so the gradients) by.
func (s *GradScaler) Scale() float64 {
	if s == nil {
		return 0
	}
	return float64(s.scale)
}

// scaledStepper is implemented by every optimizer of this package.
type scaledStepper interface {
	scaledStep(scale float32) error
}

func (c *core[C]) scaledStep(scale float32) error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stepLocked(stepExtras{lossScale: scale})
}

// Step checks opt's gradients for NaN and Inf, unscales them, and steps opt when every
// gradient is finite. It reports whether the step was taken; a skipped step is not an
// error (it is how loss scaling finds its level) and leaves params, state and step
// counts untouched. The scale is updated either way. A step skipped with the scale
// already at MinLossScale is an error matching ErrNonFinite: the gradients are
// non-finite at any scale.
//
// How the gradients are unscaled is what torch's GradScaler does with the same
// optimizer, so that the numbers are torch's:
//
//   - SGD, Adam, AdamW (torch's fused=True kernels take the scale): the check only
//     reads the gradients, and the step divides each gradient by Scale as it reads it
//     and writes the quotient back. A taken step leaves the gradients unscaled
//     (g/Scale); a skipped one leaves them as they were, scaled. This saves one read
//     and one write of every gradient over unscaling in place first.
//   - RMSprop, Adamax, RAdam, Adadelta, Rprop, NAdam, ASGD, Adafactor, Lion, AdEMAMix,
//     Muon, LAMB, LARS, Schedule-Free AdamW (no fused kernel takes the scale) and Adagrad (torch's fused Adagrad is not given the scale): the
//     check multiplies every gradient by 1/Scale (the double reciprocal rounded to
//     float32) in place, so the gradients are unscaled whether the step is taken or
//     skipped. LBFGS, whose step takes a closure, is not driven by GradScaler (nor in
//     torch).
func (s *GradScaler) Step(opt Optimizer) (stepped bool, err error) {
	ss, ok := opt.(scaledStepper)
	if !ok {
		return false, fmt.Errorf("optim: GradScaler.Step: %T is not an optimizer of this package: %w", opt, ErrInvalidArgument)
	}
	if s == nil || s.scale < MinLossScale {
		// Only a GradScaler not made by NewGradScaler gets here (its scale is 0):
		// unscaling by 0 would overwrite every gradient with Inf or NaN.
		return false, fmt.Errorf("optim: GradScaler.Step: the GradScaler has no scale: make it with NewGradScaler: %w",
			ErrInvalidArgument)
	}
	err = ss.scaledStep(s.scale)
	// The update is torch's _amp_update_scale_: the product is taken in double and
	// stored as float, and a growth that would overflow float32 is not applied.
	switch {
	case err == nil:
		s.tracker++
		if s.tracker == s.cfg.GrowthInterval {
			if g := float32(float64(s.scale) * s.cfg.GrowthFactor); !math.IsInf(float64(g), 0) {
				s.scale = g
			}
			s.tracker = 0
		}
		return true, nil
	case errors.Is(err, ErrNonFinite):
		s.tracker = 0
		if s.scale <= MinLossScale {
			return false, fmt.Errorf("optim: GradScaler.Step: the loss scale hit its floor %v (MinLossScale) "+
				"and the gradients are still non-finite, so they are non-finite at any scale "+
				"(a NaN or Inf in the model or the loss): %w", float64(MinLossScale), err)
		}
		// A backoff past the floor stops at it, so that the floor itself is tried
		// before the gradients are declared non-finite at any scale.
		s.scale = max(float32(float64(s.scale)*s.cfg.BackoffFactor), MinLossScale)
		return false, nil
	default:
		return false, err
	}
}
