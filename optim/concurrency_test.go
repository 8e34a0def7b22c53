package optim

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Concurrency: an optimizer's methods may be called from several goroutines (a
// mutex serialises them); different optimizers and tensors may be used in parallel
// (the C context serialises its calls). Run with -race.

// constantGradSGD makes an SGD optimizer with momentum over an arena param and a
// NewParam whose gradients are constant, so N*k steps from any interleaving must
// give the same bits as N*k steps in a row.
func constantGradSGD(t *testing.T) (*SGD, []*Param) {
	t.Helper()
	a, err := NewArena([]string{"a0", "a1"}, []int{33, 1000})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	p, err := NewParam("own", 77)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	params := append(a.Params(), p)
	fillRandom(t, params, 42)
	opt, err := NewSGD(params[:2], SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 0.001})
	require.NoError(t, err)
	t.Cleanup(func() { opt.Close() })
	require.NoError(t, opt.AddParamGroup(params[2:], SGDDefaults(0.02)))
	return opt, params
}

func TestConcurrentStepsOnOneOptimizer(t *testing.T) {
	const N, k = 8, 40
	opt, params := constantGradSGD(t)
	seq, seqParams := constantGradSGD(t)
	for i := 0; i < N*k; i++ {
		require.NoError(t, seq.Step())
	}

	var wg sync.WaitGroup
	errs := make(chan error, N*k+4*k)
	for g := 0; g < N; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < k; i++ {
				if err := opt.Step(); err != nil {
					errs <- err
				}
			}
		}()
	}
	// Readers and other serialised calls alongside: none may disturb the steps.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < k; i++ {
			_ = opt.StepCount(0, 1)
			_ = opt.GroupLR(1)
			_, _ = opt.GroupMomentum(0)
			_ = opt.NumGroups()
			if err := opt.SetGroupLR(1, 0.02); err != nil { // the same value: no effect on the result
				errs <- err
			}
			if _, err := opt.State(0, 1, "momentum_buffer"); err != nil {
				errs <- err
			}
			if err := opt.Save(&bytes.Buffer{}); err != nil {
				errs <- err
			}
			if _, err := opt.LastGradNorm(); err != nil {
				errs <- err
			}
			opt.SetCheckFinite(i%2 == 0) // finite gradients: the check changes nothing
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for g := 0; g < 2; g++ {
		for i := range opt.Params(g) {
			require.Equal(t, int64(N*k), opt.StepCount(g, i))
		}
	}
	require.Equal(t, takeSnapshot(t, seq, seqParams), takeSnapshot(t, opt, params))
}

// Several optimizers stepping in parallel, each on its own params, share the one C
// context: each must end exactly where a run on its own ends. One of every kind, so
// that the kernels with per-call scratch in the context (LAMB's and LARS's per-tensor
// sums) and the extra passes around a step (LAMB's global norm) run beside the others.
// Schedule-Free AdamW also goes to eval mode and back every few steps, in both runs, so
// that its lerp between the modes (goptim_lerp_state) runs beside them too.
func TestConcurrentOptimizers(t *testing.T) {
	const k = 25
	M := len(allKinds)
	type run struct {
		opt    Optimizer
		params []*Param
	}
	mk := func(i int) run {
		kind := allKinds[i%len(allKinds)]
		a, err := NewArena(nil, []int{20000 + i, 3})
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		fillRandom(t, a.Params(), uint64(i))
		opt, err := newKind(kind, a.Params())
		require.NoError(t, err)
		t.Cleanup(func() { opt.Close() })
		return run{opt, a.Params()}
	}
	var par, seq []run
	for i := 0; i < M; i++ {
		par = append(par, mk(i))
		seq = append(seq, mk(i))
	}
	// step is step s of a run: ClipStep, and for Schedule-Free every fifth step Eval
	// then Train (which leaves the params at y again, up to rounding: the same in both
	// runs).
	step := func(o Optimizer, s int) error {
		if err := o.ClipStep(1, 2); err != nil {
			return err
		}
		if sf, ok := o.(*ScheduleFreeAdamW); ok && s%5 == 4 {
			if err := sf.Eval(); err != nil {
				return err
			}
			return sf.Train()
		}
		return nil
	}
	for _, r := range seq {
		for s := 0; s < k; s++ {
			require.NoError(t, step(r.opt, s))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, M*k)
	for _, r := range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := 0; s < k; s++ {
				if err := step(r.opt, s); err != nil {
					errs <- err
				}
			}
		}()
	}
	// Tensor traffic on unrelated tensors at the same time.
	wg.Add(1)
	go func() {
		defer wg.Done()
		x, err := NewTensor(5000)
		if err != nil {
			errs <- err
			return
		}
		defer x.Close()
		buf := make([]float32, 5000)
		for s := 0; s < 4*k; s++ {
			if err := x.Fill(float32(s)); err != nil {
				errs <- err
			}
			if err := x.CopyTo(buf); err != nil {
				errs <- err
			} else if buf[0] != float32(s) || buf[4999] != float32(s) {
				errs <- fmt.Errorf("tensor read back %v, %v after Fill(%d)", buf[0], buf[4999], s)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for i := range par {
		require.Equal(t, takeSnapshot(t, seq[i].opt, seq[i].params), takeSnapshot(t, par[i].opt, par[i].params), "optimizer %d", i)
	}
}

// Close racing with Step: either the step runs first or it reports ErrClosed; it
// never touches freed state.
func TestCloseRacesStep(t *testing.T) {
	for trial := 0; trial < 20; trial++ {
		opt, _ := constantGradSGD(t)
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					if err := opt.Step(); err != nil {
						errs <- err
					}
					if _, err := opt.LastGradNorm(); err != nil {
						errs <- err
					}
				}
			}()
		}
		require.NoError(t, opt.Close())
		wg.Wait()
		close(errs)
		for err := range errs {
			require.ErrorIs(t, err, ErrClosed)
		}
	}
}
