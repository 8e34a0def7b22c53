package optim

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// gcLoop calls runtime.GC until stop is closed, so finalizers run in the middle of
// whatever the test does.
func gcLoop(t *testing.T) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// garbage makes ordinary short-lived heap objects holding pointers, as a training
// program does, so the collector has work and write barriers are on.
var garbageSink []*[8]*int

func garbage() {
	s := make([]*[8]*int, 64)
	for i := range s {
		s[i] = new([8]*int)
		s[i][0] = new(int)
	}
	garbageSink = s
}

// WrapSlice params stepped while the collector runs: the addresses reach C memory
// as integers of pinned memory, never as pointer stores that a write barrier reads.
// The device backend refuses WrapSlice (wrapOrCopy checks it); there the same cycles
// run over TensorFrom copies, whose backend addresses reach the lists the same way.
func TestWrapSliceUnderGC(t *testing.T) {
	stop := gcLoop(t)
	defer stop()
	deadline := time.Now().Add(2 * time.Second)
	iters := 0
	for time.Now().Before(deadline) || iters < 50 {
		var params []*Param
		var slices [][]float32
		for k := 0; k < 4; k++ {
			d := make([]float32, 33+k)
			g := make([]float32, 33+k)
			for j := range d {
				d[j], g[j] = 1, 0.5
			}
			params = append(params, &Param{Data: wrapOrCopy(t, d), Grad: wrapOrCopy(t, g)})
			slices = append(slices, d)
			garbage()
		}
		opt, err := NewSGD(params, SGDConfig{LR: 0.1, Momentum: 0.9})
		require.NoError(t, err)
		for s := 0; s < 3; s++ {
			require.NoError(t, opt.Step())
			garbage()
		}
		require.NoError(t, opt.Close())
		// SGD with momentum: buf = g, then 0.9*buf + g: p = 1 - 0.1*(0.5 + 0.95 + 1.355).
		for k, d := range slices {
			if OnDevice() { // a copy: read the tensor back
				var err error
				d, err = params[k].Data.Values()
				require.NoError(t, err)
			}
			require.InDelta(t, 1-0.1*(0.5+0.95+1.355), d[len(d)-1], 1e-6)
		}
		for _, p := range params {
			require.NoError(t, p.Close())
		}
		iters++
	}
	t.Logf("%d create/step/close cycles", iters)
}

// Two WrapSlice params in one step: the merge of neighbours compares addresses as
// integers and never forms a pointer one past a Go allocation (checkptr, -race). On
// the device backend, which refuses WrapSlice, the neighbours are two params of one
// arena, merged the same way (one tensor of the list).
func TestWrapSliceNeighboursCheckptr(t *testing.T) {
	if OnDevice() {
		requireNoWrap(t, make([]float32, 4))
		ar, err := NewArena([]string{"a", "b"}, []int{4, 4})
		require.NoError(t, err)
		defer ar.Close()
		ps := ar.Params()
		require.NoError(t, ps[0].Grad.CopyFrom([]float32{1, 1, 1, 1}))
		require.NoError(t, ps[1].Grad.CopyFrom([]float32{2, 2, 2, 2}))
		opt, err := NewSGD(ps, SGDDefaults(0.5))
		require.NoError(t, err)
		defer opt.Close()
		require.NoError(t, opt.Step())
		all, err := ar.Data().Values()
		require.NoError(t, err)
		require.Equal(t, []float32{-0.5, -0.5, -0.5, -0.5, -1, -1, -1, -1}, all)
		require.NoError(t, opt.ZeroGrad())
		gav, _ := ps[0].Grad.Values()
		require.Equal(t, []float32{0, 0, 0, 0}, gav)
		return
	}
	buf := make([]float32, 8)
	a, err := WrapSlice(buf[:4])
	require.NoError(t, err)
	b, err := WrapSlice(buf[4:])
	require.NoError(t, err)
	ga, err := WrapSlice([]float32{1, 1, 1, 1})
	require.NoError(t, err)
	gb, err := WrapSlice([]float32{2, 2, 2, 2})
	require.NoError(t, err)
	opt, err := NewSGD([]*Param{{Name: "a", Data: a, Grad: ga}, {Name: "b", Data: b, Grad: gb}}, SGDDefaults(0.5))
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.Step())
	require.Equal(t, []float32{-0.5, -0.5, -0.5, -0.5, -1, -1, -1, -1}, buf)
	require.NoError(t, opt.ZeroGrad())
	gav, _ := ga.Values()
	require.Equal(t, []float32{0, 0, 0, 0}, gav)
}

// Temporaries dropped right after the call that uses them, with the collector and
// finalizers running: every call holds its tensors until it returns. The sizes make
// each call long enough for a finalizer to run in the middle of it.
func TestTemporariesUnderGC(t *testing.T) {
	stop := gcLoop(t)
	defer stop()
	const n = 4 << 20
	dst := mustTensor(t, n)
	defer dst.Close()
	ones := filled(n, 1)
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; time.Now().Before(deadline) || i < 10; i++ {
		require.NoError(t, CopyTensor(dst, mustTensorFrom(t, filled(n, float32(i)))))
		v, err := dst.Values()
		require.NoError(t, err)
		require.Equal(t, float32(i), v[n-1])
		norm, err := GradNorm([]*Param{{Data: mustTensor(t, 1), Grad: mustTensorFrom(t, ones)}}, 2)
		require.NoError(t, err)
		require.InDelta(t, 2048, norm, 1e-3) // sqrt(4<<20)
		total, err := ClipGradNorm([]*Param{{Data: mustTensor(t, 1), Grad: mustTensorFrom(t, ones)}}, 1, 2, true)
		require.NoError(t, err)
		require.InDelta(t, 2048, total, 1e-3)
		require.NoError(t, ClipGradValue([]*Param{{Data: mustTensor(t, 1), Grad: mustTensorFrom(t, ones)}}, 0.5))
		require.NoError(t, Gemm(false, false, 512, 512, 512, 1, mustTensorFrom(t, ones[:512*512]),
			mustTensorFrom(t, ones[:512*512]), 0, dst))
		require.NoError(t, dst.CopyTo(v))
		require.Equal(t, float32(512), v[512*512-1])
	}
}

// A view outlives its tensor: it is Go memory, kept alive by the view itself. The
// device backend has no views: Float32s is nil for every tensor there (checked
// instead), and Values copies the data out.
func TestViewOutlivesTensor(t *testing.T) {
	if OnDevice() {
		x := mustTensorFrom(t, []float32{7, 8})
		require.Nil(t, x.Float32s(), "no host view of backend memory on the %s backend", Backend())
		require.NotNil(t, x.Ptr())
		v, err := x.Values()
		require.NoError(t, err)
		require.Equal(t, []float32{7, 8}, v)
		require.NoError(t, x.Close())
		require.Nil(t, x.Float32s())
		require.Nil(t, x.Ptr())
		return
	}
	stop := gcLoop(t)
	defer stop()
	var views [][]float32
	for i := 0; i < 200; i++ {
		views = append(views, mustTensorFrom(t, filled(1000, float32(i))).Float32s())
		garbage()
	}
	runtime.GC()
	runtime.GC()
	for i, v := range views {
		require.Equal(t, float32(i), v[999])
		v[0] = -1
	}
	// After Close too: the view is detached, not dangling.
	x := mustTensorFrom(t, []float32{7, 8})
	v := x.Float32s()
	require.NoError(t, x.Close())
	runtime.GC()
	v[1]++
	require.Equal(t, []float32{7, 9}, v)
	require.Nil(t, x.Float32s())
	require.Nil(t, x.Ptr())
}

// An arena's buffers are closed through the Arena only: Data() and Grad() are views.
func TestArenaBufferViewsCannotClose(t *testing.T) {
	a, err := NewArena([]string{"w", "b"}, []int{3, 2})
	require.NoError(t, err)
	defer a.Close()
	require.ErrorIs(t, a.Data().Close(), ErrInvalidArgument)
	require.ErrorIs(t, a.Grad().Close(), ErrInvalidArgument)
	require.ErrorIs(t, a.Params()[0].Data.Close(), ErrInvalidArgument)
	require.NoError(t, a.Grad().Fill(1))
	opt, err := NewSGD(a.Params(), SGDDefaults(1))
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.Step())
	v, err := a.Data().Values()
	require.NoError(t, err)
	require.Equal(t, []float32{-1, -1, -1, -1, -1}, v)
	require.NoError(t, a.Close())
	require.ErrorIs(t, opt.Step(), ErrClosed)
	_, err = a.Data().Values()
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, a.Close(), "Close is idempotent")
}

// Close waits for a call in flight and later calls fail with ErrClosed: a copy
// racing the Close of its source, a view's CopyTo racing its Arena's Close.
func TestCloseRacesCalls(t *testing.T) {
	const n = 1 << 20
	for round := 0; round < 30; round++ {
		dst := mustTensor(t, n)
		src := mustTensor(t, n)
		a, err := NewArena(nil, []int{n / 2, n / 2})
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		run := func(f func() error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- f()
			}()
		}
		out := make([]float32, n/2)
		run(func() error { return CopyTensor(dst, src) })
		run(func() error { return src.Close() })
		run(func() error { return a.Params()[1].Data.CopyTo(out) })
		run(func() error { return a.Close() })
		run(func() error { return CopyTensor(a.Params()[0].Data, a.Params()[1].Grad) })
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Fatalf("unexpected error: %v", err)
			}
		}
		require.NoError(t, dst.Close())
	}
}

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func mustTensor(t *testing.T, n int) *Tensor {
	t.Helper()
	x, err := NewTensor(n)
	require.NoError(t, err)
	return x
}

func mustTensorFrom(t *testing.T, v []float32) *Tensor {
	t.Helper()
	x, err := TensorFrom(v)
	require.NoError(t, err)
	return x
}
