// Command bench times every optimizer step on the layouts of DESIGN.md and prints
// each as a fraction of a copy of the same bytes measured in the same run, at 1, 2
// and all threads. It is what `make bench` runs.
//
//	go run ./cmd/bench                       # all optimizers, all layouts
//	go run ./cmd/bench -layout single -opt adam,adamw -threads 1,2
//	go run ./cmd/bench -scale 0.1            # a tenth of the sizes, for a quick look
//
// Effective bytes per parameter are what a fused step must move: read param, grad
// and state, write param and state (Adam/AdamW 28 B, SGD-momentum, Adagrad and
// RMSprop 20 B). The copy baseline moves the same total (half read, half written)
// with the backend's own copy on the same threads.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goptim/goptim/optim"
)

type optSpec struct {
	name   string
	states int
	make   func([]*optim.Param) (optim.Optimizer, error)
}

var opts = []optSpec{
	{"sgd-momentum", 1, func(p []*optim.Param) (optim.Optimizer, error) {
		return optim.NewSGD(p, optim.SGDConfig{LR: 0.01, Momentum: 0.9})
	}},
	{"adam", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdam(p, optim.AdamDefaults()) }},
	{"adamw", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdamW(p, optim.AdamWDefaults()) }},
	{"adagrad", 1, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdagrad(p, optim.AdagradDefaults()) }},
	{"rmsprop", 1, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewRMSprop(p, optim.RMSpropDefaults()) }},
}

// gpt2MediumShapes are the 292 parameter tensors of GPT-2 medium (355M parameters):
// token and position embeddings, 24 blocks of two layer norms, attention and MLP
// weights and biases, and the final layer norm.
func gpt2MediumShapes() []int {
	const d, layers, vocab, ctx = 1024, 24, 50257, 1024
	s := []int{vocab * d, ctx * d}
	for range layers {
		s = append(s, d, d, // ln_1
			d*3*d, 3*d, // attn.c_attn
			d*d, d, // attn.c_proj
			d, d, // ln_2
			d*4*d, 4*d, // mlp.c_fc
			4*d*d, d) // mlp.c_proj
	}
	return append(s, d, d) // ln_f
}

func layouts(scale float64) map[string][]int {
	sc := func(n int) int { return max(1, int(float64(n)*scale)) }
	g := gpt2MediumShapes()
	for i := range g {
		g[i] = sc(g[i])
	}
	small := make([]int, sc(10000))
	for i := range small {
		small[i] = 10000
	}
	return map[string][]int{"single": {sc(64 << 20)}, "gpt2-medium": g, "small": small}
}

func main() {
	optsFlag := flag.String("opt", "all", "optimizers, comma-separated: sgd-momentum,adam,adamw,adagrad,rmsprop")
	layoutFlag := flag.String("layout", "single,gpt2-medium,small",
		"layouts: single (one 64M tensor), gpt2-medium (292 tensors, 355M), small (10,000 x 10,000)")
	threadsFlag := flag.String("threads", "", "thread counts to run, comma-separated (default 1,2,all cores)")
	steps := flag.Int("steps", 10, "timed steps per measurement (the median is reported)")
	scale := flag.Float64("scale", 1, "multiply every layout's sizes by this")
	arena := flag.Bool("arena", true, "allocate each layout as one arena (flat) rather than separate tensors (list)")
	flag.Parse()

	threads := []int{1, 2, runtime.NumCPU()}
	if *threadsFlag != "" {
		threads = nil
		for _, f := range strings.Split(*threadsFlag, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				fatal(fmt.Errorf("bad -threads entry %q", f))
			}
			threads = append(threads, n)
		}
	}
	threads = slices.Compact(slices.Sorted(slices.Values(threads)))
	all := layouts(*scale)

	fmt.Printf("goptim %s backend, isa %v, %d cores, %s/%s, %s\n", optim.Backend(), optim.CurrentISA(),
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	const row = "| %-11s | %7s | %10s | %-12s | %7s | %8s | %6s | %9s | %16s |\n"
	fmt.Printf(row, "layout", "tensors", "params", "optimizer", "threads", "ms/step", "GB/s", "copy GB/s", "fraction of copy")
	fmt.Printf(row, strings.Repeat("-", 11), "------:", "---------:", "------------", "------:", "-------:", "-----:",
		"--------:", "---------------:")
	for _, name := range strings.Split(*layoutFlag, ",") {
		sizes, ok := all[name]
		if !ok {
			fatal(fmt.Errorf("unknown layout %q", name))
		}
		total := 0
		for _, n := range sizes {
			total += n
		}
		params, free := allocate(sizes, *arena)
		for _, o := range opts {
			if *optsFlag != "all" && !slices.Contains(strings.Split(*optsFlag, ","), o.name) {
				continue
			}
			opt, err := o.make(params)
			if err != nil {
				fatal(err)
			}
			bytes := float64(4*(3+2*o.states)) * float64(total)
			for _, th := range threads {
				if err := optim.SetThreads(th); err != nil {
					fatal(err)
				}
				stepT, copyT := measure(*steps, int(bytes/8), opt)
				gbs := bytes / stepT.Seconds() / 1e9
				cgbs := bytes / copyT.Seconds() / 1e9
				fmt.Printf("| %-11s | %7d | %10d | %-12s | %7d | %8.2f | %6.1f | %9.1f | %16.2f |\n", name, len(sizes),
					total, o.name, th, float64(stepT.Microseconds())/1000, gbs, cgbs, gbs/cgbs)
			}
			opt.Close()
		}
		free()
	}
}

func allocate(sizes []int, arena bool) ([]*optim.Param, func()) {
	if arena {
		a, err := optim.NewArena(nil, sizes)
		if err != nil {
			fatal(err)
		}
		return a.Params(), func() { a.Close() }
	}
	ps := make([]*optim.Param, len(sizes))
	for i, n := range sizes {
		p, err := optim.NewParam("", n)
		if err != nil {
			fatal(err)
		}
		ps[i] = p
	}
	return ps, func() {
		for _, p := range ps {
			p.Close()
		}
	}
}

// measure times opt.Step and a backend copy of n floats (8n bytes moved), alternating
// the two so that both see the same machine state, and returns their medians.
func measure(steps, n int, opt optim.Optimizer) (step, copy time.Duration) {
	src, err := optim.NewTensor(n)
	if err != nil {
		fatal(err)
	}
	defer src.Close()
	dst, err := optim.NewTensor(n)
	if err != nil {
		fatal(err)
	}
	defer dst.Close()
	st := make([]time.Duration, steps)
	ct := make([]time.Duration, steps)
	once(opt.Step) // warm up: first touch of state and copy buffers
	once(func() error { return optim.CopyTensor(dst, src) })
	for i := 0; i < steps; i++ {
		st[i] = once(opt.Step)
		ct[i] = once(func() error { return optim.CopyTensor(dst, src) })
	}
	slices.Sort(st)
	slices.Sort(ct)
	return st[steps/2], ct[steps/2]
}

// once times one call of f, waiting for the device on both sides.
func once(f func() error) time.Duration {
	if err := optim.Synchronize(); err != nil {
		fatal(err)
	}
	t0 := time.Now()
	if err := f(); err != nil {
		fatal(err)
	}
	if err := optim.Synchronize(); err != nil {
		fatal(err)
	}
	return time.Since(t0)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
