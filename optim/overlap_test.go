package optim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Params and grads of one optimizer that share memory are refused, naming both
// params, at construction, in AddParamGroup and when a Grad is reassigned before a
// step; a refused step or ZeroGrad changes nothing.
func TestOverlappingParamsRefused(t *testing.T) {
	backing := []float32{1, 2, 3, 4, 5, 6}
	wrap := func(s []float32) *Tensor {
		x, err := WrapSlice(s)
		require.NoError(t, err)
		return x
	}
	grad := func(n int) *Tensor { return mustTensorFrom(t, filled(n, 1)) }

	t.Run("two wraps over one array", func(t *testing.T) {
		if OnDevice() {
			// No WrapSlice on the device backend (refused); the same overlap from
			// views of one arena: a over the arena's whole buffer (the only view
			// longer than one of its params), b over its middle param.
			requireNoWrap(t, backing)
			ar, err := NewArena([]string{"w0", "w1", "w2"}, []int{2, 2, 2})
			require.NoError(t, err)
			defer ar.Close()
			ps := ar.Params()
			require.NoError(t, ar.Data().CopyFrom(backing))
			a := &Param{Name: "a", Data: ar.Data(), Grad: grad(6)}
			b := &Param{Name: "b", Data: ps[1].Data, Grad: grad(2)}
			_, err = NewSGD([]*Param{a, b}, SGDDefaults(0.1))
			require.ErrorIs(t, err, ErrInvalidArgument)
			require.EqualError(t, err, "optim: sgd: param a (data) and param b (data) share memory: goptim: invalid argument")
			// Disjoint neighbours of one buffer are fine.
			opt, err := NewSGD([]*Param{{Name: "c0", Data: ps[0].Data, Grad: grad(2)}, {Name: "c2", Data: ps[2].Data, Grad: grad(2)}},
				SGDDefaults(0.1))
			require.NoError(t, err)
			require.NoError(t, opt.Close())
			return
		}
		a := &Param{Name: "a", Data: wrap(backing[0:4]), Grad: grad(4)}
		b := &Param{Name: "b", Data: wrap(backing[2:6]), Grad: grad(4)}
		_, err := NewSGD([]*Param{a, b}, SGDDefaults(0.1))
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.EqualError(t, err, "optim: sgd: param a (data) and param b (data) share memory: goptim: invalid argument")
		// Disjoint neighbours of one array are fine.
		c := &Param{Name: "c", Data: wrap(backing[4:6]), Grad: grad(2)}
		opt, err := NewSGD([]*Param{a, c}, SGDDefaults(0.1))
		require.NoError(t, err)
		require.NoError(t, opt.Close())
	})

	t.Run("grad is data", func(t *testing.T) {
		p := &Param{Name: "w", Data: mustTensorFrom(t, []float32{1, 2})}
		p.Grad = p.Data
		_, err := NewAdam([]*Param{p}, AdamDefaults())
		require.EqualError(t, err, "optim: adam: param w: its data and grad share memory: goptim: invalid argument")
	})

	t.Run("grad reassigned after construction", func(t *testing.T) {
		p := &Param{Name: "w", Data: mustTensorFrom(t, []float32{1, 2}), Grad: grad(2)}
		q := &Param{Name: "v", Data: mustTensorFrom(t, []float32{3, 4}), Grad: grad(2)}
		opt, err := NewSGD([]*Param{p, q}, SGDDefaults(0.5))
		require.NoError(t, err)
		defer opt.Close()
		require.NoError(t, opt.Step())
		q.Grad = p.Data
		err = opt.Step()
		require.EqualError(t, err, "optim: sgd: param w (data) and param v (grad) share memory: goptim: invalid argument")
		require.ErrorIs(t, opt.ZeroGrad(), ErrInvalidArgument)
		pv, _ := p.Data.Values()
		require.Equal(t, []float32{0.5, 1.5}, pv, "a refused step and ZeroGrad change nothing")
		require.Equal(t, int64(1), opt.StepCount(0, 0))
		q.Grad = grad(2)
		require.NoError(t, opt.Step())
		pv, _ = p.Data.Values()
		require.Equal(t, []float32{0, 1}, pv)
	})

	t.Run("arena param and a param over the arena's data", func(t *testing.T) {
		a, err := NewArena([]string{"w", "b"}, []int{3, 2})
		require.NoError(t, err)
		defer a.Close()
		whole := &Param{Name: "all", Data: a.Data(), Grad: grad(5)}
		_, err = NewSGD(append(a.Params(), whole), SGDDefaults(0.1))
		require.EqualError(t, err, "optim: sgd: param w (data) and param all (data) share memory: goptim: invalid argument")
		opt, err := NewSGD(a.Params()[:1], SGDDefaults(0.1))
		require.NoError(t, err)
		defer opt.Close()
		err = opt.AddParamGroup([]*Param{whole}, SGDDefaults(0.2))
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.Equal(t, 1, opt.NumGroups(), "a refused group is not added")
	})
}
