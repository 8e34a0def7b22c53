// Command bench times every optimizer step on four layouts (one 64M-parameter
// tensor, the 292 tensors of GPT-2 medium, 10,000 small tensors, and one 64K tensor
// that stays in cache) and prints each as a fraction of a same-traffic loop measured in
// the same run: optim.Traffic, a pass over the same params on the same threads that
// reads and writes exactly the arrays the step does (its masks are in the output), with
// trivial arithmetic, in place of the step's (one such pass per pass of a step that
// makes several, as LAMB and LARS do, run in order). Steps and loops alternate round by round
// (the order flips every round) and the medians are compared, so "of loop" is how far a
// step is from moving its own bytes at the speed the machine gives them right then. A
// backend copy and libc memcpy of the same bytes run in the same rounds as a second,
// weaker limit (they move the bytes as two arrays, not the step's four to eight).
// It is what `make bench` runs. With -torch it also runs bench/torch_baseline.py (torch
// 2.6 through ../shared/torch2/python where that exists, else Debian's
// /usr/bin/python3 with python3-torch) on the same layouts, values and thread counts,
// one subprocess per layout, optimizer and thread count after goptim's own
// measurements of them (never at the same time), and prints the two side by side
// with the speed-ups (torch ms / goptim ms) over torch's fused kernel, where torch has
// one, and over its fastest implementation.
//
//	go run ./cmd/bench                       # all optimizers, all layouts
//	go run ./cmd/bench -torch -repeat 3      # side by side with torch, medians of 3 runs
//	go run ./cmd/bench -layout single -opt adam,adamw -threads 1,2
//	go run ./cmd/bench -layout incache       # elements per ns per core in cache, 1 thread
//	go run ./cmd/bench -scale 0.1            # a tenth of the sizes, for a quick look
//
// Bytes per parameter are what the step's arrays move: 4 B for each array read and 4
// B for each written, summed over the step's passes (Adam/AdamW/Adamax/RAdam/NAdam/
// Adadelta/Rprop 28 B: read p, g and two states, write p and both states;
// SGD-momentum, Adagrad, RMSprop, ASGD and Lion 20 B; AdEMAMix 36 B; LAMB 44 B: the
// gradients' norm reads g (4), then p, g, m, v are read and m, v written (24), then p,
// m, v read and p written (16); LARS 28 B: the norms read p and g (8), then SGD
// momentum's pass (20)).
// The step and its loop move the same bytes, so their ratio is the same in time or
// GB/s. The layouts in memory are measured at every thread count; the in-cache layout
// at one thread only (a per-core figure), each sample repeating the call enough times
// to last well above the timer's resolution.
//
// While each measurement runs, bench records how many cores the rest of the machine
// kept busy (/proc/stat minus this process's own CPU time): the "others" column. On a
// shared machine read the ratios of rows with others near 0; -wait-idle holds the
// measurements back while others are busy.
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

	"github.com/goptim/goptim/internal/layout"
	"github.com/goptim/goptim/optim"
)

// optSpec is one optimizer as the benchmark runs it: its name (torch_baseline.py's),
// the passes its step makes over its arrays with these options, each the arrays it
// reads and writes (the masks of its same-traffic loop: one optim.Traffic pass per
// pass, in order, so the limit of a multi-pass step is the sum of its passes'), and its
// constructor.
type optSpec struct {
	name   string
	passes []optim.TrafficPass
	make   func([]*optim.Param) (optim.Optimizer, error)
}

// bytesPerParam is what the step (and its loop) moves per fp32 parameter: the sum over
// its passes.
func (o optSpec) bytesPerParam() int {
	n := 0
	for _, p := range o.passes {
		n += p.Bytes()
	}
	return n
}

// traffic names the masks, pass by pass: "r p,g,s0,s1 w p,s0,s1", or
// "r g w none + r p,g,s0,s1 w s0,s1 + r p,s0,s1 w p".
func (o optSpec) traffic() string {
	var s []string
	for _, p := range o.passes {
		s = append(s, p.String())
	}
	return strings.Join(s, " + ")
}

// states is a step that reads param and grad, writes the param, and reads and writes
// n state tensors: the traffic of every single-pass optimizer here with the options
// below (and of LARS's second pass). A step
// that writes a state without reading it (ASGD before t0 copies the params into ax)
// still has the state read by the hardware, since an ordinary store fetches the line it
// writes, so the loop reads it too (goptim.h: reads |= writes).
func states(n int) (reads, writes optim.TrafficMask) {
	return optim.TrafficParam | optim.TrafficGrad | optim.TrafficStates(n), optim.TrafficParam | optim.TrafficStates(n)
}

// spec is a single-pass step with nstates states (states).
func spec(name string, nstates int, make func([]*optim.Param) (optim.Optimizer, error)) optSpec {
	r, w := states(nstates)
	return optSpec{name: name, passes: []optim.TrafficPass{{Reads: r, Writes: w}}, make: make}
}

// LAMB with apex's defaults (max_grad_norm 1, weight_decay 0.01, so the trust ratio
// applies): the gradients' global norm reads every gradient; pass 1 reads p, g, m and v
// and writes m and v (the param only read, for the decay); pass 2 reads p, m and v and
// writes p (the update recomputed from the moments, times the trust ratio).
var lambPasses = []optim.TrafficPass{
	{Reads: optim.TrafficGrad},
	{Reads: optim.TrafficParam | optim.TrafficGrad | optim.TrafficStates(2), Writes: optim.TrafficStates(2)},
	{Reads: optim.TrafficParam | optim.TrafficStates(2), Writes: optim.TrafficParam},
}

// LARS with momentum: the per-tensor norms read p and g, then SGD momentum's pass.
var larsPasses = func() []optim.TrafficPass {
	r, w := states(1)
	return []optim.TrafficPass{{Reads: optim.TrafficParam | optim.TrafficGrad}, {Reads: r, Writes: w}}
}()

// The hyperparameters match torch_baseline.py's (torch's defaults, SGD with lr 0.01
// and momentum 0.9). A new optimizer is one line here and one in torch_baseline.py's
// optimizer_cases, under the same name.
var opts = []optSpec{
	spec("sgd-momentum", 1, func(p []*optim.Param) (optim.Optimizer, error) {
		return optim.NewSGD(p, optim.SGDConfig{LR: 0.01, Momentum: 0.9})
	}),
	spec("adam", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdam(p, optim.AdamDefaults()) }),
	spec("adamw", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdamW(p, optim.AdamWDefaults()) }),
	spec("adagrad", 1, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdagrad(p, optim.AdagradDefaults()) }),
	spec("rmsprop", 1, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewRMSprop(p, optim.RMSpropDefaults()) }),
	spec("adamax", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewAdamax(p, optim.AdamaxDefaults()) }),
	spec("radam", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewRAdam(p, optim.RAdamDefaults()) }),
	spec("nadam", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewNAdam(p, optim.NAdamDefaults()) }),
	spec("adadelta", 2, func(p []*optim.Param) (optim.Optimizer, error) {
		return optim.NewAdadelta(p, optim.AdadeltaDefaults())
	}),
	spec("rprop", 2, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewRprop(p, optim.RpropDefaults()) }),
	spec("asgd", 1, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewASGD(p, optim.ASGDDefaults()) }),
	// The published algorithms torch lacks: torch_baseline.py has no row for them.
	spec("lion", 1, func(p []*optim.Param) (optim.Optimizer, error) { return optim.NewLion(p, optim.LionDefaults()) }),
	spec("ademamix", 3, func(p []*optim.Param) (optim.Optimizer, error) {
		return optim.NewAdEMAMix(p, optim.AdEMAMixDefaults())
	}),
	// Schedule-Free starts in eval mode, where it refuses to step: the row trains.
	spec("schedulefree", 2, func(p []*optim.Param) (optim.Optimizer, error) {
		o, err := optim.NewScheduleFreeAdamW(p, optim.ScheduleFreeAdamWDefaults())
		if err != nil {
			return nil, err
		}
		if err := o.Train(); err != nil {
			o.Close()
			return nil, err
		}
		return o, nil
	}),
	// Multi-pass steps; torch.optim has neither, and torch_baseline.py has no row for
	// them.
	{name: "lamb", passes: lambPasses, make: func(p []*optim.Param) (optim.Optimizer, error) {
		return optim.NewLAMB(p, optim.LAMBDefaults())
	}},
	{name: "lars", passes: larsPasses, make: func(p []*optim.Param) (optim.Optimizer, error) {
		c := optim.LARSDefaults(0.01)
		c.Momentum = 0.9
		return optim.NewLARS(p, c)
	}},
}

func optNames() string {
	var names []string
	for _, o := range opts {
		names = append(names, o.name)
	}
	return strings.Join(names, ",")
}

var layoutOrder = []string{"single", "gpt2-medium", "small", "incache"}

// inCache is the in-cache layout: one tensor whose step (Adam: 28 B x 64K = 1.8 MB) stays
// in the caches of one core, measured at one thread only.
const inCache = "incache"

// layouts scales every tensor of single and gpt2-medium, and the number of the
// small layout's 10,000-element tensors (torch_baseline.py --scale does the same); the
// in-cache layout keeps its size.
func layouts(scale float64) map[string][]int {
	sc := func(n int) int { return max(1, int(float64(n)*scale)) }
	g := layout.GPT2Medium()
	for i := range g {
		g[i] = sc(g[i])
	}
	small := make([]int, sc(10000))
	for i := range small {
		small[i] = 10000
	}
	return map[string][]int{"single": {sc(64 << 20)}, "gpt2-medium": g, "small": small, inCache: {64 << 10}}
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
	optsFlag := flag.String("opt", "all", "optimizers, comma-separated: "+optNames())
	layoutFlag := flag.String("layout", "single,gpt2-medium,small,incache",
		"layouts: single (one 64M tensor), gpt2-medium (292 tensors, 355M), small (10,000 x 10,000), "+
			"incache (one 64K tensor, 1 thread)")
	threadsFlag := flag.String("threads", "", "thread counts to run, comma-separated (default 1,2,all cores)")
	steps := flag.Int("steps", 10, "timed steps per measurement (the median is reported)")
	warmup := flag.Int("warmup", 3, "untimed steps after the first (state-creating) step")
	scale := flag.Float64("scale", 1, "multiply every layout's sizes by this")
	arena := flag.Bool("arena", true, "allocate each layout as one arena (flat) rather than separate tensors (list)")
	zero := flag.Bool("zero", false, "step zero-filled params and gradients (the old behaviour) instead of normal values")
	repeat := flag.Int("repeat", 1, "run everything this many times and report medians (the machine is shared)")
	torch := flag.Bool("torch", false, "also time torch.optim with bench/torch_baseline.py and print the two side by side")
	python := flag.String("python", defaultPython(), "the Python with torch: torch 2.6 through "+torch2Python+
		" where it exists, else Debian's /usr/bin/python3 with python3-torch (1.13 on Debian 12)")
	script := flag.String("torch-script", "", "path of torch_baseline.py (default: bench/torch_baseline.py of this module)")
	impls := flag.String("torch-impls", "fused,foreach,for-loop", "torch implementations to time; the side-by-side "+
		"table shows fused (where torch has it) and the fastest")
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
	fmt.Printf("%d rounds of step, same-traffic loop (alternating which goes first), copy and memcpy after the "+
		"first step and %d warm-up rounds, medians; %s; %d run(s), medians across runs\n",
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
		loop, err := optim.NewTrafficPasses(params, o.passes...)
		if err != nil {
			fatal(fmt.Errorf("%s: same-traffic loop %s: %w", o.name, o.traffic(), err))
		}
		bytes := float64(o.bytesPerParam()) * float64(total)
		for _, th := range layoutThreads(cfg, name) {
			busy := cfg.idle.wait(fmt.Sprintf("goptim %s %s %d threads", name, o.name, th))
			if err := optim.SetThreads(th); err != nil {
				fatal(err)
			}
			t := measure(cfg.steps, cfg.warmup, repsFor(total), int(bytes/8), th, opt, loop)
			m := meas{ms: ms(t.step), gbs: bytes / t.step.Seconds() / 1e9, loopGBs: bytes / t.loop.Seconds() / 1e9,
				copyGBs: bytes / t.copy.Seconds() / 1e9, others: t.others, othersOK: t.othersOK}
			m.ofLoop = t.loop.Seconds() / t.step.Seconds()
			m.frac = m.gbs / m.copyGBs
			m.bestFrac = m.frac
			if t.libc > 0 {
				m.libcGBs = bytes / t.libc.Seconds() / 1e9
				m.bestFrac = m.gbs / max(m.copyGBs, m.libcGBs)
			}
			m.elemNs = float64(total) / float64(t.step.Nanoseconds()) / float64(th)
			m.loopElemNs = float64(total) / float64(t.loop.Nanoseconds()) / float64(th)
			res.addGoptim(key{name, o.name, th}, len(sizes), total, run, m)
			fmt.Fprintf(os.Stderr, "run %d goptim %-11s %-12s %d threads: %9.3f ms %6.1f GB/s, loop %6.1f GB/s, %.3f of loop; "+
				"copy %6.1f GB/s, memcpy %6.1f GB/s, %.3f of the better copy; others %s%s\n",
				run+1, name, o.name, th, m.ms, m.gbs, m.loopGBs, m.ofLoop, m.copyGBs, m.libcGBs, m.bestFrac, m.othersString(), busy)
		}
		opt.Close()
		loop.Close()
	}
}

// layoutThreads are the thread counts a layout runs at: the in-cache layout is a
// per-core figure, at one thread only.
func layoutThreads(cfg config, layout string) []int {
	if layout == inCache {
		return []int{1}
	}
	return cfg.threads
}

// repsFor is how many calls one timed sample makes: enough that a sample moves about
// 16M elements (at least one call), so that a step of a tensor in cache (some
// microseconds) is timed far above the clock's resolution and a call's fixed cost.
func repsFor(total int) int { return max(1, (16<<20)/max(total, 1)) }

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

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

// timing is one measurement: the median time of one call of each side, and how many
// cores other processes kept busy meanwhile.
type timing struct {
	step, loop, copy, libc time.Duration
	others                 float64
	othersOK               bool
}

// measure times opt.Step, its same-traffic loop, a backend copy of n floats (8n bytes
// moved) and on the CPU a libc memcpy of the same (on th threads) in rounds that run
// each once, the step and the loop in alternating order, so that all see the same
// machine; it returns the medians over the rounds (libc 0 where there is none). Each
// timed sample is reps calls in a row, divided by reps.
func measure(steps, warmup, reps, n, th int, opt optim.Optimizer, loop *optim.Traffic) timing {
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
	lt := make([]time.Duration, steps)
	ct := make([]time.Duration, steps)
	mt := make([]time.Duration, steps)
	// warm up: first touch of state and copy buffers, then steady state
	for range 1 + warmup {
		timed(1, opt.Step)
		timed(1, loop.Step)
		timed(1, backendCopy)
		if withLibc {
			timed(1, memcpy)
		}
	}
	meter := startLoad()
	for i := 0; i < steps; i++ {
		if i%2 == 0 {
			st[i] = timed(reps, opt.Step)
			lt[i] = timed(reps, loop.Step)
		} else {
			lt[i] = timed(reps, loop.Step)
			st[i] = timed(reps, opt.Step)
		}
		ct[i] = timed(reps, backendCopy)
		if withLibc {
			mt[i] = timed(reps, memcpy)
		}
	}
	others, ok := meter.othersBusy()
	med := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	return timing{step: med(st), loop: med(lt), copy: med(ct), libc: med(mt), others: others, othersOK: ok}
}

// timed is the time of one call of f, the mean over reps calls in a row, waiting for
// the device on both sides.
func timed(reps int, f func() error) time.Duration {
	if err := optim.Synchronize(); err != nil {
		fatal(err)
	}
	t0 := time.Now()
	for range reps {
		if err := f(); err != nil {
			fatal(err)
		}
	}
	if err := optim.Synchronize(); err != nil {
		fatal(err)
	}
	return time.Since(t0) / time.Duration(reps)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
