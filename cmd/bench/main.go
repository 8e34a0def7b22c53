// Command bench times every optimizer step on three layouts (one 64M-parameter
// tensor, the 292 tensors of GPT-2 medium, 10,000 small tensors) and prints each as
// a fraction of a copy of the same bytes measured in the same run, at 1, 2
// and all threads. It is what `make bench` runs. With -torch it also runs
// bench/torch_baseline.py (Debian's /usr/bin/python3 with python3-torch) on the same
// layouts, values and thread counts, one subprocess per layout and thread count after
// goptim's own measurements of that layout (never at the same time), and prints the
// two side by side with the speed-up (torch ms / goptim ms).
//
//	go run ./cmd/bench                       # all optimizers, all layouts
//	go run ./cmd/bench -torch -repeat 3      # side by side with torch, medians of 3 runs
//	go run ./cmd/bench -layout single -opt adam,adamw -threads 1,2
//	go run ./cmd/bench -scale 0.1            # a tenth of the sizes, for a quick look
//
// Effective bytes per parameter are what a fused step must move: read param, grad
// and state, write param and state (Adam/AdamW/Adamax/RAdam/Adadelta/Rprop 28 B, SGD-momentum, Adagrad and
// RMSprop 20 B). The copy baseline moves the same total (half read, half written)
// with the backend's own copy on the same threads, alternating with the steps; on the
// CPU a second baseline, libc memcpy of the same bytes in one piece per thread, runs
// in the same alternation, and "fraction of the better copy" divides by the faster
// of the two (the backend's copy can be the slower one on a single thread).
//
// Params are filled with deterministic standard-normal values and gradients with
// normal values scaled by 1e-3 (torch_baseline.py makes the same distributions), so no
// optimizer runs on zeros or reaches denormals; the first step (which creates the
// state and, for SGD momentum, takes the t == 1 path) and -warmup more are untimed.
//
// Progress goes to stderr; stdout gets the tables (medians over -repeat runs): goptim's
// own, and with -torch the side-by-side table with the targets (fracTarget,
// speedTarget) that each row is held to.
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

// The hyperparameters match torch_baseline.py's.
var opts = []optSpec{
	{"sgd-momentum", 1, func(p []*optim.Param) (optim.Optimizer, error) {
		return optim.NewSGD(p, optim.SGDConfig{LR: 0.01, Momentum: 0.9})
	}},
	{"adam", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdam(p, optim.AdamDefaults()) }},
	{"adamw", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdamW(p, optim.AdamWDefaults()) }},
	{"adagrad", 1, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdagrad(p, optim.AdagradDefaults()) }},
	{"rmsprop", 1, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewRMSprop(p, optim.RMSpropDefaults()) }},
	{"adamax", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdamax(p, optim.AdamaxDefaults()) }},
	{"radam", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewRAdam(p, optim.RAdamDefaults()) }},
	{"rprop", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewRprop(p, optim.RpropDefaults()) }},
	{"adadelta", 2, func(p []*optim.Param) (optim.Optimizer, error) {
		return optim.NewAdadelta(p, optim.AdadeltaDefaults())
	}},
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

var layoutOrder = []string{"single", "gpt2-medium", "small"}

// layouts scales every tensor of single and gpt2-medium, and the number of the
// small layout's 10,000-element tensors (torch_baseline.py --scale does the same).
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

type config struct {
	opts      []optSpec
	layouts   []string
	threads   []int
	steps     int
	warmup    int
	scale     float64
	arena     bool
	zero      bool
	repeat    int
	torch     bool
	python    string
	script    string
	impls     string
	ompWait   string
	torchOnly bool
	idle      *idleWaiter
}

func main() {
	optsFlag := flag.String("opt", "all", "optimizers, comma-separated: sgd-momentum,adam,adamw,adagrad,rmsprop,adamax,radam,adadelta,rprop")
	layoutFlag := flag.String("layout", "single,gpt2-medium,small",
		"layouts: single (one 64M tensor), gpt2-medium (292 tensors, 355M), small (10,000 x 10,000)")
	threadsFlag := flag.String("threads", "", "thread counts to run, comma-separated (default 1,2,all cores)")
	steps := flag.Int("steps", 10, "timed steps per measurement (the median is reported)")
	warmup := flag.Int("warmup", 3, "untimed steps after the first (state-creating) step")
	scale := flag.Float64("scale", 1, "multiply every layout's sizes by this")
	arena := flag.Bool("arena", true, "allocate each layout as one arena (flat) rather than separate tensors (list)")
	zero := flag.Bool("zero", false, "step zero-filled params and gradients (the old behaviour) instead of normal values")
	repeat := flag.Int("repeat", 1, "run everything this many times and report medians (the machine is shared)")
	torch := flag.Bool("torch", false, "also time torch.optim with bench/torch_baseline.py and print the two side by side")
	python := flag.String("python", "/usr/bin/python3", "the Python with torch (Debian's python3-torch)")
	script := flag.String("torch-script", "", "path of torch_baseline.py (default: bench/torch_baseline.py of this module)")
	impls := flag.String("torch-impls", "fused,foreach,for-loop", "torch implementations to time; the fastest is compared")
	ompWait := flag.String("torch-omp-wait", "inherit,passive", "OMP_WAIT_POLICY values to run torch's process with, comma-separated "+
		"(inherit, passive, active); with more than one, each runs at more than one thread and the fastest counts")
	torchOnly := flag.Bool("torch-only", false, "with -torch: time torch alone (goptim columns empty)")
	waitIdle := flag.Float64("wait-idle", 0, "before each measurement, wait while other processes keep more than this many "+
		"cores busy (0: never wait; the machine is shared)")
	waitLimit := flag.Duration("wait-limit", time.Minute, "with -wait-idle: the longest wait before measuring anyway")
	flag.Parse()

	cfg := config{steps: *steps, warmup: *warmup, scale: *scale, arena: *arena, zero: *zero, repeat: max(1, *repeat),
		torch: *torch || *torchOnly, python: *python, script: *script, impls: *impls, ompWait: *ompWait, torchOnly: *torchOnly,
		idle: &idleWaiter{maxBusy: *waitIdle, limit: *waitLimit}}
	for _, o := range opts {
		if *optsFlag == "all" || slices.Contains(strings.Split(*optsFlag, ","), o.name) {
			cfg.opts = append(cfg.opts, o)
		}
	}
	if len(cfg.opts) == 0 {
		fatal(fmt.Errorf("no optimizer matches -opt %q", *optsFlag))
	}
	all := layouts(*scale)
	for _, name := range strings.Split(*layoutFlag, ",") {
		if _, ok := all[name]; !ok {
			fatal(fmt.Errorf("unknown layout %q", name))
		}
		cfg.layouts = append(cfg.layouts, name)
	}
	cfg.threads = []int{1, 2, runtime.NumCPU()}
	if *threadsFlag != "" {
		cfg.threads = nil
		for _, f := range strings.Split(*threadsFlag, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				fatal(fmt.Errorf("bad -threads entry %q", f))
			}
			cfg.threads = append(cfg.threads, n)
		}
	}
	cfg.threads = slices.Compact(slices.Sorted(slices.Values(cfg.threads)))
	if cfg.steps < 1 {
		fatal(fmt.Errorf("-steps must be at least 1"))
	}

	fmt.Printf("goptim %s backend, isa %v, %d cores, %s/%s, %s\n", optim.Backend(), optim.CurrentISA(),
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Printf("machine: %s; load average at start %s\n", machine(), loadavg())
	values := "params randn, grads randn*1e-3"
	if cfg.zero {
		values = "params and grads zero"
	}
	fmt.Printf("median of %d steps after the first and %d warm-up; %s; %d run(s), medians across runs\n",
		cfg.steps, cfg.warmup, values, cfg.repeat)

	var tb *torchBench
	if cfg.torch {
		var err error
		if tb, err = newTorchBench(cfg); err != nil {
			fmt.Printf("\n**torch baseline skipped**: %v\n", err)
			fmt.Fprintf(os.Stderr, "bench: torch baseline skipped: %v\n", err)
			tb = nil
			if cfg.torchOnly {
				os.Exit(1)
			}
		} else {
			fmt.Printf("torch: %s\n", tb.describe())
		}
	}

	res := &results{}
	for r := range cfg.repeat {
		for _, name := range cfg.layouts {
			sizes := all[name]
			if tb == nil {
				benchLayout(cfg, res, r, name, sizes, cfg.opts)
				continue
			}
			// Side by side: per optimizer, goptim at every thread count and then torch
			// (or the other way round in odd runs, so that drift in the machine's load
			// does not always favour the same side), each freeing its memory before the
			// other starts; the two measurements of a cell are a minute or two apart.
			for _, o := range cfg.opts {
				if r%2 == 1 {
					tb.run(res, r, name, o)
				}
				if !cfg.torchOnly {
					benchLayout(cfg, res, r, name, sizes, []optSpec{o})
				}
				if r%2 == 0 {
					tb.run(res, r, name, o)
				}
			}
		}
	}
	fmt.Printf("load average at end %s; goptim peak resident memory %.1f GB\n", loadavg(), float64(peakRSS())/(1<<30))
	if cfg.idle.maxBusy > 0 {
		fmt.Printf("waited %v in all for other processes to use at most %.1f cores; measured anyway %d time(s)\n",
			cfg.idle.waited.Round(time.Second), cfg.idle.maxBusy, cfg.idle.gaveUp)
	}
	if tb != nil {
		fmt.Printf("torch peak resident memory per layout (largest over threads and runs): %s\n", tb.peaks())
	}
	if !cfg.torchOnly {
		res.printGoptim(cfg)
	}
	if tb != nil {
		res.printSideBySide(cfg, tb)
	}
}

// benchLayout allocates one layout, fills it, times the optimizers at every thread
// count, and frees it all again before torch's turn.
func benchLayout(cfg config, res *results, run int, name string, sizes []int, opts []optSpec) {
	total := 0
	for _, n := range sizes {
		total += n
	}
	params, free := allocate(sizes, cfg.arena)
	defer free()
	if !cfg.zero {
		fillParams(params)
	}
	for _, o := range opts {
		opt, err := o.make(params)
		if err != nil {
			fatal(err)
		}
		bytes := float64(4*(3+2*o.states)) * float64(total)
		for _, th := range cfg.threads {
			busy := cfg.idle.wait(fmt.Sprintf("goptim %s %s %d threads", name, o.name, th))
			if err := optim.SetThreads(th); err != nil {
				fatal(err)
			}
			stepT, copyT, libcT := measure(cfg.steps, cfg.warmup, int(bytes/8), th, opt)
			gbs := bytes / stepT.Seconds() / 1e9
			cgbs := bytes / copyT.Seconds() / 1e9
			m := meas{ms: float64(stepT.Nanoseconds()) / 1e6, gbs: gbs, copyGBs: cgbs, frac: gbs / cgbs}
			m.bestFrac = m.frac
			if libcT > 0 {
				m.libcGBs = bytes / libcT.Seconds() / 1e9
				m.bestFrac = gbs / max(cgbs, m.libcGBs)
			}
			res.addGoptim(key{name, o.name, th}, len(sizes), total, run, m)
			fmt.Fprintf(os.Stderr, "run %d goptim %-11s %-12s %d threads: %9.2f ms %6.1f GB/s, copy %6.1f GB/s, "+
				"memcpy %6.1f GB/s, %.3f of copy, %.3f of the better copy%s\n",
				run+1, name, o.name, th, m.ms, gbs, cgbs, m.libcGBs, m.frac, m.bestFrac, busy)
		}
		opt.Close()
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

// measure times opt.Step and a backend copy of n floats (8n bytes moved), and on the
// CPU also a libc memcpy of the same (on th threads), alternating them so that all
// see the same machine state, and returns their medians (libc 0 where there is none).
func measure(steps, warmup, n, th int, opt optim.Optimizer) (step, copy, libc time.Duration) {
	src, err := optim.NewTensor(n)
	if err != nil {
		fatal(err)
	}
	defer src.Close()
	// Written once so that every page is backed: Go's fresh memory reads as the
	// kernel's one shared zero page until touched, which would make the copy read
	// from cache.
	if err := src.Fill(1); err != nil {
		fatal(err)
	}
	dst, err := optim.NewTensor(n)
	if err != nil {
		fatal(err)
	}
	defer dst.Close()
	withLibc := haveLibcCopy && !optim.OnDevice()
	backendCopy := func() error { return optim.CopyTensor(dst, src) }
	memcpy := func() error { libcCopy(dst.Ptr(), src.Ptr(), n, th); return nil }
	st := make([]time.Duration, steps)
	ct := make([]time.Duration, steps)
	lt := make([]time.Duration, steps)
	// warm up: first touch of state and copy buffers, then steady state
	for range 1 + warmup {
		once(opt.Step)
		once(backendCopy)
		if withLibc {
			once(memcpy)
		}
	}
	for i := 0; i < steps; i++ {
		st[i] = once(opt.Step)
		ct[i] = once(backendCopy)
		if withLibc {
			lt[i] = once(memcpy)
		}
	}
	slices.Sort(st)
	slices.Sort(ct)
	slices.Sort(lt)
	return st[steps/2], ct[steps/2], lt[steps/2]
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
