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

// GradScaler is dynamic loss scaling for mixed-precision training, as
// torch.amp.GradScaler: multiply the loss by Scale before the backward pass, then call
// Step, which unscales the gradients in place, checks them for NaN and Inf, and steps
// the optimizer only when they are finite; Step also updates the scale (torch's
// update()): back off after a skipped step, grow after GrowthInterval clean ones.
type GradScaler struct {
	cfg GradScalerConfig
	// scale is float32 as torch's scale tensor is (reliability: it was float64, so
	// it grew past float32's range, where 1/scale rounds to 0 and the unscale and
	// the finite check were silently dropped).
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
	return s, nil
}

// Scale is the factor to multiply the loss (so the gradients) by.
func (s *GradScaler) Scale() float64 { return float64(s.scale) }

// scaledStepper is implemented by every optimizer of this package.
type scaledStepper interface {
	scaledStep(invScale float64) error
}

func (c *core[C]) scaledStep(invScale float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stepLocked(stepExtras{invScale: invScale})
}

// Step unscales opt's gradients in place (multiplying by 1/Scale), and steps opt when
// every gradient is finite. It reports whether the step was taken; a skipped step is
// not an error (it is how loss scaling finds its level) and leaves params, state and
// step counts untouched. The scale is updated either way.
func (s *GradScaler) Step(opt Optimizer) (stepped bool, err error) {
	ss, ok := opt.(scaledStepper)
	if !ok {
		return false, fmt.Errorf("optim: GradScaler.Step: %T is not an optimizer of this package: %w", opt, ErrInvalidArgument)
	}
	// torch computes the reciprocal in double and rounds it to float once.
	err = ss.scaledStep(1 / float64(s.scale))
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
		s.scale = float32(float64(s.scale) * s.cfg.BackoffFactor)
		s.tracker = 0
		return false, nil
	default:
		return false, err
	}
}
