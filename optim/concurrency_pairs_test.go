package optim

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// pairWorld is a fresh set of objects that the ops of TestConcurrentPairs share.
type pairWorld struct {
	x, y   *Tensor // free tensors
	arena  *Arena
	own    *Param // a param of its own tensors
	wrap   *Param // a param over Go slices (CPU)
	params []*Param
	opt    *Adam
	ckpt   []byte
}

func newPairWorld(t *testing.T) *pairWorld {
	w := &pairWorld{x: mustTensorFrom(t, filled(64, 1)), y: mustTensorFrom(t, filled(64, 2))}
	var err error
	w.arena, err = NewArena([]string{"a0", "a1"}, []int{16, 64})
	require.NoError(t, err)
	require.NoError(t, w.arena.Grad().Fill(0.25))
	w.own = &Param{Name: "own", Data: mustTensorFrom(t, filled(64, 1)), Grad: mustTensorFrom(t, filled(64, 0.5))}
	w.params = append(w.arena.Params(), w.own)
	if !OnDevice() {
		d, err := WrapSlice(filled(64, 3))
		require.NoError(t, err)
		g, err := WrapSlice(filled(64, 0.125))
		require.NoError(t, err)
		w.wrap = &Param{Name: "wrap", Data: d, Grad: g}
		w.params = append(w.params, w.wrap)
	}
	w.opt, err = NewAdam(w.params, AdamDefaults())
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, w.opt.Save(&buf))
	w.ckpt = buf.Bytes()
	return w
}

type pairOp struct {
	name string
	run  func(w *pairWorld) error
}

var pairOps = []pairOp{
	{"x.CopyFrom", func(w *pairWorld) error { return w.x.CopyFrom(filled(64, 5)) }},
	{"x.CopyTo", func(w *pairWorld) error { return w.x.CopyTo(make([]float32, 64)) }},
	{"x.Fill", func(w *pairWorld) error { return w.x.Fill(4) }},
	{"x.Values", func(w *pairWorld) error { _, err := w.x.Values(); return err }},
	{"x.Float32s", func(w *pairWorld) error {
		var s float32
		for _, v := range w.x.Float32s() {
			s += v
		}
		_ = s
		return nil
	}},
	{"x.Ptr", func(w *pairWorld) error { _ = w.x.Ptr(); return nil }},
	{"x.Close", func(w *pairWorld) error { return w.x.Close() }},
	{"CopyTensor(x,y)", func(w *pairWorld) error { return CopyTensor(w.x, w.y) }},
	{"CopyTensor(view,x)", func(w *pairWorld) error { return CopyTensor(w.arena.Params()[1].Data, w.x) }},
	{"Gemm", func(w *pairWorld) error { return Gemm(false, false, 8, 8, 8, 1, w.x, w.y, 0, w.arena.Params()[1].Grad) }},
	{"arena.Close", func(w *pairWorld) error { return w.arena.Close() }},
	{"arena.Data.CopyTo", func(w *pairWorld) error { return w.arena.Data().CopyTo(make([]float32, 80)) }},
	{"own.Close", func(w *pairWorld) error { return w.own.Close() }},
	{"wrap.Close", func(w *pairWorld) error {
		if w.wrap == nil {
			return nil
		}
		return w.wrap.Close()
	}},
	{"opt.Step", func(w *pairWorld) error { return w.opt.Step() }},
	{"opt.ClipStep", func(w *pairWorld) error { return w.opt.ClipStep(1, 2) }},
	{"opt.ZeroGrad", func(w *pairWorld) error { return w.opt.ZeroGrad() }},
	{"opt.LastGradNorm", func(w *pairWorld) error { _, err := w.opt.LastGradNorm(); return err }},
	{"opt.Save", func(w *pairWorld) error { return w.opt.Save(&bytes.Buffer{}) }},
	{"opt.Load", func(w *pairWorld) error { return w.opt.Load(bytes.NewReader(w.ckpt)) }},
	{"opt.State", func(w *pairWorld) error { _, err := w.opt.State(0, 1, "exp_avg"); return err }},
	{"opt.SetGroupLR", func(w *pairWorld) error { return w.opt.SetGroupLR(0, 0.01) }},
	{"opt.AddParamGroup", func(w *pairWorld) error {
		p, err := NewParam("extra", 4)
		if err != nil {
			return err
		}
		return w.opt.AddParamGroup([]*Param{p}, AdamDefaults())
	}},
	{"opt.Close", func(w *pairWorld) error { return w.opt.Close() }},
	{"GradNorm", func(w *pairWorld) error { _, err := GradNorm(w.params, 2); return err }},
	{"ClipGradNorm", func(w *pairWorld) error { _, err := ClipGradNorm(w.params, 1, 2, false); return err }},
	{"ClipGradValue", func(w *pairWorld) error { return ClipGradValue(w.params, 0.1) }},
}

// Every pair of public calls on the same objects, run at once from two goroutines
// (the same call twice included): nothing crashes, and every error is a closed
// object's or matches one of the package's sentinels.
func TestConcurrentPairs(t *testing.T) {
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	for i := range pairOps {
		for j := i; j < len(pairOps); j++ {
			a, b := pairOps[i], pairOps[j]
			for r := 0; r < rounds; r++ {
				w := newPairWorld(t)
				var wg sync.WaitGroup
				errs := make([]error, 2*3)
				for k, op := range []pairOp{a, b} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for rep := 0; rep < 3; rep++ {
							errs[3*k+rep] = op.run(w)
						}
					}()
				}
				wg.Wait()
				for k, err := range errs {
					if err != nil && !isSentinel(err) {
						t.Fatalf("%s || %s: %s: error matches no sentinel: %v", a.name, b.name, []string{a.name, b.name}[k/3], err)
					}
				}
				closeWorld(w)
			}
		}
	}
}

func isSentinel(err error) bool {
	for _, s := range []error{ErrInvalidConfig, ErrShape, ErrClosed, ErrNilParam, ErrNotHost, ErrNonFinite,
		ErrCheckpoint, ErrOutOfMemory, ErrBackend, ErrInvalidArgument, ErrUnsupported} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func closeWorld(w *pairWorld) {
	w.opt.Close()
	w.x.Close()
	w.y.Close()
	w.arena.Close()
	w.own.Close()
	if w.wrap != nil {
		w.wrap.Close()
	}
}

// SetThreads and SetISA may be called at any time: switching them while another
// goroutine steps changes no value (element-wise kernels give the same bits on any
// thread count and instruction set).
func TestSetThreadsAndISADuringSteps(t *testing.T) {
	defer SetThreads(0)
	defer SetISA(ISAAuto)
	run := func(switching bool) []float32 {
		p := &Param{Name: "w", Data: mustTensorFrom(t, filled(1<<16, 1)), Grad: mustTensorFrom(t, filled(1<<16, 0.25))}
		defer p.Close()
		opt, err := NewAdam([]*Param{p}, AdamDefaults())
		require.NoError(t, err)
		defer opt.Close()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if switching {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := SetThreads(1 + i%2); err != nil {
						t.Error(err)
						return
					}
					if !OnDevice() {
						if err := SetISA([]ISA{ISAAuto, ISAPortable}[i%2]); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		for i := 0; i < 50; i++ {
			require.NoError(t, opt.Step())
		}
		close(stop)
		wg.Wait()
		v, err := p.Data.Values()
		require.NoError(t, err)
		return v
	}
	require.Equal(t, run(false), run(true))
}
