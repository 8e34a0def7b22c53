package optim

import (
	"fmt"
	"unsafe"
)

// Tensor is a flat float32 buffer: Go memory on the CPU build, GPU memory on the
// CUDA build. Create one with NewTensor, TensorFrom or (CPU only) WrapSlice; a Tensor
// from an Arena is a view that the arena owns.
//
// Every method is safe for concurrent use with every other method and function of
// this package on the same tensor, including Close: a call that starts after Close
// fails with ErrClosed, and Close waits for calls in flight. Two calls that write
// the same elements at once leave them holding one or the other's values (as two
// goroutines writing one slice would); nothing else can go wrong.
type Tensor struct {
	buf  *buffer
	off  int // first element within buf
	n    int
	view bool // an arena's: closed through the Arena, not by itself
}

// NewTensor allocates n zeroed float32s of backend memory.
func NewTensor(n int) (*Tensor, error) {
	if n < 0 {
		return nil, fmt.Errorf("optim: NewTensor: negative length %d: %w", n, ErrShape)
	}
	if OnDevice() || n == 0 {
		return newBackendTensor(n, "NewTensor")
	}
	// Go's allocator ends the process when the system refuses memory, so ask the
	// system first and turn a refusal into an error.
	if n > maxHostFloats || !hostMemoryAvailable(4*(n+64)) {
		return nil, fmt.Errorf("optim: NewTensor(%d): the system refuses that much host memory: %w", n, ErrOutOfMemory)
	}
	return &Tensor{buf: newGoBuffer(n), n: n}, nil
}

// maxHostFloats keeps one tensor's Go allocation under 2^47 bytes, below the
// largest single allocation Go allows on 64-bit systems.
const maxHostFloats = 1<<45 - 64

// newBackendTensor allocates n zeroed floats from the backend's allocator: C
// memory on the CPU, GPU memory on the CUDA build. The optimizers keep their state
// in it; it is never shown as a Go slice.
func newBackendTensor(n int, op string) (*Tensor, error) {
	b, err := newBackendBuffer(n)
	if err != nil {
		return nil, fmt.Errorf("optim: %s(%d): %w", op, n, err)
	}
	return &Tensor{buf: b, n: n}, nil
}

// TensorFrom allocates backend memory and copies data into it.
func TensorFrom(data []float32) (*Tensor, error) {
	t, err := NewTensor(len(data))
	if err != nil {
		return nil, err
	}
	if err := t.CopyFrom(data); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// WrapSlice makes a Tensor of the caller's Go slice without copying: optimizers read
// and write data in place. The slice is pinned (runtime.Pinner) until Close or until
// the tensor is collected. On the GPU build it fails with ErrNotHost.
func WrapSlice(data []float32) (*Tensor, error) {
	if OnDevice() {
		return nil, fmt.Errorf("optim: WrapSlice on the %s backend: %w (use TensorFrom)", Backend(), ErrNotHost)
	}
	if len(data) == 0 {
		return NewTensor(0)
	}
	return &Tensor{buf: wrapGo(data[:len(data):len(data)]), n: len(data)}, nil
}

// Len is the number of elements (0 for a nil Tensor).
func (t *Tensor) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// use acquires the tensor's buffer for one call; the caller releases it.
func (t *Tensor) use(op string) error {
	if t == nil || t.buf == nil {
		return fmt.Errorf("optim: Tensor.%s: %w", op, errNotMade)
	}
	if !t.buf.acquire() {
		return fmt.Errorf("optim: Tensor.%s: %w", op, ErrClosed)
	}
	return nil
}

// errNotMade is the error of a method called on a nil or zero Tensor, which owns no
// memory: tensors come from NewTensor, TensorFrom, WrapSlice or an Arena.
var errNotMade = fmt.Errorf("nil or zero Tensor (make one with NewTensor, TensorFrom or WrapSlice): %w", ErrInvalidArgument)

// ptr is the tensor's first element; valid while the buffer is acquired.
func (t *Tensor) ptr() unsafe.Pointer { return t.buf.at(t.off, t.n) }

// addr is ptr as an integer, for tensor lists.
func (t *Tensor) addr() uintptr { return uintptr(t.ptr()) }

// Ptr is the tensor's address (a device pointer on the GPU build), for passing to
// BLAS or cuBLAS; nil after Close. On the CPU build it points at Go memory, which the
// returned pointer keeps alive; pass it to C only for the length of a call.
func (t *Tensor) Ptr() unsafe.Pointer {
	if t == nil || !t.buf.acquire() {
		return nil
	}
	defer t.buf.release()
	return t.ptr()
}

// Float32s is a view of the tensor as a Go slice on the CPU build: writes through it
// change the tensor. It is nil on the GPU build, for an empty tensor and after Close.
// The view is ordinary Go memory: it stays valid however long it is kept, also after
// the tensor is closed or collected (it is then no longer the tensor's memory).
func (t *Tensor) Float32s() []float32 {
	if OnDevice() || t == nil || t.n == 0 || !t.buf.acquire() {
		return nil
	}
	defer t.buf.release()
	if t.buf.host == nil {
		return nil
	}
	return t.buf.host[t.off : t.off+t.n : t.off+t.n]
}

// CopyFrom copies src into the tensor; len(src) must equal Len.
func (t *Tensor) CopyFrom(src []float32) error {
	if len(src) != t.Len() {
		return &ShapeError{Param: "tensor", What: "CopyFrom source", Got: len(src), Want: t.Len()}
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	if err := t.use("CopyFrom"); err != nil {
		return err
	}
	defer t.buf.release()
	return ctx.CopyFromHost(t.ptr(), src)
}

// CopyTo copies the tensor into dst; len(dst) must equal Len.
func (t *Tensor) CopyTo(dst []float32) error {
	if len(dst) != t.Len() {
		return &ShapeError{Param: "tensor", What: "CopyTo destination", Got: len(dst), Want: t.Len()}
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	if err := t.use("CopyTo"); err != nil {
		return err
	}
	defer t.buf.release()
	return ctx.CopyToHost(dst, t.ptr())
}

// Values returns a fresh host copy of the tensor.
func (t *Tensor) Values() ([]float32, error) {
	out := make([]float32, t.Len())
	if err := t.CopyTo(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) error {
	ctx, err := engine()
	if err != nil {
		return err
	}
	if err := t.use("Fill"); err != nil {
		return err
	}
	defer t.buf.release()
	return ctx.Fill(t.ptr(), v, int64(t.n))
}

// Close frees the tensor's memory (or unpins a wrapped slice), after any call in
// flight on it has finished. Closing an arena view is an error: close the Arena.
// Close is idempotent.
func (t *Tensor) Close() error {
	if t == nil {
		return nil
	}
	if t.view {
		return fmt.Errorf("optim: Tensor.Close on an arena view: close the Arena instead: %w", ErrInvalidArgument)
	}
	return t.buf.close()
}

// CopyTensor copies src into dst within backend memory (no trip through the host);
// the lengths must match. dst and src may be the same tensor; overlapping views of
// one arena are copied as memmove would.
func CopyTensor(dst, src *Tensor) error {
	if dst == nil || src == nil {
		return fmt.Errorf("optim: CopyTensor: nil tensor: %w", ErrInvalidArgument)
	}
	if dst.n != src.n {
		return &ShapeError{Param: "tensor", What: "CopyTensor source", Got: src.n, Want: dst.n}
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	var h hold
	defer h.done()
	if !h.add(dst.buf) || !h.add(src.buf) {
		return fmt.Errorf("optim: CopyTensor: %w", ErrClosed)
	}
	d, sp := dst.addr(), src.addr()
	switch {
	case d == sp:
		return nil
	case d < sp+uintptr(4*src.n) && sp < d+uintptr(4*dst.n):
		// Overlapping (two WrapSlices over one array): through the host, as memmove.
		tmp := make([]float32, src.n)
		if err := ctx.CopyToHost(tmp, src.ptr()); err != nil {
			return err
		}
		return ctx.CopyFromHost(dst.ptr(), tmp)
	}
	return ctx.Copy(dst.ptr(), src.ptr(), int64(dst.n))
}
