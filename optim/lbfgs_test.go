package optim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lbfgsGolden is optim/testdata/lbfgs.json, from testdata/torch/gen_lbfgs.py (torch 2.6).
type lbfgsGolden struct {
	Torch string `json:"torch"`
	Cases []struct {
		Name  string      `json:"name"`
		Fn    string      `json:"fn"`
		Cfg   LBFGSConfig `json:"cfg"`
		X0    [][]float64 `json:"x0"`
		M     int         `json:"m"`
		K     int         `json:"k"`
		Data  struct{ X, Y []float64 }
		Steps []struct {
			Loss      float64     `json:"loss"`
			Params    [][]float64 `json:"params"`
			NIter     int64       `json:"n_iter"`
			FuncEvals int64       `json:"func_evals"`
		} `json:"steps"`
	} `json:"cases"`
}

func loadLBFGSGolden(t *testing.T) *lbfgsGolden {
	t.Helper()
	raw, err := os.ReadFile("testdata/lbfgs.json")
	if err != nil {
		t.Fatal(err)
	}
	var g lbfgsGolden
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no cases in testdata/lbfgs.json")
	}
	return &g
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// rosenbrock is sum_i 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2 in float32, with the
// gradient as torch's autograd computes it (gen_lbfgs.py checks its formula against
// autograd bit for bit): with a = x[i+1] - x[i]^2 and b = 1 - x[i], ga = 100*(2a) goes to
// x[i+1] and (-ga)*(2x[i]) + (-2b) to x[i]. The loss is summed in order; torch's sum of
// 8 terms or more adds in another order (an ulp or so).
func rosenbrock(x, g []float32) float32 {
	n := len(x)
	clear(g)
	var loss float32
	gxl := make([]float32, n)
	for i := 0; i < n-1; i++ {
		a := x[i+1] - float32(x[i]*x[i])
		b := 1 - x[i]
		loss = loss + float32(float32(100*float32(a*a))+float32(b*b))
		ga := float32(100 * float32(2*a))
		g[i+1] = ga
		gxl[i] = float32(-ga*float32(2*x[i])) + (-2 * b)
	}
	for i := 0; i < n-1; i++ {
		g[i] = g[i] + gxl[i]
	}
	return loss
}

// logreg is binary_cross_entropy_with_logits(X@w + b, y), the mean over m samples, and
// its gradient in float32 the way torch computes them: X@w sums each row in order
// (reference BLAS's sgemv), the loss is (1-y)*z - log_sigmoid(z), the gradient of z is
// (sigmoid(z) - y)/m, of w X^T of it (summed over the samples in order), of b its sum.
// exp and log run in float64 and round once, where torch's float32 kernels may be an
// ulp off.
func logreg(X, y []float32, m, k int, w, b, gw, gb []float32) float32 {
	var loss float32
	gz := make([]float32, m)
	for i := 0; i < m; i++ {
		var z float32
		for j := 0; j < k; j++ {
			z = z + float32(X[i*k+j]*w[j])
		}
		z = z + b[0]
		zd := float64(z)
		logSig := float32(math.Min(zd, 0) - math.Log1p(math.Exp(-math.Abs(zd))))
		loss = loss + (float32((1-y[i])*z) - logSig)
		sig := float32(1 / (1 + math.Exp(-zd)))
		gz[i] = (sig - y[i]) / float32(m)
	}
	loss = loss / float32(m)
	clear(gw)
	gb[0] = 0
	for i := 0; i < m; i++ {
		for j := 0; j < k; j++ {
			gw[j] = gw[j] + float32(gz[i]*X[i*k+j])
		}
		gb[0] = gb[0] + gz[i]
	}
	return loss
}

// lbfgsProblem is one golden case's params and closure.
type lbfgsProblem struct {
	params  []*Param
	closure func() (float64, error)
	evals   int
}

func newLBFGSProblem(t *testing.T, fn string, x0 [][]float64, m, k int, X, Y []float64) *lbfgsProblem {
	t.Helper()
	pr := &lbfgsProblem{}
	for i, v := range x0 {
		p, err := NewParam([]string{"x", "b"}[min(i, 1)], len(v))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Data.CopyFrom(f32s(v)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		pr.params = append(pr.params, p)
	}
	host := make([][]float32, len(x0))
	grad := make([][]float32, len(x0))
	for i, v := range x0 {
		host[i], grad[i] = make([]float32, len(v)), make([]float32, len(v))
	}
	Xf, Yf := f32s(X), f32s(Y)
	pr.closure = func() (float64, error) {
		pr.evals++
		for i, p := range pr.params {
			if err := p.Data.CopyTo(host[i]); err != nil {
				return 0, err
			}
		}
		var loss float32
		if fn == "rosenbrock" {
			loss = rosenbrock(host[0], grad[0])
		} else {
			loss = logreg(Xf, Yf, m, k, host[0], host[1], grad[0], grad[1])
		}
		for i, p := range pr.params {
			if err := p.Grad.CopyFrom(grad[i]); err != nil {
				return 0, err
			}
		}
		return float64(loss), nil
	}
	return pr
}

func paramValues(t *testing.T, params []*Param) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range params {
		v, err := p.Data.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// The golden tolerances bound |goptim - torch| / max(1, |torch|) over every param and
// loss. goptim's dot products are OpenBLAS's (blocked partial sums and FMA; cuBLAS's on
// the GPU), torch's (Debian's build) the reference BLAS's sdot, one sequential float32
// sum; torch also sums Σ|g| and Rosenbrock losses of 8+ terms in an order of its own,
// and its exp/log_sigmoid are float32 kernels where the test rounds float64 ones. Each
// differs by an ulp or a few; LBFGS feeds them back through the history and the line
// search. With two-element vectors the sums agree and the trajectories are bit for bit
// torch's (tolerance 0). Otherwise the first two steps stay at rounding level
// (lbfgsEarlyTolerance; seen: at most 7.3e-6), whole trajectories within lbfgsTolerance
// (seen: 1.5e-4), except Rosenbrock with the line search in 5 and 10 dimensions, whose
// curved valley amplifies an ulp into visible differences after 20-30 iterations
// (seen: 5.4e-4 and 4.3e-2 at the fourth step).
const (
	lbfgsEarlyTolerance   = 2e-5
	lbfgsTolerance        = 5e-4
	lbfgsChaoticTolerance = 1e-1
)

// dotIsSequential reports whether the backend's goptim_dot rounds two-term dot products
// as the reference BLAS sdot of the golden's torch does (each product rounded, then
// added, no FMA): x86-64 OpenBLAS does; arm64's kernels fuse. Where it does not, the
// golden's exact checks (0 on the two-dimensional runs, the first steps' iteration
// counts) become tolerances.
func dotIsSequential(t *testing.T) bool {
	t.Helper()
	ctx, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := 0; trial < 64; trial++ {
		const n = 2
		x, y := make([]float32, n), make([]float32, n)
		var want float32
		for i := range x {
			x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			want += float32(x[i] * y[i]) // the conversion keeps Go from fusing
		}
		tx, err := TensorFrom(x)
		if err != nil {
			t.Fatal(err)
		}
		ty, err := TensorFrom(y)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ctx.Dot(int64(n), tx.ptr(), ty.ptr())
		tx.Close()
		ty.Close()
		if err != nil {
			t.Fatal(err)
		}
		if math.Float32bits(got) != math.Float32bits(want) {
			return false
		}
	}
	return true
}

func TestLBFGSTorchTrajectories(t *testing.T) {
	g := loadLBFGSGolden(t)
	exact := dotIsSequential(t)
	early, iterSlack := lbfgsEarlyTolerance, int64(0)
	if !exact {
		// Seen on arm64 under qemu: 5.8e-5 at the first step of the two-dimensional line
		// search, and a Step of 12 iterations where torch took 11.
		early, iterSlack = 1e-3, 2
		t.Logf("goptim_dot does not sum as the reference BLAS here: tolerances instead of exact checks")
	}
	worstAll := 0.0
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			pr := newLBFGSProblem(t, c.Fn, c.X0, c.M, c.K, c.Data.X, c.Data.Y)
			opt, err := NewLBFGS(pr.params, c.Cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer opt.Close()
			worst := 0.0
			dev := func(got, want float64) float64 {
				if math.IsNaN(got) != math.IsNaN(want) {
					return math.Inf(1)
				}
				return math.Abs(got-want) / math.Max(1, math.Abs(want))
			}
			for si, want := range c.Steps {
				loss, err := opt.Step(pr.closure)
				if err != nil {
					t.Fatalf("step %d: %v", si, err)
				}
				stepWorst := dev(loss, want.Loss)
				got := paramValues(t, pr.params)
				for pi := range got {
					for j := range got[pi] {
						stepWorst = math.Max(stepWorst, dev(float64(got[pi][j]), want.Params[pi][j]))
					}
				}
				t.Logf("step %d: loss %.9g (torch %.9g), max relative deviation %.3g", si, loss, want.Loss, stepWorst)
				worst = math.Max(worst, stepWorst)
				if si < 2 && !(stepWorst <= early) {
					t.Errorf("step %d: max relative deviation from torch %.3g, tolerance %.3g", si, stepWorst, early)
				}
				st, err := opt.State()
				if err != nil {
					t.Fatal(err)
				}
				// Near the optimum a last-ulp difference can flip a tolerance test and end a
				// Step one iteration earlier or later; the first two steps must agree.
				off := func(a, b int64) bool { return a-b > iterSlack || b-a > iterSlack }
				if si < 2 && (off(st.NIter, want.NIter) || off(st.FuncEvals, want.FuncEvals)) {
					t.Errorf("step %d: n_iter %d func_evals %d, torch %d and %d", si, st.NIter, st.FuncEvals,
						want.NIter, want.FuncEvals)
				}
				if int64(pr.evals) != st.FuncEvals {
					t.Errorf("step %d: the closure ran %d times, func_evals says %d", si, pr.evals, st.FuncEvals)
				}
			}
			t.Logf("%s: max relative deviation from torch %.3g", c.Name, worst)
			tol := lbfgsTolerance
			if exact && (c.Name == "rosen2_wolfe_h10" || c.Name == "rosen2_none_h10") {
				tol = 0 // dot products of two terms: OpenBLAS and the reference BLAS agree
			} else if c.Fn == "rosenbrock" && c.Cfg.LineSearch != "" {
				tol = lbfgsChaoticTolerance
			}
			if !(worst <= tol) {
				t.Errorf("max relative deviation from torch %.3g, tolerance %.3g", worst, tol)
			}
			worstAll = math.Max(worstAll, worst)
		})
	}
	t.Logf("all cases: max relative deviation from torch %s %.3g", g.Torch, worstAll)
}

func TestLBFGSValidation(t *testing.T) {
	p, err := NewParam("w", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	bad := map[string]func(*LBFGSConfig){
		"lr":               func(c *LBFGSConfig) { c.LR = -1 },
		"lr NaN":           func(c *LBFGSConfig) { c.LR = math.NaN() },
		"lr huge":          func(c *LBFGSConfig) { c.LR = 1e39 },
		"max_iter":         func(c *LBFGSConfig) { c.MaxIter = 0 },
		"max_eval":         func(c *LBFGSConfig) { c.MaxEval = -1 },
		"tolerance_grad":   func(c *LBFGSConfig) { c.ToleranceGrad = math.Inf(1) },
		"tolerance_change": func(c *LBFGSConfig) { c.ToleranceChange = -1e-9 },
		"history_size":     func(c *LBFGSConfig) { c.HistorySize = 0 },
		"line_search_fn":   func(c *LBFGSConfig) { c.LineSearch = "backtracking" },
	}
	for name, mut := range bad {
		cfg := LBFGSDefaults()
		mut(&cfg)
		_, err := NewLBFGS([]*Param{p}, cfg)
		var ce *ConfigError
		if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &ce) || ce.Optimizer != "lbfgs" {
			t.Errorf("%s: NewLBFGS error %v, want a *ConfigError of lbfgs", name, err)
		}
	}
	if d := LBFGSDefaults(); d != (LBFGSConfig{LR: 1, MaxIter: 20, ToleranceGrad: 1e-7, ToleranceChange: 1e-9,
		HistorySize: 100}) || d.maxEval() != 25 {
		t.Errorf("defaults %+v (max_eval %d), want torch's", d, d.maxEval())
	}
	if _, err := NewLBFGS(nil, LBFGSDefaults()); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("no params: %v", err)
	}
	if _, err := NewLBFGS([]*Param{p, nil}, LBFGSDefaults()); !errors.Is(err, ErrNilParam) {
		t.Errorf("nil param: %v", err)
	}
	if _, err := NewLBFGS([]*Param{p, p}, LBFGSDefaults()); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("param twice: %v", err)
	}
	shared := &Param{Name: "shared", Data: p.Grad}
	if _, err := NewLBFGS([]*Param{p, shared}, LBFGSDefaults()); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("params sharing memory: %v", err)
	}
	opt, err := NewLBFGS([]*Param{p}, LBFGSDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Close()
	// A refused change changes nothing.
	cfg := opt.Config(0)
	if err := opt.SetLR(-2); !errors.Is(err, ErrInvalidConfig) || opt.LR() != 1 {
		t.Errorf("SetLR(-2): %v, lr now %v", err, opt.LR())
	}
	bad2 := cfg
	bad2.LineSearch = "x"
	if err := opt.SetConfig(0, bad2); !errors.Is(err, ErrInvalidConfig) || opt.Config(0) != cfg {
		t.Errorf("SetConfig(bad): %v", err)
	}
	if err := opt.SetConfig(1, cfg); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("SetConfig(group 1): %v", err)
	}
	if err := opt.SetGroupLR(0, 0.5); err != nil || opt.GroupLR(0) != 0.5 || opt.NumGroups() != 1 {
		t.Errorf("SetGroupLR: %v, lr %v", err, opt.GroupLR(0))
	}
	if _, ok := opt.GroupMomentum(0); ok || !errors.Is(opt.SetGroupMomentum(0, 0.9), ErrInvalidConfig) {
		t.Error("LBFGS reports a momentum")
	}
	if _, err := opt.Step(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Step(nil): %v", err)
	}
	var zero LBFGS
	if _, err := zero.Step(func() (float64, error) { return 0, nil }); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("zero LBFGS Step: %v", err)
	}
	if zero.NumGroups() != 0 || zero.Close() != nil || zero.Params(0) != nil {
		t.Error("zero LBFGS")
	}
	var nilOpt *LBFGS
	if _, err := nilOpt.Step(func() (float64, error) { return 0, nil }); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil LBFGS Step: %v", err)
	}
	var _ LRGroups = opt
}

// runLBFGSSteps runs steps of a Rosenbrock problem and returns the params and losses.
func newRosenLBFGS(t *testing.T, cfg LBFGSConfig) (*lbfgsProblem, *LBFGS) {
	t.Helper()
	pr := newLBFGSProblem(t, "rosenbrock", [][]float64{{-1.2, 1, 0.5, -0.3}}, 0, 0, nil, nil)
	opt, err := NewLBFGS(pr.params, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { opt.Close() })
	return pr, opt
}

func TestLBFGSSaveLoadContinues(t *testing.T) {
	for _, ls := range []string{"", LineSearchStrongWolfe} {
		cfg := LBFGSDefaults()
		cfg.LineSearch, cfg.HistorySize, cfg.MaxIter, cfg.LR = ls, 3, 4, 0.1
		if ls != "" {
			cfg.LR = 1
		}
		// A: 2 steps, save, 3 more. B: a fresh optimizer loads the checkpoint at the
		// params of A's second step and runs the same 3.
		prA, a := newRosenLBFGS(t, cfg)
		for i := 0; i < 2; i++ {
			if _, err := a.Step(prA.closure); err != nil {
				t.Fatal(err)
			}
		}
		var ck bytes.Buffer
		if err := a.Save(&ck); err != nil {
			t.Fatal(err)
		}
		mid := paramValues(t, prA.params)
		stA, _ := a.State()
		var lossesA []float64
		for i := 0; i < 3; i++ {
			l, err := a.Step(prA.closure)
			if err != nil {
				t.Fatal(err)
			}
			lossesA = append(lossesA, l)
		}
		endA := paramValues(t, prA.params)

		prB, b := newRosenLBFGS(t, LBFGSDefaults())
		if err := prB.params[0].Data.CopyFrom(mid[0]); err != nil {
			t.Fatal(err)
		}
		// a corrupted copy is refused and changes nothing
		bad := slices.Clone(ck.Bytes())
		bad[len(bad)-20] ^= 1
		before, _ := b.State()
		if err := b.Load(bytes.NewReader(bad)); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("corrupted checkpoint: %v", err)
		}
		if err := b.Load(bytes.NewReader(ck.Bytes()[:len(ck.Bytes())/2])); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("truncated checkpoint: %v", err)
		}
		after, _ := b.State()
		if b.Config(0) != LBFGSDefaults() || after.NIter != before.NIter || after.D != nil {
			t.Fatal("a refused checkpoint changed the optimizer")
		}
		if err := b.Load(bytes.NewReader(ck.Bytes())); err != nil {
			t.Fatal(err)
		}
		if b.Config(0) != cfg {
			t.Fatalf("config after Load %+v, want %+v", b.Config(0), cfg)
		}
		stB, _ := b.State()
		if stB.NIter != stA.NIter || stB.FuncEvals != stA.FuncEvals || len(stB.OldDirs) != len(stA.OldDirs) ||
			math.Float64bits(stB.T) != math.Float64bits(stA.T) || stB.HDiag != stA.HDiag {
			t.Fatalf("state after Load %+v, saved %+v", stB, stA)
		}
		for i := 0; i < 3; i++ {
			l, err := b.Step(prB.closure)
			if err != nil {
				t.Fatal(err)
			}
			if math.Float64bits(l) != math.Float64bits(lossesA[i]) {
				t.Errorf("%q step %d after Load: loss %v, uninterrupted %v", ls, i, l, lossesA[i])
			}
		}
		endB := paramValues(t, prB.params)
		for j := range endA[0] {
			if math.Float32bits(endA[0][j]) != math.Float32bits(endB[0][j]) {
				t.Errorf("%q: param %d after Load %v, uninterrupted %v", ls, j, endB[0][j], endA[0][j])
			}
		}
		// another optimizer's shape is refused
		prC := newLBFGSProblem(t, "rosenbrock", [][]float64{{1, 2, 3}}, 0, 0, nil, nil)
		c, err := NewLBFGS(prC.params, LBFGSDefaults())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Load(bytes.NewReader(ck.Bytes())); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("checkpoint of 4 elements into 3: %v", err)
		}
		c.Close()
	}
}

func TestLBFGSClosureError(t *testing.T) {
	boom := errors.New("boom")
	for _, ls := range []string{"", LineSearchStrongWolfe} {
		for _, failAt := range []int{1, 2, 3, 6} {
			cfg := LBFGSDefaults()
			cfg.LineSearch, cfg.MaxIter, cfg.LR = ls, 10, 0.1
			if ls != "" {
				cfg.LR = 1
			}
			pr, opt := newRosenLBFGS(t, cfg)
			if _, err := opt.Step(pr.closure); err != nil { // some history first
				t.Fatal(err)
			}
			before := paramValues(t, pr.params)
			st0, _ := opt.State()
			calls := 0
			failing := func() (float64, error) {
				calls++
				if calls == failAt {
					return 0, boom
				}
				return pr.closure()
			}
			_, err := opt.Step(failing)
			if !errors.Is(err, boom) {
				t.Fatalf("%q fail at %d: Step error %v", ls, failAt, err)
			}
			st, err := opt.State()
			if err != nil {
				t.Fatal(err)
			}
			if failAt == 1 {
				// the first evaluation failed: nothing changed
				if st.NIter != st0.NIter || st.FuncEvals != st0.FuncEvals {
					t.Errorf("%q: the first evaluation failed and the state moved", ls)
				}
				if !slices.Equal(paramValues(t, pr.params)[0], before[0]) {
					t.Errorf("%q: the first evaluation failed and the params moved", ls)
				}
			}
			if st.FuncEvals < st0.FuncEvals || st.NIter < st0.NIter || st.FuncEvals > st0.FuncEvals+int64(calls) {
				t.Errorf("%q fail at %d: func_evals %d -> %d over %d calls", ls, failAt, st0.FuncEvals, st.FuncEvals, calls)
			}
			// the optimizer goes on from the state it reports
			if _, err := opt.Step(pr.closure); err != nil {
				t.Errorf("%q fail at %d: the next Step: %v", ls, failAt, err)
			}
			v := paramValues(t, pr.params)[0]
			for _, x := range v {
				if math.IsNaN(float64(x)) {
					t.Errorf("%q fail at %d: NaN params %v", ls, failAt, v)
				}
			}
		}
	}
}

// With the line search, a failed evaluation undoes the trial point: the params are
// those of the last finished iteration, so a Step that fails at its second evaluation
// (the first trial of the first iteration) leaves them as they were.
func TestLBFGSLineSearchErrorRestoresParams(t *testing.T) {
	cfg := LBFGSDefaults()
	cfg.LineSearch = LineSearchStrongWolfe
	pr, opt := newRosenLBFGS(t, cfg)
	before := paramValues(t, pr.params)
	calls := 0
	_, err := opt.Step(func() (float64, error) {
		calls++
		if calls == 2 {
			return 0, errors.New("fail")
		}
		return pr.closure()
	})
	if err == nil {
		t.Fatal("no error")
	}
	if !slices.Equal(paramValues(t, pr.params)[0], before[0]) {
		t.Error("the params moved")
	}
	st, _ := opt.State()
	if st.NIter != 0 || st.D != nil || st.FuncEvals != 1 {
		t.Errorf("state after a failed first iteration: n_iter %d func_evals %d", st.NIter, st.FuncEvals)
	}
}

func TestLBFGSClose(t *testing.T) {
	pr, opt := newRosenLBFGS(t, LBFGSDefaults())
	if _, err := opt.Step(pr.closure); err != nil {
		t.Fatal(err)
	}
	if err := opt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := opt.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := opt.Step(pr.closure); !errors.Is(err, ErrClosed) {
		t.Errorf("Step after Close: %v", err)
	}
	if _, err := opt.State(); !errors.Is(err, ErrClosed) {
		t.Errorf("State after Close: %v", err)
	}
	if err := opt.Save(&bytes.Buffer{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Save after Close: %v", err)
	}
	if err := opt.SetLR(0.1); !errors.Is(err, ErrClosed) {
		t.Errorf("SetLR after Close: %v", err)
	}
	// Close from inside the closure: the Step ends with ErrClosed and frees then.
	pr2, opt2 := newRosenLBFGS(t, LBFGSDefaults())
	_, err := opt2.Step(func() (float64, error) {
		if err := opt2.Close(); err != nil {
			return 0, err
		}
		if opt2.LR() != 1 { // reading methods work from the closure
			t.Error("LR from the closure")
		}
		if err := opt2.SetLR(0.5); !errors.Is(err, ErrClosed) {
			t.Errorf("SetLR from the closure after Close: %v", err)
		}
		return pr2.closure()
	})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Step closed from its closure: %v", err)
	}
	if _, err := opt2.Step(pr2.closure); !errors.Is(err, ErrClosed) {
		t.Errorf("Step after: %v", err)
	}
}

// A closure calls ZeroGrad and the reading methods as torch's closures do; changing
// methods are refused with an error rather than deadlocking.
func TestLBFGSClosureCallsOptimizer(t *testing.T) {
	pr, opt := newRosenLBFGS(t, LBFGSDefaults())
	_, err := opt.Step(func() (float64, error) {
		if err := opt.ZeroGrad(); err != nil {
			return 0, err
		}
		if err := opt.SetLR(0.5); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("SetLR during Step: %v", err)
		}
		if _, err := opt.Step(pr.closure); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Step during Step: %v", err)
		}
		_ = opt.Config(0)
		_ = opt.Params(0)
		return pr.closure()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// NaN losses flow through as in torch: the comparisons are false, nothing panics.
func TestLBFGSNaNLoss(t *testing.T) {
	for _, ls := range []string{"", LineSearchStrongWolfe} {
		cfg := LBFGSDefaults()
		cfg.LineSearch, cfg.MaxIter = ls, 5
		pr, opt := newRosenLBFGS(t, cfg)
		calls := 0
		loss, err := opt.Step(func() (float64, error) {
			calls++
			if _, err := pr.closure(); err != nil {
				return 0, err
			}
			return math.NaN(), nil
		})
		if ls == "" && (err != nil || !math.IsNaN(loss)) {
			t.Errorf("NaN loss: %v, %v", loss, err)
		}
		// torch's line search indexes past a one-point bracket with a NaN loss (an
		// IndexError); goptim fails the Step with ErrNonFinite, the iteration undone.
		if ls != "" && !errors.Is(err, ErrNonFinite) {
			t.Errorf("NaN loss with the line search: %v", err)
		}
		if calls < 2 {
			t.Errorf("%q: %d evaluations with NaN losses", ls, calls)
		}
	}
}

// SaveFile and LoadFile take LBFGS too; LoadFile refuses bytes after the checkpoint, as
// for every optimizer, and a Save of another optimizer's kind.
func TestLBFGSFiles(t *testing.T) {
	cfg := LBFGSDefaults()
	cfg.MaxIter = 3
	pr, a := newRosenLBFGS(t, cfg)
	if _, err := a.Step(pr.closure); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lbfgs.ckpt")
	if err := SaveFile(a, path); err != nil {
		t.Fatal(err)
	}
	_, b := newRosenLBFGS(t, LBFGSDefaults())
	if err := LoadFile(b, path); err != nil {
		t.Fatal(err)
	}
	sa, _ := a.State()
	sb, _ := b.State()
	if sa.NIter != sb.NIter || sa.FuncEvals != sb.FuncEvals || b.Config(0) != cfg {
		t.Fatalf("after LoadFile: %+v, saved %+v", sb, sa)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(raw, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	_, c := newRosenLBFGS(t, LBFGSDefaults())
	if err := LoadFile(c, path); !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "after the checkpoint") {
		t.Fatalf("a file with a byte after the checkpoint: %v", err)
	}
	if sc, _ := c.State(); sc.NIter != 0 || c.Config(0) != LBFGSDefaults() {
		t.Fatal("a refused file changed the optimizer")
	}
	// An Adam checkpoint is not an LBFGS one.
	p, err := NewParam("x", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	adam, err := NewAdam([]*Param{p}, AdamDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer adam.Close()
	var buf bytes.Buffer
	if err := adam.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(&buf); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("Adam's checkpoint into LBFGS: %v", err)
	}
}
