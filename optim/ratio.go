package optim

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/binding"
)

// UpdateRatios runs step (normally the optimizer's Step, or ClipStep) and returns, for
// each of params, the update-to-weight ratio ‖p_after − p_before‖ / ‖p_after‖ of that
// step: the usual health signal of training (around 1e-3 per step; much larger and the
// learning rate is too high for that layer, much smaller and the layer barely learns).
// The params are copied within backend memory before the step, and the norms are
// GradNorms's (one read per list). A param whose values are all 0 after the step has
// ratio +Inf if it moved and 0 if not. An error from step is returned with no ratios.
func UpdateRatios(params []*Param, step func() error) ([]float64, error) {
	const op = "update_ratios"
	if step == nil {
		return nil, fmt.Errorf("optim: %s: nil step function: %w", op, ErrInvalidArgument)
	}
	before := make([]*Tensor, len(params))
	defer func() {
		for _, t := range before {
			if t != nil {
				t.Close()
			}
		}
	}()
	for i, p := range params {
		if p == nil || p.Data == nil {
			return nil, fmt.Errorf("optim: %s: param %d: %w", op, i, ErrNilParam)
		}
		t, err := newBackendTensor(p.Data.Len(), op)
		if err != nil {
			return nil, err
		}
		before[i] = t
		if err := CopyTensor(t, p.Data); err != nil {
			return nil, fmt.Errorf("optim: %s: param %s: %w", op, p.label(i), err)
		}
	}
	if err := step(); err != nil {
		return nil, err
	}
	ctx, err := engine()
	if err != nil {
		return nil, err
	}
	// before[i] -= p_after: the update, negated (the norm does not care).
	diffs := make([]*Param, len(params))
	weights := make([]*Param, len(params))
	for i, p := range params {
		if err := subtractInto(ctx, before[i], p.Data); err != nil {
			return nil, fmt.Errorf("optim: %s: param %s: %w", op, p.label(i), err)
		}
		diffs[i] = &Param{Name: p.Name, Data: before[i], Grad: before[i]}
		weights[i] = &Param{Name: p.Name, Data: p.Data, Grad: p.Data}
	}
	dn, err := GradNorms(diffs)
	if err != nil {
		return nil, err
	}
	wn, err := GradNorms(weights)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(params))
	for i := range out {
		switch {
		case wn[i].L2 != 0:
			out[i] = dn[i].L2 / wn[i].L2
		case dn[i].L2 != 0:
			out[i] = math.Inf(1)
		}
	}
	return out, nil
}

// subtractInto sets d -= x (same length) in backend memory.
func subtractInto(ctx *binding.Context, d, x *Tensor) error {
	if d.Len() != x.Len() {
		return &ShapeError{Param: "tensor", What: "update", Got: x.Len(), Want: d.Len()}
	}
	var h hold
	defer h.done()
	if !h.add(d.buf) || !h.add(x.buf) {
		return ErrClosed
	}
	if d.Len() == 0 {
		return nil
	}
	return ctx.Axpy(int64(d.Len()), -1, x.ptr(), d.ptr())
}
