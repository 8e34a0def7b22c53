package mlp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"

	"github.com/goptim/goptim/cblas"
	"github.com/goptim/goptim/optim"
)

// The MLP's three products, as mlp.go calls optim.Gemm, agree with OpenBLAS's sgemm
// called through package cblas (gonum's interface) on host copies: bit for bit on the
// CPU build, where both are the same cblas_sgemm call (row-major, the same transposes
// and leading dimensions), and to rounding on the device backend, whose BLAS is another
// library. The shapes are the demo's (64 → 128 → 10, batches of 64, the 359 held-out
// rows) and a single row; the tensors are longer than the matrices, as the MLP's
// activations are for a short batch.
func TestGemmMatchesCBLAS(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	randoms := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	const pad = 7
	for _, rows := range []int{1, 64, 359} {
		for _, layer := range [][2]int{{64, 128}, {128, 10}} {
			fin, fout := layer[0], layer[1]
			for _, p := range []struct {
				name           string
				transA, transB bool
				m, n, k        int
			}{
				{"forward", false, true, rows, fout, fin},
				{"weight grad", true, false, fout, fin, rows},
				{"delta", false, false, rows, fin, fout},
			} {
				t.Run(fmt.Sprintf("%s/rows=%d/%dx%d", p.name, rows, fin, fout), func(t *testing.T) {
					m, n, k := p.m, p.n, p.k
					a, b, c := randoms(m*k+pad), randoms(k*n+pad), randoms(m*n+pad)

					ta, lda := blas.NoTrans, k
					if p.transA {
						ta, lda = blas.Trans, m
					}
					tb, ldb := blas.NoTrans, n
					if p.transB {
						tb, ldb = blas.Trans, k
					}
					want := append([]float32(nil), c...)
					cblas.Implementation{}.Sgemm(ta, tb, m, n, k, 1, a[:m*k], lda, b[:k*n], ldb, 0, want[:m*n], n)

					var ts []*optim.Tensor
					for _, v := range [][]float32{a, b, c} {
						tv, err := optim.TensorFrom(v)
						require.NoError(t, err)
						defer tv.Close()
						ts = append(ts, tv)
					}
					require.NoError(t, optim.Gemm(p.transA, p.transB, m, n, k, 1, ts[0], ts[1], 0, ts[2]))
					got, err := ts[2].Values()
					require.NoError(t, err)

					require.Equal(t, want[m*n:], got[m*n:], "elements past the matrix untouched")
					if !optim.OnDevice() {
						require.Equal(t, bits(want), bits(got), "optim.Gemm and cblas Sgemm, bit for bit")
						return
					}
					tol := 1e-6 * float64(k+1)
					for i := range want[:m*n] {
						w := float64(want[i])
						require.InDelta(t, w, float64(got[i]), tol*math.Max(1, math.Abs(w)), "element %d", i)
					}
				})
			}
		}
	}
}

// The element-wise steps give the same bits on host copies (the device backend's way)
// as on the tensors' own memory (the CPU build's way): a training step and an
// evaluation through each, on the CPU build, where both ways are available.
func TestHostCopiesMatchViews(t *testing.T) {
	if optim.OnDevice() {
		t.Skip("device tensors have no host views; the copies are all there is")
	}
	x := make([]float32, 8*5)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := []int{0, 2, 1, 2, 0, 1, 1, 0}
	run := func(copies bool) (float64, float64, float64, [][]uint32) {
		net, err := New([]int{5, 7, 3}, 8, rand.New(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		defer net.Close()
		require.False(t, net.ew.copies, "host views on the CPU build")
		net.ew.copies = copies
		loss, err := net.TrainStep(x, labels)
		require.NoError(t, err)
		evalLoss, acc, err := net.Evaluate(x, labels)
		require.NoError(t, err)
		var grads [][]uint32
		for _, p := range net.Params() {
			g, err := p.Grad.Values()
			require.NoError(t, err)
			grads = append(grads, bits(g))
		}
		return loss, evalLoss, acc, grads
	}
	lv, ev, av, gv := run(false)
	lc, ec, ac, gc := run(true)
	require.Equal(t, math.Float64bits(lv), math.Float64bits(lc))
	require.Equal(t, math.Float64bits(ev), math.Float64bits(ec))
	require.Equal(t, av, ac)
	require.Equal(t, gv, gc)
}

// bits is x as its bit patterns, so that comparisons are exact (NaNs and signed zeros
// included).
func bits(x []float32) []uint32 {
	out := make([]uint32, len(x))
	for i, v := range x {
		out[i] = math.Float32bits(v)
	}
	return out
}
