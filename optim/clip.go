package optim

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/goptim/goptim/binding"
)

// (reliability: the op names in errors are torch's, as in the ConfigErrors of the
// same functions: grad_norm, clip_grad_norm, clip_grad_value.)
//
// gradList builds a tensor list of the gradients of params (nil grads are skipped, as
// torch skips params whose .grad is None). The caller frees it.
func gradList(op string, params []*Param) (*binding.List, error) {
	l := binding.NewList(len(params))
	for i, p := range params {
		if p == nil {
			l.Free()
			return nil, fmt.Errorf("optim: %s: param %d: %w", op, i, ErrNilParam)
		}
		if p.Grad == nil {
			continue
		}
		if !p.Grad.live() {
			l.Free()
			// reliability: "grad tensor: optim: used after Close", not "grad optim: ...".
			return nil, fmt.Errorf("optim: %s: param %s: grad tensor: %w", op, p.label(i), ErrClosed)
		}
		l.Append(int64(p.Grad.Len()), nil, p.Grad.ptr, [binding.MaxState]unsafe.Pointer{})
	}
	return l, nil
}

func checkNormType(op string, normType float64) error {
	if normType != 2 && !math.IsInf(normType, 1) {
		return &ConfigError{Optimizer: op, Field: "norm_type", Value: normType, Reason: "must be 2 or +Inf"}
	}
	return nil
}

// GradNorm is the total norm of the gradients of params, as clip_grad_norm_ computes
// it: norm_type 2 (the L2 norm of all elements together) or math.Inf(1) (the largest
// |g|). NaN or Inf in a gradient give a NaN or Inf norm.
func GradNorm(params []*Param, normType float64) (float64, error) {
	l, norm, total, err := gradNorm("grad_norm", params, normType)
	if err != nil {
		return 0, err
	}
	l.Free()
	norm.Close()
	return total, nil
}

// gradNorm computes the norm into a one-float backend tensor and returns it with the
// grad list (both for the caller to free) and the norm's host value.
func gradNorm(op string, params []*Param, normType float64) (*binding.List, *Tensor, float64, error) {
	if err := checkNormType(op, normType); err != nil {
		return nil, nil, 0, err
	}
	ctx, err := engine()
	if err != nil {
		return nil, nil, 0, err
	}
	norm, err := NewTensor(1)
	if err != nil {
		return nil, nil, 0, err
	}
	l, err := gradList(op, params)
	if err != nil {
		norm.Close()
		return nil, nil, 0, err
	}
	var out [1]float32
	if err = ctx.GradNorm(l, normType, norm.ptr); err == nil {
		err = ctx.CopyToHost(out[:], norm.ptr)
	}
	if err != nil {
		l.Free()
		norm.Close()
		return nil, nil, 0, err
	}
	return l, norm, float64(out[0]), nil
}

// ClipGradNorm is torch.nn.utils.clip_grad_norm_: it computes the total norm of the
// gradients of params (see GradNorm) and, when it exceeds maxNorm, scales every
// gradient in place by maxNorm/(total+1e-6). It returns the total norm before
// clipping.
//
// Unlike torch, a NaN or Inf total norm is never passed over silently: with
// errorIfNonfinite the gradients are left untouched and the error matches
// ErrNonFinite; without it, the gradients are scaled as torch would (which turns
// them into NaN) and the returned norm says so.
func ClipGradNorm(params []*Param, maxNorm, normType float64, errorIfNonfinite bool) (float64, error) {
	if err := checkNonNeg("clip_grad_norm", "max_norm", maxNorm); err != nil {
		return 0, err
	}
	l, norm, total, err := gradNorm("clip_grad_norm", params, normType)
	if err != nil {
		return 0, err
	}
	defer l.Free()
	defer norm.Close()
	if errorIfNonfinite && (math.IsNaN(total) || math.IsInf(total, 0)) {
		return total, fmt.Errorf("optim: clip_grad_norm: the total norm of order %v of the gradients is %v: %w",
			normType, total, ErrNonFinite)
	}
	ctx, err := engine()
	if err != nil {
		return 0, err
	}
	return total, ctx.ClipGradByNorm(l, maxNorm, norm.ptr)
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
	l, err := gradList("clip_grad_value", params)
	if err != nil {
		return err
	}
	defer l.Free()
	return ctx.ClipGradValue(l, clipValue)
}
