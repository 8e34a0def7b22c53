package schedule

import (
	"fmt"

	"github.com/goptim/goptim/optim"
)

// LRLambda is a user's factor for LambdaLR and MultiplicativeLR: the value at an epoch
// (last_epoch, counting from 0 at construction). It is called once per group per step
// and should not panic; a non-finite or negative lr it leads to fails the step and
// changes nothing.
type LRLambda func(epoch int) float64

// LambdaLRConfig configures LambdaLR (torch.optim.lr_scheduler.LambdaLR).
type LambdaLRConfig struct {
	// LRLambda is lr_lambda: one function for every group, or one per group.
	LRLambda []LRLambda
}

// LambdaLR is torch.optim.lr_scheduler.LambdaLR: lr = base_lr * lr_lambda(epoch), the
// function of the group at the epoch. The usual warm-ups are written this way, e.g.
// the inverse square root of "Attention is all you need":
//
//	func(e int) float64 { return min(float64(e+1)/w, math.Sqrt(w/float64(e+1))) }
//
// It reads only its base lrs, so changes made to the lr from outside do not carry on.
// A checkpoint (State) holds the epoch, not the functions: build the schedule again
// with the same ones before SetState, as torch's load_state_dict expects.
type LambdaLR struct {
	*lrSchedule
	fns []LRLambda
}

// NewLambdaLR records the groups' lrs as base lrs and sets lr = base_lr*lr_lambda(0).
func NewLambdaLR(g optim.LRGroups, cfg LambdaLRConfig) (*LambdaLR, error) {
	s, fns, err := newLambdaSchedule(kindLambda, g, cfg.LRLambda)
	if err != nil {
		return nil, err
	}
	s.lrAt = func(e int) ([]float64, []float64, error) {
		lrs := make([]float64, len(s.base))
		for i, b := range s.base {
			lrs[i] = float64(b * fns[i](e))
		}
		return lrs, nil, nil
	}
	if err := s.advance(false); err != nil {
		return nil, err
	}
	return &LambdaLR{s, fns}, nil
}

// MultiplicativeLRConfig configures MultiplicativeLR
// (torch.optim.lr_scheduler.MultiplicativeLR).
type MultiplicativeLRConfig struct {
	// LRLambda is lr_lambda: one function for every group, or one per group.
	LRLambda []LRLambda
}

// MultiplicativeLR is torch.optim.lr_scheduler.MultiplicativeLR: every Step sets
// lr = lr * lr_lambda(epoch) (epoch >= 1; construction leaves the lrs as they are).
// It is chainable: changes made to the lr from outside carry on.
type MultiplicativeLR struct {
	*lrSchedule
	fns []LRLambda
}

// NewMultiplicativeLR records the groups' lrs as base lrs and returns a
// MultiplicativeLR at epoch 0 (the lrs are unchanged).
func NewMultiplicativeLR(g optim.LRGroups, cfg MultiplicativeLRConfig) (*MultiplicativeLR, error) {
	s, fns, err := newLambdaSchedule(kindMultiplicat, g, cfg.LRLambda)
	if err != nil {
		return nil, err
	}
	s.lrAt = func(e int) ([]float64, []float64, error) {
		lrs := groupLRs(g)
		if e > 0 {
			for i := range lrs {
				lrs[i] = float64(lrs[i] * fns[i](e))
			}
		}
		return lrs, nil, nil
	}
	if err := s.advance(false); err != nil {
		return nil, err
	}
	return &MultiplicativeLR{s, fns}, nil
}

// newLambdaSchedule checks lr_lambda (one function, or one per group, none nil) and
// returns the schedule with one function per group.
func newLambdaSchedule(kind string, g optim.LRGroups, fns []LRLambda) (*lrSchedule, []LRLambda, error) {
	s, err := newLRSchedule(kind, g)
	if err != nil {
		return nil, nil, err
	}
	if len(fns) == 0 {
		return nil, nil, configErr(kind, "lr_lambda", 0, "is required (one function, or one per param group)")
	}
	per, err := perGroup(kind, "lr_lambda", fns, len(s.base), nil)
	if err != nil {
		return nil, nil, err
	}
	for i, f := range fns {
		if f == nil {
			return nil, nil, configErr(kind, fmt.Sprintf("lr_lambda[%d]", i), float64(i), "is nil")
		}
	}
	return s, per, nil
}
