package optim

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/goptim/goptim/binding"
)

// gradList builds a tensor list of the gradients of params (nil grads are skipped, as
// torch skips params whose .grad is None) and acquires their buffers into h. On
// success the caller frees the list and calls h.done.
func gradList(op string, params []*Param, h *hold) (*binding.List, error) {
	l := binding.NewList(len(params))
	for i, p := range params {
		if p == nil {
			l.Free()
			h.done()
			return nil, fmt.Errorf("optim: %s: param %d: %w", op, i, ErrNilParam)
		}
		if p.Grad == nil {
			continue
		}
		if !h.add(p.Grad.buf) {
			l.Free()
			h.done()
			return nil, fmt.Errorf("optim: %s: param %s: grad tensor: %w", op, p.label(i), ErrClosed)
		}
		l.Append(int64(p.Grad.Len()), 0, p.Grad.addr(), [binding.MaxState]uintptr{})
	}
	return l, nil
}

func checkNormType(op string, normType float64) error {
	if normType != 2 && !math.IsInf(normType, 1) {
		return &ConfigError{Optimizer: op, Field: "norm_type", Value: normType, Reason: "must be 2 or +Inf"}
	}
	return nil
}

// GradNorm is the total norm of the gradients of params that clip_grad_norm_
// computes: norm_type 2 (the L2 norm of all elements together) or math.Inf(1) (the
// largest |g|, exactly torch's). NaN or Inf in a gradient give a NaN or Inf norm. The
// L2 norm sums the squares in double and rounds once to float32, so it can differ
// from torch's float32 norm by a few ulps and stays finite where torch's overflows
// (see ClipGradNorm).
func GradNorm(params []*Param, normType float64) (float64, error) {
	total, err := gradNorm("grad_norm", params, normType, nil)
	return total, err
}

// gradNorm computes the total norm of the gradients of params. With then, it calls
// then with the list and the norm in backend memory while the gradients are still
// held, so a clip cannot meet a gradient closed after the norm was taken.
func gradNorm(op string, params []*Param, normType float64,
	then func(ctx *binding.Context, l *binding.List, norm unsafe.Pointer, total float64) error) (float64, error) {
	if err := checkNormType(op, normType); err != nil {
		return 0, err
	}
	ctx, err := engine()
	if err != nil {
		return 0, err
	}
	norm, err := newBackendTensor(1, op)
	if err != nil {
		return 0, err
	}
	defer norm.Close()
	var h hold
	l, err := gradList(op, params, &h)
	if err != nil {
		return 0, err
	}
	defer l.Free()
	defer h.done()
	var out [1]float32
	if err := ctx.GradNorm(l, normType, norm.ptr()); err != nil {
		return 0, err
	}
	if err := ctx.CopyToHost(out[:], norm.ptr()); err != nil {
		return 0, err
	}
	total := float64(out[0])
	if then != nil {
		return total, then(ctx, l, norm.ptr(), total)
	}
	return total, nil
}

// TensorNorm is the norm of one tensor's gradient: L2 (squares summed in double,
// rounded to float32 once, as GradNorm's) and Inf (the largest |g|). NaN in the gradient
// makes both NaN; an Inf makes both +Inf.
type TensorNorm struct {
	L2, Inf float64
}

// GradNorms is the norm of each param's gradient on its own, all of them computed in
// one read of the gradients: entry i belongs to params[i] (a param without a gradient,
// or of no elements, has norms 0). These are the per-layer norms that show gradients
// vanishing or exploding; LAMB's and LARS's trust ratios sum the same way. The results
// do not depend on the thread count or the instruction set.
func GradNorms(params []*Param) ([]TensorNorm, error) {
	const op = "grad_norms"
	ctx, err := engine()
	if err != nil {
		return nil, err
	}
	var h hold
	l, err := gradList(op, params, &h)
	if err != nil {
		return nil, err
	}
	defer l.Free()
	defer h.done()
	out := make([]TensorNorm, len(params))
	n := l.Len()
	if n == 0 {
		return out, nil
	}
	buf, err := newBackendTensor(2*n, op)
	if err != nil {
		return nil, err
	}
	defer buf.Close()
	if err := ctx.GradNorms(l, buf.ptr(), unsafe.Add(buf.ptr(), 4*n)); err != nil {
		return nil, err
	}
	vals := make([]float32, 2*n)
	if err := ctx.CopyToHost(vals, buf.ptr()); err != nil {
		return nil, err
	}
	k := 0
	for i, p := range params {
		if p.Grad == nil {
			continue
		}
		out[i] = TensorNorm{L2: float64(vals[k]), Inf: float64(vals[n+k])}
		k++
	}
	return out, nil
}

// ClipGradNorm is torch.nn.utils.clip_grad_norm_: it computes the total norm of the
// gradients of params (see GradNorm) and scales every gradient in place by
// min(maxNorm/(total+1e-6), 1). It returns the total norm before clipping. A maxNorm
// of 0 scales every gradient to 0, as in torch.
//
// The L2 norm is not torch's to the bit: goptim sums the squares in double and
// rounds once, while torch's float32 norm is off by a few ulps, and torch's
// overflows to +Inf above about 1.8e19, which scales every gradient to 0 in torch,
// where goptim still clips. Over a trajectory the ulps grow: runs with L2 clipping
// drift from torch's by up to 1e-3 relative. Without L2 clipping (the inf norm,
// value clipping, none) the library matches torch bit for bit.
//
// Unlike torch, a NaN or Inf total norm is never passed over silently: with
// errorIfNonfinite the gradients are left untouched and the error matches
// ErrNonFinite; without it, the gradients are scaled as torch would (which turns
// them into NaN) and the returned norm says so.
func ClipGradNorm(params []*Param, maxNorm, normType float64, errorIfNonfinite bool) (float64, error) {
	if err := checkNonNeg("clip_grad_norm", "max_norm", maxNorm); err != nil {
		return 0, err
	}
	return gradNorm("clip_grad_norm", params, normType,
		func(ctx *binding.Context, l *binding.List, norm unsafe.Pointer, total float64) error {
			if errorIfNonfinite && (math.IsNaN(total) || math.IsInf(total, 0)) {
				return fmt.Errorf("optim: clip_grad_norm: the total norm of order %v of the gradients is %v: %w",
					normType, total, ErrNonFinite)
			}
			return ctx.ClipGradByNorm(l, maxNorm, norm)
		})
}

// ClipGradValue is torch.nn.utils.clip_grad_value_: it clamps every gradient element
// to [-clipValue, clipValue] in place (NaN stays NaN).
func ClipGradValue(params []*Param, clipValue float64) error {
	if err := checkNonNeg("clip_grad_value", "clip_value", clipValue); err != nil {
		return err
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	var h hold
	l, err := gradList("clip_grad_value", params, &h)
	if err != nil {
		return err
	}
	defer l.Free()
	defer h.done()
	return ctx.ClipGradValue(l, clipValue)
}
