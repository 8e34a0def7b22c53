package optim

import (
	"flag"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/goptim/goptim/internal/layout"
)

var gpt2Scale = flag.Float64("gpt2scale", 1, "BenchmarkGradNormsGPT2Medium: multiply every GPT-2 medium tensor's size by this")

// BenchmarkGradNormsGPT2Medium puts the per-tensor norms (GradNorms: an L2 and an Inf
// norm for each of GPT-2 medium's 292 gradients) beside the global norm (GradNorm, the
// L2 norm of them all, the pass clipping makes) in one run: each iteration times one
// of each, the order flipping every iteration so that neither side always follows the
// other. Both read every gradient once, so per-tensor/global is what the per-tensor
// bookkeeping costs; ns/op is the pair. The gradients are one arena, as a model's are;
// sub-benchmarks at one thread and at one per CPU.
func BenchmarkGradNormsGPT2Medium(b *testing.B) {
	sizes := layout.GPT2Medium()
	names := make([]string, len(sizes))
	total := 0
	for i := range sizes {
		sizes[i] = max(1, int(float64(sizes[i])**gpt2Scale))
		names[i] = fmt.Sprint(i)
		total += sizes[i]
	}
	a, err := NewArena(names, sizes)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	vals := make([]float32, total)
	for i := range vals {
		vals[i] = float32(i%1999-999) * 1e-3
	}
	if err := a.Grad().CopyFrom(vals); err != nil {
		b.Fatal(err)
	}
	params := a.Params()
	defer SetThreads(Threads())
	for _, th := range slices.Compact([]int{1, runtime.NumCPU()}) {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			if err := SetThreads(th); err != nil {
				b.Fatal(err)
			}
			benchNormPair(b, params, total)
		})
	}
}

func benchNormPair(b *testing.B, params []*Param, total int) {
	global := func() error { _, err := GradNorm(params, 2); return err }
	perTensor := func() error { _, err := GradNorms(params); return err }
	for _, f := range []func() error{global, perTensor} { // first touch, untimed
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	var tg, tp time.Duration
	b.SetBytes(int64(2 * 4 * total)) // each side reads every gradient once
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		first, second, d1, d2 := global, perTensor, &tg, &tp
		if i%2 == 1 {
			first, second, d1, d2 = perTensor, global, &tp, &tg
		}
		t0 := time.Now()
		if err := first(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := second(); err != nil {
			b.Fatal(err)
		}
		*d1 += t1.Sub(t0)
		*d2 += time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(tg.Nanoseconds())/float64(b.N), "global-ns/op")
	b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "pertensor-ns/op")
	b.ReportMetric(float64(tp)/float64(tg), "pertensor/global")
}
