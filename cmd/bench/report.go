package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

type key struct {
	layout, opt string
	threads     int
}

// meas is one measurement: the median step of one run.
type meas struct {
	ms, gbs, copyGBs, frac float64
	libcGBs, bestFrac      float64 // goptim on the CPU: the memcpy baseline, the fraction of the faster copy
	impl                   string  // torch's implementation
	// goptim: the same-traffic loop's GB/s and the step's fraction of it (loop time /
	// step time); elements per ns per core of the step and the loop; the cores other
	// processes kept busy meanwhile (othersOK: measured)
	loopGBs, ofLoop    float64
	elemNs, loopElemNs float64
	others             float64
	othersOK           bool
}

func (m meas) othersString() string {
	if !m.othersOK {
		return "?"
	}
	return fmt.Sprintf("%.1f", m.others)
}

type cell struct {
	tensors, params int
	goptim          map[int]meas            // run -> measurement
	torch           map[string]map[int]meas // implementation -> run -> measurement
	torchNA         map[string]string       // implementation -> why it is n/a
}

type results struct {
	cells map[key]*cell
	keys  []key
}

func (r *results) cell(k key, tensors, params int) *cell {
	if r.cells == nil {
		r.cells = map[key]*cell{}
	}
	c, ok := r.cells[k]
	if !ok {
		c = &cell{tensors: tensors, params: params, goptim: map[int]meas{}, torch: map[string]map[int]meas{},
			torchNA: map[string]string{}}
		r.cells[k] = c
		r.keys = append(r.keys, k)
	}
	return c
}

func (r *results) addGoptim(k key, tensors, params, run int, m meas) {
	r.cell(k, tensors, params).goptim[run] = m
}

func (r *results) addTorch(k key, tensors, params, run int, impl string, m *meas, na string) {
	c := r.cell(k, tensors, params)
	if m == nil {
		c.torchNA[impl] = na
		return
	}
	if c.torch[impl] == nil {
		c.torch[impl] = map[int]meas{}
	}
	c.torch[impl][run] = *m
}

// sorted are the keys in layout, optimizer, threads order.
func (r *results) sorted() []key {
	ks := slices.Clone(r.keys)
	optIdx := func(name string) int {
		return slices.IndexFunc(opts, func(o optSpec) bool { return o.name == name })
	}
	slices.SortStableFunc(ks, func(a, b key) int {
		if d := slices.Index(layoutOrder, a.layout) - slices.Index(layoutOrder, b.layout); d != 0 {
			return d
		}
		if d := optIdx(a.opt) - optIdx(b.opt); d != 0 {
			return d
		}
		return a.threads - b.threads
	})
	return ks
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summary is the median over runs of ms (GB/s follow from it), copy GB/s and the
// fraction of copy (each ratio taken within its run).
func summary(runs map[int]meas) (m meas, ok bool) {
	if len(runs) == 0 {
		return meas{}, false
	}
	var ms, cgbs, frac, lgbs, best, loop, of, el, lel, oth []float64
	bytes := 0.0 // the same in every run: GB/s * ms
	m.othersOK = true
	for _, x := range runs {
		ms = append(ms, x.ms)
		cgbs = append(cgbs, x.copyGBs)
		frac = append(frac, x.frac)
		lgbs = append(lgbs, x.libcGBs)
		best = append(best, x.bestFrac)
		loop = append(loop, x.loopGBs)
		of = append(of, x.ofLoop)
		el = append(el, x.elemNs)
		lel = append(lel, x.loopElemNs)
		oth = append(oth, x.others)
		m.othersOK = m.othersOK && x.othersOK
		bytes = x.gbs * x.ms
	}
	m = meas{ms: median(ms), copyGBs: median(cgbs), frac: median(frac), libcGBs: median(lgbs), bestFrac: median(best),
		loopGBs: median(loop), ofLoop: median(of), elemNs: median(el), loopElemNs: median(lel),
		others: slices.Max(oth), othersOK: m.othersOK}
	m.gbs = bytes / m.ms
	return m, true
}

// bestTorch is, per run, torch's fastest implementation.
func (c *cell) bestTorch() map[int]meas {
	best := map[int]meas{}
	for _, runs := range c.torch {
		for run, m := range runs {
			if b, ok := best[run]; !ok || m.ms < b.ms {
				best[run] = m
			}
		}
	}
	return best
}

func (r *results) printGoptim(cfg config) {
	fmt.Printf("\n## goptim (%s arena), median over %d run(s)\n\n", map[bool]string{true: "one", false: "no"}[cfg.arena], cfg.repeat)
	fmt.Println("of loop = the same-traffic loop's time / the step's (1 = the step moves its bytes as fast as a loop " +
		"doing nothing else with them; ratios within each run, then the median over runs). traffic = the arrays " +
		"read (r) and written (w); B/param = 4 per array read + 4 per array written; GB/s count those bytes. " +
		"elem/ns/core = params per ns per thread (step, loop). copy and memcpy move the same bytes as two arrays; " +
		"of better copy = step GB/s / the faster of the two. others = the most cores other processes kept busy " +
		"during a run's measurement (0 = a quiet machine).")
	fmt.Println()
	fmt.Println("| layout | params | optimizer | traffic | B/param | threads | ms/step | GB/s | loop GB/s | of loop | " +
		"elem/ns/core step, loop | copy GB/s | memcpy GB/s | of better copy | others |")
	fmt.Println("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, k := range r.sorted() {
		c := r.cells[k]
		m, ok := summary(c.goptim)
		if !ok {
			continue
		}
		o := specOf(k.opt)
		fmt.Printf("| %s | %d | %s | %s | %d | %d | %.3f | %.1f | %.1f | %.3f | %.3f, %.3f | %.1f | %.1f | %.3f | %s |\n",
			k.layout, c.params, k.opt, o.traffic(), o.bytesPerParam(), k.threads, m.ms, m.gbs, m.loopGBs, m.ofLoop,
			m.elemNs, m.loopElemNs, m.copyGBs, m.libcGBs, m.bestFrac, m.othersString())
	}
}

func specOf(name string) optSpec {
	for _, o := range opts {
		if o.name == name {
			return o
		}
	}
	return optSpec{name: name}
}

// The targets each row is held to: the fraction of the same-run same-traffic loop by
// layout (docs/DESIGN.md: a step at the loop's speed is at the memory bound; 10,000
// small tensors pay a cost per tensor, hence 0.5; in cache the arithmetic shows, and
// no target is set), and the speed-up over torch's fastest implementation: torch 2.x's
// fused CPU kernels (Adam, AdamW, SGD, Adagrad) are at the memory bound as well, so
// against them goptim is held to at least their speed; where torch's best is foreach
// or a for-loop, which pass over the memory once per operation, to twice it.
var fracTarget = map[string]float64{"single": 0.90, "gpt2-medium": 0.85, "small": 0.5}

func speedTarget(bestImpl string) float64 {
	if bestImpl == "fused" {
		return 1
	}
	return 2
}

func (r *results) printSideBySide(cfg config, tb *torchBench) {
	fmt.Printf("\n## goptim and torch side by side, median over %d run(s)\n\n", cfg.repeat)
	fmt.Println("goptim of loop: the step's fraction of its same-run same-traffic loop (table above). torch fused: " +
		"torch's fused=True kernel, where this torch has one for the optimizer on the CPU (torch 2.6: Adam, AdamW, " +
		"SGD, Adagrad); foreach: foreach=True; best: its fastest implementation in each run. speed-up = torch ms / " +
		"goptim ms per run, median (and range) over runs, over fused and over best.")
	if cfg.scale != 1 {
		fmt.Printf("\nScale %g: the layouts are small enough to sit in cache, so the targets do not apply.\n", cfg.scale)
	}
	fmt.Println()
	fmt.Println("| layout | optimizer | threads | goptim ms | goptim of loop | torch fused ms | torch foreach ms | torch best impl | torch best ms | speed-up over fused | speed-up over best | targets |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |")
	held, total := 0, 0
	var misses []string
	speedups := func(c *cell, torch map[int]meas) (string, []float64) {
		var sp []float64
		for run, gm := range c.goptim {
			if tm, ok := torch[run]; ok {
				sp = append(sp, tm.ms/gm.ms)
			}
		}
		if len(sp) == 0 {
			return "", nil
		}
		s := fmt.Sprintf("%.2fx", median(sp))
		if len(sp) > 1 {
			s += fmt.Sprintf(" (%.2f-%.2f)", slices.Min(sp), slices.Max(sp))
		}
		return s, sp
	}
	implMs := func(c *cell, impl string) string {
		if m, ok := summary(c.torch[impl]); ok {
			return fmt.Sprintf("%.3f", m.ms)
		}
		return "n/a"
	}
	for _, k := range r.sorted() {
		c := r.cells[k]
		g, gok := summary(c.goptim)
		best := c.bestTorch()
		t, tok := summary(best)
		cols := []string{k.layout, k.opt, strconv.Itoa(k.threads)}
		if gok {
			cols = append(cols, fmt.Sprintf("%.3f", g.ms), fmt.Sprintf("%.3f", g.ofLoop))
		} else {
			cols = append(cols, "", "")
		}
		cols = append(cols, implMs(c, "fused"), implMs(c, "foreach"))
		if tok {
			cols = append(cols, implLabel(best), fmt.Sprintf("%.3f", t.ms))
		} else {
			cols = append(cols, "n/a", "")
		}
		fusedSpeed, _ := speedups(c, c.torch["fused"])
		bestSpeed, sp := speedups(c, best)
		cols = append(cols, fusedSpeed, bestSpeed)
		var notes []string
		if ft, ok := fracTarget[k.layout]; ok && gok && cfg.scale == 1 {
			total++
			if g.ofLoop >= ft {
				held++
				notes = append(notes, fmt.Sprintf("loop >= %.2f ok", ft))
			} else {
				notes = append(notes, fmt.Sprintf("**loop %.3f < %.2f**", g.ofLoop, ft))
				misses = append(misses, fmt.Sprintf("%s %s %d threads: %.3f of loop < %.2f", k.layout, k.opt, k.threads, g.ofLoop, ft))
			}
		}
		if len(sp) > 0 && cfg.scale == 1 && k.layout != inCache {
			st := speedTarget(implLabel(best))
			total++
			if s := median(sp); s >= st {
				held++
				notes = append(notes, fmt.Sprintf("speed-up >= %.1f ok", st))
			} else {
				notes = append(notes, fmt.Sprintf("**speed-up %.2f < %.1f**", s, st))
				misses = append(misses, fmt.Sprintf("%s %s %d threads: speed-up %.2f < %.1f", k.layout, k.opt, k.threads, s, st))
			}
		}
		cols = append(cols, strings.Join(notes, ", "))
		fmt.Println("| " + strings.Join(cols, " | ") + " |")
	}
	if total > 0 {
		fmt.Printf("\nTargets (of the same-traffic loop: single >= 0.90, gpt2-medium >= 0.85, small >= 0.5; speed-up over "+
			"torch's best: >= 1 where it is torch's fused kernel, >= 2 where it is foreach or a for-loop): %d of %d hold.\n",
			held, total)
		for _, m := range misses {
			fmt.Printf("- missed: %s\n", m)
		}
	}

	fmt.Printf("\n### torch, every implementation (median over runs)\n\n")
	fmt.Println("| layout | optimizer | threads | impl | ms | GB/s | copy GB/s | fraction of copy |")
	fmt.Println("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |")
	for _, k := range r.sorted() {
		c := r.cells[k]
		impls := slices.Sorted(func(yield func(string) bool) {
			for i := range c.torch {
				if !yield(i) {
					return
				}
			}
			for i := range c.torchNA {
				if _, ok := c.torch[i]; !ok && !yield(i) {
					return
				}
			}
		})
		for _, impl := range impls {
			if m, ok := summary(c.torch[impl]); ok {
				fmt.Printf("| %s | %s | %d | %s | %.2f | %.1f | %.1f | %.3f |\n", k.layout, k.opt, k.threads, impl, m.ms, m.gbs, m.copyGBs, m.frac)
			} else {
				fmt.Printf("| %s | %s | %d | %s | n/a | | | %s |\n", k.layout, k.opt, k.threads, impl, c.torchNA[impl])
			}
		}
	}
}

// implLabel names the implementation that was fastest, with how often when the runs
// disagree.
func implLabel(best map[int]meas) string {
	count := map[string]int{}
	for _, m := range best {
		count[m.impl]++
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range count {
			if !yield(n) {
				return
			}
		}
	})
	slices.SortStableFunc(names, func(a, b string) int { return count[b] - count[a] })
	if len(names) == 1 {
		return names[0]
	}
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d/%d", n, count[n], len(best)))
	}
	return strings.Join(parts, ", ")
}

// machine is the CPU model and memory, from /proc (empty parts where unreadable).
func machine() string {
	model, mem := "", ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64); err == nil {
					mem = fmt.Sprintf("%.1f GB memory", kb/(1<<20))
				}
				break
			}
		}
		f.Close()
	}
	return strings.Trim(model+", "+mem, ", ")
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
