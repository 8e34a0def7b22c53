package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkMuonVsSgemm times a Muon step on one rows x cols matrix (5 Newton-Schulz
// steps) beside the same 15 products through the backend's BLAS (OpenBLAS on the CPU):
// per step A = X X^T (r x r), B = b*A + c*A A, X = a*X + B X, with X the smaller side
// first. Read the sub-benchmarks of one size against each other in the same run: muon's
// products round as torch's reference BLAS does (no fused multiply-add), so they cannot
// reach OpenBLAS's speed; blas is the same step with MuonConfig.BLAS. The sgemm side
// copies A and X into the buffers its beta reads, as the step does.
func BenchmarkMuonVsSgemm(b *testing.B) {
	for _, sh := range [][2]int{{768, 768}, {768, 2304}, {768, 3072}} {
		r, c := min(sh[0], sh[1]), max(sh[0], sh[1])
		rng := rand.New(rand.NewPCG(1, 2))
		vals := make([]float32, r*c)
		for i := range vals {
			vals[i] = float32(rng.NormFloat64())
		}
		for _, blas := range []bool{false, true} {
			name := "muon"
			if blas {
				name = "blas"
			}
			b.Run(fmt.Sprintf("%dx%d/%s", sh[0], sh[1], name), func(b *testing.B) {
				p, err := NewParam("w", r*c)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				p.Shape = []int{sh[0], sh[1]}
				if err := p.Grad.CopyFrom(vals); err != nil {
					b.Fatal(err)
				}
				cfg := MuonDefaults()
				cfg.BLAS = blas
				opt, err := NewMuon([]*Param{p}, cfg)
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
		}
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

// gpt2Small is GPT-2 small's 124M parameters in model order: per layer the attention's
// c_attn (768 x 2304) and c_proj (768 x 768) and the MLP's c_fc (768 x 3072) and c_proj
// (3072 x 768), the 48 matrices Muon steps, and everything else for AdamW: the token and
// position embeddings (50257 x 768, 1024 x 768: embeddings are AdamW's in Muon's
// recipe), per layer ln_1 and ln_2 (weight and bias, 768 each) and the four biases
// (2304, 768, 3072, 768), and ln_f.
func gpt2Small() (mats [][2]int, vecs []int) {
	vecs = []int{50257 * 768, 1024 * 768}
	for range 12 {
		mats = append(mats, [2]int{768, 2304}, [2]int{768, 768}, [2]int{768, 3072}, [2]int{3072, 768})
		vecs = append(vecs, 768, 768, 2304, 768, 768, 768, 3072, 768)
	}
	return mats, append(vecs, 768, 768)
}

var gpt2Noise = sync.OnceValue(func() []float32 {
	rng := rand.New(rand.NewPCG(5, 6))
	v := make([]float32, 50257*768+4096)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
})

// gpt2Muon makes GPT-2 small's params (gradients set, a Shape on the matrices) and one
// Muon optimizer over all of them, Muon for the matrices and its aux AdamW for the rest.
func gpt2Muon(b *testing.B, blas bool) (*Muon, func()) {
	b.Helper()
	mats, vecs := gpt2Small()
	noise := gpt2Noise()
	var ps []*Param
	closeAll := func() {
		for _, p := range ps {
			p.Close()
		}
	}
	add := func(n int, shape []int) {
		p, err := NewParam(fmt.Sprintf("p%d", len(ps)), n)
		if err != nil {
			closeAll()
			b.Fatal(err)
		}
		ps = append(ps, p)
		p.Shape = shape
		off := (len(ps) * 977) % 4096
		if err := p.Data.CopyFrom(noise[off : off+n]); err != nil {
			b.Fatal(err)
		}
		if err := p.Grad.CopyFrom(noise[4096-off : 4096-off+n]); err != nil {
			b.Fatal(err)
		}
	}
	for _, m := range mats {
		add(m[0]*m[1], []int{m[0], m[1]})
	}
	for _, n := range vecs {
		add(n, nil)
	}
	cfg := MuonDefaults()
	cfg.BLAS = blas
	opt, err := NewMuon(ps, cfg)
	if err != nil {
		closeAll()
		b.Fatal(err)
	}
	return opt, func() {
		opt.Close()
		closeAll()
	}
}

// nsSgemm is the Newton-Schulz products of a Muon step over GPT-2 small's matrices
// through Gemm (OpenBLAS on the CPU), one set of buffers per shape.
type nsSgemm struct {
	mats [][2]int
	bufs map[[2]int]*[5]*Tensor // X0, X, X', A, B
}

func newNSSgemm(b *testing.B) (*nsSgemm, func()) {
	b.Helper()
	s := &nsSgemm{bufs: map[[2]int]*[5]*Tensor{}}
	s.mats, _ = gpt2Small()
	noise := gpt2Noise()
	closeAll := func() {
		for _, t := range s.bufs {
			for _, x := range t {
				if x != nil {
					x.Close()
				}
			}
		}
	}
	for _, sh := range s.mats {
		if s.bufs[sh] != nil {
			continue
		}
		m, n := min(sh[0], sh[1]), max(sh[0], sh[1])
		t := new([5]*Tensor)
		s.bufs[sh] = t
		x0 := make([]float32, m*n)
		var ss float64
		for i := range x0 {
			ss += float64(noise[i]) * float64(noise[i])
		}
		for i := range x0 {
			x0[i] = float32(float64(noise[i]) / math.Sqrt(ss)) // X / ||X||_F, as the step starts
		}
		var err error
		if t[0], err = TensorFrom(x0); err != nil {
			closeAll()
			b.Fatal(err)
		}
		for i, l := range []int{m * n, m * n, m * m, m * m} {
			if t[1+i], err = NewTensor(l); err != nil {
				closeAll()
				b.Fatal(err)
			}
		}
	}
	return s, closeAll
}

// cpuTime is the CPU time the process has used, all its threads, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// step runs the 15 products of every matrix (A = X X^T; B = b*A + c*A A into B holding
// A; X' = a*X + B X into X' holding X) and returns the wall and CPU time spent in Gemm
// alone: the copies that give beta its operand (and restart X from X0 per matrix, so
// that the values stay those of a step) are not timed.
func (s *nsSgemm) step() (time.Duration, error) {
	d, _, err := s.stepCPU()
	return d, err
}

func (s *nsSgemm) stepCPU() (wall, cpu time.Duration, err error) {
	const ca, cb, cc = 3.4445, -4.7750, 2.0315
	var d, dc time.Duration
	timed := func(f func() error) error {
		c0, t0 := cpuTime(), time.Now()
		err := f()
		d += time.Since(t0)
		dc += cpuTime() - c0
		return err
	}
	for _, sh := range s.mats {
		m, n := min(sh[0], sh[1]), max(sh[0], sh[1])
		t := s.bufs[sh]
		x, xn, a, bb := t[1], t[2], t[3], t[4]
		if err := CopyTensor(x, t[0]); err != nil {
			return d, dc, err
		}
		for range 5 {
			for _, f := range []func() error{
				func() error { return timed(func() error { return Gemm(false, true, m, m, n, 1, x, x, 0, a) }) },
				func() error { return CopyTensor(bb, a) },
				func() error { return timed(func() error { return Gemm(false, false, m, m, m, cc, a, a, cb, bb) }) },
				func() error { return CopyTensor(xn, x) },
				func() error { return timed(func() error { return Gemm(false, false, m, n, m, 1, bb, x, ca, xn) }) },
			} {
				if err := f(); err != nil {
					return d, dc, err
				}
			}
			x, xn = xn, x
		}
	}
	return d, dc, nil
}

// BenchmarkMuonGPT2Small times one Muon step over GPT-2 small (the 48 attention and MLP
// matrices by Muon, 5 Newton-Schulz steps each, the other 39.5M params by the aux AdamW)
// against sgemm alone doing the same Newton-Schulz products (OpenBLAS, the same alpha
// and beta; the copies its beta operands need are not timed), at 1 and 2 threads
// (SetThreads and OpenBLAS's both). Sub-benchmarks:
//
//	reference  the step, products in the reference order (the default: torch's bits)
//	blas       the step with MuonConfig.BLAS (products on OpenBLAS)
//	sgemm      the products alone; ns/op is Gemm's time only
//	ratios     all three in one loop, in the order reference, blas, sgemm, sgemm,
//	           blas, reference (so that drift and other load fall on both sides alike),
//	           reporting reference/sgemm and blas/sgemm in wall time, and the same
//	           in the process's CPU time (-cpu: robust to other processes' load at one
//	           thread; at two it counts the time idle threads spin as well)
//
// One step is seconds to tens of seconds on two cores; run with -benchtime 1x, e.g.
//
//	go test -run '^$' -bench 'MuonGPT2Small/threads=./ratios' -benchtime 1x -count 3 ./optim
//
// CPU backend only: on the GPU the comparison is the device benchmark's.
func BenchmarkMuonGPT2Small(b *testing.B) {
	if OnDevice() {
		b.Skip("a CPU benchmark: threads and OpenBLAS")
	}
	oldBLAS := openBLASThreads()
	defer func() {
		setOpenBLASThreads(oldBLAS)
		if err := SetThreads(0); err != nil {
			b.Error(err)
		}
	}()
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			if err := SetThreads(th); err != nil {
				b.Fatal(err)
			}
			setOpenBLASThreads(th)
			for _, mode := range []string{"reference", "blas"} {
				b.Run(mode, func(b *testing.B) {
					opt, done := gpt2Muon(b, mode == "blas")
					defer done()
					b.ResetTimer()
					for range b.N {
						if err := opt.Step(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("sgemm", func(b *testing.B) {
				s, done := newNSSgemm(b)
				defer done()
				var d time.Duration
				for range b.N {
					t, err := s.step()
					if err != nil {
						b.Fatal(err)
					}
					d += t
				}
				b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "ns/op")
			})
			b.Run("ratios", func(b *testing.B) {
				ref, doneRef := gpt2Muon(b, false)
				defer doneRef()
				blas, doneBLAS := gpt2Muon(b, true)
				defer doneBLAS()
				s, doneS := newNSSgemm(b)
				defer doneS()
				var tr, tb, ts, cr, cb, cs time.Duration
				stepOf := func(o *Muon, acc, cacc *time.Duration) {
					c0, t0 := cpuTime(), time.Now()
					if err := o.Step(); err != nil {
						b.Fatal(err)
					}
					*acc += time.Since(t0)
					*cacc += cpuTime() - c0
				}
				sg := func() {
					t, c, err := s.stepCPU()
					if err != nil {
						b.Fatal(err)
					}
					ts += t
					cs += c
				}
				b.ResetTimer()
				for range b.N {
					stepOf(ref, &tr, &cr)
					stepOf(blas, &tb, &cb)
					sg()
					sg()
					stepOf(blas, &tb, &cb)
					stepOf(ref, &tr, &cr)
				}
				b.ReportMetric(float64(tr)/float64(ts), "reference/sgemm")
				b.ReportMetric(float64(tb)/float64(ts), "blas/sgemm")
				b.ReportMetric(float64(cr)/float64(cs), "reference/sgemm-cpu")
				b.ReportMetric(float64(cb)/float64(cs), "blas/sgemm-cpu")
				b.ReportMetric(float64(ts.Nanoseconds())/float64(2*b.N), "sgemm-ns/step")
			})
		})
	}
}
