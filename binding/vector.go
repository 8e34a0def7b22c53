package binding

/*
#cgo CFLAGS: -I${SRCDIR}/../csrc/include
#include "goptim.h"
*/
import "C"

import "unsafe"

// The pointers below are backend memory (Alloc's, or on the CPU pinned Go memory whose
// owner keeps it alive across the call); they cross as call arguments only, and C keeps
// none of them after returning.

// Dot is goptim_dot: the float32 dot product of n floats at x and y.
func (ctx *Context) Dot(n int64, x, y unsafe.Pointer) (float32, error) {
	defer ctx.lock()()
	// out is a C value on the Go stack (or heap): C writes it during the call only.
	var out C.float
	err := check(ctx, "dot", C.goptim_dot(ctx.c, C.int64_t(n), (*C.float)(x), (*C.float)(y), &out))
	return float32(out), err
}

// Axpy is goptim_axpy: y += alpha*x over n floats.
func (ctx *Context) Axpy(n int64, alpha float32, x, y unsafe.Pointer) error {
	defer ctx.lock()()
	return check(ctx, "axpy", C.goptim_axpy(ctx.c, C.int64_t(n), C.float(alpha), (*C.float)(x), (*C.float)(y)))
}

// Scal is goptim_scal: x *= alpha over n floats.
func (ctx *Context) Scal(n int64, alpha float32, x unsafe.Pointer) error {
	defer ctx.lock()()
	return check(ctx, "scal", C.goptim_scal(ctx.c, C.int64_t(n), C.float(alpha), (*C.float)(x)))
}
