package optim

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMuonVsSgemm times a Muon step on one rows x cols matrix (5 Newton-Schulz
// steps) beside the same 15 products through the backend's BLAS (OpenBLAS on the CPU),
// the limit issue 15 measures Muon against: per step A = X X^T (r x r), B = b*A + c*A A,
// X = a*X + B X, with X the smaller side first. Read the two sub-benchmarks of one size
// against each other in the same run; Muon's products round as torch's reference BLAS
// does (no fused multiply-add), so they cannot reach OpenBLAS's speed.
func BenchmarkMuonVsSgemm(b *testing.B) {
	for _, sh := range [][2]int{{768, 768}, {768, 2304}, {768, 3072}} {
		r, c := min(sh[0], sh[1]), max(sh[0], sh[1])
		rng := rand.New(rand.NewPCG(1, 2))
		vals := make([]float32, r*c)
		for i := range vals {
			vals[i] = float32(rng.NormFloat64())
		}
		b.Run(fmt.Sprintf("%dx%d/muon", sh[0], sh[1]), func(b *testing.B) {
			p, err := NewParam("w", r*c)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			p.Shape = []int{sh[0], sh[1]}
			if err := p.Grad.CopyFrom(vals); err != nil {
				b.Fatal(err)
			}
			opt, err := NewMuon([]*Param{p}, MuonDefaults())
			if err != nil {
				b.Fatal(err)
			}
			defer opt.Close()
			b.ResetTimer()
			for range b.N {
				if err := opt.Step(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dx%d/sgemm", sh[0], sh[1]), func(b *testing.B) {
			x, err := TensorFrom(vals)
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close()
			var t [3]*Tensor
			for i, n := range []int{r * r, r * r, r * c} {
				if t[i], err = NewTensor(n); err != nil {
					b.Fatal(err)
				}
				defer t[i].Close()
			}
			a, bb, y := t[0], t[1], t[2]
			const ca, cb, cc = 3.4445, -4.7750, 2.0315
			b.ResetTimer()
			for range b.N {
				for s := 0; s < 5; s++ {
					steps := []error{
						Gemm(false, true, r, r, c, 1, x, x, 0, a), // A = X X^T
						CopyTensor(bb, a),
						Gemm(false, false, r, r, r, cc, a, a, cb, bb), // B = b*A + c*A A
						CopyTensor(y, x),
						Gemm(false, false, r, c, r, 1, bb, x, ca, y), // X = a*X + B X
						CopyTensor(x, y),
					}
					for _, err := range steps {
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			}
		})
	}
}
