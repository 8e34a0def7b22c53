package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// torch2Python runs a script with torch 2.6 (a Debian 13 root beside the checkout,
// ../shared/torch2 from the repository); machines without it fall back to Debian's
// python3-torch.
const torch2Python = "/work/shared/torch2/python"

// defaultPython is torch2Python where it exists, else /usr/bin/python3.
func defaultPython() string {
	if fi, err := os.Stat(torch2Python); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return torch2Python
	}
	return "/usr/bin/python3"
}

// torchBench runs bench/torch_baseline.py --json as a subprocess, one per layout and
// thread count, and files its measurements with goptim's.
type torchBench struct {
	cfg     config
	script  string
	version string
	peak    map[string]float64 // layout -> largest peak RSS in MB
	fails   []string
}

// newTorchBench finds the script and checks that the Python imports torch.
func newTorchBench(cfg config) (*torchBench, error) {
	script := cfg.script
	if script == "" {
		var err error
		if script, err = findScript(); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("torch script: %w", err)
	}
	if _, err := exec.LookPath(cfg.python); err != nil {
		return nil, fmt.Errorf("%s not found (%v): install Debian's python3 and python3-torch "+
			"(apt-get install python3-torch), or pass -python; printing goptim's table alone", cfg.python, err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(cfg.python, "-c", "import torch; print(torch.__version__)")
	cmd.Dir = scriptRoot(script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("%s cannot import torch (%s): python3-torch is missing, install it with "+
			"apt-get install python3-torch; printing goptim's table alone", cfg.python, msg)
	}
	return &torchBench{cfg: cfg, script: script, version: strings.TrimSpace(string(out)), peak: map[string]float64{}}, nil
}

// scriptRoot is the directory the Python runs in: the repository holding the script
// (torch2Python makes only its working directory visible inside its root).
func scriptRoot(script string) string {
	abs, err := filepath.Abs(script)
	if err != nil {
		return ""
	}
	return filepath.Dir(filepath.Dir(abs))
}

// findScript looks for bench/torch_baseline.py in the working directory and the
// directories above it, up to the module root.
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "bench", "torch_baseline.py")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			break
		}
		dir = up
	}
	return "", errors.New("bench/torch_baseline.py not found from the working directory (run from the repository, or pass -torch-script)")
}

func (tb *torchBench) describe() string {
	s := fmt.Sprintf("torch %s, %s %s --device cpu --json, implementations %s, OMP_NUM_THREADS = torch.set_num_threads = the thread count",
		tb.version, tb.cfg.python, tb.script, tb.cfg.impls)
	return s + ", OMP_WAIT_POLICY " + tb.cfg.ompWait
}

func (tb *torchBench) peaks() string {
	var parts []string
	for _, l := range layoutOrder {
		if mb, ok := tb.peak[l]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f GB", l, mb/1024))
		}
	}
	if len(tb.fails) > 0 {
		parts = append(parts, "failures: "+strings.Join(tb.fails, "; "))
	}
	return strings.Join(parts, ", ")
}

// record is one line of torch_baseline.py --json.
type record struct {
	Meta      bool    `json:"meta"`
	Done      bool    `json:"done"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	Layout    string  `json:"layout"`
	Opt       string  `json:"opt"`
	Impl      string  `json:"impl"`
	Tensors   int     `json:"tensors"`
	Params    int     `json:"params"`
	Threads   int     `json:"threads"`
	MS        float64 `json:"ms"`
	GBs       float64 `json:"gbs"`
	CopyGBs   float64 `json:"copy_gbs"`
	Fraction  float64 `json:"fraction"`
	Error     string  `json:"error"`
}

// run times torch on one layout and optimizer at every thread count.
func (tb *torchBench) run(res *results, run int, layout string, o optSpec) {
	policies := strings.Split(tb.cfg.ompWait, ",")
	for _, th := range layoutThreads(tb.cfg, layout) {
		for i, policy := range policies {
			if th == 1 && i > 0 {
				continue // one thread has no one to wait for
			}
			tb.runOne(res, run, layout, th, []string{o.name}, policy)
		}
	}
}

// runOne is one subprocess: one layout at th threads, OMP_WAIT_POLICY policy
// ("inherit": as this process has it).
func (tb *torchBench) runOne(res *results, run int, layout string, th int, names []string, policy string) {
	script, err := filepath.Abs(tb.script)
	if err != nil {
		fatal(err)
	}
	args := []string{"-u", script, "--device", "cpu", "--json", "--threads", strconv.Itoa(th),
		"--layouts", layout, "--opts", strings.Join(names, ","), "--impls", tb.cfg.impls,
		"--iters", strconv.Itoa(tb.cfg.steps), "--warmup", strconv.Itoa(tb.cfg.warmup),
		"--scale", strconv.FormatFloat(tb.cfg.scale, 'g', -1, 64)}
	busy := tb.cfg.idle.wait(fmt.Sprintf("torch %s %s %d threads", layout, strings.Join(names, ","), th))
	cmd := exec.Command(tb.cfg.python, args...)
	cmd.Dir = scriptRoot(script)
	inherit := policy == "" || policy == "inherit"
	env := slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, "OMP_NUM_THREADS=") || (!inherit && strings.HasPrefix(e, "OMP_WAIT_POLICY="))
	})
	env = append(env, "OMP_NUM_THREADS="+strconv.Itoa(th))
	suffix := ""
	if !inherit {
		env = append(env, "OMP_WAIT_POLICY="+strings.ToUpper(policy))
		suffix = " (OMP " + strings.ToLower(policy) + ")"
	}
	cmd.Env = env
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.fails = append(tb.fails, fmt.Sprintf("%s %d threads: %v", layout, th, err))
		return
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			fmt.Fprintf(os.Stderr, "bench: torch: unparsed line %q\n", sc.Text())
			continue
		}
		switch {
		case r.Meta:
		case r.Done:
			tb.peak[layout] = max(tb.peak[layout], r.PeakRSSMB)
		case r.Error != "":
			res.addTorch(key{r.Layout, r.Opt, th}, r.Tensors, r.Params, run, r.Impl+suffix, nil, r.Error)
		default:
			if r.Threads != th {
				fmt.Fprintf(os.Stderr, "bench: torch ran %d threads, not %d\n", r.Threads, th)
			}
			m := &meas{ms: r.MS, gbs: r.GBs, copyGBs: r.CopyGBs, frac: r.Fraction, impl: r.Impl + suffix}
			res.addTorch(key{r.Layout, r.Opt, th}, r.Tensors, r.Params, run, m.impl, m, "")
			fmt.Fprintf(os.Stderr, "run %d torch  %-11s %-12s %d threads: %9.2f ms %6.1f GB/s, copy %6.1f GB/s, %.3f of copy (%s)%s\n",
				run+1, r.Layout, r.Opt, th, r.MS, r.GBs, r.CopyGBs, r.Fraction, m.impl, busy)
		}
	}
	if err := cmd.Wait(); err != nil {
		msg := fmt.Sprintf("%s %d threads%s run %d: %v", layout, th, suffix, run+1, err)
		tb.fails = append(tb.fails, msg)
		fmt.Fprintf(os.Stderr, "bench: torch: %s\n", msg)
	}
}
