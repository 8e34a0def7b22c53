package optim

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// buffer is the memory under one or more Tensors (an arena's views share theirs).
//
// Its lifetime has three rules that together make every sequence of public calls
// memory-safe:
//   - A C call runs between acquire and release. Close waits for the calls in
//     flight and refuses new ones, so no C call ever sees memory freed under it,
//     whatever another goroutine closes meanwhile.
//   - On the CPU, memory that a Go slice may point at (NewTensor's, WrapSlice's) is
//     Go memory: a view from Float32s keeps it alive by itself, after Close and after
//     the tensor is collected. Close only unpins it. The optimizers' own state, never
//     shown as a slice, is C memory from the backend, as is all memory on the GPU.
//   - Go memory is pinned while the buffer is open, because its address is written
//     into C memory (a tensor list) as an integer for the duration of a call.
type buffer struct {
	// users counts the calls in flight; closing is set once Close has begun.
	users   atomic.Int64
	drained chan struct{} // closed by the release that ends the last call after closing

	ptr  unsafe.Pointer // first element: Go memory (host != nil) or backend memory
	host []float32      // the Go memory itself, or nil
	n    int
	// backend: ptr came from the backend's allocator and Close frees it.
	backend bool
	pin     runtime.Pinner

	closeMu sync.Mutex
	closed  bool // under closeMu; acquire reads the closing bit instead
}

const closing = 1 << 62

// newGoBuffer makes a buffer of n zeroed floats of Go memory, its first element
// 64-byte aligned as the backend's allocations are.
func newGoBuffer(n int) *buffer {
	const align = 64 / 4
	raw := make([]float32, n+align)
	skip := 0
	if r := uintptr(unsafe.Pointer(&raw[0])) % 64; r != 0 {
		skip = int(64-r) / 4
	}
	data := raw[skip : skip+n : skip+n]
	adviseHugePages(data)
	return wrapGo(data)
}

// wrapGo makes a buffer over Go memory (len(data) > 0), pinned until Close.
func wrapGo(data []float32) *buffer {
	b := &buffer{ptr: unsafe.Pointer(&data[0]), host: data, n: len(data)}
	b.pin.Pin(&data[0])
	runtime.SetFinalizer(b, (*buffer).finalize)
	return b
}

// newBackendBuffer allocates n zeroed floats of backend memory (n may be 0).
func newBackendBuffer(n int) (*buffer, error) {
	ctx, err := engine()
	if err != nil {
		return nil, err
	}
	p, err := ctx.Alloc(int64(n))
	if err != nil {
		return nil, err
	}
	b := &buffer{ptr: p, n: n, backend: true}
	runtime.SetFinalizer(b, (*buffer).finalize)
	return b, nil
}

// acquire registers a call in flight; false once Close has begun, or for the nil
// buffer of a zero Tensor.
func (b *buffer) acquire() bool {
	if b == nil {
		return false
	}
	for {
		s := b.users.Load()
		if s&closing != 0 {
			return false
		}
		if b.users.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// release ends a call that acquire began.
func (b *buffer) release() {
	if b.users.Add(-1) == closing {
		close(b.drained)
	}
}

// close refuses new calls, waits for those in flight, then unpins or frees the
// memory. It is idempotent; a second Close waits for the first.
func (b *buffer) close() error {
	if b == nil {
		return nil
	}
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.drained = make(chan struct{})
	if b.users.Or(closing) != 0 {
		<-b.drained
	}
	runtime.SetFinalizer(b, nil)
	return b.free()
}

// finalize is the safety net for buffers never closed: nothing can be in flight on
// an unreachable buffer, since every call holds its buffer until it returns.
func (b *buffer) finalize() { _ = b.free() }

func (b *buffer) free() error {
	if !b.backend {
		b.pin.Unpin()
		// A view taken earlier keeps the memory alive by itself; the buffer lets go.
		b.ptr, b.host = nil, nil
		return nil
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	p := b.ptr
	b.ptr = nil
	return ctx.Free(p)
}

// at is the address of element off (off <= n). A zero-length tensor at the end of
// its buffer gets the buffer's start: no pointer past an allocation is ever formed,
// and C reads nothing at a zero length.
func (b *buffer) at(off, n int) unsafe.Pointer {
	if n == 0 {
		return b.ptr
	}
	return unsafe.Add(b.ptr, 4*off)
}

// hold is a set of buffers acquired for one call, released together.
type hold struct{ bufs []*buffer }

// add acquires b (once per distinct buffer in a row); false if b is closing.
func (h *hold) add(b *buffer) bool {
	if n := len(h.bufs); n > 0 && h.bufs[n-1] == b {
		return true
	}
	if !b.acquire() {
		return false
	}
	h.bufs = append(h.bufs, b)
	return true
}

// done releases every buffer of the set.
func (h *hold) done() {
	for _, b := range h.bufs {
		b.release()
	}
	clear(h.bufs) // a reused hold must not keep buffers reachable
	h.bufs = h.bufs[:0]
}
