package optim

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/goptim/goptim/binding"
)

// LBFGSConfig holds torch.optim.LBFGS's options, with torch's names (the json tags) and
// defaults (LBFGSDefaults).
type LBFGSConfig struct {
	LR              float64 `json:"lr"`               // 1
	MaxIter         int     `json:"max_iter"`         // 20
	MaxEval         int     `json:"max_eval"`         // 0 means torch's None: max_iter*5/4
	ToleranceGrad   float64 `json:"tolerance_grad"`   // 1e-7
	ToleranceChange float64 `json:"tolerance_change"` // 1e-9
	HistorySize     int     `json:"history_size"`     // 100
	LineSearch      string  `json:"line_search_fn"`   // "" (none) or "strong_wolfe"
}

// LBFGSDefaults are torch's defaults.
func LBFGSDefaults() LBFGSConfig {
	return LBFGSConfig{LR: 1, MaxIter: 20, ToleranceGrad: 1e-7, ToleranceChange: 1e-9, HistorySize: 100}
}

// The line searches torch's LBFGS knows.
const (
	LineSearchNone        = ""
	LineSearchStrongWolfe = "strong_wolfe"
)

// Bounds beyond which the options make no sense and their arithmetic (max_iter*5/4,
// history buffers) would overflow.
const (
	lbfgsMaxIter    = 1 << 30
	lbfgsMaxHistory = 1 << 20
)

const lbfgsKind = "lbfgs"

func validateLBFGS(c LBFGSConfig) error {
	if !(c.LR >= 0) || c.LR > math.MaxFloat32 {
		return &ConfigError{Optimizer: lbfgsKind, Field: "lr", Value: c.LR,
			Reason: "must be >= 0 and at most the largest float32 (the step is applied in float32)"}
	}
	if c.MaxIter < 1 || c.MaxIter > lbfgsMaxIter {
		return &ConfigError{Optimizer: lbfgsKind, Field: "max_iter", Value: float64(c.MaxIter),
			Reason: fmt.Sprintf("must be in [1, %d]", lbfgsMaxIter)}
	}
	if c.MaxEval < 0 || c.MaxEval > lbfgsMaxIter {
		return &ConfigError{Optimizer: lbfgsKind, Field: "max_eval", Value: float64(c.MaxEval),
			Reason: fmt.Sprintf("must be in [1, %d], or 0 for torch's default max_iter*5/4", lbfgsMaxIter)}
	}
	if err := checkNonNeg(lbfgsKind, "tolerance_grad", c.ToleranceGrad); err != nil {
		return err
	}
	if err := checkNonNeg(lbfgsKind, "tolerance_change", c.ToleranceChange); err != nil {
		return err
	}
	if c.HistorySize < 1 || c.HistorySize > lbfgsMaxHistory {
		return &ConfigError{Optimizer: lbfgsKind, Field: "history_size", Value: float64(c.HistorySize),
			Reason: fmt.Sprintf("must be in [1, %d]", lbfgsMaxHistory)}
	}
	if c.LineSearch != LineSearchNone && c.LineSearch != LineSearchStrongWolfe {
		return &ConfigError{Optimizer: lbfgsKind, Field: "line_search_fn", Value: math.NaN(), Text: c.LineSearch,
			Reason: `must be "" (none) or "strong_wolfe"`}
	}
	return nil
}

// maxEval is the effective max_eval: torch's max_iter*5//4 when the option is 0 (None).
func (c LBFGSConfig) maxEval() int {
	if c.MaxEval == 0 {
		return c.MaxIter * 5 / 4
	}
	return c.MaxEval
}

// LBFGS is torch.optim.LBFGS (torch 2.6): limited-memory BFGS over all its params as one
// flat vector, with torch's options, defaults, state and numbers.
//
// One Step(closure) runs up to max_iter iterations (and at most max_eval evaluations of
// the closure, which computes the loss at the params' current values and writes every
// param's gradient into p.Grad; a nil Grad counts as zero, as torch's None):
//
//  1. Evaluate the closure at the params x; stop at once when max|g| <= tolerance_grad.
//  2. Each iteration: on the first ever, the direction is d = -g and the history is empty.
//     Otherwise y = g - g_prev and s = t*d_prev; when y·s > 1e-10 the pair enters the
//     history (the oldest leaves beyond history_size), with ρ = 1/(y·s) and the initial
//     inverse-Hessian scale H = y·s / y·y. The two-loop recursion then gives d = -H̃g:
//     q = -g; for the pairs newest first, α_i = ρ_i s_i·q, q -= α_i y_i; r = H q; for the
//     pairs oldest first, β_i = ρ_i y_i·r, r += (α_i - β_i) s_i; d = r.
//  3. The step length t is min(1, 1/Σ|g|)·lr on the first iteration ever and lr after.
//     Stop when the directional derivative g·d > -tolerance_change.
//  4. Without a line search, x += t*d and (unless this was the last iteration) the
//     closure is evaluated again. With "strong_wolfe", torch's line search (bracketing,
//     then zoom by safeguarded cubic interpolation; c1 = 1e-4, c2 = 0.9, at most 25
//     evaluations) chooses t, and x += t*d.
//  5. Stop after max_iter iterations or max_eval evaluations, when max|g| <=
//     tolerance_grad, when max|t*d| <= tolerance_change, or when the loss changed by less
//     than tolerance_change.
//
// The state (direction d, step t, the history old_dirs (y), old_stps (s) and ro, H_diag,
// prev_flat_grad, prev_loss, n_iter, func_evals) carries over from one Step to the next,
// as in torch. All vector arithmetic runs in backend memory (dot, axpy and scal of the
// backend's BLAS, gradient copies, the inf-norm of the clipping code); the host computes
// only scalars, with torch's mix of precisions: y·s, ρ, H_diag, α, β and g·d are float32
// (torch's 0-dim tensors), the loss and the line search's step lengths are float64 (Python
// floats) except where torch's arithmetic makes them float32 tensors, and that is
// followed operation by operation. Σ|g| (once, on the first iteration ever) is summed on
// the host in float64. Dot products are summed in the BLAS's order, not torch's, so
// trajectories agree with torch's to float32 rounding, not bit for bit (the golden test
// states the tolerance).
//
// torch's LBFGS has one param group; NumGroups is 1, and GroupLR/SetGroupLR take group 0,
// so the schedules of optim/schedule drive it (it is an LRGroups).
//
// A failed closure (or a backend error in the middle of a Step) returns its error and
// leaves the optimizer as if the Step had stopped after its last finished iteration:
// the params hold that iteration's values (a line search's trial point is undone), the
// state is that iteration's, and the next Step goes on from there. func_evals counts the
// evaluations of finished iterations (and each Step's first). An error of the first
// evaluation of a Step changes nothing. NaN losses and gradients are not caught; they
// flow through the comparisons as in torch (every comparison with NaN is false).
//
// Methods are safe for concurrent use. While Step runs, the closure (or another
// goroutine) may call LR, GroupLR, Config, Params, NumGroups and ZeroGrad; State, Save,
// Load, SetConfig, SetLR, SetGroupLR and Step fail with an error matching
// ErrInvalidArgument until Step returns; Close returns at once and the Step frees the
// memory on its way out (returning ErrClosed). On an error, Step returns the step's
// first loss when it was evaluated (else 0).
type LBFGS struct {
	mu       sync.Mutex
	cfg      LBFGSConfig
	params   []*Param
	numel    []int
	off      []int
	n        int
	closed   bool
	stepping bool // a Step is in progress (its closure may be running without mu)
	closeReq bool // Close was called during a Step: the Step frees on its way out

	// Backend buffers of n floats each. d[di] is the direction; d[1-di] receives the next
	// one, so that an iteration that fails leaves the committed one untouched.
	d     [2]*Tensor
	di    int
	grads []*Tensor // gathered flat gradients, reused; see freeGrad
	prev  int       // index into grads of prev_flat_grad, -1 when none
	x     *Tensor   // the params before a line search
	dirs  []*Tensor // old_dirs (y), oldest first
	stps  []*Tensor // old_stps (s)
	ro    []float32
	spare [2]*Tensor // the next y and s, before the test y·s > 1e-10 admits them
	norm  *Tensor    // one float: the inf-norm's output
	list  *binding.List

	hasD      bool
	t         pyNum
	hDiag     float32
	prevLoss  float64
	hasLoss   bool
	nIter     int64
	funcEvals int64
}

// pyNum is a number of torch's Python code: a Python float (float64) or a 0-dim float32
// tensor (tensor set, v holding a float32 value). Arithmetic between them follows torch:
// a Python float meeting a tensor is cast to float32 and the operation runs in float32;
// a Python float divided by a tensor is tensor.reciprocal() * float (Tensor.__rdiv__);
// comparisons with a tensor compare in float32.
type pyNum struct {
	v      float64
	tensor bool
}

func pyF(v float64) pyNum    { return pyNum{v: v} }
func pyT(v float32) pyNum    { return pyNum{v: float64(v), tensor: true} }
func (a pyNum) f32() float32 { return float32(a.v) }

// The float32 operations round each result to float32 (the explicit conversions also
// keep Go from fusing a multiply and an add).
func pyAdd(a, b pyNum) pyNum {
	if a.tensor || b.tensor {
		return pyT(float32(a.f32() + b.f32()))
	}
	return pyF(a.v + b.v)
}

func pySub(a, b pyNum) pyNum {
	if a.tensor || b.tensor {
		return pyT(float32(a.f32() - b.f32()))
	}
	return pyF(a.v - b.v)
}

func pyMul(a, b pyNum) pyNum {
	if a.tensor || b.tensor {
		return pyT(float32(a.f32() * b.f32()))
	}
	return pyF(a.v * b.v)
}

func pyDiv(a, b pyNum) pyNum {
	switch {
	case !a.tensor && b.tensor:
		return pyT(float32(float32(1/b.f32()) * a.f32()))
	case a.tensor || b.tensor:
		return pyT(float32(a.f32() / b.f32()))
	}
	return pyF(a.v / b.v)
}

func pyAbs(a pyNum) pyNum { return pyNum{v: math.Abs(a.v), tensor: a.tensor} }

// pyCmp compares as torch does: in float32 when a tensor takes part. ok is false when
// either side is NaN (every comparison is then false).
func pyCmp(a, b pyNum) (c int, ok bool) {
	x, y := a.v, b.v
	if a.tensor || b.tensor {
		x, y = float64(a.f32()), float64(b.f32())
	}
	if math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	return cmp.Compare(x, y), true
}

func pyLT(a, b pyNum) bool { c, ok := pyCmp(a, b); return ok && c < 0 }
func pyLE(a, b pyNum) bool { c, ok := pyCmp(a, b); return ok && c <= 0 }
func pyGT(a, b pyNum) bool { c, ok := pyCmp(a, b); return ok && c > 0 }
func pyGE(a, b pyNum) bool { c, ok := pyCmp(a, b); return ok && c >= 0 }

// pyMin and pyMax are Python's min(a, b) and max(a, b): the first argument unless the
// second compares below (above) it.
func pyMin(a, b pyNum) pyNum {
	if pyLT(b, a) {
		return b
	}
	return a
}

func pyMax(a, b pyNum) pyNum {
	if pyGT(b, a) {
		return b
	}
	return a
}

// cubicInterpolate is torch's _cubic_interpolate, with its types.
func cubicInterpolate(x1, f1, g1, x2, f2, g2 pyNum, bounds *[2]pyNum) pyNum {
	var xmin, xmax pyNum
	switch {
	case bounds != nil:
		xmin, xmax = bounds[0], bounds[1]
	case pyLE(x1, x2):
		xmin, xmax = x1, x2
	default:
		xmin, xmax = x2, x1
	}
	// d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
	d1 := pySub(pyAdd(g1, g2), pyDiv(pyMul(pyF(3), pySub(f1, f2)), pySub(x1, x2)))
	// d2_square = d1**2 - g1 * g2
	d2sq := pySub(pyMul(d1, d1), pyMul(g1, g2))
	if pyGE(d2sq, pyF(0)) {
		d2 := pyT(float32(math.Sqrt(float64(d2sq.f32()))))
		var minPos pyNum
		if pyLE(x1, x2) {
			minPos = pySub(x2, pyMul(pySub(x2, x1), pyDiv(pySub(pyAdd(g2, d2), d1), pyAdd(pySub(g2, g1), pyMul(pyF(2), d2)))))
		} else {
			minPos = pySub(x1, pyMul(pySub(x1, x2), pyDiv(pySub(pyAdd(g1, d2), d1), pyAdd(pySub(g1, g2), pyMul(pyF(2), d2)))))
		}
		return pyMin(pyMax(minPos, xmin), xmax)
	}
	return pyDiv(pyAdd(xmin, xmax), pyF(2))
}

// NewLBFGS makes an LBFGS over params (one group, as torch's) with cfg.
func NewLBFGS(params []*Param, cfg LBFGSConfig) (*LBFGS, error) {
	if err := validateLBFGS(cfg); err != nil {
		return nil, err
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("optim: %s: no params: %w", lbfgsKind, ErrInvalidArgument)
	}
	o := &LBFGS{cfg: cfg, prev: -1, hDiag: 1}
	seen := map[*Tensor]bool{}
	for i, p := range params {
		if p == nil || p.Data == nil {
			return nil, fmt.Errorf("optim: %s: param %d: %w", lbfgsKind, i, ErrNilParam)
		}
		if seen[p.Data] {
			return nil, fmt.Errorf("optim: %s: param %s appears twice: %w", lbfgsKind, p.label(i), ErrInvalidConfig)
		}
		seen[p.Data] = true
		n := p.Data.Len()
		if n > math.MaxInt-o.n {
			return nil, fmt.Errorf("optim: %s: the params add up to more than %d elements: %w", lbfgsKind, math.MaxInt, ErrShape)
		}
		o.params = append(o.params, p)
		o.numel = append(o.numel, n)
		o.off = append(o.off, o.n)
		o.n += n
	}
	if err := o.checkParams(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			o.free()
		}
	}()
	var err error
	for k := range o.d {
		if o.d[k], err = newBackendTensor(o.n, "LBFGS direction"); err != nil {
			return nil, err
		}
	}
	if o.norm, err = newBackendTensor(1, "LBFGS scratch"); err != nil {
		return nil, err
	}
	o.list = binding.NewList(1)
	// The C list of an optimizer dropped without Close is freed when it is collected
	// (its tensors have finalizers of their own).
	runtime.SetFinalizer(o, func(o *LBFGS) { o.list.Free() })
	ok = true
	return o, nil
}

// checkParams checks every param's lengths and that no two of their tensors share
// memory (a step would move shared memory twice, a gradient gather read a param).
func (o *LBFGS) checkParams() error {
	var h hold
	defer h.done()
	var spans []span
	for i, p := range o.params {
		if p == nil || p.Data == nil {
			return fmt.Errorf("optim: %s: param %d: %w", lbfgsKind, i, ErrNilParam)
		}
		if p.Data.Len() != o.numel[i] {
			return &ShapeError{Param: p.label(i), What: "data", Got: p.Data.Len(), Want: o.numel[i]}
		}
		if p.Grad != nil && p.Grad.Len() != o.numel[i] {
			return &ShapeError{Param: p.label(i), What: "grad", Got: p.Grad.Len(), Want: o.numel[i]}
		}
		for _, x := range []struct {
			t    *Tensor
			what string
		}{{p.Data, "data"}, {p.Grad, "grad"}} {
			if x.t == nil || x.t.n == 0 {
				continue
			}
			if !h.add(x.t.buf) {
				return fmt.Errorf("optim: %s: param %s: %s tensor: %w", lbfgsKind, p.label(i), x.what, ErrClosed)
			}
			lo := x.t.addr()
			spans = append(spans, span{lo, lo + uintptr(4*x.t.n), p.label(i), x.what})
		}
	}
	slices.SortStableFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	for j := 1; j < len(spans); j++ {
		if prev, cur := spans[j-1], spans[j]; cur.lo < prev.hi {
			return fmt.Errorf("optim: %s: param %s (%s) and param %s (%s) share memory: %w",
				lbfgsKind, prev.param, prev.what, cur.param, cur.what, ErrInvalidArgument)
		}
	}
	return nil
}

// errNoLBFGS is the error of a method on an LBFGS that NewLBFGS did not make.
var errNoLBFGS = fmt.Errorf("optim: LBFGS not made by NewLBFGS: %w", ErrInvalidArgument)

// begin locks o for a method that changes it: nil, closed and mid-Step optimizers are
// refused. On success the caller holds mu.
func (o *LBFGS) begin(op string) error {
	if o == nil {
		return errNoLBFGS
	}
	o.mu.Lock()
	switch {
	case o.closed || o.closeReq:
		o.mu.Unlock()
		return fmt.Errorf("optim: %s: %s: %w", lbfgsKind, op, ErrClosed)
	case o.list == nil:
		o.mu.Unlock()
		return errNoLBFGS
	case o.stepping:
		o.mu.Unlock()
		return fmt.Errorf("optim: %s: %s during Step (from its closure or another goroutine): %w",
			lbfgsKind, op, ErrInvalidArgument)
	}
	return nil
}

// NumGroups is 1: torch's LBFGS has one param group.
func (o *LBFGS) NumGroups() int {
	if o == nil || o.list == nil {
		return 0
	}
	return 1
}

// GroupLR is the learning rate of group g (0 if g is not 0).
func (o *LBFGS) GroupLR(g int) float64 {
	if o == nil || g != 0 {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cfg.LR
}

// SetGroupLR sets the learning rate of group g (which must be 0).
func (o *LBFGS) SetGroupLR(g int, lr float64) error {
	if o == nil {
		return errNoLBFGS
	}
	if g != 0 {
		return fmt.Errorf("optim: %s: group %d out of range [0, 1): %w", lbfgsKind, g, ErrInvalidArgument)
	}
	if err := o.begin("SetGroupLR"); err != nil {
		return err
	}
	defer o.mu.Unlock()
	cfg := o.cfg
	cfg.LR = lr
	if err := validateLBFGS(cfg); err != nil {
		return err
	}
	o.cfg = cfg
	return nil
}

// LR is the learning rate.
func (o *LBFGS) LR() float64 { return o.GroupLR(0) }

// SetLR sets the learning rate.
func (o *LBFGS) SetLR(lr float64) error { return o.SetGroupLR(0, lr) }

// GroupMomentum: LBFGS has no momentum (ok is false).
func (o *LBFGS) GroupMomentum(int) (float64, bool) { return 0, false }

// SetGroupMomentum fails: LBFGS has no momentum.
func (o *LBFGS) SetGroupMomentum(int, float64) error {
	return fmt.Errorf("optim: %s has no momentum: %w", lbfgsKind, ErrInvalidConfig)
}

// Config is the config of group g (a copy; the zero config if g is not 0).
func (o *LBFGS) Config(g int) LBFGSConfig {
	if o == nil || g != 0 {
		return LBFGSConfig{}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cfg
}

// SetConfig replaces the config of group g (which must be 0) after validating it. A
// smaller history_size drops the oldest pairs of the history beyond it, as torch's
// next update would keep only that many.
func (o *LBFGS) SetConfig(g int, cfg LBFGSConfig) error {
	if o == nil {
		return errNoLBFGS
	}
	if g != 0 {
		return fmt.Errorf("optim: %s: group %d out of range [0, 1): %w", lbfgsKind, g, ErrInvalidArgument)
	}
	if err := validateLBFGS(cfg); err != nil {
		return err
	}
	if err := o.begin("SetConfig"); err != nil {
		return err
	}
	defer o.mu.Unlock()
	for len(o.dirs) > cfg.HistorySize {
		o.dirs[0].Close()
		o.stps[0].Close()
		o.dirs, o.stps, o.ro = o.dirs[1:], o.stps[1:], o.ro[1:]
	}
	o.cfg = cfg
	return nil
}

// Params are the params of group g (nil if g is not 0).
func (o *LBFGS) Params(g int) []*Param {
	if o == nil || g != 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*Param(nil), o.params...)
}

// ZeroGrad sets every param's gradient to zero. It takes no lock of the optimizer (the
// gradients are the caller's), so a closure may call it, as torch's closures call
// optimizer.zero_grad().
func (o *LBFGS) ZeroGrad() error {
	if o == nil {
		return errNoLBFGS
	}
	for i, p := range o.params {
		if p == nil {
			return fmt.Errorf("optim: %s: param %d: %w", lbfgsKind, i, ErrNilParam)
		}
		if p.Grad != nil {
			if err := p.Grad.Fill(0); err != nil {
				return fmt.Errorf("optim: %s: ZeroGrad: param %s: %w", lbfgsKind, p.label(i), err)
			}
		}
	}
	return nil
}

// LBFGSState is a host copy of LBFGS's state, with torch's names.
type LBFGSState struct {
	D            []float32   // d: the last direction (nil before the first iteration)
	T            float64     // t: the last step length
	OldDirs      [][]float32 // old_dirs: the y of the history, oldest first
	OldStps      [][]float32 // old_stps: the s of the history
	Ro           []float32   // ro: 1/(y·s) of each pair
	HDiag        float32     // H_diag
	PrevFlatGrad []float32   // prev_flat_grad (nil before the first iteration)
	PrevLoss     float64     // prev_loss (NaN before the first iteration)
	NIter        int64       // n_iter: iterations over all steps
	FuncEvals    int64       // func_evals: closure evaluations over all steps
}

// State returns a host copy of the optimizer's state.
func (o *LBFGS) State() (*LBFGSState, error) {
	if err := o.begin("State"); err != nil {
		return nil, err
	}
	defer o.mu.Unlock()
	s := &LBFGSState{T: o.t.v, HDiag: o.hDiag, PrevLoss: math.NaN(), NIter: o.nIter, FuncEvals: o.funcEvals,
		Ro: slices.Clone(o.ro)}
	if o.hasLoss {
		s.PrevLoss = o.prevLoss
	}
	var err error
	if o.hasD {
		if s.D, err = o.d[o.di].Values(); err != nil {
			return nil, err
		}
	}
	if o.prev >= 0 {
		if s.PrevFlatGrad, err = o.grads[o.prev].Values(); err != nil {
			return nil, err
		}
	}
	for i := range o.dirs {
		y, err := o.dirs[i].Values()
		if err != nil {
			return nil, err
		}
		st, err := o.stps[i].Values()
		if err != nil {
			return nil, err
		}
		s.OldDirs, s.OldStps = append(s.OldDirs, y), append(s.OldStps, st)
	}
	return s, nil
}

// ---------------------------------------------------------------- vector helpers

// The helpers below run with o.mu held and o.stepping set (or, in Load and Save, with
// o.mu held), so that nothing frees the optimizer's own buffers under them; params are
// acquired per call, never across a closure (which may close or replace them).

func (o *LBFGS) dot(ctx *binding.Context, a, b *Tensor) (float32, error) {
	return ctx.Dot(int64(o.n), a.ptr(), b.ptr())
}

// infNorm is max|v_i| through the gradient-norm kernel (NaN when any element is).
func (o *LBFGS) infNorm(ctx *binding.Context, v *Tensor) (float32, error) {
	o.list.Reset()
	o.list.Append(int64(o.n), 0, v.addr(), [binding.MaxState]uintptr{})
	if err := ctx.GradNorm(o.list, math.Inf(1), o.norm.ptr()); err != nil {
		return 0, err
	}
	var out [1]float32
	if err := ctx.CopyToHost(out[:], o.norm.ptr()); err != nil {
		return 0, err
	}
	return out[0], nil
}

// absSum is Σ|g_i| of flat_grad.abs().sum(), summed on the host in float64 and rounded
// to float32 once (torch sums in float32 in its own order: they agree to an ulp or so).
func (o *LBFGS) absSum(g *Tensor) (float32, error) {
	vals, err := g.Values()
	if err != nil {
		return 0, err
	}
	s := 0.0
	for _, v := range vals {
		s += math.Abs(float64(v))
	}
	return float32(s), nil
}

// newVec allocates an n-float backend buffer of the optimizer.
func (o *LBFGS) newVec(what string) (*Tensor, error) { return newBackendTensor(o.n, "LBFGS "+what) }

// freeGrad is the index of a buffer of o.grads that none of busy (nor prev_flat_grad)
// refers to, allocated when all are in use. Gradients are never written after they are
// gathered, so the line search passes them around by index, as torch's by reference.
func (o *LBFGS) freeGrad(busy ...int) (int, error) {
	for i := range o.grads {
		if i != o.prev && !slices.Contains(busy, i) {
			return i, nil
		}
	}
	t, err := o.newVec("gradient")
	if err != nil {
		return 0, err
	}
	o.grads = append(o.grads, t)
	return len(o.grads) - 1, nil
}

// gather copies every param's gradient into one flat buffer (zeros for a nil Grad).
func (o *LBFGS) gather(ctx *binding.Context, busy ...int) (int, error) {
	if err := o.checkParams(); err != nil {
		return 0, err
	}
	gi, err := o.freeGrad(busy...)
	if err != nil {
		return 0, err
	}
	flat := o.grads[gi]
	for i, p := range o.params {
		n := o.numel[i]
		if n == 0 {
			continue
		}
		dst := unsafe.Add(flat.ptr(), 4*o.off[i])
		if p.Grad == nil {
			err = ctx.Fill(dst, 0, int64(n))
		} else {
			err = withTensor(p.Grad, p.label(i), "grad", func(src unsafe.Pointer) error {
				return ctx.Copy(dst, src, int64(n))
			})
		}
		if err != nil {
			return 0, err
		}
	}
	return gi, nil
}

// withTensor runs f with t's memory acquired.
func withTensor(t *Tensor, label, what string, f func(unsafe.Pointer) error) error {
	if !t.buf.acquire() {
		return fmt.Errorf("optim: %s: param %s: %s tensor: %w", lbfgsKind, label, what, ErrClosed)
	}
	defer t.buf.release()
	return f(t.ptr())
}

// addGrad is torch's _add_grad: every param += t * its part of d (alpha rounded to
// float32, as torch's add_ rounds its Python-float alpha).
func (o *LBFGS) addGrad(ctx *binding.Context, t pyNum, d *Tensor) error {
	for i, p := range o.params {
		n := o.numel[i]
		if n == 0 {
			continue
		}
		src := unsafe.Add(d.ptr(), 4*o.off[i])
		if err := withTensor(p.Data, p.label(i), "data", func(dst unsafe.Pointer) error {
			return ctx.Axpy(int64(n), t.f32(), src, dst)
		}); err != nil {
			return err
		}
	}
	return nil
}

// copyParams copies the params into x (toX) or x into the params.
func (o *LBFGS) copyParams(ctx *binding.Context, toX bool) error {
	for i, p := range o.params {
		n := o.numel[i]
		if n == 0 {
			continue
		}
		xp := unsafe.Add(o.x.ptr(), 4*o.off[i])
		if err := withTensor(p.Data, p.label(i), "data", func(pp unsafe.Pointer) error {
			if toX {
				return ctx.Copy(xp, pp, int64(n))
			}
			return ctx.Copy(pp, xp, int64(n))
		}); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------- Step

// call runs the closure without o.mu, so that it may call the optimizer's reading
// methods; o.stepping keeps every changing method out meanwhile. A Close meanwhile is
// reported as ErrClosed once the closure returns.
func (o *LBFGS) call(closure func() (float64, error)) (loss float64, err error) {
	o.mu.Unlock()
	func() {
		defer o.mu.Lock()
		loss, err = closure()
	}()
	if err != nil {
		return 0, err
	}
	if o.closeReq {
		return 0, fmt.Errorf("optim: %s: Step: closed during the closure: %w", lbfgsKind, ErrClosed)
	}
	return loss, nil
}

// Step runs one torch LBFGS.step(closure): closure computes the loss at the params'
// current values and writes every param's gradient into p.Grad; Step returns the first
// loss it evaluated (torch returns orig_loss). See LBFGS for the algorithm and for what
// a failing closure leaves behind.
func (o *LBFGS) Step(closure func() (float64, error)) (float64, error) {
	if closure == nil {
		return 0, fmt.Errorf("optim: %s: Step: nil closure: %w", lbfgsKind, ErrInvalidArgument)
	}
	if err := o.begin("Step"); err != nil {
		return 0, err
	}
	o.stepping = true
	defer func() {
		o.stepping = false
		if o.closeReq {
			o.closed = true
			o.free()
		}
		o.mu.Unlock()
	}()
	ctx, err := engine()
	if err != nil {
		return 0, err
	}
	cfg := o.cfg
	if err := o.checkParams(); err != nil {
		return 0, err
	}

	origLoss, err := o.call(closure)
	if err != nil {
		return 0, err
	}
	loss := origLoss
	cur, err := o.gather(ctx)
	if err != nil {
		return 0, err
	}
	o.funcEvals++
	currentEvals := 1
	gmax, err := o.infNorm(ctx, o.grads[cur])
	if err != nil {
		return 0, err
	}
	if gmax <= float32(cfg.ToleranceGrad) {
		return origLoss, nil
	}

	for nIter := 1; ; nIter++ {
		it := lbfgsIter{o: o, ctx: ctx, cfg: cfg, closure: closure, cur: cur, loss: loss, nIter: nIter}
		brk, err := it.run()
		if err != nil {
			return origLoss, err
		}
		cur, loss = it.cur, it.loss
		currentEvals += it.evals
		if brk || nIter == cfg.MaxIter || currentEvals >= cfg.maxEval() || it.optCond {
			break
		}
		// lack of progress: max|d*t| (rounding is monotonic, so it is max|d| * |t|
		// rounded once, NaN included)
		if float32(it.dNorm*float32(math.Abs(float64(o.t.f32())))) <= float32(cfg.ToleranceChange) {
			break
		}
		if math.Abs(loss-o.prevLoss) < cfg.ToleranceChange {
			break
		}
	}
	return origLoss, nil
}

// lbfgsIter is one iteration of Step's loop. run commits the iteration's state (the
// direction, t, history, prev_flat_grad, prev_loss, n_iter, func_evals) only when it has
// moved the params; until then a failure (or a panic of the closure) puts everything
// back.
type lbfgsIter struct {
	o       *LBFGS
	ctx     *binding.Context
	cfg     LBFGSConfig
	closure func() (float64, error)
	nIter   int // this Step's count

	cur     int     // flat_grad (index into o.grads)
	loss    float64 // its loss
	evals   int     // ls_func_evals
	optCond bool
	dNorm   float32 // max|d| of the new direction
}

type lbfgsSaved struct {
	di, prev   int
	hasD       bool
	t          pyNum
	hDiag      float32
	prevLoss   float64
	hasLoss    bool
	nIter      int64
	dirs, stps []*Tensor
	ro         []float32
	spare      [2]*Tensor
}

func (o *LBFGS) save() lbfgsSaved {
	return lbfgsSaved{di: o.di, prev: o.prev, hasD: o.hasD, t: o.t, hDiag: o.hDiag, prevLoss: o.prevLoss,
		hasLoss: o.hasLoss, nIter: o.nIter, dirs: slices.Clone(o.dirs), stps: slices.Clone(o.stps),
		ro: slices.Clone(o.ro), spare: o.spare}
}

func (o *LBFGS) restore(s lbfgsSaved) {
	o.di, o.prev, o.hasD, o.t, o.hDiag, o.prevLoss, o.hasLoss, o.nIter = s.di, s.prev, s.hasD, s.t, s.hDiag,
		s.prevLoss, s.hasLoss, s.nIter
	// Buffers the failed iteration allocated (a spare taken into the history when none
	// was evicted) are dropped with it.
	keep := map[*Tensor]bool{}
	for _, t := range append(append(slices.Clone(s.dirs), s.stps...), s.spare[0], s.spare[1]) {
		keep[t] = true
	}
	for _, t := range append(append(slices.Clone(o.dirs), o.stps...), o.spare[0], o.spare[1]) {
		if t != nil && !keep[t] {
			t.Close()
		}
	}
	o.dirs, o.stps, o.ro, o.spare = s.dirs, s.stps, s.ro, s.spare
}

func (it *lbfgsIter) run() (brk bool, err error) {
	o, ctx, cfg := it.o, it.ctx, it.cfg
	saved := o.save()
	committed, restoreX := false, false
	defer func() {
		if committed {
			return
		}
		if restoreX {
			// the line search's trial point is undone; a failure here leaves the
			// params where the failing call left them, and says so
			if rerr := o.copyParams(ctx, false); rerr != nil && err != nil {
				err = fmt.Errorf("%w (and restoring the params failed: %v)", err, rerr)
			}
		}
		o.restore(saved)
	}()
	commit := func() {
		o.di, o.hasD = 1-o.di, true
		committed = true
	}

	o.nIter++
	g := o.grads[it.cur]
	d := o.d[1-o.di] // the new direction
	if o.nIter == 1 {
		o.dirs, o.stps, o.ro, o.hDiag = nil, nil, nil, 1
		if err := ctx.Copy(d.ptr(), g.ptr(), int64(o.n)); err != nil {
			return false, err
		}
		if err := ctx.Scal(int64(o.n), -1, d.ptr()); err != nil {
			return false, err
		}
	} else if err := it.direction(g, d); err != nil {
		return false, err
	}
	if it.dNorm, err = o.infNorm(ctx, d); err != nil {
		return false, err
	}
	o.prev = it.cur // prev_flat_grad = flat_grad (by reference: it is never written again)
	o.prevLoss, o.hasLoss = it.loss, true

	// step length
	if o.nIter == 1 {
		s, err := o.absSum(g)
		if err != nil {
			return false, err
		}
		if r := float32(1 / s); r < 1 { // min(1.0, 1.0/sum): the tensor when it is smaller
			o.t = pyT(float32(r * float32(cfg.LR)))
		} else {
			o.t = pyF(cfg.LR)
		}
	} else {
		o.t = pyF(cfg.LR)
	}
	gtd, err := o.dot(ctx, g, d)
	if err != nil {
		return false, err
	}
	if gtd > float32(-cfg.ToleranceChange) {
		commit()
		return true, nil
	}

	if cfg.LineSearch == LineSearchStrongWolfe {
		if o.x == nil {
			if o.x, err = o.newVec("line search"); err != nil {
				return false, err
			}
		}
		if err := o.copyParams(ctx, true); err != nil {
			return false, err
		}
		restoreX = true
		loss, gi, t, evals, err := it.strongWolfe(d, pyT(gtd))
		if err != nil {
			return false, err
		}
		restoreX = false
		o.t = t
		if err := o.addGrad(ctx, t, d); err != nil {
			return false, err
		}
		it.loss, it.cur, it.evals = loss, gi, evals
		gmax, err := o.infNorm(ctx, o.grads[gi])
		if err != nil {
			return false, err
		}
		it.optCond = gmax <= float32(cfg.ToleranceGrad)
		commit()
		o.funcEvals += int64(evals)
		return false, nil
	}

	if err := o.addGrad(ctx, o.t, d); err != nil {
		return false, err
	}
	// The params have moved: the iteration stands even if the evaluation below fails
	// (the state is then that of a Step that ended here, as at max_iter).
	commit()
	if it.nIter != cfg.MaxIter {
		loss, err := o.call(it.closure)
		if err != nil {
			return false, err
		}
		gi, err := o.gather(ctx)
		if err != nil {
			return false, err
		}
		gmax, err := o.infNorm(ctx, o.grads[gi])
		if err != nil {
			return false, err
		}
		it.loss, it.cur, it.evals = loss, gi, 1
		it.optCond = gmax <= float32(cfg.ToleranceGrad)
		o.funcEvals++
	}
	return false, nil
}

// direction updates the history with y = g - prev_flat_grad, s = t*d (when y·s > 1e-10)
// and writes the two-loop recursion's direction into d.
func (it *lbfgsIter) direction(g, d *Tensor) error {
	o, ctx := it.o, it.ctx
	n := int64(o.n)
	for k := range o.spare {
		if o.spare[k] == nil {
			t, err := o.newVec("history")
			if err != nil {
				return err
			}
			o.spare[k] = t
		}
	}
	y, s := o.spare[0], o.spare[1]
	oldD, prevGrad := o.d[o.di], o.grads[o.prev]
	// y = flat_grad - prev_flat_grad (y + (-1)*prev rounds once, fused or not)
	if err := ctx.Copy(y.ptr(), g.ptr(), n); err != nil {
		return err
	}
	if err := ctx.Axpy(n, -1, prevGrad.ptr(), y.ptr()); err != nil {
		return err
	}
	// s = d * t
	if err := ctx.Copy(s.ptr(), oldD.ptr(), n); err != nil {
		return err
	}
	if err := ctx.Scal(n, o.t.f32(), s.ptr()); err != nil {
		return err
	}
	ys, err := ctx.Dot(n, y.ptr(), s.ptr())
	if err != nil {
		return err
	}
	if ys > float32(1e-10) {
		yy, err := ctx.Dot(n, y.ptr(), y.ptr())
		if err != nil {
			return err
		}
		if len(o.dirs) == it.cfg.HistorySize {
			o.spare = [2]*Tensor{o.dirs[0], o.stps[0]}
			o.dirs, o.stps, o.ro = o.dirs[1:], o.stps[1:], o.ro[1:]
		} else {
			o.spare = [2]*Tensor{}
		}
		// Fresh slices: the saved ones of a rollback must not see these appends.
		o.dirs = append(slices.Clip(o.dirs), y)
		o.stps = append(slices.Clip(o.stps), s)
		o.ro = append(slices.Clip(o.ro), float32(1/ys))
		o.hDiag = float32(ys / yy)
	}
	// q = -flat_grad, in d
	if err := ctx.Copy(d.ptr(), g.ptr(), n); err != nil {
		return err
	}
	if err := ctx.Scal(n, -1, d.ptr()); err != nil {
		return err
	}
	al := make([]float32, len(o.dirs))
	for i := len(o.dirs) - 1; i >= 0; i-- {
		sq, err := ctx.Dot(n, o.stps[i].ptr(), d.ptr())
		if err != nil {
			return err
		}
		al[i] = float32(sq * o.ro[i])
		if err := ctx.Axpy(n, -al[i], o.dirs[i].ptr(), d.ptr()); err != nil {
			return err
		}
	}
	// r = q * H_diag
	if err := ctx.Scal(n, o.hDiag, d.ptr()); err != nil {
		return err
	}
	for i := range o.dirs {
		yr, err := ctx.Dot(n, o.dirs[i].ptr(), d.ptr())
		if err != nil {
			return err
		}
		be := float32(yr * o.ro[i])
		if err := ctx.Axpy(n, float32(al[i]-be), o.stps[i].ptr(), d.ptr()); err != nil {
			return err
		}
	}
	return nil
}

// evaluate is torch's _directional_evaluate: the loss and gradient at x + t*d, the
// params put back to x after.
func (it *lbfgsIter) evaluate(t pyNum, d *Tensor, busy ...int) (float64, int, error) {
	o := it.o
	if err := o.addGrad(it.ctx, t, d); err != nil {
		return 0, 0, err
	}
	loss, err := o.call(it.closure)
	if err != nil {
		return 0, 0, err
	}
	gi, err := o.gather(it.ctx, busy...)
	if err != nil {
		return 0, 0, err
	}
	if err := o.copyParams(it.ctx, false); err != nil {
		return 0, 0, err
	}
	return loss, gi, nil
}

// strongWolfe is torch's _strong_wolfe (c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9,
// max_ls = 25: torch's LBFGS passes none of its own options to it), with torch's types:
// f and the losses are Python floats, gtd values float32 tensors, t either.
func (it *lbfgsIter) strongWolfe(d *Tensor, gtd pyNum) (float64, int, pyNum, int, error) {
	const (
		c1, c2 = 1e-4, 0.9
		tolLS  = 1e-9
		maxLS  = 25
	)
	o, ctx := it.o, it.ctx
	dNorm := pyT(it.dNorm)
	f, g := it.loss, it.cur
	t := o.t
	dotD := func(gi int) (pyNum, error) {
		v, err := o.dot(ctx, o.grads[gi], d)
		return pyT(v), err
	}
	fNew, gNew, err := it.evaluate(t, d, g)
	if err != nil {
		return 0, 0, t, 0, err
	}
	evals := 1
	gtdNew, err := dotD(gNew)
	if err != nil {
		return 0, 0, t, 0, err
	}
	// f + c1*t*gtd, the Armijo bound, evaluated as torch's expression does
	armijo := func(t pyNum) pyNum { return pyAdd(pyF(f), pyMul(pyMul(pyF(c1), t), gtd)) }
	curv := pyMul(pyF(-c2), gtd)

	tPrev, fPrev, gPrev, gtdPrev := pyF(0), f, g, gtd
	done := false
	lsIter := 0
	var br [2]pyNum
	var bf [2]float64
	var bg = [2]int{-1, -1}
	var bgtd [2]pyNum
	nb := 0
	for lsIter < maxLS {
		if pyGT(pyF(fNew), armijo(t)) || (lsIter > 1 && fNew >= fPrev) {
			br, bf, bg, bgtd, nb = [2]pyNum{tPrev, t}, [2]float64{fPrev, fNew}, [2]int{gPrev, gNew},
				[2]pyNum{gtdPrev, gtdNew}, 2
			break
		}
		if pyLE(pyAbs(gtdNew), curv) {
			br, bf, bg, nb = [2]pyNum{t}, [2]float64{fNew}, [2]int{gNew, -1}, 1
			done = true
			break
		}
		if pyGE(gtdNew, pyF(0)) {
			br, bf, bg, bgtd, nb = [2]pyNum{tPrev, t}, [2]float64{fPrev, fNew}, [2]int{gPrev, gNew},
				[2]pyNum{gtdPrev, gtdNew}, 2
			break
		}
		minStep := pyAdd(t, pyMul(pyF(0.01), pySub(t, tPrev)))
		maxStep := pyMul(t, pyF(10))
		tmp := t
		t = cubicInterpolate(tPrev, pyF(fPrev), gtdPrev, t, pyF(fNew), gtdNew, &[2]pyNum{minStep, maxStep})
		tPrev, fPrev, gPrev, gtdPrev = tmp, fNew, gNew, gtdNew
		if fNew, gNew, err = it.evaluate(t, d, g, gPrev); err != nil {
			return 0, 0, t, 0, err
		}
		evals++
		if gtdNew, err = dotD(gNew); err != nil {
			return 0, 0, t, 0, err
		}
		lsIter++
	}
	if lsIter == maxLS {
		br, bf, bg, nb = [2]pyNum{pyF(0), t}, [2]float64{f, fNew}, [2]int{g, gNew}, 2
	}
	// bracket_f[-1]: the last of one or two
	low, high := 0, 1
	if !(bf[0] <= bf[nb-1]) {
		low, high = 1, 0
	}
	insuf := false
	for !done && lsIter < maxLS {
		if pyLT(pyMul(pyAbs(pySub(br[1], br[0])), dNorm), pyF(tolLS)) {
			break
		}
		t = cubicInterpolate(br[0], pyF(bf[0]), bgtd[0], br[1], pyF(bf[1]), bgtd[1], nil)
		bmax, bmin := pyMax(br[0], br[1]), pyMin(br[0], br[1])
		eps := pyMul(pyF(0.1), pySub(bmax, bmin))
		if pyLT(pyMin(pySub(bmax, t), pySub(t, bmin)), eps) {
			if insuf || pyGE(t, bmax) || pyLE(t, bmin) {
				if pyLT(pyAbs(pySub(t, bmax)), pyAbs(pySub(t, bmin))) {
					t = pySub(bmax, eps)
				} else {
					t = pyAdd(bmin, eps)
				}
				insuf = false
			} else {
				insuf = true
			}
		} else {
			insuf = false
		}
		if fNew, gNew, err = it.evaluate(t, d, g, bg[0], bg[1]); err != nil {
			return 0, 0, t, 0, err
		}
		evals++
		if gtdNew, err = dotD(gNew); err != nil {
			return 0, 0, t, 0, err
		}
		lsIter++
		if pyGT(pyF(fNew), armijo(t)) || fNew >= bf[low] {
			br[high], bf[high], bg[high], bgtd[high] = t, fNew, gNew, gtdNew
			if bf[0] <= bf[1] {
				low, high = 0, 1
			} else {
				low, high = 1, 0
			}
		} else {
			if pyLE(pyAbs(gtdNew), curv) {
				done = true
			} else if pyGE(pyMul(gtdNew, pySub(br[high], br[low])), pyF(0)) {
				br[high], bf[high], bg[high], bgtd[high] = br[low], bf[low], bg[low], bgtd[low]
			}
			br[low], bf[low], bg[low], bgtd[low] = t, fNew, gNew, gtdNew
		}
	}
	if low >= nb {
		// A one-point bracket whose loss is NaN: bracket_f[0] <= bracket_f[-1] is false, and
		// torch indexes past its bracket (an IndexError). The step fails instead, the
		// iteration undone.
		return 0, 0, t, evals, fmt.Errorf("optim: %s: Step: the line search met a NaN loss at t=%v "+
			"(torch raises an IndexError here): %w", lbfgsKind, t.v, ErrNonFinite)
	}
	return bf[low], bg[low], br[low], evals, nil
}

// ---------------------------------------------------------------- Close

// Close frees the optimizer's backend memory (direction, history, gradients). The params
// are the caller's and stay as they are. Close is idempotent; later calls get ErrClosed.
// During a Step (from its closure or another goroutine) it returns at once and the Step
// frees the memory on its way out, returning ErrClosed.
func (o *LBFGS) Close() error {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.closeReq {
		return nil
	}
	if o.stepping {
		o.closeReq = true
		return nil
	}
	o.closed = true
	runtime.SetFinalizer(o, nil)
	return o.free()
}

func (o *LBFGS) free() error {
	var first error
	closeT := func(t *Tensor) {
		if t != nil {
			if err := t.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	for _, t := range o.d {
		closeT(t)
	}
	for _, t := range o.grads {
		closeT(t)
	}
	for _, t := range o.dirs {
		closeT(t)
	}
	for _, t := range o.stps {
		closeT(t)
	}
	for _, t := range o.spare {
		closeT(t)
	}
	closeT(o.x)
	closeT(o.norm)
	o.d, o.grads, o.dirs, o.stps, o.ro, o.spare, o.x, o.norm = [2]*Tensor{}, nil, nil, nil, nil, [2]*Tensor{}, nil, nil
	o.prev, o.hasD = -1, false
	if o.list != nil {
		o.list.Free()
	}
	return first
}

// ---------------------------------------------------------------- checkpoints

// lbfgsCheckpoint is the part of the checkpoint header that only LBFGS has: its scalars,
// as bit patterns (NaN and infinities are valid values of a loss or a step), and which
// vectors the payload holds: d, prev_flat_grad, then y and s of each history pair,
// oldest first, numel floats each.
type lbfgsCheckpoint struct {
	Numel     int      `json:"numel"`
	HasD      bool     `json:"has_d"`
	HasPrev   bool     `json:"has_prev_flat_grad"`
	History   int      `json:"history"`
	Ro        []uint32 `json:"ro_bits"`
	HDiag     uint32   `json:"h_diag_bits"`
	T         uint64   `json:"t_bits"`
	TTensor   bool     `json:"t_is_tensor"`
	PrevLoss  uint64   `json:"prev_loss_bits"`
	HasLoss   bool     `json:"has_prev_loss"`
	NIter     int64    `json:"n_iter"`
	FuncEvals int64    `json:"func_evals"`
}

// Save writes the whole state (config, scalars, direction, prev_flat_grad, history) in
// goptim's checkpoint format (version 1, checksummed; the header has an "lbfgs" part).
// It does not save the params.
func (o *LBFGS) Save(w io.Writer) error {
	if err := o.begin("Save"); err != nil {
		return err
	}
	defer o.mu.Unlock()
	raw, err := json.Marshal(o.cfg)
	if err != nil {
		return err
	}
	vecs := []*Tensor{}
	if o.hasD {
		vecs = append(vecs, o.d[o.di])
	}
	if o.prev >= 0 {
		vecs = append(vecs, o.grads[o.prev])
	}
	for i := range o.dirs {
		vecs = append(vecs, o.dirs[i], o.stps[i])
	}
	lc := &lbfgsCheckpoint{Numel: o.n, HasD: o.hasD, HasPrev: o.prev >= 0, History: len(o.dirs),
		HDiag: math.Float32bits(o.hDiag), T: math.Float64bits(o.t.v), TTensor: o.t.tensor,
		PrevLoss: math.Float64bits(o.prevLoss), HasLoss: o.hasLoss, NIter: o.nIter, FuncEvals: o.funcEvals}
	for _, r := range o.ro {
		lc.Ro = append(lc.Ro, math.Float32bits(r))
	}
	cg := checkpointGroup{Config: raw, State: [binding.MaxState]string{"d", "prev_flat_grad", "history"}}
	for i, p := range o.params {
		cg.Params = append(cg.Params, checkpointParam{Name: p.Name, Numel: o.numel[i], Step: o.nIter})
	}
	part, err := json.Marshal(lc)
	if err != nil {
		return err
	}
	h := checkpointHeader{Format: "goptim-checkpoint", Version: checkpointVersion, Optimizer: lbfgsKind,
		Backend: Backend(), PayloadBytes: 4 * int64(o.n) * int64(len(vecs)), Groups: []checkpointGroup{cg}, LBFGS: part}
	cw, err := startCheckpoint(w, h)
	if err != nil {
		return err
	}
	buf := make([]float32, o.n)
	for _, v := range vecs {
		if err := v.CopyTo(buf); err != nil {
			return err
		}
		if err := cw.payload(buf); err != nil {
			return err
		}
	}
	return cw.finish()
}

// Load restores state written by Save. The optimizer must have the same params (count,
// lengths, and names where both sides have one); the config is restored too, as torch's
// load_state_dict does. On any error (truncation, a checksum mismatch, another
// optimizer, a shape mismatch, no memory for the history) the optimizer is left exactly
// as it was. Load reads exactly the checkpoint's bytes from r.
func (o *LBFGS) Load(r io.Reader) error {
	if r == nil {
		return fmt.Errorf("optim: %s: Load: nil reader: %w", lbfgsKind, ErrInvalidArgument)
	}
	if err := o.begin("Load"); err != nil {
		return err
	}
	defer o.mu.Unlock()
	h, payload, err := readCheckpoint(r)
	if err != nil {
		return err
	}
	if h.Optimizer != lbfgsKind {
		return badCheckpoint("it holds optimizer %q, this is %q", h.Optimizer, lbfgsKind)
	}
	var lc *lbfgsCheckpoint
	if len(h.LBFGS) == 0 || json.Unmarshal(h.LBFGS, &lc) != nil || lc == nil {
		return badCheckpoint("no LBFGS state in the header")
	}
	if len(h.Groups) != 1 {
		return badCheckpoint("it has %d param groups, LBFGS has 1", len(h.Groups))
	}
	hg := h.Groups[0]
	var cfg LBFGSConfig
	dec := json.NewDecoder(bytes.NewReader(hg.Config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return badCheckpoint("config: %v", err)
	}
	if err := validateLBFGS(cfg); err != nil {
		return badCheckpoint("config: %v", err)
	}
	if len(hg.Params) != len(o.params) {
		return badCheckpoint("it has %d params, the optimizer %d", len(hg.Params), len(o.params))
	}
	for i, hp := range hg.Params {
		p := o.params[i]
		if hp.Numel != o.numel[i] {
			return badCheckpoint("param %d (%q) has %d elements, the optimizer's %s has %d", i, hp.Name, hp.Numel,
				p.label(i), o.numel[i])
		}
		if hp.Name != "" && p.Name != "" && hp.Name != p.Name {
			return badCheckpoint("param %d is %q, the optimizer's is %q", i, hp.Name, p.Name)
		}
	}
	switch {
	case lc.Numel != o.n:
		return badCheckpoint("its vectors have %d elements, the params %d", lc.Numel, o.n)
	case lc.History < 0 || lc.History > cfg.HistorySize || len(lc.Ro) != lc.History:
		return badCheckpoint("history of %d pairs (%d ro) for history_size %d", lc.History, len(lc.Ro), cfg.HistorySize)
	case lc.NIter < 0 || lc.NIter > 1<<53 || lc.FuncEvals < 0 || lc.FuncEvals > 1<<53:
		return badCheckpoint("n_iter %d, func_evals %d", lc.NIter, lc.FuncEvals)
	case (lc.NIter > 0) != lc.HasD || lc.HasD != lc.HasPrev || lc.HasD != lc.HasLoss || (!lc.HasD && lc.History > 0):
		return badCheckpoint("n_iter %d with direction %v, prev_flat_grad %v, prev_loss %v, %d history pairs",
			lc.NIter, lc.HasD, lc.HasPrev, lc.HasLoss, lc.History)
	}
	nv := 2 * lc.History
	if lc.HasD {
		nv += 2
	}
	if want := 4 * int64(o.n) * int64(nv); want != int64(len(payload)) {
		return badCheckpoint("the state needs %d bytes, the payload has %d", want, len(payload))
	}
	// Everything checks out. Fill new buffers first, so that a failure leaves the old.
	vecs := make([]*Tensor, 0, nv)
	ok := false
	defer func() {
		if !ok {
			for _, t := range vecs {
				t.Close()
			}
		}
	}()
	vals := make([]float32, o.n)
	for k := 0; k < nv; k++ {
		t, err := o.newVec("state")
		if err != nil {
			return err
		}
		vecs = append(vecs, t)
		for j := range vals {
			vals[j] = math.Float32frombits(binary.LittleEndian.Uint32(payload[4*(k*o.n+j):]))
		}
		if err := t.CopyFrom(vals); err != nil {
			return err
		}
	}
	// commit: the old history and gradients go, the new take their place
	old := slices.Concat(o.grads, o.dirs, o.stps)
	o.grads, o.dirs, o.stps, o.ro, o.prev = nil, nil, nil, nil, -1
	rest := vecs
	if lc.HasD {
		o.d[o.di].Close()
		o.d[o.di] = vecs[0]
		o.grads, o.prev = []*Tensor{vecs[1]}, 0
		rest = vecs[2:]
	}
	for i := 0; i < lc.History; i++ {
		o.dirs = append(o.dirs, rest[2*i])
		o.stps = append(o.stps, rest[2*i+1])
		o.ro = append(o.ro, math.Float32frombits(lc.Ro[i]))
	}
	ok = true
	for _, t := range old {
		t.Close()
	}
	o.cfg = cfg
	o.hasD = lc.HasD
	o.t = pyNum{v: math.Float64frombits(lc.T), tensor: lc.TTensor}
	o.hDiag = math.Float32frombits(lc.HDiag)
	o.prevLoss, o.hasLoss = math.Float64frombits(lc.PrevLoss), lc.HasLoss
	o.nIter, o.funcEvals = lc.NIter, lc.FuncEvals
	return nil
}
