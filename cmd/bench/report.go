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
	var ms, cgbs, frac, lgbs, best []float64
	bytes := 0.0 // the same in every run: GB/s * ms
	for _, x := range runs {
		ms = append(ms, x.ms)
		cgbs = append(cgbs, x.copyGBs)
		frac = append(frac, x.frac)
		lgbs = append(lgbs, x.libcGBs)
		best = append(best, x.bestFrac)
		bytes = x.gbs * x.ms
	}
	m = meas{ms: median(ms), copyGBs: median(cgbs), frac: median(frac), libcGBs: median(lgbs), bestFrac: median(best)}
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
	const row = "| %-11s | %7s | %10s | %-12s | %7s | %8s | %6s | %9s | %11s | %16s | %16s |\n"
	fmt.Printf(row, "layout", "tensors", "params", "optimizer", "threads", "ms/step", "GB/s", "copy GB/s", "memcpy GB/s",
		"fraction of copy", "of better copy")
	fmt.Printf(row, strings.Repeat("-", 11), "------:", "---------:", "------------", "------:", "-------:", "-----:",
		"--------:", "----------:", "---------------:", "---------------:")
	for _, k := range r.sorted() {
		c := r.cells[k]
		m, ok := summary(c.goptim)
		if !ok {
			continue
		}
		fmt.Printf("| %-11s | %7d | %10d | %-12s | %7d | %8.2f | %6.1f | %9.1f | %11.1f | %16.3f | %16.3f |\n", k.layout,
			c.tensors, c.params, k.opt, k.threads, m.ms, m.gbs, m.copyGBs, m.libcGBs, m.frac, m.bestFrac)
	}
}

// The targets each row is held to: the fraction of the same-run copy by layout (a
// fused step at copy speed is at the memory bound; 10,000 small tensors pay a cost
// per tensor, hence 0.5), and the speed-up over Debian's torch 1.13 by optimizer.
var fracTarget = map[string]float64{"single": 0.90, "gpt2-medium": 0.85, "small": 0.5}
var speedTarget = map[string]float64{"adam": 2.5, "adamw": 2.5, "adagrad": 2, "rmsprop": 2}

func (r *results) printSideBySide(cfg config, tb *torchBench) {
	fmt.Printf("\n## goptim and torch side by side, median over %d run(s)\n\n", cfg.repeat)
	fmt.Println("GB/s count the bytes a fused step must move (28 B/param Adam/AdamW, 20 B the others); each side's " +
		"fraction is of its own copy of the same bytes timed in the same run (goptim: the backend's copy, " +
		"alternating with the steps; torch: tensor.copy_ before and after the steps). torch best = its fastest " +
		"implementation in each run. speed-up = torch ms / goptim ms per run, median (and range) over runs.")
	if cfg.scale != 1 {
		fmt.Printf("\nScale %g: the layouts are small enough to sit in cache, so the targets do not apply.\n", cfg.scale)
	}
	fmt.Println()
	fmt.Println("| layout | optimizer | threads | goptim ms | goptim GB/s | goptim fraction of copy | torch best impl | torch ms | torch GB/s | torch fraction of its copy | speed-up | targets |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
	held, total := 0, 0
	var misses []string
	for _, k := range r.sorted() {
		c := r.cells[k]
		g, gok := summary(c.goptim)
		best := c.bestTorch()
		t, tok := summary(best)
		cols := []string{k.layout, k.opt, strconv.Itoa(k.threads)}
		if gok {
			cols = append(cols, fmt.Sprintf("%.2f", g.ms), fmt.Sprintf("%.1f", g.gbs), fmt.Sprintf("%.3f", g.frac))
		} else {
			cols = append(cols, "", "", "")
		}
		if tok {
			cols = append(cols, implLabel(best), fmt.Sprintf("%.2f", t.ms), fmt.Sprintf("%.1f", t.gbs), fmt.Sprintf("%.3f", t.frac))
		} else {
			cols = append(cols, "n/a", "", "", "")
		}
		var sp []float64
		for run, gm := range c.goptim {
			if tm, ok := best[run]; ok {
				sp = append(sp, tm.ms/gm.ms)
			}
		}
		speed := ""
		if len(sp) > 0 {
			speed = fmt.Sprintf("%.2fx", median(sp))
			if len(sp) > 1 {
				speed += fmt.Sprintf(" (%.2f-%.2f)", slices.Min(sp), slices.Max(sp))
			}
		}
		cols = append(cols, speed)
		var notes []string
		if ft, ok := fracTarget[k.layout]; ok && gok && cfg.scale == 1 {
			total++
			if g.frac >= ft {
				held++
				notes = append(notes, fmt.Sprintf("copy >= %.2f ok", ft))
			} else {
				notes = append(notes, fmt.Sprintf("**copy %.3f < %.2f**", g.frac, ft))
				misses = append(misses, fmt.Sprintf("%s %s %d threads: %.3f of copy < %.2f", k.layout, k.opt, k.threads, g.frac, ft))
			}
		}
		if st, ok := speedTarget[k.opt]; ok && len(sp) > 0 && cfg.scale == 1 {
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
		fmt.Printf("\nTargets (copy fraction: single >= 0.90, gpt2-medium >= 0.85, small >= 0.5; speed-up over torch: "+
			"Adam/AdamW >= 2.5, Adagrad/RMSprop >= 2): %d of %d hold.\n", held, total)
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
