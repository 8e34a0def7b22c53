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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "goptim.h"

// A tensor list and the one block of C memory behind its arrays: numel, param,
// grad and state[0..2], cap words each. Go writes addresses into the block as
// integers (never as Go pointer types), so no pointer store into C memory ever
// runs a GC write barrier over whatever the block held before.
typedef struct {
	goptim_tensor_list list;
	uintptr_t *block;
	int64_t cap;
} gb_list;

static gb_list *gb_list_new(void) { return calloc(1, sizeof(gb_list)); }

// gb_list_reserve gives room for cap tensors, keeping the first count entries of
// every array. Returns 0 when out of memory (the list is unchanged then).
static int gb_list_reserve(gb_list *l, int64_t cap) {
	uintptr_t *b = calloc((size_t)cap * (3 + GOPTIM_MAX_STATE), sizeof(uintptr_t));
	if (!b) return 0;
	if (l->block) {
		for (int a = 0; a < 3 + GOPTIM_MAX_STATE; a++)
			memcpy(b + a * cap, l->block + a * l->cap, (size_t)l->list.count * sizeof(uintptr_t));
		free(l->block);
	}
	l->block = b;
	l->cap = cap;
	l->list.numel = (const int64_t *)b;
	l->list.param = (float *const *)(b + cap);
	l->list.grad = (float *const *)(b + 2 * cap);
	for (int k = 0; k < GOPTIM_MAX_STATE; k++) l->list.state[k] = (float *const *)(b + (3 + k) * cap);
	return 1;
}

// A stream handle crosses as an integer: it is C memory (a cudaStream_t), never Go's,
// and an integer keeps the Go side from holding a pointer it cannot vouch for.
static goptim_status gb_stream(const goptim_context *c, uintptr_t *out) {
	void *s = NULL;
	goptim_status st = goptim_context_stream(c, &s);
	*out = (uintptr_t)s;
	return st;
}
static goptim_status gb_set_stream(goptim_context *c, uintptr_t s) { return goptim_context_set_stream(c, (void *)s); }

static void gb_list_free(gb_list *l) {
	if (!l) return;
	free(l->block);
	free(l);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
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
//
// Its methods hold mu across the C call and the read of the context's error
// detail, so a failure is reported with its own detail, not with that of another
// goroutine's call. The C library serialises the calls of one context anyway.
type Context struct {
	mu sync.Mutex
	c  *C.goptim_context
}

// lock takes the context's mutex and returns its release, for one deferred call.
func (ctx *Context) lock() func() {
	ctx.mu.Lock()
	return ctx.mu.Unlock
}

// NewContext is goptim_context_create.
func NewContext(threads int) (*Context, error) {
	var c *C.goptim_context
	if err := check(nil, "context_create", C.goptim_context_create(C.int32_t(threads), &c)); err != nil {
		return nil, err
	}
	return &Context{c: c}, nil
}

// NewContextOn is goptim_context_create_on.
func NewContextOn(device, threads int) (*Context, error) {
	var c *C.goptim_context
	if err := check(nil, "context_create_on",
		C.goptim_context_create_on(C.int32_t(device), C.int32_t(threads), &c)); err != nil {
		return nil, err
	}
	return &Context{c: c}, nil
}

// DeviceCount is goptim_device_count.
func DeviceCount() (int, error) {
	var n C.int32_t
	err := check(nil, "device_count", C.goptim_device_count(&n))
	return int(n), err
}

// Device is goptim_context_device.
func (ctx *Context) Device() (int, error) {
	defer ctx.lock()()
	var d C.int32_t
	err := check(ctx, "context_device", C.goptim_context_device(ctx.c, &d))
	return int(d), err
}

// Stream is goptim_context_stream: the cudaStream_t as an integer (0 on the CPU).
func (ctx *Context) Stream() (uintptr, error) {
	defer ctx.lock()()
	var s C.uintptr_t
	err := check(ctx, "context_stream", C.gb_stream(ctx.c, &s))
	return uintptr(s), err
}

// SetStream is goptim_context_set_stream with the cudaStream_t as an integer.
func (ctx *Context) SetStream(s uintptr) error {
	defer ctx.lock()()
	return check(ctx, "context_set_stream", C.gb_set_stream(ctx.c, C.uintptr_t(s)))
}

// Destroy is goptim_context_destroy.
func (ctx *Context) Destroy() error {
	defer ctx.lock()()
	if ctx.c == nil {
		return nil
	}
	err := check(nil, "context_destroy", C.goptim_context_destroy(ctx.c))
	ctx.c = nil
	return err
}

// SetThreads is goptim_context_set_threads.
func (ctx *Context) SetThreads(n int) error {
	defer ctx.lock()()
	return check(ctx, "context_set_threads", C.goptim_context_set_threads(ctx.c, C.int32_t(n)))
}

// Threads is goptim_context_threads.
func (ctx *Context) Threads() (int, error) {
	defer ctx.lock()()
	var n C.int32_t
	err := check(ctx, "context_threads", C.goptim_context_threads(ctx.c, &n))
	return int(n), err
}

// SetISA is goptim_context_set_isa.
func (ctx *Context) SetISA(isa ISA) error {
	defer ctx.lock()()
	return check(ctx, "context_set_isa", C.goptim_context_set_isa(ctx.c, C.goptim_isa(isa)))
}

// ISA is goptim_context_isa.
func (ctx *Context) ISA() (ISA, error) {
	defer ctx.lock()()
	var i C.goptim_isa
	err := check(ctx, "context_isa", C.goptim_context_isa(ctx.c, &i))
	return ISA(i), err
}

// Synchronize is goptim_context_synchronize.
func (ctx *Context) Synchronize() error {
	defer ctx.lock()()
	return check(ctx, "context_synchronize", C.goptim_context_synchronize(ctx.c))
}

// Alloc is goptim_alloc: n zeroed floats of backend memory.
func (ctx *Context) Alloc(n int64) (unsafe.Pointer, error) {
	defer ctx.lock()()
	var p *C.float
	if err := check(ctx, "alloc", C.goptim_alloc(ctx.c, C.int64_t(n), &p)); err != nil {
		return nil, err
	}
	return unsafe.Pointer(p), nil
}

// Free is goptim_free.
func (ctx *Context) Free(p unsafe.Pointer) error {
	defer ctx.lock()()
	return check(ctx, "free", C.goptim_free(ctx.c, (*C.float)(p)))
}

// CopyFromHost is goptim_copy_from_host.
func (ctx *Context) CopyFromHost(dst unsafe.Pointer, src []float32) error {
	defer ctx.lock()()
	if len(src) == 0 {
		return nil
	}
	return check(ctx, "copy_from_host", C.goptim_copy_from_host(ctx.c, (*C.float)(dst),
		(*C.float)(unsafe.Pointer(&src[0])), C.int64_t(len(src))))
}

// CopyToHost is goptim_copy_to_host.
func (ctx *Context) CopyToHost(dst []float32, src unsafe.Pointer) error {
	defer ctx.lock()()
	if len(dst) == 0 {
		return nil
	}
	return check(ctx, "copy_to_host", C.goptim_copy_to_host(ctx.c, (*C.float)(unsafe.Pointer(&dst[0])),
		(*C.float)(src), C.int64_t(len(dst))))
}

// Copy is goptim_copy (backend to backend memory).
func (ctx *Context) Copy(dst, src unsafe.Pointer, n int64) error {
	defer ctx.lock()()
	return check(ctx, "copy", C.goptim_copy(ctx.c, (*C.float)(dst), (*C.float)(src), C.int64_t(n)))
}

// Fill is goptim_fill.
func (ctx *Context) Fill(dst unsafe.Pointer, v float32, n int64) error {
	defer ctx.lock()()
	return check(ctx, "fill", C.goptim_fill(ctx.c, (*C.float)(dst), C.float(v), C.int64_t(n)))
}

// MaxState is GOPTIM_MAX_STATE, the most state tensors an optimizer keeps per param.
const MaxState = C.GOPTIM_MAX_STATE

// List is a goptim_tensor_list whose arrays live in C memory, reused from step to
// step without allocating. It holds addresses as integers: the memory they point
// to is C memory, or Go memory that the caller has pinned and keeps alive across
// the call that reads the list.
type List struct {
	c     *C.gb_list
	words []C.uintptr_t // the block: numel, param, grad, state[0..2], cap words each
	cap   int
}

// NewList allocates a list with room for capacity tensors; it grows as needed.
func NewList(capacity int) *List {
	l := &List{c: C.gb_list_new()}
	if l.c == nil {
		panic("goptim: out of C memory for a tensor list")
	}
	l.grow(max(capacity, 1))
	return l
}

func (l *List) grow(capacity int) {
	if C.gb_list_reserve(l.c, C.int64_t(capacity)) == 0 {
		panic("goptim: out of C memory for a tensor list")
	}
	l.cap = capacity
	l.words = unsafe.Slice(l.c.block, (3+MaxState)*capacity)
}

// Reset empties the list.
func (l *List) Reset() { l.c.list.count = 0 }

// Len is the number of tensors in the list.
func (l *List) Len() int { return int(l.c.list.count) }

// Append adds a tensor: numel elements at the addresses param, grad and state[k]
// (0 where unused).
func (l *List) Append(numel int64, param, grad uintptr, state [MaxState]uintptr) {
	i := int(l.c.list.count)
	if i == l.cap {
		l.grow(2 * l.cap)
	}
	w, c := l.words, l.cap
	w[i] = C.uintptr_t(numel)
	w[c+i] = C.uintptr_t(param)
	w[2*c+i] = C.uintptr_t(grad)
	for k, a := range state {
		w[(3+k)*c+i] = C.uintptr_t(a)
	}
	l.c.list.count++
}

// Free releases the list's C memory. It is idempotent.
func (l *List) Free() {
	if l.c == nil {
		return
	}
	C.gb_list_free(l.c)
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
	defer ctx.lock()()
	hp := C.goptim_sgd_params{lr: C.double(h.LR), momentum: C.double(h.Momentum), dampening: C.double(h.Dampening),
		weight_decay: C.double(h.WeightDecay), nesterov: cbool(h.Nesterov), maximize: cbool(h.Maximize)}
	return check(ctx, "sgd_step", C.goptim_sgd_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// AdamParams mirrors goptim_adam_params.
type AdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay      float64
	AMSGrad, Maximize, DecoupledWeightDecay bool
}

// AdamStep is goptim_adam_step.
func (ctx *Context) AdamStep(l *List, h *AdamParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_adam_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		eps: C.double(h.Eps), weight_decay: C.double(h.WeightDecay), amsgrad: cbool(h.AMSGrad),
		maximize: cbool(h.Maximize), decoupled_weight_decay: cbool(h.DecoupledWeightDecay)}
	return check(ctx, "adam_step", C.goptim_adam_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// AdagradParams mirrors goptim_adagrad_params.
type AdagradParams struct {
	LR, LRDecay, WeightDecay, Eps float64
	Maximize                      bool
}

// AdagradStep is goptim_adagrad_step.
func (ctx *Context) AdagradStep(l *List, h *AdagradParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_adagrad_params{lr: C.double(h.LR), lr_decay: C.double(h.LRDecay),
		weight_decay: C.double(h.WeightDecay), eps: C.double(h.Eps), maximize: cbool(h.Maximize)}
	return check(ctx, "adagrad_step", C.goptim_adagrad_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// AdamaxParams mirrors goptim_adamax_params.
type AdamaxParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Maximize                           bool
}

// AdamaxStep is goptim_adamax_step.
func (ctx *Context) AdamaxStep(l *List, h *AdamaxParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_adamax_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		eps: C.double(h.Eps), weight_decay: C.double(h.WeightDecay), maximize: cbool(h.Maximize)}
	return check(ctx, "adamax_step", C.goptim_adamax_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// RAdamParams mirrors goptim_radam_params.
type RAdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	DecoupledWeightDecay, Maximize     bool
}

// RAdamStep is goptim_radam_step.
func (ctx *Context) RAdamStep(l *List, h *RAdamParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_radam_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		eps: C.double(h.Eps), weight_decay: C.double(h.WeightDecay),
		decoupled_weight_decay: cbool(h.DecoupledWeightDecay), maximize: cbool(h.Maximize)}
	return check(ctx, "radam_step", C.goptim_radam_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// NAdamParams mirrors goptim_nadam_params.
type NAdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay, MomentumDecay float64
	MuProduct                                         float32 // before the step
	DecoupledWeightDecay, Maximize                    bool
}

func (h *NAdamParams) c() C.goptim_nadam_params {
	return C.goptim_nadam_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		eps: C.double(h.Eps), weight_decay: C.double(h.WeightDecay), momentum_decay: C.double(h.MomentumDecay),
		mu_product: C.double(h.MuProduct), decoupled_weight_decay: cbool(h.DecoupledWeightDecay),
		maximize: cbool(h.Maximize)}
}

// NAdamStep is goptim_nadam_step.
func (ctx *Context) NAdamStep(l *List, h *NAdamParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := h.c()
	return check(ctx, "nadam_step", C.goptim_nadam_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// NAdamMuProduct is goptim_nadam_mu_product: mu_product after step.
func NAdamMuProduct(h *NAdamParams, step int64) (float32, error) {
	hp := h.c()
	var out C.float
	if st := C.goptim_nadam_mu_product(&hp, C.int64_t(step), &out); st != C.GOPTIM_OK {
		return 0, check(nil, "nadam_mu_product", st)
	}
	return float32(out), nil
}

// ASGDParams mirrors goptim_asgd_params.
type ASGDParams struct {
	LR, Lambd, Alpha, T0, WeightDecay float64
	Eta, Mu                           float32 // before the step
	Maximize                          bool
}

func (h *ASGDParams) c() C.goptim_asgd_params {
	return C.goptim_asgd_params{lr: C.double(h.LR), lambd: C.double(h.Lambd), alpha: C.double(h.Alpha),
		t0: C.double(h.T0), weight_decay: C.double(h.WeightDecay), eta: C.double(h.Eta), mu: C.double(h.Mu),
		maximize: cbool(h.Maximize)}
}

// ASGDStep is goptim_asgd_step.
func (ctx *Context) ASGDStep(l *List, h *ASGDParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := h.c()
	return check(ctx, "asgd_step", C.goptim_asgd_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// ASGDNext is goptim_asgd_next: eta and mu after step.
func ASGDNext(h *ASGDParams, step int64) (eta, mu float32, err error) {
	hp := h.c()
	var e, m C.float
	if st := C.goptim_asgd_next(&hp, C.int64_t(step), &e, &m); st != C.GOPTIM_OK {
		return 0, 0, check(nil, "asgd_next", st)
	}
	return float32(e), float32(m), nil
}

// AdafactorParams mirrors goptim_adafactor_params.
type AdafactorParams struct {
	LR, Beta2Decay, Eps1, Eps2, D, WeightDecay float64
	Maximize                                   bool
}

// AdafactorStep is goptim_adafactor_step. rows and cols hold one entry per tensor of
// the list (rows[i] == 0: a vector).
func (ctx *Context) AdafactorStep(l *List, rows, cols []int64, h *AdafactorParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	rp, cp, err := shapePointers("adafactor_step", l, rows, cols)
	if err != nil {
		return err
	}
	hp := C.goptim_adafactor_params{lr: C.double(h.LR), beta2_decay: C.double(h.Beta2Decay), eps1: C.double(h.Eps1),
		eps2: C.double(h.Eps2), d: C.double(h.D), weight_decay: C.double(h.WeightDecay), maximize: cbool(h.Maximize)}
	st := C.goptim_adafactor_step(ctx.c, &l.c.list, rp, cp, &hp, C.int64_t(step), aux.c())
	runtime.KeepAlive(rows)
	runtime.KeepAlive(cols)
	return check(ctx, "adafactor_step", st)
}

// shapePointers checks that rows and cols hold an entry for every tensor of the list
// and returns their first elements for a shaped step (nil for empty slices). Go memory
// passed for the call only: the caller keeps rows and cols alive across it.
func shapePointers(op string, l *List, rows, cols []int64) (rp, cp *C.int64_t, err error) {
	if len(rows) < l.Len() || len(cols) < l.Len() {
		return nil, nil, &Error{Op: op, Status: StatusInvalidArgument, Detail: "fewer shapes than tensors"}
	}
	if len(rows) > 0 && len(cols) > 0 {
		rp, cp = (*C.int64_t)(unsafe.Pointer(&rows[0])), (*C.int64_t)(unsafe.Pointer(&cols[0]))
	}
	return rp, cp, nil
}

// LionParams mirrors goptim_lion_params.
type LionParams struct {
	LR, Beta1, Beta2, WeightDecay float64
}

// LionStep is goptim_lion_step.
func (ctx *Context) LionStep(l *List, h *LionParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_lion_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		weight_decay: C.double(h.WeightDecay)}
	return check(ctx, "lion_step", C.goptim_lion_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// AdEMAMixParams mirrors goptim_ademamix_params.
type AdEMAMixParams struct {
	LR, Beta1, Beta2, Beta3, Alpha, Eps, WeightDecay float64
	AlphaWarmup, Beta3Warmup                         int64
}

// AdEMAMixStep is goptim_ademamix_step.
func (ctx *Context) AdEMAMixStep(l *List, h *AdEMAMixParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_ademamix_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		beta3: C.double(h.Beta3), alpha: C.double(h.Alpha), eps: C.double(h.Eps), weight_decay: C.double(h.WeightDecay),
		alpha_warmup: C.int64_t(h.AlphaWarmup), beta3_warmup: C.int64_t(h.Beta3Warmup)}
	return check(ctx, "ademamix_step", C.goptim_ademamix_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// AdadeltaParams mirrors goptim_adadelta_params.
type AdadeltaParams struct {
	LR, Rho, Eps, WeightDecay float64
	Maximize                  bool
}

// AdadeltaStep is goptim_adadelta_step.
func (ctx *Context) AdadeltaStep(l *List, h *AdadeltaParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_adadelta_params{lr: C.double(h.LR), rho: C.double(h.Rho), eps: C.double(h.Eps),
		weight_decay: C.double(h.WeightDecay), maximize: cbool(h.Maximize)}
	return check(ctx, "adadelta_step", C.goptim_adadelta_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// RpropParams mirrors goptim_rprop_params.
type RpropParams struct {
	LR, EtaMinus, EtaPlus, StepSizeMin, StepSizeMax float64
	Maximize                                        bool
}

// RpropStep is goptim_rprop_step.
func (ctx *Context) RpropStep(l *List, h *RpropParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_rprop_params{lr: C.double(h.LR), etaminus: C.double(h.EtaMinus), etaplus: C.double(h.EtaPlus),
		step_size_min: C.double(h.StepSizeMin), step_size_max: C.double(h.StepSizeMax), maximize: cbool(h.Maximize)}
	return check(ctx, "rprop_step", C.goptim_rprop_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// RMSpropParams mirrors goptim_rmsprop_params.
type RMSpropParams struct {
	LR, Alpha, Eps, WeightDecay, Momentum float64
	Centered, Maximize                    bool
}

// RMSpropStep is goptim_rmsprop_step.
func (ctx *Context) RMSpropStep(l *List, h *RMSpropParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_rmsprop_params{lr: C.double(h.LR), alpha: C.double(h.Alpha), eps: C.double(h.Eps),
		weight_decay: C.double(h.WeightDecay), momentum: C.double(h.Momentum), centered: cbool(h.Centered),
		maximize: cbool(h.Maximize)}
	return check(ctx, "rmsprop_step", C.goptim_rmsprop_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// GradNorm is goptim_grad_norm; out is backend memory for one float.
func (ctx *Context) GradNorm(l *List, normType float64, out unsafe.Pointer) error {
	defer ctx.lock()()
	return check(ctx, "grad_norm", C.goptim_grad_norm(ctx.c, &l.c.list, C.double(normType), (*C.float)(out)))
}

// GradNorms is goptim_grad_norms; l2 and inf are backend memory of one float per tensor
// of the list (either may be nil, not both).
func (ctx *Context) GradNorms(l *List, l2, inf unsafe.Pointer) error {
	defer ctx.lock()()
	return check(ctx, "grad_norms", C.goptim_grad_norms(ctx.c, &l.c.list, (*C.float)(l2), (*C.float)(inf)))
}

// ClipGradByNorm is goptim_clip_grad_by_norm; norm is backend memory for one float.
func (ctx *Context) ClipGradByNorm(l *List, maxNorm float64, norm unsafe.Pointer) error {
	defer ctx.lock()()
	return check(ctx, "clip_grad_by_norm", C.goptim_clip_grad_by_norm(ctx.c, &l.c.list, C.double(maxNorm), (*C.float)(norm)))
}

// ClipGradValue is goptim_clip_grad_value.
func (ctx *Context) ClipGradValue(l *List, clip float64) error {
	defer ctx.lock()()
	return check(ctx, "clip_grad_value", C.goptim_clip_grad_value(ctx.c, &l.c.list, C.double(clip)))
}

// CheckFinite is goptim_check_finite; invScale (may be nil) and foundInf are backend
// memory for one float.
func (ctx *Context) CheckFinite(l *List, invScale, foundInf unsafe.Pointer) error {
	defer ctx.lock()()
	return check(ctx, "check_finite", C.goptim_check_finite(ctx.c, &l.c.list, (*C.float)(invScale), (*C.float)(foundInf)))
}

// ZeroGrad is goptim_zero_grad.
func (ctx *Context) ZeroGrad(l *List) error {
	defer ctx.lock()()
	return check(ctx, "zero_grad", C.goptim_zero_grad(ctx.c, &l.c.list))
}

// Sgemm is goptim_sgemm (row-major, as cblas_sgemm).
func (ctx *Context) Sgemm(transA, transB bool, m, n, k int64, alpha float32, a unsafe.Pointer, lda int64,
	b unsafe.Pointer, ldb int64, beta float32, c unsafe.Pointer, ldc int64) error {
	defer ctx.lock()()
	return check(ctx, "sgemm", C.goptim_sgemm(ctx.c, cbool(transA), cbool(transB), C.int64_t(m), C.int64_t(n),
		C.int64_t(k), C.float(alpha), (*C.float)(a), C.int64_t(lda), (*C.float)(b), C.int64_t(ldb),
		C.float(beta), (*C.float)(c), C.int64_t(ldc)))
}
