package optim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/binding"
)

// sfGolden is optim/testdata/schedulefree.json, from testdata/torch/gen_schedulefree.py.
type sfGolden struct {
	Torch string         `json:"torch"`
	Cases []sfGoldenCase `json:"cases"`
}

type sfGoldenCase struct {
	Name      string  `json:"name"`
	Seed      int64   `json:"seed"`
	GradScale float64 `json:"grad_scale"`
	PerParam  bool    `json:"per_param"`
	Groups    []struct {
		Options struct {
			LR            float64    `json:"lr"`
			Betas         [2]float64 `json:"betas"`
			Eps           float64    `json:"eps"`
			WeightDecay   float64    `json:"weight_decay"`
			WarmupSteps   int        `json:"warmup_steps"`
			R             float64    `json:"r"`
			WeightLRPower float64    `json:"weight_lr_power"`
		} `json:"options"`
		Lengths []int `json:"lengths"`
	} `json:"groups"`
	Ops []struct {
		Op       string             `json:"op"`
		T        int64              `json:"t"`
		LR       map[string]float64 `json:"lr"`
		Nil      [][2]int           `json:"nil"`
		Z        [][]*string        `json:"z"`
		ExpAvgSq [][]*string        `json:"exp_avg_sq"`
		Host     [][][3]float64     `json:"host"`
		Params   [][]string         `json:"params"`
	} `json:"ops"`
}

func loadSFGolden(t *testing.T) *sfGolden {
	t.Helper()
	b, err := os.ReadFile("testdata/schedulefree.json")
	require.NoError(t, err)
	var g sfGolden
	require.NoError(t, json.Unmarshal(b, &g))
	require.NotEmpty(t, g.Cases)
	return &g
}

// sfData is the generator's data: element i of the tensor with seed s.
func sfData(seed int64, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(((seed*1000003+int64(i)*7919)%20011)-10005) / 4096
	}
	return v
}

func sfUnhex(t *testing.T, s string) []float32 {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// sfHost is param i of group g's step count and its weight_sum and lr_max for its next
// step, exactly.
func sfHost(o *ScheduleFreeAdamW, g, i int) (k int64, weightSum, lrMax float64) {
	o.core.mu.Lock()
	defer o.core.mu.Unlock()
	gr := o.core.groups[g]
	sc := o.core.scalarsOf(gr, i)
	return gr.steps[i], sc[0], sc[1]
}

// sfGoldenRun replays a golden case and returns how many compared float32 elements (and
// host values) differ from the reference's bits, and how many were compared.
func sfGoldenRun(t *testing.T, c *sfGoldenCase) (differ, compared int) {
	t.Helper()
	var params [][]*Param
	var grads [][]*Tensor // each param's gradient, put back after a step it had none
	var o *ScheduleFreeAdamW
	for gi, g := range c.Groups {
		cfg := ScheduleFreeAdamWConfig{LR: g.Options.LR, Beta1: g.Options.Betas[0], Beta2: g.Options.Betas[1],
			Eps: g.Options.Eps, WeightDecay: g.Options.WeightDecay, WarmupSteps: g.Options.WarmupSteps,
			R: g.Options.R, WeightLRPower: g.Options.WeightLRPower}
		var ps []*Param
		for j, n := range g.Lengths {
			p, err := NewParam(fmt.Sprintf("g%dp%d", gi, j), n)
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			require.NoError(t, p.Data.CopyFrom(sfData(c.Seed*100000+int64(gi)*1000+int64(j)*100, n)))
			ps = append(ps, p)
		}
		params = append(params, ps)
		var gs []*Tensor
		for _, p := range ps {
			gs = append(gs, p.Grad)
		}
		grads = append(grads, gs)
		if gi == 0 {
			var err error
			o, err = NewScheduleFreeAdamW(ps, cfg)
			require.NoError(t, err)
		} else {
			require.NoError(t, o.AddParamGroup(ps, cfg))
		}
	}
	defer func() { require.NoError(t, o.Close()) }()
	compare := func(got []float32, want string) {
		w := sfUnhex(t, want)
		require.Len(t, got, len(w))
		differ += bitsDiffer(got, w)
		compared += len(w)
	}
	for oi, op := range c.Ops {
		switch op.Op {
		case "train":
			require.NoError(t, o.Train())
		case "eval":
			require.NoError(t, o.Eval())
		case "step":
			for g, lr := range op.LR {
				gi, err := strconv.Atoi(g)
				require.NoError(t, err)
				require.NoError(t, o.SetGroupLR(gi, lr))
			}
			for gi, ps := range params {
				for j, p := range ps {
					gv := sfData(c.Seed*100000+int64(gi)*1000+int64(j)*100+op.T, c.Groups[gi].Lengths[j])
					for k := range gv {
						gv[k] *= float32(c.GradScale)
					}
					p.Grad = grads[gi][j]
					require.NoError(t, p.Grad.CopyFrom(gv))
				}
			}
			for _, n := range op.Nil {
				params[n[0]][n[1]].Grad = nil
			}
			require.NoError(t, o.Step(), "%s: op %d", c.Name, oi)
			for gi, ps := range params {
				for j := range ps {
					k, ws, lm := sfHost(o, gi, j)
					h := op.Host[gi][j]
					compared += 3
					if float64(k) != h[0] || ws != h[1] || lm != h[2] {
						differ += 3
						t.Logf("%s op %d group %d param %d: host values (k, weight_sum, lr_max) (%d, %v, %v), reference %v",
							c.Name, oi, gi, j, k, ws, lm, h)
					}
					if op.Z[gi][j] == nil {
						require.Zero(t, k)
						continue
					}
					z, err := o.State(gi, j, "z")
					require.NoError(t, err)
					compare(z, *op.Z[gi][j])
					v, err := o.State(gi, j, "exp_avg_sq")
					require.NoError(t, err)
					compare(v, *op.ExpAvgSq[gi][j])
				}
			}
		default:
			t.Fatalf("unknown op %q", op.Op)
		}
		switch op.Op {
		case "train":
			require.True(t, o.TrainMode())
		case "eval":
			require.False(t, o.TrainMode())
		}
		for gi, ps := range params {
			for j, p := range ps {
				compare(tensorValues(t, p.Data), op.Params[gi][j])
			}
		}
	}
	return differ, compared
}

// Every case of the reference's trajectories, bit for bit (params in both modes, z,
// exp_avg_sq, and the host values weight_sum and lr_max exactly), on every ISA and
// thread count.
func TestScheduleFreeGoldenEveryISAAndThreads(t *testing.T) {
	g := loadSFGolden(t)
	defer func() {
		require.NoError(t, SetISA(ISAAuto))
		require.NoError(t, SetThreads(0))
	}()
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 2, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			total, bad := 0, 0
			for ci := range g.Cases {
				c := &g.Cases[ci]
				d, n := sfGoldenRun(t, c)
				require.Zero(t, d, "%s: %v threads=%d: %d of %d values differ from the reference's bits",
					c.Name, isa, threads, d, n)
				total, bad = total+n, bad+d
			}
			t.Logf("%v threads=%d: %d of %d golden values bit-identical (%d cases)", isa, threads, total-bad, total,
				len(g.Cases))
		}
	}
}

// sfParams makes params of the given lengths with random data (and gradients).
func sfParams(t *testing.T, lengths []int, seed uint64) []*Param {
	t.Helper()
	var ps []*Param
	for i, n := range lengths {
		p, err := NewParam(fmt.Sprintf("p%d", i), n)
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		ps = append(ps, p)
	}
	fillRandom(t, ps, seed)
	return ps
}

// sfSetGrads gives every param a fresh random gradient.
func sfSetGrads(t *testing.T, rng *rand.Rand, ps []*Param) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range ps {
		g := randVec(rng, p.Data.Len(), 0.3)
		require.NoError(t, p.Grad.CopyFrom(g))
		out = append(out, g)
	}
	return out
}

func sfValues(t *testing.T, ps []*Param) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range ps {
		out = append(out, tensorValues(t, p.Data))
	}
	return out
}

// sfRef64 is the reference algorithm in float64 (one param group, every param stepping
// together).
type sfRef64 struct {
	cfg         ScheduleFreeAdamWConfig
	k           int
	wsum, lrMax float64
	y, z, v     [][]float64
	hasZ        bool
}

func newSFRef64(cfg ScheduleFreeAdamWConfig, init [][]float32) *sfRef64 {
	r := &sfRef64{cfg: cfg, lrMax: -1}
	for _, x := range init {
		y := make([]float64, len(x))
		for j, f := range x {
			y[j] = float64(f)
		}
		r.y = append(r.y, y)
		r.z = append(r.z, make([]float64, len(x)))
		r.v = append(r.v, make([]float64, len(x)))
	}
	return r
}

func (r *sfRef64) step(grads [][]float32) {
	c := r.cfg
	sched := 1.0
	if r.k < c.WarmupSteps {
		sched = float64(r.k+1) / float64(c.WarmupSteps)
	}
	bc2 := 1 - math.Pow(c.Beta2, float64(r.k+1))
	lr := c.LR * sched
	r.lrMax = math.Max(lr, r.lrMax)
	w := math.Pow(float64(r.k+1), c.R) * math.Pow(r.lrMax, c.WeightLRPower)
	r.wsum += w
	ckp1 := 0.0
	if r.wsum != 0 {
		ckp1 = w / r.wsum
	}
	ay := lr * (c.Beta1*(1-ckp1) - 1)
	for i := range r.y {
		for j, gf := range grads[i] {
			g := float64(gf)
			y := r.y[i][j]
			if !r.hasZ {
				r.z[i][j] = y
			}
			r.v[i][j] = c.Beta2*r.v[i][j] + (1-c.Beta2)*g*g
			u := g/(math.Sqrt(r.v[i][j]/bc2)+c.Eps) + c.WeightDecay*y
			r.y[i][j] = y + ckp1*(r.z[i][j]-y) + ay*u
			r.z[i][j] -= lr * u
		}
	}
	r.hasZ = true
	r.k++
}

func (r *sfRef64) lerp(w float64) {
	if !r.hasZ {
		return
	}
	for i := range r.y {
		for j := range r.y[i] {
			r.y[i][j] += w * (r.z[i][j] - r.y[i][j])
		}
	}
}

func (r *sfRef64) check(t *testing.T, ps []*Param, what string, tol float64) {
	t.Helper()
	for i, p := range ps {
		got := tensorValues(t, p.Data)
		for j, g := range got {
			want := r.y[i][j]
			if d := math.Abs(float64(g) - want); !(d <= tol*(math.Abs(want)+1)) {
				t.Fatalf("%s: param %d elem %d: got %.9g, float64 reference %.9g (diff %.3g)", what, i, j, g, want, d)
			}
		}
	}
}

// The kernels against the algorithm in float64, with Train and Eval between steps, on
// every ISA and thread count, over lengths that cross the vector paths and the thread
// pool's threshold.
func TestScheduleFreeMatchesFloat64Reference(t *testing.T) {
	cfgs := []ScheduleFreeAdamWConfig{
		ScheduleFreeAdamWDefaults(),
		{LR: 0.02, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.05, WarmupSteps: 3, R: 0.5, WeightLRPower: 1},
		{LR: 0.01, Beta1: 0.3, Beta2: 0.9, Eps: 1e-8, WarmupSteps: 2, R: 2, WeightLRPower: 3},
	}
	layouts := [][]int{{1}, {17, 0, 33}, {65537 + 15, 4, 1}}
	defer func() {
		require.NoError(t, SetISA(ISAAuto))
		require.NoError(t, SetThreads(0))
	}()
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			for ci, cfg := range cfgs {
				for li, lengths := range layouts {
					ps := sfParams(t, lengths, uint64(10*ci+li))
					o, err := NewScheduleFreeAdamW(ps, cfg)
					require.NoError(t, err)
					ref := newSFRef64(cfg, sfValues(t, ps))
					rng := rand.New(rand.NewPCG(uint64(ci), uint64(li)))
					require.NoError(t, o.Train())
					for s := 1; s <= 8; s++ {
						what := fmt.Sprintf("%v threads %d config %d lengths %v step %d", isa, threads, ci, lengths, s)
						ref.step(sfSetGrads(t, rng, ps))
						require.NoError(t, o.Step())
						ref.check(t, ps, what, 2e-6*float64(s))
						if s%3 == 0 {
							require.NoError(t, o.Eval())
							ref.lerp(1 - 1/cfg.Beta1)
							ref.check(t, ps, what+" eval", 4e-6*float64(s))
							require.NoError(t, o.Train())
							ref.lerp(1 - cfg.Beta1)
							ref.check(t, ps, what+" train", 4e-6*float64(s))
						}
					}
					require.NoError(t, o.Close())
				}
			}
		}
	}
}

// Every ISA and thread count gives the same bits on lengths that use the thread pool.
func TestScheduleFreeISAsAndThreadsAgree(t *testing.T) {
	lengths := []int{100003, 17, 1, 4099}
	cfg := ScheduleFreeAdamWConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.01, WarmupSteps: 2,
		WeightLRPower: 2}
	var first [][]float32
	defer func() {
		require.NoError(t, SetISA(ISAAuto))
		require.NoError(t, SetThreads(0))
	}()
	for _, isa := range availableISAs(t) {
		for _, threads := range []int{1, 2, 3} {
			require.NoError(t, SetISA(isa))
			require.NoError(t, SetThreads(threads))
			ps := sfParams(t, lengths, 5)
			o, err := NewScheduleFreeAdamW(ps, cfg)
			require.NoError(t, err)
			require.NoError(t, o.Train())
			rng := rand.New(rand.NewPCG(1, 2))
			for s := 0; s < 4; s++ {
				sfSetGrads(t, rng, ps)
				require.NoError(t, o.Step())
			}
			require.NoError(t, o.Eval())
			all := sfValues(t, ps)
			for i := range ps {
				z, err := o.State(0, i, "z")
				require.NoError(t, err)
				all = append(all, z)
			}
			require.NoError(t, o.Close())
			if first == nil {
				first = all
				continue
			}
			for i := range all {
				require.Zero(t, bitsDiffer(all[i], first[i]), "%v threads %d: result %d differs", isa, threads, i)
			}
		}
	}
}

// The optimizer starts in eval mode, as the reference: Step (and ClipStep and
// GradScaler's step) is refused there with everything unchanged, in a fresh optimizer
// and after Eval.
func TestScheduleFreeStepRefusedInEvalMode(t *testing.T) {
	ps := sfParams(t, []int{7, 3}, 1)
	o, err := NewScheduleFreeAdamW(ps, ScheduleFreeAdamWDefaults())
	require.NoError(t, err)
	defer o.Close()
	require.False(t, o.TrainMode())
	sc, err := NewGradScaler(GradScalerDefaults())
	require.NoError(t, err)
	refused := func(msg string) {
		before := takeSnapshot(t, o, ps)
		err := o.Step()
		require.ErrorIs(t, err, ErrInvalidArgument, msg)
		require.Contains(t, err.Error(), "Step in eval mode")
		require.ErrorIs(t, o.ClipStep(1, 2), ErrInvalidArgument, msg)
		stepped, err := sc.Step(o)
		require.False(t, stepped)
		require.ErrorIs(t, err, ErrInvalidArgument, msg)
		requireUnchanged(t, before, o, ps, msg)
		require.Zero(t, o.StepCount(0, 0))
	}
	refused("fresh optimizer")
	require.NoError(t, o.Train())
	require.True(t, o.TrainMode())
	require.NoError(t, o.Step())
	require.NoError(t, o.Eval())
	before := takeSnapshot(t, o, ps)
	err = o.Step()
	require.ErrorIs(t, err, ErrInvalidArgument)
	requireUnchanged(t, before, o, ps, "after Eval")
	require.Equal(t, int64(1), o.StepCount(0, 0))
}

// Train and Eval: no-ops in their own mode and for params that have not stepped (no
// z), exact where the lerp is (after one step y = z), and a round trip Eval then Train
// that brings y back to within rounding.
func TestScheduleFreeTrainEval(t *testing.T) {
	ps := sfParams(t, []int{31, 4}, 2)
	late := sfParams(t, []int{9}, 3)
	cfg := ScheduleFreeAdamWDefaults()
	cfg.LR = 0.05
	o, err := NewScheduleFreeAdamW(ps, cfg)
	require.NoError(t, err)
	defer o.Close()
	all := append(append([]*Param{}, ps...), late...)
	require.NoError(t, o.AddParamGroup(late, cfg))

	// Before any step nothing has a z: the switches change nothing.
	before := takeSnapshot(t, o, all)
	require.NoError(t, o.Eval()) // already in eval mode
	require.NoError(t, o.Train())
	require.NoError(t, o.Train())
	require.NoError(t, o.Eval())
	requireUnchanged(t, before, o, all, "switches before any step")
	require.NoError(t, o.Train())

	// One step with late's gradient nil: ckp1 = 1 puts y exactly at z, so Eval and
	// Train leave the params as they are; late has no z and is never moved.
	lateGrad := late[0].Grad
	late[0].Grad = nil
	require.NoError(t, o.Step())
	for i, p := range ps {
		z, err := o.State(0, i, "z")
		require.NoError(t, err)
		require.Zero(t, bitsDiffer(tensorValues(t, p.Data), z), "param %d: y != z after one step", i)
	}
	lateBits := bitsOf(t, late[0].Data)
	after1 := takeSnapshot(t, o, ps)
	require.NoError(t, o.Eval())
	require.False(t, o.TrainMode())
	require.NoError(t, o.Train())
	require.Equal(t, after1.data, takeSnapshot(t, o, ps).data, "after one step y = z = x")
	require.Equal(t, lateBits, bitsOf(t, late[0].Data))

	// More steps: y and x differ; Eval twice is Eval once; Eval then Train is back
	// within rounding.
	late[0].Grad = lateGrad
	rng := rand.New(rand.NewPCG(4, 4))
	for s := 0; s < 5; s++ {
		sfSetGrads(t, rng, all)
		require.NoError(t, o.Step())
	}
	y := sfValues(t, all)
	require.NoError(t, o.Eval())
	x := sfValues(t, all)
	require.NotEqual(t, y, x)
	xBits := bitsOf(t, ps[0].Data)
	require.NoError(t, o.Eval())
	require.Equal(t, xBits, bitsOf(t, ps[0].Data), "Eval in eval mode moved the params")
	require.NoError(t, o.Train())
	back := sfValues(t, all)
	for i := range y {
		for j := range y[i] {
			require.InDelta(t, y[i][j], back[i][j], 1e-6*(math.Abs(float64(y[i][j]))+1),
				"param %d elem %d: y %v, after Eval and Train %v", i, j, y[i][j], back[i][j])
		}
	}
	require.Equal(t, int64(6), o.StepCount(0, 0))
	require.Equal(t, int64(5), o.StepCount(1, 0))
}

// A checkpoint carries the mode: Load puts a fresh (eval-mode) optimizer in the saved
// mode, and the run continues bit for bit.
func TestScheduleFreeCheckpointRoundTrip(t *testing.T) {
	cfg := ScheduleFreeAdamWConfig{LR: 0.02, Beta1: 0.85, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.01, WarmupSteps: 4,
		R: 0.5, WeightLRPower: 2}
	lengths := []int{13, 40, 1}
	for _, saveInTrain := range []bool{true, false} {
		ps := sfParams(t, lengths, 6)
		o, err := NewScheduleFreeAdamW(ps, cfg)
		require.NoError(t, err)
		require.NoError(t, o.Train())
		rng := rand.New(rand.NewPCG(7, 7))
		for s := 0; s < 3; s++ {
			sfSetGrads(t, rng, ps)
			require.NoError(t, o.Step())
		}
		if !saveInTrain {
			require.NoError(t, o.Eval())
		}
		var buf bytes.Buffer
		require.NoError(t, o.Save(&buf))
		saved := sfValues(t, ps)
		grads := make([][][]float32, 3)
		for s := range grads {
			grads[s] = make([][]float32, len(ps))
			for i, p := range ps {
				grads[s][i] = randVec(rng, p.Data.Len(), 0.3)
			}
		}
		cont := func(o *ScheduleFreeAdamW, ps []*Param) [][]float32 {
			if !saveInTrain {
				require.NoError(t, o.Train())
			}
			for s := range grads {
				for i, p := range ps {
					require.NoError(t, p.Grad.CopyFrom(grads[s][i]))
				}
				require.NoError(t, o.Step())
			}
			require.NoError(t, o.Eval())
			out := sfValues(t, ps)
			for i := range ps {
				z, err := o.State(0, i, "z")
				require.NoError(t, err)
				out = append(out, z)
			}
			return out
		}
		want := cont(o, ps)
		require.NoError(t, o.Close())

		ps2 := sfParams(t, lengths, 99)
		for i, p := range ps2 {
			require.NoError(t, p.Data.CopyFrom(saved[i]))
		}
		o2, err := NewScheduleFreeAdamW(ps2, cfg)
		require.NoError(t, err)
		require.False(t, o2.TrainMode())
		require.NoError(t, o2.Load(bytes.NewReader(buf.Bytes())))
		require.Equal(t, saveInTrain, o2.TrainMode())
		for i := range ps2 {
			_, ws1, lm1 := sfHost(o2, 0, i)
			require.Positive(t, ws1)
			require.Equal(t, cfg.LR*3/4, lm1) // the third of four warmup steps
		}
		got := cont(o2, ps2)
		for i := range want {
			require.Zero(t, bitsDiffer(got[i], want[i]), "saved in train mode %v: result %d differs", saveInTrain, i)
		}
		require.NoError(t, o2.Close())
	}
}

// Load refuses a checkpoint of another optimizer, and one whose mode is missing or
// malformed, changing nothing.
func TestScheduleFreeLoadRefuses(t *testing.T) {
	ps := sfParams(t, []int{5, 3}, 8)
	o, err := NewScheduleFreeAdamW(ps, ScheduleFreeAdamWDefaults())
	require.NoError(t, err)
	defer o.Close()
	require.NoError(t, o.Train())
	require.NoError(t, o.Step())
	var good bytes.Buffer
	require.NoError(t, o.Save(&good))
	require.NoError(t, o.Eval())

	adam, err := NewAdam(sfParams(t, []int{5, 3}, 9), AdamDefaults())
	require.NoError(t, err)
	defer adam.Close()
	var foreign bytes.Buffer
	require.NoError(t, adam.Save(&foreign))

	hdr, payload, ok := splitCheckpoint(good.Bytes())
	require.True(t, ok)
	var h map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(hdr, &h))
	require.JSONEq(t, `{"train_mode": true}`, string(h["extra"]))
	forge := func(extra string) []byte {
		m := map[string]json.RawMessage{}
		for k, v := range h {
			m[k] = v
		}
		if extra == "" {
			delete(m, "extra")
		} else {
			m["extra"] = json.RawMessage(extra)
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return frameCheckpoint(b, payload)
	}
	cases := map[string][]byte{
		"adam":          foreign.Bytes(),
		"no mode":       forge(""),
		"null":          forge("null"),
		"empty":         forge("{}"),
		"not a bool":    forge(`{"train_mode": 1}`),
		"unknown field": forge(`{"train_mode": true, "mode": "train"}`),
		"not an object": forge(`[true]`),
	}
	for name, b := range cases {
		before := takeSnapshot(t, o, ps)
		err := o.Load(bytes.NewReader(b))
		require.ErrorIs(t, err, ErrCheckpoint, name)
		var ce *CheckpointError
		require.True(t, errors.As(err, &ce), name)
		requireUnchanged(t, before, o, ps, name)
		require.False(t, o.TrainMode(), name)
	}
	// The good one loads, mode included.
	require.NoError(t, o.Load(bytes.NewReader(good.Bytes())))
	require.True(t, o.TrainMode())
}

func TestScheduleFreeValidation(t *testing.T) {
	bad := map[string]func(*ScheduleFreeAdamWConfig){
		"lr":              func(c *ScheduleFreeAdamWConfig) { c.LR = -1 },
		"betas[0]":        func(c *ScheduleFreeAdamWConfig) { c.Beta1 = 0 },
		"betas[1]":        func(c *ScheduleFreeAdamWConfig) { c.Beta2 = 1 },
		"eps":             func(c *ScheduleFreeAdamWConfig) { c.Eps = math.NaN() },
		"weight_decay":    func(c *ScheduleFreeAdamWConfig) { c.WeightDecay = -0.1 },
		"warmup_steps":    func(c *ScheduleFreeAdamWConfig) { c.WarmupSteps = -1 },
		"r":               func(c *ScheduleFreeAdamWConfig) { c.R = math.Inf(1) },
		"weight_lr_power": func(c *ScheduleFreeAdamWConfig) { c.WeightLRPower = math.NaN() },
		"1-1/betas[0]":    func(c *ScheduleFreeAdamWConfig) { c.Beta1 = 1e-39 },
	}
	more := map[string]func(*ScheduleFreeAdamWConfig){
		"betas[0] one":       func(c *ScheduleFreeAdamWConfig) { c.Beta1 = 1 },
		"lr float32":         func(c *ScheduleFreeAdamWConfig) { c.LR = 1e39 },
		"eps rounds to zero": func(c *ScheduleFreeAdamWConfig) { c.Eps = 1e-46 },
	}
	ps := sfParams(t, []int{4}, 10)
	o, err := NewScheduleFreeAdamW(ps, ScheduleFreeAdamWDefaults())
	require.NoError(t, err)
	defer o.Close()
	for field, f := range bad {
		c := ScheduleFreeAdamWDefaults()
		f(&c)
		_, err := NewScheduleFreeAdamW(sfParams(t, []int{4}, 11), c)
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%s: %v", field, err)
		require.Equal(t, field, ce.Field)
		require.Equal(t, sfKind, ce.Optimizer)
		require.ErrorIs(t, o.SetConfig(0, c), ErrInvalidConfig, field)
	}
	for name, f := range more {
		c := ScheduleFreeAdamWDefaults()
		f(&c)
		_, err := NewScheduleFreeAdamW(sfParams(t, []int{4}, 11), c)
		require.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	require.ErrorIs(t, o.SetLR(-0.5), ErrInvalidConfig)
	require.Equal(t, 0.0025, o.LR())
	// What the reference accepts is accepted: negative r and weight_lr_power, eps 0.
	c := ScheduleFreeAdamWDefaults()
	c.R, c.WeightLRPower, c.Eps = -1.5, -0.5, 0
	require.NoError(t, o.SetConfig(0, c))
}

// A weight that leaves double's range (the reference raises OverflowError) or 0 raised
// to a negative weight_lr_power (ZeroDivisionError there) refuses the step before any
// group moves.
func TestScheduleFreeWeightOverflowRefused(t *testing.T) {
	ps := sfParams(t, []int{6}, 12)
	qs := sfParams(t, []int{5}, 13)
	ok := ScheduleFreeAdamWDefaults()
	huge := ScheduleFreeAdamWDefaults()
	huge.R = 700 // 2^700 is finite, 3^700 is not
	o, err := NewScheduleFreeAdamW(ps, ok)
	require.NoError(t, err)
	defer o.Close()
	require.NoError(t, o.AddParamGroup(qs, huge))
	all := append(append([]*Param{}, ps...), qs...)
	require.NoError(t, o.Train())
	require.NoError(t, o.Step())
	require.NoError(t, o.Step())
	before := takeSnapshot(t, o, all)
	err = o.Step()
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.Contains(t, err.Error(), "weight_sum after step 3 would be +Inf")
	requireUnchanged(t, before, o, all, "overflowing weight")

	zero := ScheduleFreeAdamWDefaults()
	zero.LR, zero.WeightLRPower = 0, -1
	o2, err := NewScheduleFreeAdamW(sfParams(t, []int{3}, 14), zero)
	require.NoError(t, err)
	defer o2.Close()
	require.NoError(t, o2.Train())
	require.ErrorIs(t, o2.Step(), ErrInvalidConfig)
	require.Zero(t, o2.StepCount(0, 0))
}

// GradScaler (no fused kernel: the gradients are unscaled in place first) and ClipStep
// give the bits of unscaling and clipping by hand; a skipped step changes nothing,
// weight_sum and lr_max included.
func TestScheduleFreeGradScalerAndClip(t *testing.T) {
	lengths := []int{19, 64, 2}
	cfg := ScheduleFreeAdamWConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, WarmupSteps: 2,
		WeightLRPower: 2}
	mk := func() (*ScheduleFreeAdamW, []*Param) {
		ps := sfParams(t, lengths, 15)
		o, err := NewScheduleFreeAdamW(ps, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { o.Close() })
		require.NoError(t, o.Train())
		return o, ps
	}
	const scale = 1024 // a power of two: scaling and unscaling are exact
	a, pa := mk()
	b, pb := mk()
	gs, err := NewGradScaler(GradScalerConfig{InitScale: scale, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 100})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(16, 16))
	for s := 0; s < 4; s++ {
		grads := sfSetGrads(t, rng, pa)
		for i, p := range pb {
			g := make([]float32, len(grads[i]))
			for j := range g {
				g[j] = grads[i][j] * scale
			}
			require.NoError(t, p.Grad.CopyFrom(g))
		}
		require.NoError(t, a.Step())
		stepped, err := gs.Step(b)
		require.NoError(t, err)
		require.True(t, stepped)
		for i := range pa {
			require.Equal(t, bitsOf(t, pa[i].Data), bitsOf(t, pb[i].Data), "GradScaler step %d param %d", s, i)
			require.Equal(t, bitsOf(t, pa[i].Grad), bitsOf(t, pb[i].Grad), "unscaled gradient %d", i)
		}
	}
	// A non-finite gradient: skipped, everything as it was (the gradients unscaled).
	sfSetGrads(t, rng, pb)
	require.NoError(t, pb[1].Grad.CopyFrom(append(make([]float32, 63), float32(math.Inf(1)))))
	before := takeSnapshot(t, b, nil)
	stepped, err := gs.Step(b)
	require.NoError(t, err)
	require.False(t, stepped)
	require.Equal(t, before.ckpt, takeSnapshot(t, b, nil).ckpt)

	// ClipStep against ClipGradNorm then Step.
	c, pc := mk()
	d, pd := mk()
	for s := 0; s < 3; s++ {
		grads := sfSetGrads(t, rng, pc)
		for i, p := range pd {
			require.NoError(t, p.Grad.CopyFrom(grads[i]))
		}
		require.NoError(t, c.ClipStep(0.5, 2))
		_, err := ClipGradNorm(pd, 0.5, 2, false)
		require.NoError(t, err)
		require.NoError(t, d.Step())
		for i := range pc {
			require.Equal(t, bitsOf(t, pd[i].Data), bitsOf(t, pc[i].Data), "ClipStep step %d param %d", s, i)
		}
	}
}

// SetCheckFinite: a step with a NaN gradient is skipped with params, state, step counts,
// weight_sum and lr_max unchanged, at the first step (z not yet taken) and later.
func TestScheduleFreeCheckFiniteSkips(t *testing.T) {
	ps := sfParams(t, []int{8, 33}, 17)
	o, err := NewScheduleFreeAdamW(ps, ScheduleFreeAdamWConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		WarmupSteps: 3, WeightLRPower: 2})
	require.NoError(t, err)
	defer o.Close()
	o.SetCheckFinite(true)
	require.NoError(t, o.Train())
	rng := rand.New(rand.NewPCG(18, 18))
	for s := 0; s < 3; s++ {
		if s > 0 {
			sfSetGrads(t, rng, ps)
			require.NoError(t, o.Step())
		}
		sfSetGrads(t, rng, ps)
		g := tensorValues(t, ps[1].Grad)
		g[5] = float32(math.NaN())
		require.NoError(t, ps[1].Grad.CopyFrom(g))
		k0, ws0, lm0 := sfHost(o, 0, 0)
		before := takeSnapshot(t, o, ps)
		require.ErrorIs(t, o.Step(), ErrNonFinite)
		requireUnchanged(t, before, o, ps, fmt.Sprintf("skipped step after %d", s))
		k1, ws1, lm1 := sfHost(o, 0, 0)
		require.Equal(t, [3]float64{float64(k0), ws0, lm0}, [3]float64{float64(k1), ws1, lm1})
	}
}

// AddParamGroup in train mode: the new group's params start fresh (z taken at their
// first step) and follow their own counts, bit for bit as an optimizer of their own.
func TestScheduleFreeAddParamGroupAndSetLR(t *testing.T) {
	cfg := ScheduleFreeAdamWConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WarmupSteps: 3, WeightLRPower: 2}
	cfg2 := cfg
	cfg2.LR, cfg2.WeightDecay = 0.02, 0.1
	ps := sfParams(t, []int{10}, 19)
	qs := sfParams(t, []int{7, 4}, 20)
	solo := sfParams(t, []int{7, 4}, 20)
	o, err := NewScheduleFreeAdamW(ps, cfg)
	require.NoError(t, err)
	defer o.Close()
	alone, err := NewScheduleFreeAdamW(solo, cfg2)
	require.NoError(t, err)
	defer alone.Close()
	require.NoError(t, o.Train())
	require.NoError(t, alone.Train())
	rng := rand.New(rand.NewPCG(21, 21))
	for s := 0; s < 2; s++ {
		sfSetGrads(t, rng, ps)
		require.NoError(t, o.Step())
	}
	require.NoError(t, o.AddParamGroup(qs, cfg2))
	for s := 0; s < 5; s++ {
		sfSetGrads(t, rng, ps)
		grads := sfSetGrads(t, rng, qs)
		for i, p := range solo {
			require.NoError(t, p.Grad.CopyFrom(grads[i]))
		}
		if s == 3 {
			// A schedule's change of lr between steps.
			require.NoError(t, o.SetGroupLR(1, 0.005))
			require.NoError(t, alone.SetLR(0.005))
		}
		require.NoError(t, o.Step())
		require.NoError(t, alone.Step())
	}
	require.NoError(t, o.Eval())
	require.NoError(t, alone.Eval())
	for i := range qs {
		require.Equal(t, bitsOf(t, solo[i].Data), bitsOf(t, qs[i].Data), "param %d", i)
	}
	require.Equal(t, int64(7), o.StepCount(0, 0))
	require.Equal(t, int64(5), o.StepCount(1, 0))
	_, _, lm := sfHost(o, 1, 0)
	require.Equal(t, 0.02, lm)
}

// State answers the reference's names: the tensors z and exp_avg_sq, and weight_sum and
// lr_max (as float32).
func TestScheduleFreeStateNames(t *testing.T) {
	ps := sfParams(t, []int{3}, 22)
	o, err := NewScheduleFreeAdamW(ps, ScheduleFreeAdamWDefaults())
	require.NoError(t, err)
	defer o.Close()
	z, err := o.State(0, 0, "z")
	require.NoError(t, err)
	require.Equal(t, []float32{0, 0, 0}, z)
	ws, err := o.State(0, 0, "weight_sum")
	require.NoError(t, err)
	require.Equal(t, []float32{0}, ws)
	lm, err := o.State(0, 0, "lr_max")
	require.NoError(t, err)
	require.Equal(t, []float32{-1}, lm)
	init := tensorValues(t, ps[0].Data)
	require.NoError(t, o.Train())
	require.NoError(t, o.Step())
	lm, err = o.State(0, 0, "lr_max")
	require.NoError(t, err)
	require.Equal(t, []float32{0.0025}, lm)
	ws, err = o.State(0, 0, "weight_sum")
	require.NoError(t, err)
	require.Equal(t, []float32{float32(0.0025 * 0.0025)}, ws)
	_, err = o.State(0, 0, "exp_avg")
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.NotEqual(t, init, tensorValues(t, ps[0].Data))
}

// Train and Eval on a closed optimizer, on one its constructor did not make, and with
// a broken param: errors, no panics, nothing moved.
func TestScheduleFreeMisuse(t *testing.T) {
	var zero ScheduleFreeAdamW
	require.ErrorIs(t, zero.Train(), ErrInvalidArgument)
	require.ErrorIs(t, zero.Eval(), ErrInvalidArgument)
	require.False(t, zero.TrainMode())
	var nilOpt *ScheduleFreeAdamW
	require.ErrorIs(t, nilOpt.Train(), ErrInvalidArgument)
	require.False(t, nilOpt.TrainMode())

	ps := sfParams(t, []int{4, 4}, 23)
	o, err := NewScheduleFreeAdamW(ps, ScheduleFreeAdamWDefaults())
	require.NoError(t, err)
	require.NoError(t, o.Train())
	require.NoError(t, o.Step())

	// A param whose Data went missing, then one whose data is another's gradient.
	data := ps[1].Data
	ps[1].Data = nil
	require.ErrorIs(t, o.Eval(), ErrNilParam)
	require.True(t, o.TrainMode())
	ps[1].Data = ps[0].Grad
	before := tensorValues(t, ps[0].Data)
	require.ErrorIs(t, o.Eval(), ErrInvalidArgument)
	require.Equal(t, before, tensorValues(t, ps[0].Data))
	require.True(t, o.TrainMode())
	// A closed data tensor.
	other := sfParams(t, []int{4}, 24)
	require.NoError(t, other[0].Data.Close())
	ps[1].Data = other[0].Data
	require.ErrorIs(t, o.Eval(), ErrClosed)
	ps[1].Data = data
	require.NoError(t, o.Eval())

	require.NoError(t, o.Close())
	require.ErrorIs(t, o.Train(), ErrClosed)
	require.ErrorIs(t, o.Eval(), ErrClosed)
	require.False(t, o.TrainMode())
}

// Train, Eval, Step, Save and TrainMode from several goroutines at once: every call
// succeeds or fails with an error, under the race detector.
func TestScheduleFreeConcurrentModeSwitches(t *testing.T) {
	ps := sfParams(t, []int{64, 5}, 25)
	o, err := NewScheduleFreeAdamW(ps, ScheduleFreeAdamWDefaults())
	require.NoError(t, err)
	defer o.Close()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				switch (w + i) % 5 {
				case 0:
					_ = o.Train()
				case 1:
					_ = o.Eval()
				case 2:
					if err := o.Step(); err != nil && !errors.Is(err, ErrInvalidArgument) {
						t.Errorf("Step: %v", err)
					}
				case 3:
					var buf bytes.Buffer
					if err := o.Save(&buf); err != nil {
						t.Errorf("Save: %v", err)
					}
				default:
					_ = o.TrainMode()
				}
			}
		}(w)
	}
	wg.Wait()
}

// The binding's lerp refuses a slot outside the state slots before the C call (a Go int
// past int32 would otherwise wrap into range) and the C library refuses it too.
func TestScheduleFreeLerpStateSlot(t *testing.T) {
	ctx, err := engine()
	require.NoError(t, err)
	l := binding.NewList(1)
	defer l.Free()
	for _, slot := range []int{-1, binding.MaxState, math.MaxInt} {
		require.ErrorIs(t, ctx.LerpState(l, slot, 0.5), ErrInvalidArgument, "slot %d", slot)
	}
	require.NoError(t, ctx.LerpState(l, 0, 0.5)) // an empty list
}
