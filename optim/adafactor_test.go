package optim

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/internal/reference"
)

// Adafactor on matrices (params with a Shape): the generic suites run it on vectors.

// shapedParams makes params of the given shapes with normal data drawn from seed.
func shapedParams(t *testing.T, shapes [][]int, seed uint64) []*Param {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	var ps []*Param
	for i, sh := range shapes {
		n := 1
		for _, d := range sh {
			n *= d
		}
		p, err := NewParam(fmt.Sprintf("p%d", i), n)
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		v := make([]float32, n)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		require.NoError(t, p.Data.CopyFrom(v))
		p.Shape = sh
		ps = append(ps, p)
	}
	return ps
}

func setGrads(t *testing.T, ps []*Param, rng *rand.Rand, scale float64) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range ps {
		g := make([]float32, p.Grad.Len())
		for j := range g {
			g[j] = float32(scale * rng.NormFloat64())
		}
		require.NoError(t, p.Grad.CopyFrom(g))
		out = append(out, g)
	}
	return out
}

// The state of a matrix is a row and a column factor; of a vector, a full variance.
func TestAdafactorStateShapes(t *testing.T) {
	ps := shapedParams(t, [][]int{{3, 5}, {2, 4, 6}, {7}, {1, 9}}, 1)
	opt, err := NewAdafactor(ps, AdafactorDefaults())
	require.NoError(t, err)
	defer opt.Close()
	setGrads(t, ps, rand.New(rand.NewPCG(1, 1)), 1)
	require.NoError(t, opt.Step())
	for i, want := range []struct{ row, col, variance int }{{3, 5, 0}, {2 * 4, 2 * 6, 0}, {0, 0, 7}, {1, 9, 0}} {
		for name, n := range map[string]int{"row_var": want.row, "col_var": want.col, "variance": want.variance} {
			v, err := opt.State(0, i, name)
			if n == 0 {
				require.ErrorIs(t, err, ErrInvalidArgument, "param %d %s", i, name)
				continue
			}
			require.NoError(t, err)
			require.Len(t, v, n, "param %d %s", i, name)
		}
	}
}

// Matrices, stacks of matrices and vectors against the float64 reference, step by step.
func TestAdafactorMatchesFloat64Reference(t *testing.T) {
	shapes := [][]int{{5, 7}, {3, 4, 6}, {33}, {1, 9}, {8, 1}, {1}}
	for _, cfg := range []AdafactorConfig{
		AdafactorDefaults(),
		{LR: 0.05, Beta2Decay: -0.6, Eps1: 1e-6, Eps2: 1e-4, D: 2, WeightDecay: 0.05, Maximize: true},
		{LR: 1, Beta2Decay: 0, Eps1: 1e-3, Eps2: 1e-2, D: 1},
	} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			ps := shapedParams(t, shapes, 2)
			opt, err := NewAdafactor(ps, cfg)
			require.NoError(t, err)
			defer opt.Close()
			ref := reference.Adafactor{LR: cfg.LR, Beta2Decay: cfg.Beta2Decay, Eps1: cfg.Eps1, Eps2: cfg.Eps2, D: cfg.D,
				WeightDecay: cfg.WeightDecay, Maximize: cfg.Maximize}
			p64 := make([][]float64, len(ps))
			rv, cv, vv := make([][]float64, len(ps)), make([][]float64, len(ps)), make([][]float64, len(ps))
			for i, p := range ps {
				for _, x := range tensorValues(t, p.Data) {
					p64[i] = append(p64[i], float64(x))
				}
				n := p.Data.Len()
				rv[i], cv[i], vv[i] = make([]float64, n), make([]float64, n), make([]float64, n)
			}
			rng := rand.New(rand.NewPCG(7, 7))
			for s := 1; s <= 8; s++ {
				grads := setGrads(t, ps, rng, math.Pow(10, rng.Float64()*2-1))
				require.NoError(t, opt.Step())
				for i, p := range ps {
					g64 := make([]float64, len(grads[i]))
					for j, x := range grads[i] {
						g64[j] = float64(x)
					}
					ref.Step(p64[i], g64, shapes[i], rv[i], cv[i], vv[i], int64(s))
					got := tensorValues(t, p.Data)
					for j := range got {
						want := p64[i][j]
						tol := 2e-6*float64(s)*math.Abs(want) + 1e-6
						require.InDelta(t, want, float64(got[j]), tol, "step %d param %v elem %d", s, shapes[i], j)
					}
				}
			}
		})
	}
}

// Tensors large enough to run on the thread pool give the same bits on every ISA and
// thread count: the blocks and the order of the sums depend on the tensor only.
func TestAdafactorISAsAndThreadsAgree(t *testing.T) {
	shapes := [][]int{{300, 401}, {70001}, {2, 150, 260}}
	run := func() [][]float32 {
		ps := shapedParams(t, shapes, 5)
		opt, err := NewAdafactor(ps, AdafactorConfig{LR: 0.05, Beta2Decay: -0.8, Eps1: 0x1p-23, Eps2: 1e-3, D: 1,
			WeightDecay: 0.01})
		require.NoError(t, err)
		defer opt.Close()
		rng := rand.New(rand.NewPCG(9, 9))
		for s := 0; s < 3; s++ {
			setGrads(t, ps, rng, 0.1)
			require.NoError(t, opt.Step())
		}
		var out [][]float32
		for i, p := range ps {
			out = append(out, tensorValues(t, p.Data))
			for _, k := range []string{"row_var", "col_var", "variance"} {
				if v, err := opt.State(0, i, k); err == nil {
					out = append(out, v)
				}
			}
		}
		return out
	}
	var want [][]float32
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 2, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			got := run()
			if want == nil {
				want = got
				continue
			}
			for k := range want {
				require.Zero(t, bitsDiffer(got[k], want[k]), "%v threads=%d: array %d differs", isa, threads, k)
			}
		}
	}
	require.NoError(t, SetISA(ISAAuto))
	require.NoError(t, SetThreads(0))
}

// ClipStep is ClipGradNorm followed by Step, bit for bit, on matrices too.
func TestAdafactorClipStep(t *testing.T) {
	shapes := [][]int{{6, 10}, {25}}
	a, b := shapedParams(t, shapes, 4), shapedParams(t, shapes, 4)
	oa, err := NewAdafactor(a, AdafactorDefaults())
	require.NoError(t, err)
	defer oa.Close()
	ob, err := NewAdafactor(b, AdafactorDefaults())
	require.NoError(t, err)
	defer ob.Close()
	for s := 0; s < 4; s++ {
		setGrads(t, a, rand.New(rand.NewPCG(uint64(s), 1)), 3)
		setGrads(t, b, rand.New(rand.NewPCG(uint64(s), 1)), 3)
		require.NoError(t, oa.ClipStep(0.5, 2))
		_, err := ClipGradNorm(b, 0.5, 2, false)
		require.NoError(t, err)
		require.NoError(t, ob.Step())
		for i := range a {
			require.Zero(t, bitsDiffer(tensorValues(t, a[i].Data), tensorValues(t, b[i].Data)), "step %d param %d", s, i)
		}
	}
}

// A Shape that does not describe the param is refused when the param is added; one
// changed afterwards is refused at the step, which changes nothing; a checkpoint of
// other shapes does not load.
func TestAdafactorShapeErrors(t *testing.T) {
	p := shapedParams(t, [][]int{{4, 6}}, 1)[0]
	p.Shape = []int{5, 5}
	_, err := NewAdafactor([]*Param{p}, AdafactorDefaults())
	require.ErrorIs(t, err, ErrShape)
	require.EqualError(t, err, "optim: param p0: Shape [5 5] has 25 elements, want 24")
	p.Shape = []int{-4, -6}
	_, err = NewAdafactor([]*Param{p}, AdafactorDefaults())
	require.ErrorIs(t, err, ErrShape)

	p.Shape = []int{4, 6}
	opt, err := NewAdafactor([]*Param{p}, AdafactorDefaults())
	require.NoError(t, err)
	defer opt.Close()
	setGrads(t, []*Param{p}, rand.New(rand.NewPCG(1, 2)), 1)
	require.NoError(t, opt.Step())
	var ckpt bytes.Buffer
	require.NoError(t, opt.Save(&ckpt))

	p.Shape = []int{6, 4}
	before := takeSnapshot(t, opt, []*Param{p})
	err = opt.Step()
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.ErrorContains(t, err, "Shape is [6 4], it was [4 6] when the param was added")
	requireUnchanged(t, before, opt, []*Param{p}, "a step with a changed Shape")

	q := shapedParams(t, [][]int{{6, 4}}, 1)[0]
	other, err := NewAdafactor([]*Param{q}, AdafactorDefaults())
	require.NoError(t, err)
	defer other.Close()
	err = other.Load(bytes.NewReader(ckpt.Bytes()))
	require.ErrorIs(t, err, ErrCheckpoint)
	require.ErrorContains(t, err, "has shape [4 6], the optimizer's p0 has [6 4]")
}
