package cblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// ref is gonum's pure-Go BLAS, the reference every routine is compared with.
var ref gonum.Implementation

func rand32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func rand64(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

// close32 checks got against want elementwise with a tolerance that grows with the
// length of the sums (k terms) behind each element.
func close32(t *testing.T, want, got []float32, k int, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	tol := 1e-6 * float64(k+1)
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		require.InDelta(t, w, g, tol*math.Max(1, math.Abs(w)), "%s: element %d", msg, i)
	}
}

func close64(t *testing.T, want, got []float64, k int, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	tol := 1e-14 * float64(k+1)
	for i := range want {
		require.InDelta(t, want[i], got[i], tol*math.Max(1, math.Abs(want[i])), "%s: element %d", msg, i)
	}
}

var transposes = []blas.Transpose{blas.NoTrans, blas.Trans}

func TestSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var impl Implementation
	for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {64, 64, 64}, {100, 37, 129}, {1, 200, 50}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, ta := range transposes {
			for _, tb := range transposes {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
					alpha, beta := ab[0], ab[1]
					// Row-major with leading dimensions larger than the rows, as views of
					// bigger matrices have.
					ar, ac := m, k
					if ta == blas.Trans {
						ar, ac = k, m
					}
					br, bc := k, n
					if tb == blas.Trans {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+3, bc+1, n+2
					a, b := rand32(r, ar*lda), rand32(r, br*ldb)
					c := rand32(r, m*ldc)
					want := append([]float32(nil), c...)
					ref.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
					impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					close32(t, want, c, k, fmt.Sprintf("sgemm %v %c%c alpha %v beta %v", sz, ta, tb, alpha, beta))
				}
			}
		}
	}
}

func TestSgemv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var impl Implementation
	for _, sz := range [][2]int{{1, 1}, {5, 3}, {64, 100}, {257, 31}} {
		m, n := sz[0], sz[1]
		for _, tr := range transposes {
			for _, inc := range []int{1, 2, -1} {
				lda := n + 2
				a := rand32(r, m*lda)
				lx, ly := n, m
				if tr == blas.Trans {
					lx, ly = m, n
				}
				ainc := inc
				if ainc < 0 {
					ainc = -ainc
				}
				x := rand32(r, 1+(lx-1)*ainc)
				y := rand32(r, 1+(ly-1)*ainc)
				want := append([]float32(nil), y...)
				ref.Sgemv(tr, m, n, 1.5, a, lda, x, inc, -0.5, want, inc)
				impl.Sgemv(tr, m, n, 1.5, a, lda, x, inc, -0.5, y, inc)
				close32(t, want, y, lx, fmt.Sprintf("sgemv %v %c inc %d", sz, tr, inc))
			}
		}
	}
}

func TestSger(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var impl Implementation
	m, n, lda := 33, 47, 50
	a := rand32(r, m*lda)
	x, y := rand32(r, m), rand32(r, n)
	want := append([]float32(nil), a...)
	ref.Sger(m, n, 0.75, x, 1, y, 1, want, lda)
	impl.Sger(m, n, 0.75, x, 1, y, 1, a, lda)
	close32(t, want, a, 1, "sger")
}

func TestLevel1Float32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var impl Implementation
	for _, n := range []int{0, 1, 7, 64, 1000, 100003} {
		for _, inc := range []int{1, 3} {
			lx := 1
			if n > 0 {
				lx = 1 + (n-1)*inc
			}
			x, y := rand32(r, lx), rand32(r, lx)
			msg := fmt.Sprintf("n %d inc %d", n, inc)

			require.InDelta(t, ref.Sdot(n, x, inc, y, inc), impl.Sdot(n, x, inc, y, inc), 1e-6*float64(n+1)*math.Sqrt(float64(n+1)), "sdot "+msg)
			// Float32 sums of n terms: gonum accumulates in float32, OpenBLAS may not.
			rel := 1e-6 + 1e-7*math.Sqrt(float64(n))
			require.InEpsilon(t, ref.Snrm2(n, x, inc)+1, impl.Snrm2(n, x, inc)+1, rel, "snrm2 "+msg)
			require.InEpsilon(t, ref.Sasum(n, x, inc)+1, impl.Sasum(n, x, inc)+1, rel, "sasum "+msg)
			if n > 0 {
				require.Equal(t, ref.Isamax(n, x, inc), impl.Isamax(n, x, inc), "isamax "+msg)
			}

			want := append([]float32(nil), y...)
			ref.Saxpy(n, -1.25, x, inc, want, inc)
			got := append([]float32(nil), y...)
			impl.Saxpy(n, -1.25, x, inc, got, inc)
			close32(t, want, got, 1, "saxpy "+msg)

			want = append([]float32(nil), x...)
			ref.Sscal(n, 0.3, want, inc)
			got = append([]float32(nil), x...)
			impl.Sscal(n, 0.3, got, inc)
			close32(t, want, got, 1, "sscal "+msg)

			got = make([]float32, lx)
			impl.Scopy(n, x, inc, got, inc)
			for i := 0; i < n; i++ {
				require.Equal(t, x[i*inc], got[i*inc], "scopy "+msg)
			}
		}
	}
}

func TestFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var impl Implementation
	m, n, k := 45, 31, 70
	for _, ta := range transposes {
		for _, tb := range transposes {
			a, b, c := rand64(r, m*k), rand64(r, k*n), rand64(r, m*n)
			lda, ldb := k, n
			if ta == blas.Trans {
				lda = m
			}
			if tb == blas.Trans {
				ldb = k
			}
			want := append([]float64(nil), c...)
			ref.Dgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 0.5, want, n)
			impl.Dgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 0.5, c, n)
			close64(t, want, c, k, fmt.Sprintf("dgemm %c%c", ta, tb))
		}
	}
	a, x, y := rand64(r, m*n), rand64(r, n), rand64(r, m)
	want := append([]float64(nil), y...)
	ref.Dgemv(blas.NoTrans, m, n, 2, a, n, x, 1, 1, want, 1)
	impl.Dgemv(blas.NoTrans, m, n, 2, a, n, x, 1, 1, y, 1)
	close64(t, want, y, n, "dgemv")

	x, y = rand64(r, 1000), rand64(r, 1000)
	require.InDelta(t, ref.Ddot(1000, x, 1, y, 1), impl.Ddot(1000, x, 1, y, 1), 1e-11)
	require.InEpsilon(t, ref.Dnrm2(1000, x, 1), impl.Dnrm2(1000, x, 1), 1e-13)
	want = append([]float64(nil), y...)
	ref.Daxpy(1000, 3, x, 1, want, 1)
	impl.Daxpy(1000, 3, x, 1, y, 1)
	close64(t, want, y, 1, "daxpy")
}

// Invalid arguments panic in Go, before any C call, as gonum's own implementation does.
func TestPanicsOnBadArguments(t *testing.T) {
	var impl Implementation
	a := make([]float32, 4)
	require.Panics(t, func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a[:3], 2) })
	require.Panics(t, func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 1, a, 2, 0, a, 2) })
	require.Panics(t, func() { impl.Saxpy(5, 1, a, 1, a, 1) })
	require.Panics(t, func() { impl.Sdot(-1, a, 1, a, 1) })
}

func TestUse(t *testing.T) {
	old32, old64 := blas32.Implementation(), blas64.Implementation()
	t.Cleanup(func() { blas32.Use(old32); blas64.Use(old64) })

	Use()
	require.IsType(t, Implementation{}, blas32.Implementation())
	require.IsType(t, Implementation{}, blas64.Implementation())

	// blas32.Gemm now goes through OpenBLAS: [1 2; 3 4] * [5 6; 7 8].
	a := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: []float32{1, 2, 3, 4}}
	b := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: []float32{5, 6, 7, 8}}
	c := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: make([]float32, 4)}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c)
	require.Equal(t, []float32{19, 22, 43, 50}, c.Data)
	require.Equal(t, 14.0, blas64.Dot(blas64.Vector{N: 3, Inc: 1, Data: []float64{1, 2, 3}},
		blas64.Vector{N: 3, Inc: 1, Data: []float64{1, 2, 3}}))
}

// For a fixed thread count, OpenBLAS gives the same bits run to run.
func TestThreadsAndReproducibility(t *testing.T) {
	old := Threads()
	require.GreaterOrEqual(t, old, 1)
	t.Cleanup(func() { SetThreads(old) })
	SetThreads(0) // no-op
	require.Equal(t, old, Threads())

	r := rand.New(rand.NewPCG(11, 12))
	const n = 256
	a, b := rand32(r, n*n), rand32(r, n*n)
	var impl Implementation
	for _, th := range []int{1, 2} {
		SetThreads(th)
		require.Equal(t, th, Threads())
		c1, c2 := make([]float32, n*n), make([]float32, n*n)
		impl.Sgemm(blas.NoTrans, blas.Trans, n, n, n, 1, a, n, b, n, 0, c1, n)
		impl.Sgemm(blas.NoTrans, blas.Trans, n, n, n, 1, a, n, b, n, 0, c2, n)
		require.Equal(t, c1, c2, "threads %d", th)
	}
}
