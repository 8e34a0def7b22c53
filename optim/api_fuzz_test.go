package optim_test

// FuzzAPISequence is a stateful fuzz target over the whole public API, used as an
// outside program would use it. The input is a program: a sequence of operations
// (make tensors of every kind, views, writes, copies, Gemm, optimizers of every kind
// with random and out-of-range hyperparameters, param groups, steps, clipping, loss
// scaling, checkpoints, schedules, field assignments that alias tensors, Close of
// anything in any order, runtime.GC). Each input runs twice:
//
//  1. Concurrently: apiWorkers goroutines run the same program over one shared table
//     of objects while another goroutine calls runtime.GC in a loop. The table is
//     guarded by a mutex, the library calls are made outside it, so they race. The
//     program keeps to the package's documented concurrency contract (doc.go,
//     "Concurrency"), enforced by apiGate: calls that read params (steps, clipping)
//     never overlap calls that write or close tensors, and field assignments and
//     writes through Float32s views overlap nothing. Everything else (tensor methods
//     with one another, every optimizer method, checkpoints, optimizer Close) races
//     freely.
//  2. Sequentially (one goroutine), with checks: a call that returns an error must
//     change nothing (params, grads, state, step counts, configs, lrs: exact bits),
//     a skipped GradScaler step leaves params, state and step counts as they were,
//     a corrupted or truncated checkpoint is refused, an own checkpoint loads back
//     to the same state, and the scenario op (apiScenario) builds a fresh optimizer
//     and checks one refusal each (closed, aliased, mismatched and nil params, bad
//     configs, NaN lrs, NaN/Inf gradients, foreign checkpoints, a finished schedule).
//
// Always: no panic (a recovered panic is reported with the op that raised it), no
// fatal error, and every error matches one of the package's exported sentinels.
//
// `go test` runs the committed seeds (testdata/fuzz/FuzzAPISequence); they cover every
// op and every scenario (TestAPISequenceSeedsCoverEveryOp). GOPTIM_WRITE_FUZZ_SEEDS=1
// go test -run TestWriteAPISequenceSeeds regenerates them from apiSeedPrograms.
// GOPTIM_FUZZ_TRACE=1 prints each op (and each error) to stderr as it runs, to find
// the op a fatal error or a crash in C came from; GOPTIM_APISEQ_N=1000 go test -run
// TestAPISequenceMutations runs mutated seeds in one process, where such a crash
// prints (a -fuzz worker's does not).
//
// An input takes 10-100 ms (phase 1 collects garbage all the time), so fuzz with a
// small minimization budget, or the coordinator spends a minute minimizing each new
// interesting input and the exec count seems to stall:
//
//	go test -run '^$' -fuzz FuzzAPISequence -fuzztime 2000x -fuzzminimizetime 5x ./optim/

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

const (
	apiMaxOps  = 200  // ops per input
	apiMaxLen  = 4096 // the largest tensor an op makes (bad sizes aside)
	apiWorkers = 3    // goroutines running the program at once in phase 1
)

var apiTrace = os.Getenv("GOPTIM_FUZZ_TRACE") != ""

func FuzzAPISequence(f *testing.F) {
	f.Fuzz(apiRunInput)
}

// apiRunInput runs one input: phase 1 (concurrent), then phase 2 (checks).
func apiRunInput(t *testing.T, data []byte) {
	prog := apiParse(data)
	if len(prog) == 0 {
		return
	}

	// Phase 1: the program from several goroutines over shared objects, with a
	// collector running all the time.
	e := newAPIEnv(t, false)
	stop := make(chan struct{})
	var gcDone sync.WaitGroup
	gcDone.Add(1)
	go func() {
		defer gcDone.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				// A breath between collections: back to back, the sweeps that
				// runtime.GC waits for take most of the CPU from the calls under test.
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	var workers sync.WaitGroup
	for w := 0; w < apiWorkers; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			e.run(w, prog)
		}()
	}
	workers.Wait()
	close(stop)
	gcDone.Wait()
	e.cleanup()
	if t.Failed() {
		return
	}

	// Phase 2: the same program in one goroutine, checking that refused calls
	// change nothing.
	e = newAPIEnv(t, true)
	e.run(0, prog)
	e.cleanup()
}

// ---------------------------------------------------------------- decoding

// apiInstr is one op of a program and its argument bytes (always apiOps[code].nargs
// of them, zero past the end of the input).
type apiInstr struct {
	code int
	args []byte
}

// apiParse splits an input into ops: an op byte (modulo the number of ops) and as
// many argument bytes as the op takes. The split depends on the bytes only, so a
// program is the same in every goroutine and in both phases.
func apiParse(data []byte) []apiInstr {
	var prog []apiInstr
	for i := 0; i < len(data) && len(prog) < apiMaxOps; {
		code := int(data[i]) % len(apiOps)
		i++
		args := make([]byte, apiOps[code].nargs)
		if i < len(data) {
			copy(args, data[i:])
		}
		i += len(args)
		prog = append(prog, apiInstr{code, args})
	}
	return prog
}

// apiFloats are the interesting values a float argument byte below 32 stands for;
// bytes from 32 on give ordinary values in [0, 3.5].
var apiFloats = [32]float64{
	0, 1, -1, 0.5, 0.9, 0.99, 0.999, 1e-3,
	1e-2, 0.1, 2, 10, 1e-8, 1e-10, 1e39, -1e39,
	1e300, math.MaxFloat32, 5e-324, 1e-45, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1),
	0.25, 3, 65536, 1e10, -1e-3, 100, 1e-30, 0.75,
}

func apiF64(b byte) float64 {
	if b < 32 {
		return apiFloats[b]
	}
	return float64(b-32) / 64
}

func apiF32(b byte) float32 { return float32(apiF64(b)) }

var apiSizes = [...]int{0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128,
	255, 256, 257, 1000, 1023, 1024, 1025, 2048, 4095, apiMaxLen}

// apiSize is a tensor length: mostly valid, rarely negative or far too large.
func apiSize(b byte) int {
	switch b {
	case 255:
		return -1
	case 254:
		return 1 << 62
	case 253:
		return math.MaxInt
	}
	return apiSizes[int(b)%len(apiSizes)]
}

// apiLen is a valid length (for slices the program makes itself).
func apiLen(b byte) int { return apiSizes[int(b)%len(apiSizes)] }

// apiIndex is a group or param index: mostly 0-3, rarely out of any range.
func apiIndex(b byte) int {
	switch b {
	case 255:
		return -1
	case 254:
		return math.MaxInt
	case 253:
		return math.MinInt
	case 252:
		return 1 << 40
	}
	return int(b) % 4
}

// apiDim is a Gemm dimension: small, rarely negative or large enough that products
// of two of them overflow int.
func apiDim(b byte) int {
	switch b {
	case 255:
		return -1
	case 254:
		return 1 << 32
	case 253:
		return 1 << 31
	case 252:
		return 1 << 33
	}
	return []int{0, 1, 2, 3, 4, 5, 8, 16, 33, 64}[int(b)%10]
}

// apiNormType is a norm type: 2 and +Inf (valid) most often.
func apiNormType(b byte) float64 {
	return []float64{2, math.Inf(1), 2, math.Inf(1), 1, 0, math.NaN(), math.Inf(-1), -2, 3}[int(b)%10]
}

// ---------------------------------------------------------------- the object table

// apiLife records whether the program closed a tensor (or the arena that owns it).
// It does not point to the tensor, so a view can outlive its tensor's last reference.
type apiLife struct {
	closed atomic.Bool
	arena  *apiLife // the owning arena's life, for arena views (Data, Grad, params')
}

func (l *apiLife) dead() bool {
	return l != nil && (l.closed.Load() || (l.arena != nil && l.arena.closed.Load()))
}

type apiTensor struct {
	t    *optim.Tensor
	life *apiLife
	what string
}

type apiView struct {
	v    []float32
	life *apiLife
}

type apiSlice struct{ s []float32 }

type apiArena struct {
	a    *optim.Arena
	life *apiLife
}

type apiScaler struct {
	mu sync.Mutex // a GradScaler is not safe for concurrent use
	s  *optim.GradScaler
}

type apiSched struct {
	mu  sync.Mutex // a schedule is not safe for concurrent use
	s   schedule.Scheduler
	opt *apiOpt
}

// apiEnv is one run's shared state. mu guards the tables (the slices, not what they
// point to); library calls are made outside it. lives maps tensors (weakly: the map
// keeps nothing alive) to what the program knows of them, for Param.Close and
// Float32s bookkeeping.
// apiMaxFiles caps SaveFile/LoadFile round trips per input.
const apiMaxFiles = 4

type apiEnv struct {
	t     *testing.T
	check bool // phase 2: single goroutine, refused calls must change nothing
	gate  apiGate

	mu      sync.Mutex
	tensors []*apiTensor
	views   []*apiView
	slices  []*apiSlice
	arenas  []*apiArena
	params  []*optim.Param
	opts    []*apiOpt
	scalers []*apiScaler
	scheds  []*apiSched
	ckpts   [][]byte
	lives   map[weak.Pointer[optim.Tensor]]*apiLife

	abort   atomic.Bool
	dirOnce sync.Once
	dir     string
	files   atomic.Int64
}

func newAPIEnv(t *testing.T, check bool) *apiEnv {
	e := &apiEnv{t: t, check: check, lives: map[weak.Pointer[optim.Tensor]]*apiLife{}}
	e.gate.cond.L = &e.gate.mu
	return e
}

// apiPick returns the entry of *s that b selects, or false if *s is empty.
func apiPick[T any](e *apiEnv, s *[]T, b byte) (T, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var zero T
	if len(*s) == 0 {
		return zero, false
	}
	return (*s)[int(b)%len(*s)], true
}

func apiAdd[T any](e *apiEnv, s *[]T, v ...T) {
	e.mu.Lock()
	defer e.mu.Unlock()
	*s = append(*s, v...)
}

func apiDrop[T any](e *apiEnv, s *[]T, b byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(*s) == 0 {
		return
	}
	i := int(b) % len(*s)
	*s = append((*s)[:i], (*s)[i+1:]...)
}

// addTensor registers a new tensor with a new life (owner: an arena's life or nil).
func (e *apiEnv) addTensor(t *optim.Tensor, owner *apiLife, what string) *apiTensor {
	at := &apiTensor{t: t, life: &apiLife{arena: owner}, what: what}
	e.mu.Lock()
	e.tensors = append(e.tensors, at)
	e.lives[weak.Make(t)] = at.life
	e.mu.Unlock()
	return at
}

func (e *apiEnv) lifeOf(t *optim.Tensor) *apiLife {
	if t == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lives[weak.Make(t)]
}

// paramList is a list of params from the table: a[0] says how many (0-4), a[1] where
// to start, a[2] the stride and whether to put in a nil or a duplicate.
func (e *apiEnv) paramList(a []byte) []*optim.Param {
	n := int(a[0]) % 5
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*optim.Param
	if len(e.params) > 0 {
		stride := 1 + int(a[2]/32)%3
		for i := 0; i < n; i++ {
			out = append(out, e.params[(int(a[1])+i*stride)%len(e.params)])
		}
	}
	if a[2]%8 == 7 {
		if len(out) > 0 {
			out[int(a[1])%len(out)] = nil
		} else {
			out = append(out, nil)
		}
	}
	if (a[2]/8)%4 == 3 && len(out) > 0 {
		out = append(out, out[0])
	}
	return out
}

// ---------------------------------------------------------------- the gate

// apiGate keeps the program within the documented concurrency contract while letting
// everything else race. Classes: apiN (neutral: optimizer methods, checkpoints, tensor
// reads, constructors) runs alongside anything but apiX; apiP (calls that read params:
// Step, ClipStep, ZeroGrad, clipping, GradScaler.Step) runs alongside apiP and apiN;
// apiT (calls that write or close tensors: CopyFrom, Fill, Close, CopyTensor, Gemm)
// alongside apiT and apiN; apiX (field assignments, Go reads and writes through
// Float32s views) alone. A waiting apiX holds off new entries so it is not starved.
type apiGate struct {
	mu    sync.Mutex
	cond  sync.Cond
	n     [4]int
	waitX int
}

const (
	apiN = iota
	apiP
	apiT
	apiX
)

func (g *apiGate) ok(c int) bool {
	switch c {
	case apiX:
		return g.n == [4]int{}
	case apiP:
		return g.waitX == 0 && g.n[apiX] == 0 && g.n[apiT] == 0
	case apiT:
		return g.waitX == 0 && g.n[apiX] == 0 && g.n[apiP] == 0
	default:
		return g.waitX == 0 && g.n[apiX] == 0
	}
}

func (g *apiGate) lock(c int) {
	g.mu.Lock()
	if c == apiX {
		g.waitX++
	}
	for !g.ok(c) {
		g.cond.Wait()
	}
	if c == apiX {
		g.waitX--
	}
	g.n[c]++
	g.mu.Unlock()
}

func (g *apiGate) unlock(c int) {
	g.mu.Lock()
	g.n[c]--
	g.mu.Unlock()
	g.cond.Broadcast()
}

// with runs f inside the gate for class c.
func (e *apiEnv) with(c int, f func()) {
	e.gate.lock(c)
	defer e.gate.unlock(c)
	f()
}

// ---------------------------------------------------------------- checks

// apiSentinels are optim's sentinels and the schedules' own.
var apiSentinels = []error{
	optim.ErrInvalidConfig, optim.ErrShape, optim.ErrClosed, optim.ErrNilParam, optim.ErrNotHost,
	optim.ErrNonFinite, optim.ErrCheckpoint, optim.ErrOutOfMemory, optim.ErrBackend,
	optim.ErrInvalidArgument, optim.ErrUnsupported, schedule.ErrFinished,
}

// errOK reports an error that matches none of apiSentinels.
func (e *apiEnv) errOK(op string, err error) {
	if err == nil {
		return
	}
	if apiTrace {
		fmt.Fprintf(os.Stderr, "apiseq check=%v   %s: %v\n", e.check, op, err)
	}
	for _, s := range apiSentinels {
		if errors.Is(err, s) {
			return
		}
	}
	e.t.Errorf("%s: error %q (%T) matches no sentinel of package optim", op, err, err)
}

// expect (phase 2) requires err to match want.
func (e *apiEnv) expect(op string, err, want error) {
	e.errOK(op, err)
	if e.check && !errors.Is(err, want) {
		e.t.Errorf("%s: got error %v, want one matching %q", op, err, want)
	}
}

// same (phase 2) reports what a refused call changed. A step skipped for a NaN or
// Inf gradient (ErrNonFinite) keeps params, state and step counts (SetCheckFinite's
// doc) but may report the norm it computed: LastGradNorm is not compared then.
func (e *apiEnv) same(op string, err error, before, after apiSnap) {
	if !e.check {
		return
	}
	if errors.Is(err, optim.ErrNonFinite) {
		before, after = before.without("LastGradNorm"), after.without("LastGradNorm")
	}
	if d := before.diff(after); d != "" {
		e.t.Errorf("%s was refused (%v) but changed %s", op, err, d)
	}
}

// apiSnap is what a check compares: labelled strings and float bits.
type apiSnap []apiItem

type apiItem struct {
	k, s string
	v    []uint32
}

func (s *apiSnap) str(k, v string) { *s = append(*s, apiItem{k: k, s: v}) }

func (s *apiSnap) floats(k string, v []float32, err error) {
	if err != nil {
		s.str(k, "error: "+err.Error())
		return
	}
	bits := make([]uint32, len(v))
	for i, x := range v {
		bits[i] = math.Float32bits(x)
	}
	*s = append(*s, apiItem{k: k, v: bits})
}

func (s *apiSnap) tensor(k string, t *optim.Tensor) {
	if t == nil {
		s.str(k, "nil")
		return
	}
	v, err := t.Values()
	s.floats(k, v, err)
}

func (s apiSnap) without(k string) apiSnap {
	var out apiSnap
	for _, it := range s {
		if it.k != k {
			out = append(out, it)
		}
	}
	return out
}

func (s apiSnap) diff(o apiSnap) string {
	if len(s) != len(o) {
		return fmt.Sprintf("the number of items (%d, then %d)", len(s), len(o))
	}
	for i := range s {
		a, b := s[i], o[i]
		if a.k != b.k {
			return fmt.Sprintf("item %d (%q, then %q)", i, a.k, b.k)
		}
		if a.s != b.s {
			return fmt.Sprintf("%s from %q to %q", a.k, a.s, b.s)
		}
		if len(a.v) != len(b.v) {
			return fmt.Sprintf("%s: length from %d to %d", a.k, len(a.v), len(b.v))
		}
		for j := range a.v {
			if a.v[j] != b.v[j] {
				return fmt.Sprintf("%s[%d] from %v (%#08x) to %v (%#08x)", a.k, j,
					math.Float32frombits(a.v[j]), a.v[j], math.Float32frombits(b.v[j]), b.v[j])
			}
		}
	}
	return ""
}

// snapParams records the data and grads of params.
func apiSnapParams(ps []*optim.Param) apiSnap {
	var s apiSnap
	for i, p := range ps {
		k := "param " + strconv.Itoa(i)
		if p == nil {
			s.str(k, "nil")
			continue
		}
		s.tensor(k+" data", p.Data)
		s.tensor(k+" grad", p.Grad)
	}
	return s
}

type apiSnapMode struct {
	noData, noGrads bool
	// aliasAware leaves out the data of params whose memory overlaps a gradient of
	// the optimizer (a GradScaler's unscale writes the gradients, so such data).
	aliasAware bool
	// noNorm leaves out LastGradNorm (not in checkpoints).
	noNorm bool
}

// snap records everything an optimizer holds that a call could change.
func (o *apiOpt) snap(m apiSnapMode) apiSnap {
	var s apiSnap
	n := o.o.NumGroups()
	s.str("groups", strconv.Itoa(n))
	if !m.noNorm {
		ln, err := o.o.LastGradNorm()
		v := fmt.Sprintf("%#x", math.Float64bits(ln))
		if math.IsNaN(ln) {
			v = "NaN" // any payload
		}
		s.str("LastGradNorm", fmt.Sprintf("%s %v", v, err))
	}
	var grads [][2]uintptr
	if m.aliasAware {
		for g := 0; g < n; g++ {
			for _, p := range o.params(g) {
				if r, ok := apiRange(p.Grad); ok {
					grads = append(grads, r)
				}
			}
		}
	}
	for g := 0; g < n; g++ {
		kg := "group " + strconv.Itoa(g)
		s.str(kg+" config", o.config(g))
		lr := o.o.GroupLR(g)
		mom, ok := o.o.GroupMomentum(g)
		s.str(kg+" lr/momentum", fmt.Sprintf("%#x %#x %v", math.Float64bits(lr), math.Float64bits(mom), ok))
		for i, p := range o.params(g) {
			k := fmt.Sprintf("%s param %d", kg, i)
			s.str(k+" identity", fmt.Sprintf("%p", p))
			s.str(k+" steps", strconv.FormatInt(o.o.StepCount(g, i), 10))
			if !m.noData {
				if r, ok := apiRange(p.Data); m.aliasAware && ok && apiOverlaps(r, grads) {
					s.str(k+" data", "(overlaps a gradient)")
				} else {
					s.tensor(k+" data", p.Data)
				}
			}
			if !m.noGrads {
				s.tensor(k+" grad", p.Grad)
			}
			for _, name := range o.stateNames() {
				v, err := o.state(g, i, name)
				s.floats(k+" state "+name, v, err)
			}
		}
	}
	return s
}

func apiRange(t *optim.Tensor) ([2]uintptr, bool) {
	if t == nil {
		return [2]uintptr{}, false
	}
	p := uintptr(t.Ptr())
	if p == 0 || t.Len() == 0 {
		return [2]uintptr{}, false
	}
	return [2]uintptr{p, p + 4*uintptr(t.Len())}, true
}

func apiOverlaps(r [2]uintptr, rs [][2]uintptr) bool {
	for _, x := range rs {
		if r[0] < x[1] && x[0] < r[1] {
			return true
		}
	}
	return false
}

// optCall runs a call on an optimizer in gate class c; in phase 2, a refused call
// must leave the optimizer as it was.
func (e *apiEnv) optCall(op string, o *apiOpt, c int, f func() error) error {
	var before apiSnap
	if e.check {
		before = o.snap(apiSnapMode{})
	}
	var err error
	e.with(c, func() { err = f() })
	e.errOK(op, err)
	if e.check && err != nil {
		e.same(op, err, before, o.snap(apiSnapMode{}))
	}
	return err
}

// ---------------------------------------------------------------- optimizers

const (
	apiSGD = iota
	apiAdam
	apiAdamW
	apiAdagrad
	apiRMSprop
	apiKinds
)

var apiKindNames = [apiKinds]string{"sgd", "adam", "adamw", "adagrad", "rmsprop"}

type apiOpt struct {
	kind    int
	o       optim.Optimizer
	sgd     *optim.SGD
	adam    *optim.Adam
	adagrad *optim.Adagrad
	rms     *optim.RMSprop
}

// apiConfig decodes a config of kind from 8 bytes: a[0]%4 = 0 torch's defaults with
// the options a[0]'s high bits turn on, 1 the same with a random lr, 2 with one random
// option, 3 every option random (most often out of range).
func apiConfig(kind int, a []byte) any {
	m := a[0]
	bit := func(i uint) bool { return m&(1<<i) != 0 }
	set := func(fields []*float64) {
		switch m % 4 {
		case 1:
			*fields[0] = apiF64(a[1])
		case 2:
			*fields[int(a[2])%len(fields)] = apiF64(a[3])
		case 3:
			for i, f := range fields {
				*f = apiF64(a[1+i%7])
			}
		}
	}
	switch kind {
	case apiSGD:
		c := optim.SGDDefaults(0.01)
		if bit(4) {
			c.Momentum = 0.9
		}
		c.Nesterov = bit(5) && c.Momentum > 0
		c.Maximize = bit(6)
		if bit(7) {
			c.WeightDecay = 1e-2
		}
		set([]*float64{&c.LR, &c.Momentum, &c.Dampening, &c.WeightDecay})
		if m%4 == 3 {
			c.Nesterov = a[7]&1 != 0
		}
		return c
	case apiAdam, apiAdamW:
		c := optim.AdamDefaults()
		if kind == apiAdamW {
			c = optim.AdamWDefaults()
		}
		c.AMSGrad = bit(4)
		c.Maximize = bit(5)
		if bit(6) {
			c.WeightDecay = 0.1
		}
		set([]*float64{&c.LR, &c.Beta1, &c.Beta2, &c.Eps, &c.WeightDecay})
		return c
	case apiAdagrad:
		c := optim.AdagradDefaults()
		if bit(4) {
			c.LRDecay = 1e-3
		}
		if bit(5) {
			c.InitialAccumulatorValue = 0.1
		}
		c.Maximize = bit(6)
		if bit(7) {
			c.WeightDecay = 1e-2
		}
		set([]*float64{&c.LR, &c.LRDecay, &c.WeightDecay, &c.InitialAccumulatorValue, &c.Eps})
		return c
	default:
		c := optim.RMSpropDefaults()
		if bit(4) {
			c.Momentum = 0.9
		}
		c.Centered = bit(5)
		c.Maximize = bit(6)
		if bit(7) {
			c.WeightDecay = 1e-2
		}
		set([]*float64{&c.LR, &c.Alpha, &c.Eps, &c.WeightDecay, &c.Momentum})
		return c
	}
}

func apiNewOpt(kind int, ps []*optim.Param, cfg any) (*apiOpt, error) {
	switch kind {
	case apiSGD:
		o, err := optim.NewSGD(ps, cfg.(optim.SGDConfig))
		if err != nil {
			return nil, err
		}
		return &apiOpt{kind: kind, o: o, sgd: o}, nil
	case apiAdam, apiAdamW:
		mk := optim.NewAdam
		if kind == apiAdamW {
			mk = optim.NewAdamW
		}
		o, err := mk(ps, cfg.(optim.AdamConfig))
		if err != nil {
			return nil, err
		}
		return &apiOpt{kind: kind, o: o, adam: o}, nil
	case apiAdagrad:
		o, err := optim.NewAdagrad(ps, cfg.(optim.AdagradConfig))
		if err != nil {
			return nil, err
		}
		return &apiOpt{kind: kind, o: o, adagrad: o}, nil
	default:
		o, err := optim.NewRMSprop(ps, cfg.(optim.RMSpropConfig))
		if err != nil {
			return nil, err
		}
		return &apiOpt{kind: kind, o: o, rms: o}, nil
	}
}

func (o *apiOpt) addGroup(ps []*optim.Param, cfg any) error {
	switch {
	case o.sgd != nil:
		return o.sgd.AddParamGroup(ps, cfg.(optim.SGDConfig))
	case o.adam != nil:
		return o.adam.AddParamGroup(ps, cfg.(optim.AdamConfig))
	case o.adagrad != nil:
		return o.adagrad.AddParamGroup(ps, cfg.(optim.AdagradConfig))
	default:
		return o.rms.AddParamGroup(ps, cfg.(optim.RMSpropConfig))
	}
}

func (o *apiOpt) setConfig(g int, cfg any) error {
	switch {
	case o.sgd != nil:
		return o.sgd.SetConfig(g, cfg.(optim.SGDConfig))
	case o.adam != nil:
		return o.adam.SetConfig(g, cfg.(optim.AdamConfig))
	case o.adagrad != nil:
		return o.adagrad.SetConfig(g, cfg.(optim.AdagradConfig))
	default:
		return o.rms.SetConfig(g, cfg.(optim.RMSpropConfig))
	}
}

// config is group g's config as text.
func (o *apiOpt) config(g int) string {
	switch {
	case o.sgd != nil:
		return fmt.Sprintf("%#v", o.sgd.Config(g))
	case o.adam != nil:
		return fmt.Sprintf("%#v", o.adam.Config(g))
	case o.adagrad != nil:
		return fmt.Sprintf("%#v", o.adagrad.Config(g))
	default:
		return fmt.Sprintf("%#v", o.rms.Config(g))
	}
}

// params is group g's params.
func (o *apiOpt) params(g int) []*optim.Param {
	switch {
	case o.sgd != nil:
		return o.sgd.Params(g)
	case o.adam != nil:
		return o.adam.Params(g)
	case o.adagrad != nil:
		return o.adagrad.Params(g)
	default:
		return o.rms.Params(g)
	}
}

func (o *apiOpt) state(g, i int, name string) ([]float32, error) {
	switch {
	case o.sgd != nil:
		return o.sgd.State(g, i, name)
	case o.adam != nil:
		return o.adam.State(g, i, name)
	case o.adagrad != nil:
		return o.adagrad.State(g, i, name)
	default:
		return o.rms.State(g, i, name)
	}
}

// stateNames are torch's names of every state tensor the kind can keep (State fails
// for those a group does not keep; the snapshot records that too).
func (o *apiOpt) stateNames() []string {
	switch o.kind {
	case apiSGD:
		return []string{"momentum_buffer"}
	case apiAdam, apiAdamW:
		return []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
	case apiAdagrad:
		return []string{"sum"}
	default:
		return []string{"square_avg", "momentum_buffer", "grad_avg"}
	}
}

// ---------------------------------------------------------------- running

func (e *apiEnv) run(worker int, prog []apiInstr) {
	for i, in := range prog {
		if e.abort.Load() {
			return
		}
		e.exec(worker, i, in)
		if i%16 == 15 {
			runtime.GC()
		}
	}
}

func (e *apiEnv) exec(worker, i int, in apiInstr) {
	op := apiOps[in.code]
	defer func() {
		if r := recover(); r != nil {
			e.abort.Store(true)
			e.t.Errorf("worker %d op %d %s(% x): panic: %v\n%s", worker, i, op.name, in.args, r, debug.Stack())
		}
	}()
	if apiTrace {
		fmt.Fprintf(os.Stderr, "apiseq check=%v worker %d op %d: %s(% x)\n", e.check, worker, i, op.name, in.args)
	}
	op.run(e, in.args)
}

// cleanup closes what is left in the table (single goroutine, after the run).
func (e *apiEnv) cleanup() {
	for _, o := range e.opts {
		e.errOK("cleanup: optimizer Close", o.o.Close())
	}
	for _, at := range e.tensors {
		if at.life.arena == nil {
			e.errOK("cleanup: Tensor.Close", at.t.Close())
		}
	}
	for _, a := range e.arenas {
		e.errOK("cleanup: Arena.Close", a.a.Close())
	}
	for _, p := range e.params {
		e.errOK("cleanup: Param.Close", p.Close())
	}
}

type apiOp struct {
	name  string
	nargs int
	run   func(e *apiEnv, a []byte)
}

var apiOps []apiOp

// apiOpIndex maps an op's name to its code (for the seeds).
var apiOpIndex = map[string]int{}

func init() {
	apiOps = []apiOp{
		// ---- tensors
		{"NewTensor", 1, func(e *apiEnv, a []byte) {
			n := apiSize(a[0])
			t, err := optim.NewTensor(n)
			e.errOK("NewTensor", err)
			if err == nil {
				if t.Len() != n {
					e.t.Errorf("NewTensor(%d).Len() = %d", n, t.Len())
				}
				e.addTensor(t, nil, "new")
			} else if e.check && n >= 0 && n <= apiMaxLen {
				e.t.Errorf("NewTensor(%d): %v", n, err)
			}
		}},
		{"TensorFrom", 3, func(e *apiEnv, a []byte) {
			var data []float32
			if a[0]%2 == 0 {
				data = apiData(apiLen(a[1]), a[2])
			} else if s, ok := apiPick(e, &e.slices, a[1]); ok {
				data = s.s // read by TensorFrom in class apiN: no write to it runs meanwhile
			}
			var t *optim.Tensor
			var err error
			e.with(apiN, func() { t, err = optim.TensorFrom(data) })
			e.errOK("TensorFrom", err)
			if err == nil {
				e.addTensor(t, nil, "from")
			}
		}},
		{"WrapSlice", 3, func(e *apiEnv, a []byte) {
			var s []float32
			switch a[0] % 3 {
			case 0: // a new slice, kept by the program
				s = apiData(apiLen(a[1]), a[2])
				apiAdd(e, &e.slices, &apiSlice{s})
			case 1: // a kept slice again: two tensors over the same memory
				if ks, ok := apiPick(e, &e.slices, a[1]); ok {
					s = ks.s
				}
			case 2: // part of a kept slice: overlapping tensors
				if ks, ok := apiPick(e, &e.slices, a[1]); ok && len(ks.s) > 0 {
					off := int(a[2]) % len(ks.s)
					s = ks.s[off:]
					if a[2]%2 == 0 {
						s = s[:len(s)/2]
					}
				}
			}
			t, err := optim.WrapSlice(s)
			e.errOK("WrapSlice", err)
			if err == nil {
				e.addTensor(t, nil, "wrap")
			} else if e.check && !optim.OnDevice() {
				e.t.Errorf("WrapSlice(%d floats): %v", len(s), err)
			}
		}},
		{"NewArena", 6, func(e *apiEnv, a []byte) {
			n := int(a[0]) % 5
			sizes := make([]int, n)
			for i := range sizes {
				sizes[i] = apiSize(a[1+i])
			}
			var names []string
			switch a[5] % 3 {
			case 1:
				for i := range sizes {
					names = append(names, "a"+strconv.Itoa(i))
				}
			case 2:
				names = []string{"only"} // wrong count unless n == 1
			}
			ar, err := optim.NewArena(names, sizes)
			e.errOK("NewArena", err)
			if err != nil {
				return
			}
			e.addArena(ar)
		}},
		{"NewParam", 2, func(e *apiEnv, a []byte) {
			name := ""
			if a[1]%2 == 1 {
				name = "p" + strconv.Itoa(int(a[1]))
			}
			p, err := optim.NewParam(name, apiSize(a[0]))
			e.errOK("NewParam", err)
			if err != nil {
				return
			}
			e.addTensor(p.Data, nil, "param data")
			e.addTensor(p.Grad, nil, "param grad")
			apiAdd(e, &e.params, p)
		}},
		{"WrapParam", 2, func(e *apiEnv, a []byte) { // a Param of two wrapped Go slices
			n := apiLen(a[0])
			d, g := apiData(n, a[1]), apiData(n, a[1]+1)
			apiAdd(e, &e.slices, &apiSlice{d}, &apiSlice{g})
			td, err := optim.WrapSlice(d)
			e.errOK("WrapSlice", err)
			if err != nil {
				return
			}
			tg, err := optim.WrapSlice(g)
			e.errOK("WrapSlice", err)
			if err != nil {
				e.errOK("Tensor.Close", td.Close())
				return
			}
			e.addTensor(td, nil, "wrap param data")
			e.addTensor(tg, nil, "wrap param grad")
			apiAdd(e, &e.params, &optim.Param{Name: "w" + strconv.Itoa(n), Data: td, Grad: tg})
		}},
		{"ArenaParams", 1, func(e *apiEnv, a []byte) {
			if ar, ok := apiPick(e, &e.arenas, a[0]); ok {
				apiAdd(e, &e.params, ar.a.Params()...)
			}
		}},
		{"Float32s", 1, func(e *apiEnv, a []byte) { // keep a view
			if at, ok := apiPick(e, &e.tensors, a[0]); ok {
				v := at.t.Float32s()
				if v != nil {
					apiAdd(e, &e.views, &apiView{v, at.life})
				}
			}
		}},
		{"ViewWrite", 3, func(e *apiEnv, a []byte) { // write through a kept view (maybe of a dropped tensor)
			if v, ok := apiPick(e, &e.views, a[0]); ok {
				e.with(apiX, func() {
					if !v.life.dead() { // using a view after Close is the caller's bug
						apiWrite(v.v, int(a[1]), apiF32(a[2]))
					}
				})
			}
		}},
		{"ViewRead", 1, func(e *apiEnv, a []byte) {
			if v, ok := apiPick(e, &e.views, a[0]); ok {
				e.with(apiX, func() {
					if !v.life.dead() {
						var s float32
						for _, x := range v.v {
							s += x
						}
						_ = s
					}
				})
			}
		}},
		{"Float32sWrite", 3, func(e *apiEnv, a []byte) { // a fresh view, written at once
			at, ok := apiPick(e, &e.tensors, a[0])
			if !ok {
				return
			}
			e.with(apiX, func() {
				v := at.t.Float32s()
				dead := at.life.dead()
				if e.check && !optim.OnDevice() {
					if dead && v != nil {
						e.t.Errorf("Float32s of a closed %s tensor is not nil", at.what)
					}
					if !dead && v == nil && at.t.Len() > 0 {
						e.t.Errorf("Float32s of a live %s tensor of %d floats is nil", at.what, at.t.Len())
					}
				}
				if v != nil && !dead {
					apiWrite(v, int(a[1]), apiF32(a[2]))
				}
			})
		}},
		{"SliceWrite", 3, func(e *apiEnv, a []byte) { // write the Go slice under a WrapSlice
			if s, ok := apiPick(e, &e.slices, a[0]); ok {
				e.with(apiX, func() { apiWrite(s.s, int(a[1]), apiF32(a[2])) })
			}
		}},
		{"CopyFrom", 3, func(e *apiEnv, a []byte) {
			if at, ok := apiPick(e, &e.tensors, a[0]); ok {
				src := apiData(apiDelta(at.t.Len(), a[1]), a[2])
				e.with(apiT, func() { e.errOK("CopyFrom", at.t.CopyFrom(src)) })
			}
		}},
		{"CopyTo", 2, func(e *apiEnv, a []byte) {
			if at, ok := apiPick(e, &e.tensors, a[0]); ok {
				dst := make([]float32, apiDelta(at.t.Len(), a[1]))
				e.with(apiN, func() { e.errOK("CopyTo", at.t.CopyTo(dst)) })
			}
		}},
		{"Fill", 2, func(e *apiEnv, a []byte) {
			if at, ok := apiPick(e, &e.tensors, a[0]); ok {
				e.with(apiT, func() { e.errOK("Fill", at.t.Fill(apiF32(a[1]))) })
			}
		}},
		{"Values", 1, func(e *apiEnv, a []byte) {
			if at, ok := apiPick(e, &e.tensors, a[0]); ok {
				var v []float32
				var err error
				e.with(apiN, func() { v, err = at.t.Values() })
				e.errOK("Values", err)
				if err == nil && len(v) != at.t.Len() {
					e.t.Errorf("Values: %d floats of a tensor of %d", len(v), at.t.Len())
				}
				if e.check && err == nil && at.life.dead() {
					e.t.Errorf("Values of a closed %s tensor succeeded", at.what)
				}
			}
		}},
		{"CopyTensor", 2, func(e *apiEnv, a []byte) {
			dst, ok1 := apiPick(e, &e.tensors, a[0])
			src, ok2 := apiPick(e, &e.tensors, a[1])
			if ok1 && ok2 {
				e.with(apiT, func() { e.errOK("CopyTensor", optim.CopyTensor(dst.t, src.t)) })
			}
		}},
		{"Gemm", 9, func(e *apiEnv, a []byte) {
			pickT := func(b byte) *optim.Tensor {
				if b == 255 {
					return nil
				}
				if at, ok := apiPick(e, &e.tensors, b); ok {
					return at.t
				}
				return nil
			}
			ta, tb, tc := pickT(a[0]), pickT(a[1]), pickT(a[2])
			m, n, k := apiDim(a[3]), apiDim(a[4]), apiDim(a[5])
			e.with(apiT, func() {
				e.errOK("Gemm", optim.Gemm(a[6]&1 != 0, a[6]&2 != 0, m, n, k, apiF32(a[7]), ta, tb, apiF32(a[8]), tc))
			})
		}},
		{"TensorClose", 1, func(e *apiEnv, a []byte) {
			if at, ok := apiPick(e, &e.tensors, a[0]); ok {
				var err error
				e.with(apiT, func() {
					err = at.t.Close()
					if err == nil && at.life.arena == nil {
						at.life.closed.Store(true)
					}
				})
				e.errOK("Tensor.Close", err)
				if e.check && at.life.arena != nil && err == nil {
					// doc: "Closing an arena view is an error: close the Arena."
					e.t.Errorf("Tensor.Close of an arena's %s tensor succeeded, want an error", at.what)
				}
				if e.check && err == nil && at.life.arena == nil {
					if at.t.Float32s() != nil || at.t.Ptr() != nil {
						e.t.Errorf("Float32s or Ptr of a closed %s tensor is not nil", at.what)
					}
					_, verr := at.t.Values()
					e.expect("Values after Close", verr, optim.ErrClosed)
				}
			}
		}},
		{"ArenaClose", 1, func(e *apiEnv, a []byte) {
			if ar, ok := apiPick(e, &e.arenas, a[0]); ok {
				var err error
				e.with(apiT, func() {
					err = ar.a.Close()
					if err == nil {
						ar.life.closed.Store(true)
					}
				})
				e.errOK("Arena.Close", err)
				if e.check && err == nil {
					for i, p := range ar.a.Params() {
						// (its Data may have been reassigned to a tensor of another kind)
						if l := e.lifeOf(p.Data); l != nil && l.arena == ar.life && p.Data.Float32s() != nil {
							e.t.Errorf("Float32s of param %d of a closed arena is not nil", i)
						}
					}
				}
			}
		}},
		{"ParamClose", 1, func(e *apiEnv, a []byte) {
			if p, ok := apiPick(e, &e.params, a[0]); ok {
				var err error
				e.with(apiT, func() {
					d, g := e.lifeOf(p.Data), e.lifeOf(p.Grad)
					err = p.Close()
					if err == nil {
						for _, l := range []*apiLife{d, g} {
							if l != nil && l.arena == nil {
								l.closed.Store(true)
							}
						}
					}
				})
				e.errOK("Param.Close", err)
			}
		}},
		{"Drop", 2, func(e *apiEnv, a []byte) { // forget an object without closing it
			switch a[0] % 5 {
			case 0:
				apiDrop(e, &e.tensors, a[1])
			case 1:
				apiDrop(e, &e.params, a[1])
			case 2:
				apiDrop(e, &e.arenas, a[1])
			case 3:
				apiDrop(e, &e.opts, a[1])
			case 4:
				apiDrop(e, &e.slices, a[1])
			}
		}},
		{"ParamField", 3, func(e *apiEnv, a []byte) { // plain field assignments, aliasing
			p, ok := apiPick(e, &e.params, a[0])
			if !ok {
				return
			}
			var other *optim.Tensor
			if at, ok := apiPick(e, &e.tensors, a[2]); ok {
				other = at.t
			}
			q, _ := apiPick(e, &e.params, a[2])
			e.with(apiX, func() {
				switch a[1] % 10 {
				case 0:
					p.Grad = p.Data
				case 1:
					p.Grad = nil
				case 2:
					p.Data = nil
				case 3:
					p.Grad = other
				case 4:
					p.Data = other
				case 5:
					if q != nil {
						p.Data = q.Data // two params share a tensor
					}
				case 6:
					if q != nil {
						p.Grad = q.Grad
					}
				case 7:
					p.Data, p.Grad = p.Grad, p.Data
				case 8:
					p.Name = "n" + strconv.Itoa(int(a[2]))
				case 9:
					if q != nil {
						p.Grad = q.Data
					}
				}
			})
		}},
		{"GC", 0, func(e *apiEnv, a []byte) { runtime.GC() }},
		{"Misc", 2, func(e *apiEnv, a []byte) {
			switch a[0] % 6 {
			case 0:
				e.errOK("SetThreads", optim.SetThreads(int(a[1])%5-1))
			case 1:
				_ = optim.Threads()
			case 2:
				e.errOK("Synchronize", optim.Synchronize())
			case 3:
				_, _ = optim.Backend(), optim.OnDevice()
			case 4:
				isa := optim.ISAPortable
				if a[1]%2 == 0 {
					isa = optim.ISAAuto
				}
				e.errOK("SetISA", optim.SetISA(isa))
				_ = optim.CurrentISA()
			case 5:
				if at, ok := apiPick(e, &e.tensors, a[1]); ok {
					_, _ = at.t.Ptr(), at.t.Len()
				}
			}
		}},

		// ---- optimizers
		{"NewOptimizer", 12, func(e *apiEnv, a []byte) {
			kind := int(a[0]) % apiKinds
			ps := e.paramList(a[1:4])
			cfg := apiConfig(kind, a[4:12])
			var o *apiOpt
			var err error
			e.with(apiN, func() { o, err = apiNewOpt(kind, ps, cfg) })
			e.errOK("New"+apiKindNames[kind], err)
			if err == nil {
				apiAdd(e, &e.opts, o)
			}
		}},
		{"AddParamGroup", 12, func(e *apiEnv, a []byte) {
			o, ok := apiPick(e, &e.opts, a[0])
			if !ok {
				return
			}
			ps := e.paramList(a[1:4])
			cfg := apiConfig(o.kind, a[4:12])
			_ = e.optCall("AddParamGroup", o, apiN, func() error { return o.addGroup(ps, cfg) })
		}},
		{"Step", 1, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				_ = e.optCall("Step", o, apiP, o.o.Step)
			}
		}},
		{"ClipStep", 3, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				_ = e.optCall("ClipStep", o, apiP, func() error { return o.o.ClipStep(apiF64(a[1]), apiNormType(a[2])) })
			}
		}},
		{"ZeroGrad", 1, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				_ = e.optCall("ZeroGrad", o, apiP, o.o.ZeroGrad)
			}
		}},
		{"SetCheckFinite", 2, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				o.o.SetCheckFinite(a[1]%2 == 0)
			}
		}},
		{"SetGroupLR", 3, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				_ = e.optCall("SetGroupLR", o, apiN, func() error { return o.o.SetGroupLR(apiIndex(a[1]), apiF64(a[2])) })
			}
		}},
		{"SetLR", 2, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				_ = e.optCall("SetLR", o, apiN, func() error {
					switch {
					case o.sgd != nil:
						return o.sgd.SetLR(apiF64(a[1]))
					case o.adam != nil:
						return o.adam.SetLR(apiF64(a[1]))
					case o.adagrad != nil:
						return o.adagrad.SetLR(apiF64(a[1]))
					default:
						return o.rms.SetLR(apiF64(a[1]))
					}
				})
			}
		}},
		{"SetGroupMomentum", 3, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				_ = e.optCall("SetGroupMomentum", o, apiN, func() error {
					return o.o.SetGroupMomentum(apiIndex(a[1]), apiF64(a[2]))
				})
			}
		}},
		{"SetConfig", 10, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				cfg := apiConfig(o.kind, a[2:10])
				_ = e.optCall("SetConfig", o, apiN, func() error { return o.setConfig(apiIndex(a[1]), cfg) })
			}
		}},
		{"Getters", 4, func(e *apiEnv, a []byte) {
			o, ok := apiPick(e, &e.opts, a[0])
			if !ok {
				return
			}
			g, i := apiIndex(a[1]), apiIndex(a[2])
			names := append(o.stateNames(), "", "nope")
			e.with(apiN, func() {
				_ = o.o.NumGroups()
				_ = o.o.GroupLR(g)
				_ = o.o.StepCount(g, i)
				_, _ = o.o.GroupMomentum(g)
				_, err := o.o.LastGradNorm()
				e.errOK("LastGradNorm", err)
				_, err = o.state(g, i, names[int(a[3])%len(names)])
				e.errOK("State", err)
				_ = o.config(g) // the zero config and nil out of range
				_ = o.params(g)
				switch {
				case o.sgd != nil:
					_ = o.sgd.LR()
				case o.adam != nil:
					_ = o.adam.LR()
				case o.adagrad != nil:
					_ = o.adagrad.LR()
				default:
					_ = o.rms.LR()
				}
			})
		}},
		{"Save", 1, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				var buf bytes.Buffer
				var err error
				e.with(apiN, func() { err = o.o.Save(&buf) })
				e.errOK("Save", err)
				if err == nil {
					apiAdd(e, &e.ckpts, buf.Bytes())
				}
			}
		}},
		{"Load", 5, func(e *apiEnv, a []byte) { // any checkpoint, maybe damaged, into any optimizer
			o, ok1 := apiPick(e, &e.opts, a[0])
			ck, ok2 := apiPick(e, &e.ckpts, a[1])
			if !ok1 || !ok2 {
				return
			}
			b, damaged := apiDamage(ck, a[2], a[3], a[4])
			err := e.optCall("Load", o, apiN, func() error { return o.o.Load(bytes.NewReader(b)) })
			if e.check && damaged && err == nil {
				e.t.Errorf("Load of a damaged checkpoint (%s) succeeded", apiDamageName(a[2]))
			}
		}},
		{"SaveLoadBack", 1, func(e *apiEnv, a []byte) { // an own checkpoint loads back to the same state
			o, ok := apiPick(e, &e.opts, a[0])
			if !ok {
				return
			}
			var before apiSnap
			if e.check {
				before = o.snap(apiSnapMode{})
			}
			var buf bytes.Buffer
			var err error
			e.with(apiN, func() { err = o.o.Save(&buf) })
			e.errOK("Save", err)
			if err != nil {
				return
			}
			e.with(apiN, func() { err = o.o.Load(bytes.NewReader(buf.Bytes())) })
			e.errOK("Load of its own checkpoint", err)
			if e.check {
				if d := before.diff(o.snap(apiSnapMode{})); d != "" {
					e.t.Errorf("Save then Load (%v) of the same optimizer changed %s", err, d)
				}
			}
		}},
		{"OptimizerClose", 1, func(e *apiEnv, a []byte) {
			if o, ok := apiPick(e, &e.opts, a[0]); ok {
				e.with(apiN, func() { e.errOK("Optimizer.Close", o.o.Close()) })
			}
		}},
		{"SaveFileLoadFile", 2, func(e *apiEnv, a []byte) {
			o, ok1 := apiPick(e, &e.opts, a[0])
			o2, ok2 := apiPick(e, &e.opts, a[1])
			if !ok1 || !ok2 {
				return
			}
			// A save syncs the file to disk: a few per input keep an input well inside
			// the fuzzer's 10 s limit per execution on a loaded machine.
			if e.files.Load() >= apiMaxFiles {
				return
			}
			e.dirOnce.Do(func() { e.dir = e.t.TempDir() })
			path := filepath.Join(e.dir, fmt.Sprintf("ck%d", e.files.Add(1)))
			var err error
			e.with(apiN, func() { err = optim.SaveFile(o.o, path) })
			e.errOK("SaveFile", err)
			if err != nil {
				return
			}
			_ = e.optCall("LoadFile", o2, apiN, func() error { return optim.LoadFile(o2.o, path) })
		}},
		{"NewGradScaler", 4, func(e *apiEnv, a []byte) {
			cfg := optim.GradScalerDefaults()
			if a[0]%2 == 1 {
				cfg = optim.GradScalerConfig{InitScale: apiF64(a[1]), GrowthFactor: apiF64(a[2]), BackoffFactor: apiF64(a[3]),
					GrowthInterval: int(a[0]/2)%4 - 1}
			}
			s, err := optim.NewGradScaler(cfg)
			e.errOK("NewGradScaler", err)
			if err == nil {
				apiAdd(e, &e.scalers, &apiScaler{s: s})
			}
		}},
		{"GradScalerStep", 2, func(e *apiEnv, a []byte) {
			sc, ok1 := apiPick(e, &e.scalers, a[0])
			o, ok2 := apiPick(e, &e.opts, a[1])
			if !ok1 || !ok2 {
				return
			}
			// The scaler's lock is taken before the gate (as ScheduleStep's): nothing
			// holding the gate waits for it.
			sc.mu.Lock()
			defer sc.mu.Unlock()
			var full, kept apiSnap
			if e.check {
				full = o.snap(apiSnapMode{})
				kept = o.snap(apiSnapMode{noGrads: true, aliasAware: true})
			}
			var stepped bool
			var err error
			e.with(apiP, func() { stepped, err = sc.s.Step(o.o) })
			e.errOK("GradScaler.Step", err)
			_ = sc.s.Scale()
			if e.check && err != nil {
				e.same("GradScaler.Step", err, full, o.snap(apiSnapMode{}))
			} else if e.check && !stepped {
				if d := kept.diff(o.snap(apiSnapMode{noGrads: true, aliasAware: true})); d != "" {
					e.t.Errorf("GradScaler.Step skipped a step but changed %s", d)
				}
			}
		}},
		{"GradNorm", 4, func(e *apiEnv, a []byte) {
			ps := e.paramList(a[0:3])
			var err error
			e.with(apiP, func() { _, err = optim.GradNorm(ps, apiNormType(a[3])) })
			e.errOK("GradNorm", err)
		}},
		{"ClipGradNorm", 6, func(e *apiEnv, a []byte) {
			ps := e.paramList(a[0:3])
			var before apiSnap
			var err error
			e.with(apiP, func() {
				if e.check {
					before = apiSnapParams(ps)
				}
				_, err = optim.ClipGradNorm(ps, apiF64(a[3]), apiNormType(a[4]), a[5]%2 == 0)
			})
			e.errOK("ClipGradNorm", err)
			if e.check && err != nil {
				e.same("ClipGradNorm", err, before, apiSnapParams(ps))
			}
		}},
		{"ClipGradValue", 4, func(e *apiEnv, a []byte) {
			ps := e.paramList(a[0:3])
			var before apiSnap
			var err error
			e.with(apiP, func() {
				if e.check {
					before = apiSnapParams(ps)
				}
				err = optim.ClipGradValue(ps, apiF64(a[3]))
			})
			e.errOK("ClipGradValue", err)
			if e.check && err != nil {
				e.same("ClipGradValue", err, before, apiSnapParams(ps))
			}
		}},
		{"NewSchedule", 4, func(e *apiEnv, a []byte) {
			o, ok := apiPick(e, &e.opts, a[0])
			if !ok {
				return
			}
			var s schedule.Scheduler
			var err error
			e.with(apiN, func() {
				if a[1]%2 == 0 {
					var x *schedule.StepLR
					x, err = schedule.NewStepLR(o.o, schedule.StepLRConfig{StepSize: int(a[2])%4 - 1, Gamma: apiF64(a[3])})
					if err == nil {
						s = x
					}
				} else {
					var x *schedule.ExponentialLR
					x, err = schedule.NewExponentialLR(o.o, schedule.ExponentialLRConfig{Gamma: apiF64(a[3])})
					if err == nil {
						s = x
					}
				}
			})
			e.errOK("NewSchedule", err)
			if err == nil {
				apiAdd(e, &e.scheds, &apiSched{s: s, opt: o})
			}
		}},
		{"ScheduleStep", 1, func(e *apiEnv, a []byte) {
			sc, ok := apiPick(e, &e.scheds, a[0])
			if !ok {
				return
			}
			sc.mu.Lock()
			defer sc.mu.Unlock()
			var before apiSnap
			if e.check {
				before = sc.opt.snap(apiSnapMode{})
				before.str("LastLR", fmt.Sprint(apiBits(sc.s.LastLR())))
				before.str("LastEpoch", strconv.Itoa(sc.s.(interface{ LastEpoch() int }).LastEpoch()))
			}
			var err error
			e.with(apiN, func() { err = sc.s.Step() })
			e.errOK("Scheduler.Step", err)
			if e.check && err != nil {
				after := sc.opt.snap(apiSnapMode{})
				after.str("LastLR", fmt.Sprint(apiBits(sc.s.LastLR())))
				after.str("LastEpoch", strconv.Itoa(sc.s.(interface{ LastEpoch() int }).LastEpoch()))
				e.same("Scheduler.Step", err, before, after)
			}
		}},
		{"Scenario", 6, func(e *apiEnv, a []byte) { e.scenario(a) }},
	}
	for i, op := range apiOps {
		apiOpIndex[op.name] = i
	}
}

func (e *apiEnv) addArena(ar *optim.Arena) {
	life := &apiLife{}
	apiAdd(e, &e.arenas, &apiArena{ar, life})
	e.addTensor(ar.Data(), life, "arena data")
	e.addTensor(ar.Grad(), life, "arena grad")
	ps := ar.Params()
	for _, p := range ps {
		e.addTensor(p.Data, life, "arena param data")
		e.addTensor(p.Grad, life, "arena param grad")
	}
	apiAdd(e, &e.params, ps...)
}

// apiData is n deterministic floats (seeded by b), finite.
func apiData(n int, b byte) []float32 {
	if n < 0 || n > apiMaxLen {
		n = 0
	}
	d := make([]float32, n)
	for i := range d {
		d[i] = float32((i*7+int(b))%13)/4 - 1.5
	}
	return d
}

// apiDelta is n, or rarely n+1 or n-1 (a length that does not fit).
func apiDelta(n int, b byte) int {
	switch {
	case b%8 == 6:
		return n + 1
	case b%8 == 7 && n > 0:
		return n - 1
	}
	return n
}

// apiWrite writes v at a few places of s from off on.
func apiWrite(s []float32, off int, v float32) {
	if len(s) == 0 {
		return
	}
	for j := off % len(s); j < len(s) && j < off%len(s)+8; j++ {
		s[j] = v
	}
}

func apiBits(v []float64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = math.Float64bits(x)
	}
	return out
}

// apiDamage returns the checkpoint b, or a damaged copy: mode%4 = 0 as is, 1 one
// byte changed, 2 truncated, 3 with bytes appended. damaged: Load must refuse it.
func apiDamage(b []byte, mode, pos, val byte) (out []byte, damaged bool) {
	if len(b) == 0 {
		return b, false
	}
	out = append([]byte(nil), b...)
	p := (int(pos)*257 + int(val)) % len(out)
	switch mode % 4 {
	case 1:
		out[p] ^= 1 << (val % 8)
		return out, true
	case 2:
		return out[:p], true
	case 3:
		return append(out, val, pos), false
	}
	return out, false
}

func apiDamageName(mode byte) string {
	return []string{"intact", "one byte changed", "truncated", "bytes appended"}[mode%4]
}

// ---------------------------------------------------------------- scenarios

// apiPerturbations are the refusals apiScenario provokes, one per run.
var apiPerturbations = []string{
	"close grad", "close data", "alias grad=data", "grad of another length", "share data",
	"nil data", "damaged checkpoint", "truncated checkpoint", "bad config", "NaN lr",
	"non-finite grad with SetCheckFinite", "bad ClipStep args", "GradScaler skip",
	"bad AddParamGroup", "closed optimizer", "ZeroGrad with a closed grad",
	"ClipGradNorm non-finite", "foreign checkpoint", "schedule overflow", "checkpoint round trip",
}

// scenario builds two fresh params (NewParam, an Arena or WrapSlice: a[1]) of a[3]
// floats, a valid optimizer of kind a[0] over them, takes a step, then provokes one
// refusal (a[2], apiPerturbations) and (phase 2) checks that it is refused and
// changes nothing. Its objects join the table at the end for the ops that follow.
func (e *apiEnv) scenario(a []byte) {
	kind := int(a[0]) % apiKinds
	src := int(a[1]) % 3
	pert := int(a[2]) % len(apiPerturbations)
	n := 1 + int(a[3])%64
	val := a[5]
	name := fmt.Sprintf("scenario %s/%s/%s", apiKindNames[kind], []string{"NewParam", "Arena", "WrapSlice"}[src],
		apiPerturbations[pert])
	fail := func(what string, err error) {
		e.errOK(name+": "+what, err)
		if e.check && err != nil {
			e.t.Errorf("%s: %s: %v", name, what, err)
		}
	}

	var ps []*optim.Param
	var tensors []*apiTensor // to register at the end
	var arena *apiArena
	var ck bytes.Buffer // a checkpoint taken after the first step
	switch src {
	case 0:
		for i, sz := range []int{n, n + 3} {
			p, err := optim.NewParam("s"+strconv.Itoa(i), sz)
			if err != nil {
				fail("NewParam", err)
				return
			}
			ps = append(ps, p)
			tensors = append(tensors, &apiTensor{p.Data, &apiLife{}, "param data"}, &apiTensor{p.Grad, &apiLife{}, "param grad"})
		}
	case 1:
		ar, err := optim.NewArena([]string{"s0", "s1"}, []int{n, n + 3})
		if err != nil {
			fail("NewArena", err)
			return
		}
		arena = &apiArena{ar, &apiLife{}}
		ps = ar.Params()
		tensors = append(tensors, &apiTensor{ar.Data(), &apiLife{arena: arena.life}, "arena data"},
			&apiTensor{ar.Grad(), &apiLife{arena: arena.life}, "arena grad"})
		for _, p := range ps {
			tensors = append(tensors, &apiTensor{p.Data, &apiLife{arena: arena.life}, "arena param data"},
				&apiTensor{p.Grad, &apiLife{arena: arena.life}, "arena param grad"})
		}
	case 2:
		// WrapSlice; on the device backend, which must refuse it with ErrNotHost,
		// TensorFrom of the same Go slices.
		wrap := func(s []float32) (*optim.Tensor, error) {
			if !optim.OnDevice() {
				return optim.WrapSlice(s)
			}
			if t, err := optim.WrapSlice(s); !errors.Is(err, optim.ErrNotHost) {
				if err == nil {
					t.Close()
				}
				if e.check {
					e.t.Errorf("%s: WrapSlice on the %s backend: %v, want ErrNotHost", name, optim.Backend(), err)
				}
			}
			return optim.TensorFrom(s)
		}
		for i, sz := range []int{n, n + 3} {
			td, err := wrap(make([]float32, sz))
			if err != nil {
				fail("WrapSlice", err)
				return
			}
			tg, err := wrap(make([]float32, sz))
			if err != nil {
				fail("WrapSlice", err)
				return
			}
			ps = append(ps, &optim.Param{Name: "s" + strconv.Itoa(i), Data: td, Grad: tg})
			tensors = append(tensors, &apiTensor{td, &apiLife{}, "wrap data"}, &apiTensor{tg, &apiLife{}, "wrap grad"})
		}
	}
	lifeOf := func(t *optim.Tensor) *apiLife {
		for _, at := range tensors {
			if at.t == t {
				return at.life
			}
		}
		return nil
	}
	// What the scenario made joins the table when it is done (until then no other
	// goroutine can reach it, so it needs no gate).
	var opts []*apiOpt
	var scalers []*apiScaler
	var scheds []*apiSched
	defer func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, at := range tensors {
			e.tensors = append(e.tensors, at)
			e.lives[weak.Make(at.t)] = at.life
		}
		if arena != nil {
			e.arenas = append(e.arenas, arena)
		}
		e.params = append(e.params, ps...)
		e.opts = append(e.opts, opts...)
		e.scalers = append(e.scalers, scalers...)
		e.scheds = append(e.scheds, scheds...)
		e.ckpts = append(e.ckpts, ck.Bytes())
	}()
	// closeTensor closes a standalone tensor, or the arena of a view.
	closeTensor := func(t *optim.Tensor) {
		if arena != nil {
			fail("Arena.Close", arena.a.Close())
			arena.life.closed.Store(true)
			return
		}
		fail("Tensor.Close", t.Close())
		if l := lifeOf(t); l != nil {
			l.closed.Store(true)
		}
	}
	for i, p := range ps {
		fail("CopyFrom data", p.Data.CopyFrom(apiData(p.Data.Len(), byte(i))))
		fail("CopyFrom grad", p.Grad.CopyFrom(apiData(p.Grad.Len(), byte(i+5))))
	}
	cfg := apiConfig(kind, []byte{a[4] &^ 3, 0, 0, 0, 0, 0, 0, 0}) // torch's defaults and options: valid
	o, err := apiNewOpt(kind, ps, cfg)
	if err != nil {
		fail("New"+apiKindNames[kind], err)
		return
	}
	opts = append(opts, o)
	fail("first Step", o.o.Step())
	runtime.GC()
	fail("Save", o.o.Save(&ck))

	// refused runs f; it must fail matching want (nil: any error or none) and, if it
	// fails, change nothing.
	refused := func(what string, want error, f func() error) {
		var before apiSnap
		if e.check {
			before = o.snap(apiSnapMode{})
		}
		err := f()
		e.errOK(name+": "+what, err)
		if e.check && want != nil && !errors.Is(err, want) {
			e.t.Errorf("%s: %s: got %v, want an error matching %q", name, what, err, want)
		}
		if e.check && err != nil {
			e.same(name+": "+what, err, before, o.snap(apiSnapMode{}))
		}
	}
	p0, p1 := ps[0], ps[1]
	switch apiPerturbations[pert] {
	case "close grad":
		closeTensor(p0.Grad)
		refused("Step", optim.ErrClosed, o.o.Step)
	case "close data":
		closeTensor(p1.Data)
		refused("Step", optim.ErrClosed, o.o.Step)
		refused("ClipStep", optim.ErrClosed, func() error { return o.o.ClipStep(1, 2) })
	case "alias grad=data":
		p0.Grad = p0.Data
		refused("Step", nil, o.o.Step)
		runtime.GC()
		refused("Step", nil, o.o.Step)
	case "grad of another length":
		t, err := optim.NewTensor(n + 1)
		if err != nil {
			fail("NewTensor", err)
			return
		}
		tensors = append(tensors, &apiTensor{t, &apiLife{}, "new"})
		p0.Grad = t
		refused("Step", optim.ErrShape, o.o.Step)
		refused("ZeroGrad", optim.ErrShape, o.o.ZeroGrad)
	case "share data":
		p1.Data = p0.Data
		refused("Step", optim.ErrShape, o.o.Step)
	case "nil data":
		p0.Data = nil
		refused("Step", optim.ErrNilParam, o.o.Step)
		refused("ClipStep", optim.ErrNilParam, func() error { return o.o.ClipStep(1, math.Inf(1)) })
	case "damaged checkpoint":
		b, _ := apiDamage(ck.Bytes(), 1, val, a[4])
		refused("Load", optim.ErrCheckpoint, func() error { return o.o.Load(bytes.NewReader(b)) })
	case "truncated checkpoint":
		b, _ := apiDamage(ck.Bytes(), 2, val, a[4])
		refused("Load", optim.ErrCheckpoint, func() error { return o.o.Load(bytes.NewReader(b)) })
	case "bad config":
		bad := apiConfig(kind, []byte{2, 0, 0, 0, 0, 0, 0, 0}) // lr...
		switch c := bad.(type) {
		case optim.SGDConfig:
			c.LR = []float64{math.NaN(), -1, math.Inf(1)}[val%3]
			bad = c
		case optim.AdamConfig:
			c.Beta1 = []float64{1, -0.5, math.NaN()}[val%3]
			bad = c
		case optim.AdagradConfig:
			c.Eps = []float64{-1, math.Inf(1), math.NaN()}[val%3]
			bad = c
		case optim.RMSpropConfig:
			c.Alpha = []float64{-1, math.Inf(1), math.NaN()}[val%3]
			bad = c
		}
		refused("SetConfig", optim.ErrInvalidConfig, func() error { return o.setConfig(0, bad) })
		refused("AddParamGroup", optim.ErrInvalidConfig, func() error {
			q, err := optim.NewParam("q", 3)
			if err != nil {
				return err
			}
			tensors = append(tensors, &apiTensor{q.Data, &apiLife{}, "param data"}, &apiTensor{q.Grad, &apiLife{}, "param grad"})
			return o.addGroup([]*optim.Param{q}, bad)
		})
	case "NaN lr":
		refused("SetGroupLR NaN", optim.ErrInvalidConfig, func() error { return o.o.SetGroupLR(0, math.NaN()) })
		refused("SetGroupLR -1", optim.ErrInvalidConfig, func() error { return o.o.SetGroupLR(0, -1) })
		refused("SetGroupLR +Inf", optim.ErrInvalidConfig, func() error { return o.o.SetGroupLR(0, math.Inf(1)) })
		refused("SetGroupLR group 5", optim.ErrInvalidArgument, func() error { return o.o.SetGroupLR(5, 0.1) })
		refused("SetGroupLR group -1", optim.ErrInvalidArgument, func() error { return o.o.SetGroupLR(-1, 0.1) })
	case "non-finite grad with SetCheckFinite":
		o.o.SetCheckFinite(true)
		fail("Fill", p1.Grad.Fill([]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[val%3]))
		refused("Step", optim.ErrNonFinite, o.o.Step)
		refused("ClipStep", optim.ErrNonFinite, func() error { return o.o.ClipStep(1, 2) })
	case "bad ClipStep args":
		refused("ClipStep max_norm -1", optim.ErrInvalidConfig, func() error { return o.o.ClipStep(-1, 2) })
		refused("ClipStep max_norm NaN", optim.ErrInvalidConfig, func() error { return o.o.ClipStep(math.NaN(), 2) })
		refused("ClipStep norm_type 3", optim.ErrInvalidConfig, func() error { return o.o.ClipStep(1, 3) })
	case "GradScaler skip":
		s, err := optim.NewGradScaler(optim.GradScalerDefaults())
		if err != nil {
			fail("NewGradScaler", err)
			return
		}
		fail("Fill", p0.Grad.Fill(float32(math.Inf(1))))
		var kept apiSnap
		if e.check {
			kept = o.snap(apiSnapMode{noGrads: true, aliasAware: true})
		}
		stepped, err := s.Step(o.o)
		fail("GradScaler.Step", err)
		if e.check {
			if stepped {
				e.t.Errorf("%s: GradScaler.Step stepped over an Inf gradient", name)
			}
			if d := kept.diff(o.snap(apiSnapMode{noGrads: true, aliasAware: true})); d != "" {
				e.t.Errorf("%s: GradScaler.Step skipped a step but changed %s", name, d)
			}
			if s.Scale() != 32768 {
				e.t.Errorf("%s: the scale after a skipped step is %v, want 32768", name, s.Scale())
			}
		}
		scalers = append(scalers, &apiScaler{s: s})
	case "bad AddParamGroup":
		refused("AddParamGroup of a param already in", nil, func() error { return o.addGroup([]*optim.Param{p0}, cfg) })
		if e.check && o.o.NumGroups() != 1 {
			e.t.Errorf("%s: AddParamGroup of a param already in the optimizer was accepted", name)
		}
		refused("AddParamGroup nil", optim.ErrNilParam, func() error { return o.addGroup([]*optim.Param{nil}, cfg) })
		q, err := optim.NewParam("q", 2)
		if err != nil {
			fail("NewParam", err)
			return
		}
		fail("Param.Close", q.Close())
		refused("AddParamGroup closed", optim.ErrClosed, func() error { return o.addGroup([]*optim.Param{q}, cfg) })
	case "closed optimizer":
		fail("Close", o.o.Close())
		refused("Step", optim.ErrClosed, o.o.Step)
		refused("ZeroGrad", optim.ErrClosed, o.o.ZeroGrad)
		refused("SetGroupLR", optim.ErrClosed, func() error { return o.o.SetGroupLR(0, 0.5) })
		refused("Load", optim.ErrClosed, func() error { return o.o.Load(bytes.NewReader(ck.Bytes())) })
		refused("AddParamGroup", optim.ErrClosed, func() error { return o.addGroup(nil, cfg) })
		_, err := o.o.LastGradNorm()
		e.expect(name+": LastGradNorm", err, optim.ErrClosed)
		e.errOK(name+": Close again", o.o.Close())
	case "ZeroGrad with a closed grad":
		closeTensor(p1.Grad)
		refused("ZeroGrad", optim.ErrClosed, o.o.ZeroGrad)
	case "ClipGradNorm non-finite":
		fail("Fill", p0.Grad.Fill(float32(math.NaN())))
		var before apiSnap
		if e.check {
			before = apiSnapParams(ps)
		}
		_, err := optim.ClipGradNorm(ps, 1, []float64{2, math.Inf(1)}[val%2], true)
		e.expect(name+": ClipGradNorm", err, optim.ErrNonFinite)
		e.same(name+": ClipGradNorm", err, before, apiSnapParams(ps))
		norm, err := optim.GradNorm(ps, 2)
		fail("GradNorm", err)
		if e.check && !math.IsNaN(norm) {
			e.t.Errorf("%s: GradNorm over a NaN gradient = %v", name, norm)
		}
	case "foreign checkpoint":
		other := (kind + 1 + int(val)%(apiKinds-1)) % apiKinds
		q0, err := optim.NewParam("s0", n)
		if err != nil {
			fail("NewParam", err)
			return
		}
		q1, err := optim.NewParam("s1", n+3)
		if err != nil {
			fail("NewParam", err)
			return
		}
		tensors = append(tensors, &apiTensor{q0.Data, &apiLife{}, "param data"}, &apiTensor{q0.Grad, &apiLife{}, "param grad"},
			&apiTensor{q1.Data, &apiLife{}, "param data"}, &apiTensor{q1.Grad, &apiLife{}, "param grad"})
		o2, err := apiNewOpt(other, []*optim.Param{q0, q1}, apiConfig(other, []byte{0, 0, 0, 0, 0, 0, 0, 0}))
		if err != nil {
			fail("New"+apiKindNames[other], err)
			return
		}
		opts = append(opts, o2)
		var b bytes.Buffer
		fail("Save", o2.o.Save(&b))
		refused("Load of a "+apiKindNames[other]+" checkpoint", optim.ErrCheckpoint,
			func() error { return o.o.Load(bytes.NewReader(b.Bytes())) })
	case "schedule overflow":
		s, err := schedule.NewExponentialLR(o.o, schedule.ExponentialLRConfig{Gamma: 1e300})
		if err != nil {
			fail("NewExponentialLR", err)
			return
		}
		var got error
		for i := 0; i < 3; i++ {
			var before apiSnap
			lastLR, epoch := apiBits(s.LastLR()), s.LastEpoch()
			if e.check {
				before = o.snap(apiSnapMode{})
			}
			err := s.Step()
			e.errOK(name+": ExponentialLR.Step", err)
			if err != nil {
				got = err
				e.same(name+": ExponentialLR.Step", err, before, o.snap(apiSnapMode{}))
				if e.check && (fmt.Sprint(apiBits(s.LastLR())) != fmt.Sprint(lastLR) || s.LastEpoch() != epoch) {
					e.t.Errorf("%s: a refused ExponentialLR.Step changed LastLR or LastEpoch", name)
				}
			}
		}
		if e.check && !errors.Is(got, optim.ErrInvalidConfig) {
			e.t.Errorf("%s: lr*1e300*1e300 was accepted (last error %v)", name, got)
		}
		scheds = append(scheds, &apiSched{s: s, opt: o})
	case "checkpoint round trip":
		saved := o.snap(apiSnapMode{noData: true, noGrads: true, noNorm: true})
		fail("Step", o.o.Step())
		fail("Step", o.o.Step())
		fail("Load", o.o.Load(bytes.NewReader(ck.Bytes())))
		if e.check {
			if d := saved.diff(o.snap(apiSnapMode{noData: true, noGrads: true, noNorm: true})); d != "" {
				e.t.Errorf("%s: Load of the checkpoint saved two steps before did not restore %s", name, d)
			}
		}
	}
	runtime.GC()
}

// ---------------------------------------------------------------- seeds

// apiProg builds a seed program op by op.
type apiProg struct{ b []byte }

func (p *apiProg) op(name string, args ...byte) *apiProg {
	code, ok := apiOpIndex[name]
	if !ok {
		panic("no op " + name)
	}
	if len(args) > apiOps[code].nargs {
		panic(fmt.Sprintf("op %s takes %d args, got %d", name, apiOps[code].nargs, len(args)))
	}
	p.b = append(p.b, byte(code))
	p.b = append(p.b, args...)
	p.b = append(p.b, make([]byte, apiOps[code].nargs-len(args))...)
	return p
}

// apiF finds the byte that apiF64 decodes to v.
func apiF(v float64) byte {
	for b := 0; b < 256; b++ {
		x := apiF64(byte(b))
		if x == v || (math.IsNaN(v) && math.IsNaN(x)) {
			if v == 0 && math.Signbit(v) != math.Signbit(x) {
				continue
			}
			return byte(b)
		}
	}
	panic(fmt.Sprint("no byte for ", v))
}

// apiS finds the byte that apiSize decodes to n.
func apiS(n int) byte {
	for b := 0; b < 256; b++ {
		if apiSize(byte(b)) == n {
			return byte(b)
		}
	}
	panic(fmt.Sprint("no byte for size ", n))
}

// apiSeedPrograms are the committed seeds, by name.
func apiSeedPrograms() map[string][]byte {
	seeds := map[string][]byte{}

	// Tensors of every kind, views, copies, Gemm, closing and dropping.
	p := &apiProg{}
	p.op("NewTensor", apiS(16)).op("TensorFrom", 0, apiS(16), 3).op("WrapSlice", 0, apiS(16), 1).
		op("WrapSlice", 1, 0).op("WrapSlice", 2, 0, 5).op("TensorFrom", 1, 0).
		op("NewArena", 3, apiS(4), apiS(5), apiS(7), 0, 1).op("NewParam", apiS(8), 1).
		op("WrapParam", apiS(33), 2).op("ArenaParams", 0).
		op("Float32s", 0).op("Float32s", 2).op("Float32s", 6).op("ViewWrite", 0, 3, apiF(0.5)).
		op("ViewRead", 1).op("Float32sWrite", 1, 0, apiF(2)).op("SliceWrite", 0, 4, apiF(-1)).
		op("CopyFrom", 0, 0, 1).op("CopyFrom", 0, 6, 1).op("CopyTo", 1, 0).op("CopyTo", 1, 7).
		op("Fill", 2, apiF(math.NaN())).op("Values", 3).op("CopyTensor", 0, 1).op("CopyTensor", 0, 6).
		op("NewTensor", apiS(64)).op("NewTensor", apiS(64)).op("NewTensor", apiS(64)).
		op("Gemm", 255, 1, 2, 1, 1, 1).op("Misc", 5, 0).op("GC").
		op("Misc", 0, 3).op("Misc", 1).op("Misc", 2).op("Misc", 3).op("Misc", 4, 1).op("Misc", 4, 0).
		op("TensorClose", 0).op("Values", 0).op("TensorClose", 6).op("ArenaParams", 0).
		op("Drop", 0, 2).op("GC").op("ViewWrite", 2, 1, apiF(1)).op("ArenaClose", 0).op("ViewWrite", 2, 0, 1).
		op("ParamClose", 0).op("ParamClose", 4).op("Drop", 1, 0).op("Drop", 2, 0).op("Drop", 4, 0).
		op("NewTensor", apiS(-1)).op("NewTensor", apiS(1<<62)).op("NewArena", 2, apiS(-1), 1, 2).
		op("GC").op("CopyTo", 0, 0)
	seeds["tensors"] = p.b

	// Gemm over small matrices: 4x4 times 4x4, transposes, alpha and beta.
	p = &apiProg{}
	p.op("NewTensor", apiS(16)).op("TensorFrom", 0, apiS(16), 1).op("TensorFrom", 0, apiS(16), 2).
		op("Gemm", 1, 2, 0, 4, 4, 4, 0, apiF(1), apiF(0)).op("Gemm", 1, 2, 0, 4, 4, 4, 3, apiF(0.5), apiF(2)).
		op("Gemm", 1, 2, 0, 5, 8, 1, 0, apiF(1), apiF(1)).op("Gemm", 1, 2, 0, 255, 1, 1).
		op("Values", 0).op("TensorClose", 1).op("Gemm", 1, 2, 0, 1, 1, 1, 0, 1, 1)
	seeds["gemm"] = p.b

	// SGD with momentum over two params: steps, clipping, setters, getters,
	// checkpoints, StepLR, Close and use after Close.
	p = &apiProg{}
	p.op("NewParam", apiS(33), 1).op("NewParam", apiS(7), 0).
		op("Fill", 1, apiF(0.5)).op("Fill", 3, apiF(-1)).
		op("NewOptimizer", 0, 2, 0, 0, 0x10).op("Step", 0).op("Step", 0).
		op("ClipStep", 0, apiF(0.1), 0).op("ClipStep", 0, apiF(1), 1).op("ClipStep", 0, apiF(-1), 0).
		op("Getters", 0, 0, 0, 0).op("Getters", 0, 255, 254, 1).op("Getters", 0, 1, 0, 2).
		op("SetCheckFinite", 0, 0).op("Fill", 1, apiF(math.Inf(1))).op("Step", 0).op("SetCheckFinite", 0, 1).
		op("ZeroGrad", 0).op("SetGroupLR", 0, 0, apiF(0.1)).op("SetGroupLR", 0, 0, apiF(math.NaN())).
		op("SetGroupLR", 0, 3, apiF(0.1)).op("SetLR", 0, apiF(1e39)).op("SetLR", 0, apiF(-1)).
		op("SetGroupMomentum", 0, 0, apiF(0.5)).op("SetGroupMomentum", 0, 0, apiF(0)).
		op("SetConfig", 0, 0, 0x11).op("SetConfig", 0, 0, 0x01, apiF(math.NaN())).op("SetConfig", 0, 0, 0x00).
		op("Save", 0).op("Load", 0, 0).op("Load", 0, 0, 1, 3, 5).op("Load", 0, 0, 2, 9, 1).op("Load", 0, 0, 3).
		op("SaveLoadBack", 0).op("NewSchedule", 0, 0, 2, apiF(0.1)).op("ScheduleStep", 0).op("ScheduleStep", 0).
		op("NewSchedule", 0, 0, 0, apiF(0.1)).
		op("SaveFileLoadFile", 0, 0).op("OptimizerClose", 0).op("Step", 0).op("Load", 0, 0).op("ScheduleStep", 0).
		op("Getters", 0, 0, 0, 0).op("OptimizerClose", 0)
	seeds["sgd"] = p.b

	// Adam over an arena's params, a second group, GradScaler, clipping functions,
	// ExponentialLR with a large gamma, AdamW with lr 1e39.
	p = &apiProg{}
	p.op("NewArena", 3, apiS(16), apiS(3), apiS(100), 1).op("NewParam", apiS(5), 1).
		op("Fill", 1, apiF(0.25)).op("Fill", 7, apiF(2)).
		op("NewOptimizer", 1, 3, 0, 0, 0x10).op("AddParamGroup", 0, 1, 3, 0, 0x40).
		op("AddParamGroup", 0, 1, 0, 0).op("AddParamGroup", 0, 1, 3, 7, 3, apiF(2)).
		op("Step", 0).op("Getters", 0, 1, 0, 1).op("Getters", 0, 0, 2, 3).
		op("NewGradScaler", 0).op("GradScalerStep", 0, 0).op("Fill", 1, apiF(math.Inf(-1))).
		op("GradScalerStep", 0, 0).op("NewGradScaler", 1, apiF(1e39), apiF(2), apiF(0.5)).
		op("NewGradScaler", 5, apiF(2), apiF(10), apiF(0.5)).op("GradScalerStep", 1, 0).op("GradScalerStep", 1, 0).
		op("GradNorm", 4, 0, 0, 0).op("GradNorm", 4, 0, 0, 1).op("GradNorm", 2, 0, 0, 4).
		op("ClipGradNorm", 4, 0, 0, apiF(0.1), 0, 0).op("ClipGradNorm", 4, 0, 0, apiF(0.1), 1, 1).
		op("ClipGradNorm", 2, 0, 7, apiF(1), 0, 0).op("ClipGradValue", 4, 0, 0, apiF(0.5)).
		op("ClipGradValue", 3, 1, 0, apiF(-1)).op("ClipGradValue", 1, 0, 0, apiF(math.NaN())).
		op("NewSchedule", 0, 1, 0, apiF(1e39)).op("ScheduleStep", 0).op("ScheduleStep", 0).op("ScheduleStep", 0).
		op("NewOptimizer", 2, 1, 3, 0, 1, apiF(1e39)).op("Step", 1).op("Step", 1).op("Values", 7).
		op("Save", 0).op("Save", 1).op("Load", 1, 0).op("Load", 0, 1).op("SaveLoadBack", 1).
		op("ArenaClose", 0).op("Step", 0).op("ZeroGrad", 0).op("GC").op("OptimizerClose", 1)
	seeds["adam-arena"] = p.b

	// Adagrad and RMSprop over WrapSlice params, with the slices written in between
	// and the collector running.
	p = &apiProg{}
	p.op("WrapParam", apiS(64), 1).op("WrapParam", apiS(17), 2).op("WrapParam", apiS(4), 3).
		op("NewOptimizer", 3, 3, 0, 0, 0x30).op("NewOptimizer", 4, 2, 1, 0, 0x30).
		op("Step", 0).op("GC").op("Step", 1).op("SliceWrite", 1, 0, apiF(3)).op("Step", 0).op("GC").
		op("Step", 1).op("ClipStep", 1, apiF(1), 0).op("Float32s", 0).op("ViewWrite", 0, 2, apiF(0.5)).
		op("GC").op("Step", 0).op("Step", 1).op("Getters", 1, 0, 1, 2).op("Getters", 0, 0, 0, 0).
		op("NewOptimizer", 4, 1, 0, 0, 3, apiF(0.1), apiF(0.99), apiF(1e-8), apiF(0), apiF(0.9)).
		op("Step", 2).op("SetConfig", 1, 0, 0x00).op("SetConfig", 1, 0, 0x20).
		op("Drop", 1, 0).op("Drop", 4, 0).op("GC").op("Step", 0).op("GC").op("Step", 1)
	seeds["wrapslice"] = p.b

	// Aliasing: grad = data, two params sharing tensors, a grad of another length,
	// nil fields, closing tensors under an optimizer.
	p = &apiProg{}
	p.op("NewParam", apiS(8), 1).op("NewParam", apiS(8), 0).op("NewParam", apiS(16), 1).
		op("NewOptimizer", 0, 2, 0, 0, 0x10).op("NewOptimizer", 1, 1, 1, 0, 0).
		op("ParamField", 0, 0).op("Step", 0).op("ParamField", 1, 5, 0).op("Step", 0).op("Step", 1).
		op("ParamField", 1, 3, 4).op("Step", 0).op("ZeroGrad", 0).op("ParamField", 1, 6, 2).op("Step", 1).
		op("ParamField", 0, 7).op("ParamField", 2, 9, 0).op("ParamField", 2, 8, 3).
		op("Step", 0).op("ParamField", 0, 1).op("Step", 0).op("ParamField", 0, 2).op("Step", 0).op("ZeroGrad", 0).
		op("ParamField", 0, 4, 2).op("TensorClose", 3).op("Step", 1).op("ClipStep", 1, apiF(1), 0).
		op("GradNorm", 3, 0, 0, 0).op("ParamClose", 2).op("Step", 1).op("ClipGradValue", 3, 0, 0, apiF(1)).
		op("GC").op("Step", 0)
	seeds["aliasing"] = p.b

	// Every scenario (one refusal each), over the three kinds of params.
	p = &apiProg{}
	for i := range apiPerturbations {
		p.op("Scenario", byte(i), byte(i), byte(i), byte(7*i+1), byte(i*16)&0xF0, byte(i*37))
	}
	p.op("Step", 3).op("ScheduleStep", 0).op("GradScalerStep", 0, 1)
	seeds["scenarios"] = p.b

	// Out-of-range configs of every kind, including 1e39 and NaN.
	p = &apiProg{}
	p.op("NewParam", apiS(4), 1).op("NewParam", apiS(4), 0)
	for k := 0; k < apiKinds; k++ {
		p.op("NewOptimizer", byte(k), 2, 0, 0, 3, apiF(1e39), apiF(0.9), apiF(0.999), apiF(1e-8), apiF(0), apiF(0.5), 1).
			op("NewOptimizer", byte(k), 2, 0, 0, 3, apiF(math.NaN())).
			op("NewOptimizer", byte(k), 2, 0, 0, 2, 0, 1, apiF(-1e39)).
			op("NewOptimizer", byte(k), 2, 0, 0, 1, apiF(1e39))
	}
	p.op("Step", 0).op("Step", 1).op("Step", 2).op("Step", 3).op("Step", 4).
		op("Values", 0).op("NewGradScaler", 1, apiF(0), apiF(1), apiF(2)).op("NewGradScaler", 5, apiF(1e39), apiF(2), apiF(0.5)).
		op("NewSchedule", 0, 0, 0, apiF(-1)).op("NewSchedule", 0, 1, 0, apiF(math.NaN()))
	seeds["configs"] = p.b
	return seeds
}

// TestAPISequenceMutations runs GOPTIM_APISEQ_N inputs made by mutating the seeds
// (byte changes, splices, cuts; GOPTIM_APISEQ_SEED picks them) in one process, both
// phases each, and stops at the first failure. It is skipped unless GOPTIM_APISEQ_N is
// set. Unlike -fuzz, whose workers' output is not shown when they die, a fatal error
// or a crash in C prints here; with GOPTIM_FUZZ_TRACE=1 the last ops before it too.
// The input being run is in $TMPDIR/apiseq-last (a []byte for the fuzz corpus).
func TestAPISequenceMutations(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GOPTIM_APISEQ_N"))
	if n <= 0 {
		t.Skip("set GOPTIM_APISEQ_N to the number of inputs to run")
	}
	seed, _ := strconv.ParseUint(os.Getenv("GOPTIM_APISEQ_SEED"), 10, 64)
	r := rand.New(rand.NewPCG(seed, 1))
	var seeds [][]byte
	for _, b := range apiSeedPrograms() {
		seeds = append(seeds, b)
	}
	sort.Slice(seeds, func(i, j int) bool { return string(seeds[i]) < string(seeds[j]) })
	last := filepath.Join(os.TempDir(), "apiseq-last")
	for i := 0; i < n && !t.Failed(); i++ {
		b := append([]byte(nil), seeds[r.IntN(len(seeds))]...)
		for k := r.IntN(8); k >= 0; k-- {
			switch o := seeds[r.IntN(len(seeds))]; r.IntN(4) {
			case 0:
				if len(b) > 0 {
					b[r.IntN(len(b))] = byte(r.IntN(256))
				}
			case 1:
				if len(b) > 0 {
					b[r.IntN(len(b))] ^= 1 << r.IntN(8)
				}
			case 2: // splice in a piece of a seed
				s := r.IntN(len(o))
				e := s + r.IntN(len(o)-s)
				p := r.IntN(len(b) + 1)
				b = append(b[:p:p], append(append([]byte(nil), o[s:e]...), b[p:]...)...)
			case 3: // cut a piece out
				if len(b) > 2 {
					s := r.IntN(len(b))
					b = append(b[:s:s], b[s+r.IntN(len(b)-s):]...)
				}
			}
		}
		if err := os.WriteFile(last, []byte("go test fuzz v1\n[]byte("+strconv.Quote(string(b))+")\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		apiRunInput(t, b)
	}
}

// TestWriteAPISequenceSeeds writes apiSeedPrograms to testdata/fuzz/FuzzAPISequence
// when GOPTIM_WRITE_FUZZ_SEEDS=1.
func TestWriteAPISequenceSeeds(t *testing.T) {
	if os.Getenv("GOPTIM_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set GOPTIM_WRITE_FUZZ_SEEDS=1 to regenerate the seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzAPISequence")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range apiSeedPrograms() {
		if len(apiParse(b)) > apiMaxOps {
			t.Fatalf("seed %s has more than %d ops", name, apiMaxOps)
		}
		text := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAPISequenceSeedsCoverEveryOp checks that the committed seeds use every op and
// every scenario.
func TestAPISequenceSeedsCoverEveryOp(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzAPISequence", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds (%v)", err)
	}
	used := map[string]bool{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body, ok := strings.CutPrefix(string(text), "go test fuzz v1\n[]byte(")
		body, ok2 := strings.CutSuffix(strings.TrimSpace(body), ")")
		if !ok || !ok2 {
			t.Fatalf("%s: not a []byte seed", f)
		}
		b, err := strconv.Unquote(body)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, in := range apiParse([]byte(b)) {
			name := apiOps[in.code].name
			used[name] = true
			if name == "Scenario" {
				used["scenario "+apiPerturbations[int(in.args[2])%len(apiPerturbations)]] = true
			}
		}
	}
	var missing []string
	for _, op := range apiOps {
		if !used[op.name] {
			missing = append(missing, op.name)
		}
	}
	for _, s := range apiPerturbations {
		if !used["scenario "+s] {
			missing = append(missing, "scenario "+s)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the seeds never use %s (regenerate with GOPTIM_WRITE_FUZZ_SEEDS=1 after adding to apiSeedPrograms)",
			strings.Join(missing, ", "))
	}
}
