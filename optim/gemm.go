package optim

import (
	"fmt"
	"math"
)

// Gemm sets c = alpha*op(a)*op(b) + beta*c for row-major matrices held in tensors
// (the first elements of each, leading dimensions tight): op(a) is m×k, op(b) is k×n,
// c is m×n, and op transposes when asked. It runs on the backend's BLAS — OpenBLAS on
// the CPU, cuBLAS on the GPU — for the model math of examples; the optimizers do not
// need it.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a, b *Tensor, beta float32, c *Tensor) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("optim: Gemm: negative size %d×%d×%d: %w", m, n, k, ErrShape)
	}
	if m > math.MaxInt32 || n > math.MaxInt32 || k > math.MaxInt32 {
		return fmt.Errorf("optim: Gemm: size %d×%d×%d: dimensions above 2^31-1 need a 64-bit-index BLAS: %w",
			m, n, k, ErrUnsupported)
	}
	for _, x := range []struct {
		name string
		t    *Tensor
		need int
	}{{"a", a, m * k}, {"b", b, k * n}, {"c", c, m * n}} {
		if x.t == nil {
			return fmt.Errorf("optim: Gemm: tensor %s is nil: %w", x.name, ErrNilParam)
		}
		if x.t.Len() < x.need {
			return &ShapeError{Param: "gemm " + x.name, What: "tensor", Got: x.t.Len(), Want: x.need}
		}
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	var h hold
	defer h.done()
	for _, x := range []struct {
		name string
		t    *Tensor
	}{{"a", a}, {"b", b}, {"c", c}} {
		if !h.add(x.t.buf) {
			return fmt.Errorf("optim: Gemm: tensor %s: %w", x.name, ErrClosed)
		}
	}
	return ctx.Sgemm(transA, transB, int64(m), int64(n), int64(k), alpha, a.ptr(), int64(lda), b.ptr(), int64(ldb),
		beta, c.ptr(), int64(n))
}
