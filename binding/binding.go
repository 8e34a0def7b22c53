// Package binding is the thin cgo layer over goptim's C ABI (csrc/include/goptim.h):
// one Go function per C entry point, C status turned into a typed Go error, nothing
// else. Validation, defaults and state live in package optim; use that package.
//
// Pointers named "backend memory" are host memory on the CPU build and device memory
// on the GPU build (-tags cuda); they come from Alloc, or on the CPU from pinned Go
// memory.
package binding

/*
#cgo CFLAGS: -I${SRCDIR}/../csrc/include
#include <stdlib.h>
#include "goptim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Status is the C library's status code.
type Status int

// The status codes of goptim.h.
const (
	StatusOK              Status = C.GOPTIM_OK
	StatusInvalidArgument Status = C.GOPTIM_ERR_INVALID_ARGUMENT
	StatusOutOfMemory     Status = C.GOPTIM_ERR_OUT_OF_MEMORY
	StatusNonFinite       Status = C.GOPTIM_ERR_NONFINITE
	StatusBackend         Status = C.GOPTIM_ERR_BACKEND
	StatusUnsupported     Status = C.GOPTIM_ERR_UNSUPPORTED
)

// String is the C library's description of the status.
func (s Status) String() string { return C.GoString(C.goptim_status_string(C.goptim_status(s))) }

// Sentinel errors, one per failing status; every *Error matches one with errors.Is.
var (
	ErrInvalidArgument = errors.New("goptim: invalid argument")
	ErrOutOfMemory     = errors.New("goptim: out of memory")
	ErrNonFinite       = errors.New("goptim: non-finite value")
	ErrBackend         = errors.New("goptim: backend failure")
	ErrUnsupported     = errors.New("goptim: unsupported")
)

// Error is a failed C call: which call, its status and the context's detail message.
type Error struct {
	Op     string
	Status Status
	Detail string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("goptim: %s: %s", e.Op, e.Status)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is makes errors.Is(err, ErrOutOfMemory) and friends work.
func (e *Error) Is(target error) bool {
	switch e.Status {
	case StatusInvalidArgument:
		return target == ErrInvalidArgument
	case StatusOutOfMemory:
		return target == ErrOutOfMemory
	case StatusNonFinite:
		return target == ErrNonFinite
	case StatusBackend:
		return target == ErrBackend
	case StatusUnsupported:
		return target == ErrUnsupported
	}
	return false
}

func check(ctx *Context, op string, st C.goptim_status) error {
	if st == C.GOPTIM_OK {
		return nil
	}
	e := &Error{Op: op, Status: Status(st)}
	if ctx != nil && ctx.c != nil {
		e.Detail = C.GoString(C.goptim_context_last_error(ctx.c))
	}
	return e
}

// BackendName is "cpu" or "cuda".
func BackendName() string { return C.GoString(C.goptim_backend_name()) }

// BackendIsDevice reports whether backend memory is device memory.
func BackendIsDevice() bool { return C.goptim_backend_is_device() != 0 }

// ISA is an instruction set of the CPU kernels.
type ISA int

// The instruction sets of goptim.h.
const (
	ISAAuto     ISA = C.GOPTIM_ISA_AUTO
	ISAPortable ISA = C.GOPTIM_ISA_PORTABLE
	ISAAVX2     ISA = C.GOPTIM_ISA_AVX2
	ISAAVX512   ISA = C.GOPTIM_ISA_AVX512
	ISANEON     ISA = C.GOPTIM_ISA_NEON
)

func (i ISA) String() string {
	switch i {
	case ISAAuto:
		return "auto"
	case ISAPortable:
		return "portable"
	case ISAAVX2:
		return "avx2"
	case ISAAVX512:
		return "avx512"
	case ISANEON:
		return "neon"
	}
	return fmt.Sprintf("ISA(%d)", int(i))
}

// Context is a goptim_context: a thread pool on the CPU, a stream on the GPU.
type Context struct{ c *C.goptim_context }

// NewContext is goptim_context_create.
func NewContext(threads int) (*Context, error) {
	var c *C.goptim_context
	if err := check(nil, "context_create", C.goptim_context_create(C.int32_t(threads), &c)); err != nil {
		return nil, err
	}
	return &Context{c: c}, nil
}

// Destroy is goptim_context_destroy.
func (ctx *Context) Destroy() error {
	if ctx.c == nil {
		return nil
	}
	err := check(nil, "context_destroy", C.goptim_context_destroy(ctx.c))
	ctx.c = nil
	return err
}

// SetThreads is goptim_context_set_threads.
func (ctx *Context) SetThreads(n int) error {
	return check(ctx, "context_set_threads", C.goptim_context_set_threads(ctx.c, C.int32_t(n)))
}

// Threads is goptim_context_threads.
func (ctx *Context) Threads() (int, error) {
	var n C.int32_t
	err := check(ctx, "context_threads", C.goptim_context_threads(ctx.c, &n))
	return int(n), err
}

// SetISA is goptim_context_set_isa.
func (ctx *Context) SetISA(isa ISA) error {
	return check(ctx, "context_set_isa", C.goptim_context_set_isa(ctx.c, C.goptim_isa(isa)))
}

// ISA is goptim_context_isa.
func (ctx *Context) ISA() (ISA, error) {
	var i C.goptim_isa
	err := check(ctx, "context_isa", C.goptim_context_isa(ctx.c, &i))
	return ISA(i), err
}

// Synchronize is goptim_context_synchronize.
func (ctx *Context) Synchronize() error {
	return check(ctx, "context_synchronize", C.goptim_context_synchronize(ctx.c))
}

// Alloc is goptim_alloc: n zeroed floats of backend memory.
func (ctx *Context) Alloc(n int64) (unsafe.Pointer, error) {
	var p *C.float
	if err := check(ctx, "alloc", C.goptim_alloc(ctx.c, C.int64_t(n), &p)); err != nil {
		return nil, err
	}
	return unsafe.Pointer(p), nil
}

// Free is goptim_free.
func (ctx *Context) Free(p unsafe.Pointer) error {
	return check(ctx, "free", C.goptim_free(ctx.c, (*C.float)(p)))
}

// CopyFromHost is goptim_copy_from_host.
func (ctx *Context) CopyFromHost(dst unsafe.Pointer, src []float32) error {
	if len(src) == 0 {
		return nil
	}
	return check(ctx, "copy_from_host", C.goptim_copy_from_host(ctx.c, (*C.float)(dst),
		(*C.float)(unsafe.Pointer(&src[0])), C.int64_t(len(src))))
}

// CopyToHost is goptim_copy_to_host.
func (ctx *Context) CopyToHost(dst []float32, src unsafe.Pointer) error {
	if len(dst) == 0 {
		return nil
	}
	return check(ctx, "copy_to_host", C.goptim_copy_to_host(ctx.c, (*C.float)(unsafe.Pointer(&dst[0])),
		(*C.float)(src), C.int64_t(len(dst))))
}

// Copy is goptim_copy (backend to backend memory).
func (ctx *Context) Copy(dst, src unsafe.Pointer, n int64) error {
	return check(ctx, "copy", C.goptim_copy(ctx.c, (*C.float)(dst), (*C.float)(src), C.int64_t(n)))
}

// Fill is goptim_fill.
func (ctx *Context) Fill(dst unsafe.Pointer, v float32, n int64) error {
	return check(ctx, "fill", C.goptim_fill(ctx.c, (*C.float)(dst), C.float(v), C.int64_t(n)))
}

// MaxState is GOPTIM_MAX_STATE, the most state tensors an optimizer keeps per param.
const MaxState = C.GOPTIM_MAX_STATE

// List is a goptim_tensor_list whose arrays live in C memory, so that it can hold
// pointers to pinned Go memory and be reused from step to step without allocating.
type List struct {
	c     *C.goptim_tensor_list
	cap   int
	numel *C.int64_t
	param **C.float
	grad  **C.float
	state [MaxState]**C.float
}

// NewList allocates a list with room for capacity tensors; it grows as needed.
func NewList(capacity int) *List {
	l := &List{c: (*C.goptim_tensor_list)(C.calloc(1, C.size_t(unsafe.Sizeof(C.goptim_tensor_list{}))))}
	l.grow(max(capacity, 1))
	return l
}

func (l *List) grow(capacity int) {
	ptr := C.size_t(unsafe.Sizeof((*C.float)(nil)))
	l.numel = (*C.int64_t)(C.realloc(unsafe.Pointer(l.numel), C.size_t(capacity)*8))
	l.param = (**C.float)(C.realloc(unsafe.Pointer(l.param), C.size_t(capacity)*ptr))
	l.grad = (**C.float)(C.realloc(unsafe.Pointer(l.grad), C.size_t(capacity)*ptr))
	for k := range l.state {
		l.state[k] = (**C.float)(C.realloc(unsafe.Pointer(l.state[k]), C.size_t(capacity)*ptr))
	}
	if l.numel == nil || l.param == nil || l.grad == nil || l.state[0] == nil || l.state[1] == nil || l.state[2] == nil {
		panic("goptim: out of C memory for a tensor list")
	}
	l.cap = capacity
	l.c.numel = l.numel
	l.c.param = l.param
	l.c.grad = l.grad
	for k := range l.state {
		l.c.state[k] = l.state[k]
	}
}

// Reset empties the list.
func (l *List) Reset() { l.c.count = 0 }

// Len is the number of tensors in the list.
func (l *List) Len() int { return int(l.c.count) }

// Append adds a tensor: numel elements at param, grad and state[k] (nil where unused).
func (l *List) Append(numel int64, param, grad unsafe.Pointer, state [MaxState]unsafe.Pointer) {
	i := int(l.c.count)
	if i == l.cap {
		l.grow(2 * l.cap)
	}
	unsafe.Slice(l.numel, l.cap)[i] = C.int64_t(numel)
	unsafe.Slice(l.param, l.cap)[i] = (*C.float)(param)
	unsafe.Slice(l.grad, l.cap)[i] = (*C.float)(grad)
	for k := range state {
		unsafe.Slice(l.state[k], l.cap)[i] = (*C.float)(state[k])
	}
	l.c.count++
}

// Free releases the list's C memory.
func (l *List) Free() {
	if l.c == nil {
		return
	}
	C.free(unsafe.Pointer(l.numel))
	C.free(unsafe.Pointer(l.param))
	C.free(unsafe.Pointer(l.grad))
	for k := range l.state {
		C.free(unsafe.Pointer(l.state[k]))
	}
	C.free(unsafe.Pointer(l.c))
	*l = List{}
}

// Aux is goptim_step_aux: optional AMP and clipping extras of a step. The pointers
// are backend memory holding one float each; nil for none.
type Aux struct {
	GradScale unsafe.Pointer
	FoundInf  unsafe.Pointer
	ClipNorm  unsafe.Pointer
	MaxNorm   float64
}

// c converts to the C struct; nil stays nil. The pointers in it are C or pinned
// memory, so the struct may itself live in Go memory during the call.
func (a *Aux) c() *C.goptim_step_aux {
	if a == nil {
		return nil
	}
	return &C.goptim_step_aux{grad_scale: (*C.float)(a.GradScale), found_inf: (*C.float)(a.FoundInf),
		clip_norm: (*C.float)(a.ClipNorm), max_norm: C.double(a.MaxNorm)}
}

func cbool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

// SGDParams mirrors goptim_sgd_params.
type SGDParams struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov, Maximize                   bool
}

// SGDStep is goptim_sgd_step.
func (ctx *Context) SGDStep(l *List, h *SGDParams, step int64, aux *Aux) error {
	hp := C.goptim_sgd_params{lr: C.double(h.LR), momentum: C.double(h.Momentum), dampening: C.double(h.Dampening),
		weight_decay: C.double(h.WeightDecay), nesterov: cbool(h.Nesterov), maximize: cbool(h.Maximize)}
	return check(ctx, "sgd_step", C.goptim_sgd_step(ctx.c, l.c, &hp, C.int64_t(step), aux.c()))
}

// AdamParams mirrors goptim_adam_params.
type AdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay      float64
	AMSGrad, Maximize, DecoupledWeightDecay bool
}

// AdamStep is goptim_adam_step.
func (ctx *Context) AdamStep(l *List, h *AdamParams, step int64, aux *Aux) error {
	hp := C.goptim_adam_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		eps: C.double(h.Eps), weight_decay: C.double(h.WeightDecay), amsgrad: cbool(h.AMSGrad),
		maximize: cbool(h.Maximize), decoupled_weight_decay: cbool(h.DecoupledWeightDecay)}
	return check(ctx, "adam_step", C.goptim_adam_step(ctx.c, l.c, &hp, C.int64_t(step), aux.c()))
}

// AdagradParams mirrors goptim_adagrad_params.
type AdagradParams struct {
	LR, LRDecay, WeightDecay, Eps float64
	Maximize                      bool
}

// AdagradStep is goptim_adagrad_step.
func (ctx *Context) AdagradStep(l *List, h *AdagradParams, step int64, aux *Aux) error {
	hp := C.goptim_adagrad_params{lr: C.double(h.LR), lr_decay: C.double(h.LRDecay),
		weight_decay: C.double(h.WeightDecay), eps: C.double(h.Eps), maximize: cbool(h.Maximize)}
	return check(ctx, "adagrad_step", C.goptim_adagrad_step(ctx.c, l.c, &hp, C.int64_t(step), aux.c()))
}

// RMSpropParams mirrors goptim_rmsprop_params.
type RMSpropParams struct {
	LR, Alpha, Eps, WeightDecay, Momentum float64
	Centered, Maximize                    bool
}

// RMSpropStep is goptim_rmsprop_step.
func (ctx *Context) RMSpropStep(l *List, h *RMSpropParams, step int64, aux *Aux) error {
	hp := C.goptim_rmsprop_params{lr: C.double(h.LR), alpha: C.double(h.Alpha), eps: C.double(h.Eps),
		weight_decay: C.double(h.WeightDecay), momentum: C.double(h.Momentum), centered: cbool(h.Centered),
		maximize: cbool(h.Maximize)}
	return check(ctx, "rmsprop_step", C.goptim_rmsprop_step(ctx.c, l.c, &hp, C.int64_t(step), aux.c()))
}

// GradNorm is goptim_grad_norm; out is backend memory for one float.
func (ctx *Context) GradNorm(l *List, normType float64, out unsafe.Pointer) error {
	return check(ctx, "grad_norm", C.goptim_grad_norm(ctx.c, l.c, C.double(normType), (*C.float)(out)))
}

// ClipGradByNorm is goptim_clip_grad_by_norm; norm is backend memory for one float.
func (ctx *Context) ClipGradByNorm(l *List, maxNorm float64, norm unsafe.Pointer) error {
	return check(ctx, "clip_grad_by_norm", C.goptim_clip_grad_by_norm(ctx.c, l.c, C.double(maxNorm), (*C.float)(norm)))
}

// ClipGradValue is goptim_clip_grad_value.
func (ctx *Context) ClipGradValue(l *List, clip float64) error {
	return check(ctx, "clip_grad_value", C.goptim_clip_grad_value(ctx.c, l.c, C.double(clip)))
}

// CheckFinite is goptim_check_finite; invScale (may be nil) and foundInf are backend
// memory for one float.
func (ctx *Context) CheckFinite(l *List, invScale, foundInf unsafe.Pointer) error {
	return check(ctx, "check_finite", C.goptim_check_finite(ctx.c, l.c, (*C.float)(invScale), (*C.float)(foundInf)))
}

// ZeroGrad is goptim_zero_grad.
func (ctx *Context) ZeroGrad(l *List) error {
	return check(ctx, "zero_grad", C.goptim_zero_grad(ctx.c, l.c))
}

// Sgemm is goptim_sgemm (row-major, as cblas_sgemm).
func (ctx *Context) Sgemm(transA, transB bool, m, n, k int64, alpha float32, a unsafe.Pointer, lda int64,
	b unsafe.Pointer, ldb int64, beta float32, c unsafe.Pointer, ldc int64) error {
	return check(ctx, "sgemm", C.goptim_sgemm(ctx.c, cbool(transA), cbool(transB), C.int64_t(m), C.int64_t(n),
		C.int64_t(k), C.float(alpha), (*C.float)(a), C.int64_t(lda), (*C.float)(b), C.int64_t(ldb),
		C.float(beta), (*C.float)(c), C.int64_t(ldc)))
}
