package cblas

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkSgemm compares OpenBLAS's sgemm with gonum's pure-Go one on square matrices
// and on the MLP shapes of examples/demo (batch 64, 64 -> 128 -> 10). SetBytes counts
// flops (2mnk), so the reported "MB/s" reads as Mflop/s.
func BenchmarkSgemm(b *testing.B) {
	shapes := [][3]int{{64, 128, 64}, {64, 10, 128}, {128, 128, 128}, {512, 512, 512}, {1024, 1024, 1024}}
	impls := []struct {
		name string
		impl blas.Float32
	}{{"openblas", Implementation{}}, {"gonum", gonum.Implementation{}}}
	r := rand.New(rand.NewPCG(1, 1))
	for _, sz := range shapes {
		m, n, k := sz[0], sz[1], sz[2]
		x, y, z := rand32(r, m*k), rand32(r, k*n), make([]float32, m*n)
		for _, im := range impls {
			if im.name == "gonum" && m*n*k > 512*512*512 {
				continue // minutes on two cores; the 512 case already shows the gap
			}
			b.Run(fmt.Sprintf("%s/m=%d,n=%d,k=%d", im.name, m, n, k), func(b *testing.B) {
				b.SetBytes(int64(2 * m * n * k))
				for b.Loop() {
					im.impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, x, k, y, n, 0, z, n)
				}
			})
		}
	}
}
