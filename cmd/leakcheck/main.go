// Command leakcheck runs many small create/step/close cycles through package optim
// and fails if memory grows: it reads the process's resident set (VmRSS in
// /proc/self/status) and the C heap in use (glibc's mallinfo2, which sees every
// goptim_alloc, tensor list and state buffer) after a warm-up and again at the end,
// and exits 1 if either grew by more than its bound.
//
//	go run ./cmd/leakcheck                     # 1e6 cycles, the full check
//	go run ./cmd/leakcheck -n 20000            # a quick one
//	go run ./cmd/leakcheck -no-close -n 20000  # drop everything without Close: shows what the finalizers recover
//	go run -asan ./cmd/leakcheck -n 100000     # LeakSanitizer at exit instead of the bounds
//
// Prefer the -asan build of this program to `go test -asan` for leak hunting: in a
// test binary, pointers to leaked C blocks often survive in dead Go objects, which
// LeakSanitizer scans as roots, so it reports nothing; a deliberate leak of tensor
// lists was caught here and missed there.
//
// A cycle makes a param (NewParam, or an Arena, or WrapSlice of a Go slice, in
// turn), an optimizer of the next kind (SGD with momentum, Adam with AMSGrad, AdamW,
// Adagrad, centered RMSprop with momentum), and runs Step, and in turn ClipStep,
// a GradScaler step, the clipping functions, Save and Load, a step with
// SetCheckFinite over a NaN, ZeroGrad; then closes the optimizer and the param.
// Closing is the contract; finalizers on tensors are only a safety net.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/goptim/goptim/optim"
)

func main() {
	n := flag.Int("n", 1_000_000, "cycles to measure (after the warm-up)")
	warm := flag.Int("warmup", 20_000, "cycles before the first measurement")
	maxRSS := flag.Float64("max-rss-mib", 16, "fail if RSS grows by more than this many MiB")
	maxHeap := flag.Float64("max-heap-kib", 256, "fail if the C heap in use grows by more than this many KiB")
	noClose := flag.Bool("no-close", false, "never call Close: leave everything to the finalizers (not the contract)")
	flag.Parse()

	optim.SetThreads(0)
	fmt.Printf("leakcheck: backend %s, %d threads, GOMAXPROCS %d, close=%v\n",
		optim.Backend(), optim.Threads(), runtime.GOMAXPROCS(0), !*noClose)
	for i := 0; i < *warm; i++ {
		must(cycle(i, !*noClose))
	}
	rss0, heap0, goHeap0 := measure()
	threads0 := threads()
	t0 := time.Now()
	report := *n / 10
	for i := 0; i < *n; i++ {
		must(cycle(*warm+i, !*noClose))
		if report > 0 && (i+1)%report == 0 {
			rss, heap, _ := measure()
			fmt.Printf("  %9d cycles  %6.1fs  RSS %8.2f MiB  C heap %10d B  threads %d\n", i+1, time.Since(t0).Seconds(),
				mib(rss), heap, threads())
		}
	}
	elapsed := time.Since(t0)
	rss1, heap1, goHeap1 := measure()
	fmt.Printf("cycles:  %d in %.1fs (%.1f µs each)\n", *n, elapsed.Seconds(), float64(elapsed.Microseconds())/float64(max(*n, 1)))
	fmt.Printf("RSS:     %.2f MiB -> %.2f MiB (%+.2f MiB, bound %.0f MiB)\n", mib(rss0), mib(rss1), mib(rss1-rss0), *maxRSS)
	if heap0 >= 0 {
		fmt.Printf("C heap:  %d B -> %d B (%+d B, %+.3f B/cycle, bound %.0f KiB)\n", heap0, heap1, heap1-heap0,
			float64(heap1-heap0)/float64(max(*n, 1)), *maxHeap)
	}
	fmt.Printf("Go heap: %.2f MiB -> %.2f MiB in use\n", mib(goHeap0), mib(goHeap1))
	fmt.Printf("threads: %d -> %d\n", threads0, threads())
	if asanBuild {
		fmt.Println("built with -asan: no bounds; LeakSanitizer checks the C heap at exit (a leak is reported below and fails the run)")
		fmt.Println("ok")
		return
	}
	fail := false
	if mib(rss1-rss0) > *maxRSS {
		fmt.Println("FAIL: RSS grew beyond the bound")
		fail = true
	}
	if heap0 >= 0 && float64(heap1-heap0) > *maxHeap*1024 {
		fmt.Println("FAIL: the C heap grew beyond the bound")
		fail = true
	}
	if fail {
		os.Exit(1)
	}
	fmt.Println("ok")
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakcheck:", err)
		os.Exit(2)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// measure collects garbage (running finalizers), returns memory to the OS and reads
// RSS, the C heap and the Go heap.
func measure() (rss, heap, goHeap int64) {
	for i := 0; i < 3; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // let the finalizer goroutine run
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return vmRSS(), cHeap(), int64(ms.HeapInuse)
}

func vmRSS() int64 { return procStatus("VmRSS:") << 10 }

// threads is the process's OS thread count: each new thread (the Go runtime adds
// some over a long run) takes a little C heap for its thread-local storage.
func threads() int64 { return procStatus("Threads:") }

// procStatus is a number field of /proc/self/status (kB for sizes).
func procStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	must(err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			v, err := strconv.ParseInt(f[1], 10, 64)
			must(err)
			return v
		}
	}
	return 0
}

// cycle is one create/step/close round; i picks the variant.
func cycle(i int, closeAll bool) error {
	size := 1 + i%37
	var params []*optim.Param
	var closers []func() error
	switch i % 3 {
	case 0:
		p, err := optim.NewParam("w", size)
		if err != nil {
			return err
		}
		params, closers = []*optim.Param{p}, append(closers, p.Close)
	case 1:
		a, err := optim.NewArena([]string{"w", "b"}, []int{size, 3})
		if err != nil {
			return err
		}
		params, closers = a.Params(), append(closers, a.Close)
	case 2:
		buf := make([]float32, 2*size)
		d, err := optim.WrapSlice(buf[:size])
		if err != nil {
			return err
		}
		g, err := optim.WrapSlice(buf[size:])
		if err != nil {
			return err
		}
		p := &optim.Param{Name: "w", Data: d, Grad: g}
		params, closers = []*optim.Param{p}, append(closers, p.Close)
	}
	for _, p := range params {
		if err := p.Grad.Fill(0.25); err != nil {
			return err
		}
	}
	opt, err := newOptimizer(i%5, params)
	if err != nil {
		return err
	}
	closers = append([]func() error{opt.Close}, closers...)
	if err := opt.Step(); err != nil {
		return err
	}
	switch i % 7 {
	case 0:
		if err := opt.ClipStep(0.5, 2); err != nil {
			return err
		}
		if _, err := opt.LastGradNorm(); err != nil {
			return err
		}
	case 1:
		s, err := optim.NewGradScaler(optim.GradScalerDefaults())
		if err != nil {
			return err
		}
		if _, err := s.Step(opt); err != nil {
			return err
		}
	case 2:
		if _, err := optim.ClipGradNorm(params, 1, math.Inf(1), true); err != nil {
			return err
		}
		if err := optim.ClipGradValue(params, 0.1); err != nil {
			return err
		}
	case 3:
		var b bytes.Buffer
		if err := opt.Save(&b); err != nil {
			return err
		}
		if err := opt.Load(&b); err != nil {
			return err
		}
	case 4:
		opt.SetCheckFinite(true)
		if err := params[0].Grad.Fill(float32(math.NaN())); err != nil {
			return err
		}
		if err := opt.Step(); err == nil {
			return fmt.Errorf("a NaN gradient was not reported")
		}
	case 5:
		if err := opt.ZeroGrad(); err != nil {
			return err
		}
	case 6:
		// a refused call must not leak either
		if err := opt.ClipStep(-1, 2); err == nil {
			return fmt.Errorf("a negative max_norm was accepted")
		}
	}
	if closeAll {
		for _, c := range closers {
			if err := c(); err != nil {
				return err
			}
		}
	}
	return nil
}

func newOptimizer(kind int, params []*optim.Param) (optim.Optimizer, error) {
	switch kind {
	case 0:
		return optim.NewSGD(params, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	case 1:
		c := optim.AdamDefaults()
		c.AMSGrad = true
		return optim.NewAdam(params, c)
	case 2:
		return optim.NewAdamW(params, optim.AdamWDefaults())
	case 3:
		c := optim.AdagradDefaults()
		c.InitialAccumulatorValue = 0.1
		return optim.NewAdagrad(params, c)
	default:
		c := optim.RMSpropDefaults()
		c.Centered, c.Momentum = true, 0.9
		return optim.NewRMSprop(params, c)
	}
}
