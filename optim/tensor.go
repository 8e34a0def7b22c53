package optim

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Tensor is a flat float32 buffer in backend memory: host memory on the CPU build,
// GPU memory on the CUDA build. Create one with NewTensor, TensorFrom or (CPU only)
// WrapSlice; a Tensor from an Arena is a view that the arena owns.
//
// Tensor methods are safe for concurrent use with one another, but not with an
// optimizer Step that reads or writes the same tensor.
type Tensor struct {
	mu     sync.Mutex
	ptr    unsafe.Pointer
	n      int
	owned  bool            // freed by Close
	pinner *runtime.Pinner // set for WrapSlice: the Go memory stays pinned until Close
	parent *Arena          // set for arena views
	closed bool
}

// NewTensor allocates n zeroed float32s of backend memory.
func NewTensor(n int) (*Tensor, error) {
	if n < 0 {
		return nil, fmt.Errorf("optim: NewTensor: negative length %d: %w", n, ErrShape)
	}
	ctx, err := engine()
	if err != nil {
		return nil, err
	}
	p, err := ctx.Alloc(int64(n))
	if err != nil {
		return nil, fmt.Errorf("optim: NewTensor(%d): %w", n, err)
	}
	t := &Tensor{ptr: p, n: n, owned: true}
	runtime.SetFinalizer(t, (*Tensor).finalize)
	return t, nil
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
// and write data in place. The slice is pinned (runtime.Pinner) until Close, so the
// C kernels may hold on to its address. On the GPU build it fails with ErrNotHost.
func WrapSlice(data []float32) (*Tensor, error) {
	if OnDevice() {
		return nil, fmt.Errorf("optim: WrapSlice on the %s backend: %w (use TensorFrom)", Backend(), ErrNotHost)
	}
	if len(data) == 0 {
		return NewTensor(0)
	}
	pin := new(runtime.Pinner)
	pin.Pin(&data[0])
	t := &Tensor{ptr: unsafe.Pointer(&data[0]), n: len(data), pinner: pin}
	runtime.SetFinalizer(t, (*Tensor).finalize)
	return t, nil
}

// Len is the number of elements.
func (t *Tensor) Len() int { return t.n }

// Ptr is the tensor's address in backend memory (a device pointer on the GPU
// build), for passing to BLAS or cuBLAS; nil after Close.
func (t *Tensor) Ptr() unsafe.Pointer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() {
		return nil
	}
	return t.ptr
}

// Float32s is a view of the tensor as a Go slice on the CPU build: writes through it
// change the tensor. It is nil on the GPU build and after Close. The view must not be
// used after Close.
func (t *Tensor) Float32s() []float32 {
	if OnDevice() {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() || t.n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(t.ptr), t.n)
}

// CopyFrom copies src into the tensor; len(src) must equal Len.
func (t *Tensor) CopyFrom(src []float32) error {
	if len(src) != t.n {
		return &ShapeError{Param: "tensor", What: "CopyFrom source", Got: len(src), Want: t.n}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() {
		return fmt.Errorf("optim: Tensor.CopyFrom: %w", ErrClosed)
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	return ctx.CopyFromHost(t.ptr, src)
}

// CopyTo copies the tensor into dst; len(dst) must equal Len.
func (t *Tensor) CopyTo(dst []float32) error {
	if len(dst) != t.n {
		return &ShapeError{Param: "tensor", What: "CopyTo destination", Got: len(dst), Want: t.n}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() {
		return fmt.Errorf("optim: Tensor.CopyTo: %w", ErrClosed)
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	return ctx.CopyToHost(dst, t.ptr)
}

// Values returns a fresh host copy of the tensor.
func (t *Tensor) Values() ([]float32, error) {
	out := make([]float32, t.n)
	return out, t.CopyTo(out)
}

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() {
		return fmt.Errorf("optim: Tensor.Fill: %w", ErrClosed)
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	return ctx.Fill(t.ptr, v, int64(t.n))
}

// Close frees the tensor's memory (or unpins a wrapped slice). Closing an arena view
// is an error: close the Arena. Close is idempotent.
func (t *Tensor) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.parent != nil {
		return fmt.Errorf("optim: Tensor.Close on an arena view: close the Arena instead: %w", ErrInvalidArgument)
	}
	return t.release()
}

func (t *Tensor) release() error {
	if t.closed {
		return nil
	}
	t.closed = true
	runtime.SetFinalizer(t, nil)
	if t.pinner != nil {
		t.pinner.Unpin()
		t.pinner = nil
	}
	if t.owned {
		ctx, err := engine()
		if err != nil {
			return err
		}
		return ctx.Free(t.ptr)
	}
	return nil
}

// finalize is a safety net for tensors that were never closed.
func (t *Tensor) finalize() { _ = t.release() }

func (t *Tensor) isClosed() bool {
	return t.closed || (t.parent != nil && t.parent.isClosed())
}

// live reports whether the tensor can be used (not closed, arena not closed).
func (t *Tensor) live() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.isClosed()
}

// CopyTensor copies src into dst within backend memory (no trip through the host);
// the lengths must match.
func CopyTensor(dst, src *Tensor) error {
	if dst.n != src.n {
		return &ShapeError{Param: "tensor", What: "CopyTensor source", Got: src.n, Want: dst.n}
	}
	if !dst.live() || !src.live() {
		return fmt.Errorf("optim: CopyTensor: %w", ErrClosed)
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	return ctx.Copy(dst.ptr, src.ptr, int64(dst.n))
}
