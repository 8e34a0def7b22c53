package optim

import (
	"fmt"
	"math/bits"
	"runtime"
	"strings"
	"sync"

	"github.com/goptim/goptim/binding"
)

// TrafficMask names the arrays of a step, as goptim_traffic_params does: the param,
// its gradient and state tensors 0 to 2 (the slots of goptim.h's tensor list).
type TrafficMask uint32

// The arrays of a step.
const (
	TrafficParam TrafficMask = 1 << iota
	TrafficGrad
	TrafficState0
	TrafficState1
	TrafficState2
)

// TrafficStates is the mask of state tensors 0 to n-1.
func TrafficStates(n int) TrafficMask {
	if n <= 0 {
		return 0
	}
	return TrafficMask((1<<min(n, binding.MaxState))-1) * TrafficState0
}

// String lists the arrays: "p,g,s0,s1" (bits above the five arrays as a number).
func (m TrafficMask) String() string {
	var parts []string
	for k, name := range []string{"p", "g", "s0", "s1", "s2"} {
		if m&(1<<k) != 0 {
			parts = append(parts, name)
		}
	}
	if rest := m &^ (1<<(2+binding.MaxState) - 1); rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(rest)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// TrafficBytes is what a step with this traffic moves per fp32 parameter: 4 bytes for
// each array read and 4 for each array written (an array written is read too).
func TrafficBytes(reads, writes TrafficMask) int {
	return 4 * (bits.OnesCount32(uint32(reads|writes)) + bits.OnesCount32(uint32(writes)))
}

// TrafficPass is one pass of a step over its arrays: those it reads and those it writes.
type TrafficPass struct {
	Reads, Writes TrafficMask
}

// Bytes is TrafficBytes of the pass.
func (p TrafficPass) Bytes() int { return TrafficBytes(p.Reads, p.Writes) }

// String is "r p,g,s0,s1 w p,s0,s1" (reads including writes).
func (p TrafficPass) String() string { return fmt.Sprintf("r %v w %v", p.Reads|p.Writes, p.Writes) }

// Traffic is a benchmark aid, not an optimizer: the limit a step is measured against.
// Its Step is one pass over the params (or several in order, for a step that makes
// several: NewTrafficPasses) that reads and writes exactly the arrays a step with the
// same masks does (goptim_traffic_step), on the steps' threads, chunking and launch,
// with trivial arithmetic, so a step's time over its Traffic's in the same run is how far
// the step is from moving its bytes at the machine's speed.
//
// Its state tensors are its own, allocated as an optimizer's are (backend memory, each
// param's state at the same offset modulo 64 bytes as its data, an arena's packed), so
// it can run beside an optimizer over the same params. It writes meaningless values
// into what its masks write: a written param or state moves by the gradient when the
// gradient is read and is negated otherwise, a written gradient is negated (so repeated
// steps keep every value bounded by its start plus the step count times the gradient).
// An array only read is loaded for real (its bits are folded into a value the loop
// keeps) and left as it was. Params without a gradient are skipped, as the optimizers
// skip them, even by a set that does not touch the gradient.
//
// The supported sets: param and gradient each not touched, read, or read and written;
// states 0..n-1 (n = 0..3), all read only or all read and written; at least one array
// touched (3*3*7 - 1 = 62 sets). NewTraffic refuses others (a state without the ones
// before it, states some read only and some written, no array) with an error matching
// ErrUnsupported, and masks with bits beyond the five arrays with one matching
// ErrInvalidArgument.
type Traffic struct {
	mu            sync.Mutex
	params        []*Param
	passes        []TrafficPass // reads |= writes
	reads, writes TrafficMask   // the union over the passes
	numel, off    []int
	state         [binding.MaxState]*Tensor
	list          *binding.List
	held          hold
	closed        bool
}

// NewTraffic makes the loop of reads and writes (reads |= writes) over params.
func NewTraffic(params []*Param, reads, writes TrafficMask) (*Traffic, error) {
	return newTraffic("NewTraffic", params, []TrafficPass{{reads, writes}})
}

// NewTrafficPasses makes the loop of a step that makes several passes over params (LAMB:
// the gradients' norm, then the moments, then the params): its Step runs one
// goptim_traffic_step per pass, in order, over one list and one set of state tensors
// (state k is the same tensor in every pass that touches it, as it is the optimizer's
// in every pass of its step), so its time is the sum of its passes' limits and its
// BytesPerParam the sum of theirs. Each pass must be a supported set.
func NewTrafficPasses(params []*Param, passes ...TrafficPass) (*Traffic, error) {
	if len(passes) == 0 {
		return nil, fmt.Errorf("optim: NewTrafficPasses: no pass: %w", ErrInvalidArgument)
	}
	return newTraffic("NewTrafficPasses", params, passes)
}

func newTraffic(op string, params []*Param, passes []TrafficPass) (*Traffic, error) {
	ctx, err := engine()
	if err != nil {
		return nil, err
	}
	t := &Traffic{}
	for i, ps := range passes {
		ps.Reads |= ps.Writes
		// The backend says which sets it has: the masks are checked before the (empty) list.
		empty := binding.NewList(1)
		err = ctx.TrafficStep(empty, &binding.TrafficParams{Reads: uint32(ps.Reads), Writes: uint32(ps.Writes)}, 1, nil)
		empty.Free()
		if err != nil {
			where := ""
			if len(passes) > 1 {
				where = fmt.Sprintf("pass %d, ", i)
			}
			return nil, fmt.Errorf("optim: %s(%sreads %v, writes %v): %w", op, where, ps.Reads, ps.Writes, err)
		}
		t.passes = append(t.passes, ps)
		t.reads |= ps.Reads
		t.writes |= ps.Writes
	}
	var h hold
	defer h.done()
	total := 0
	for i, p := range params {
		if p == nil || p.Data == nil {
			return nil, fmt.Errorf("optim: %s: param %d: %w", op, i, ErrNilParam)
		}
		if !h.add(p.Data.buf) {
			return nil, fmt.Errorf("optim: %s: param %s: data tensor: %w", op, p.label(i), ErrClosed)
		}
		// an optimizer's placement of the state (addGroup): the same alignment as the data
		total += int((p.Data.addr()/4 - uintptr(total)) & 15)
		t.params = append(t.params, p)
		t.numel = append(t.numel, p.Data.Len())
		t.off = append(t.off, total)
		total += p.Data.Len()
	}
	for k := range t.state {
		if t.reads&(TrafficState0<<k) == 0 {
			continue
		}
		if t.state[k], err = newBackendTensor(total, op+" state"); err != nil {
			t.closeState()
			return nil, err
		}
	}
	t.list = binding.NewList(len(params))
	runtime.SetFinalizer(t, (*Traffic).finalize)
	return t, nil
}

func (t *Traffic) finalize() { t.list.Free() }

var errNoTraffic = fmt.Errorf("optim: Traffic not made by NewTraffic: %w", ErrInvalidArgument)

// Reads and Writes are the loop's masks, the union over its passes (Reads includes
// Writes; none for a nil Traffic).
func (t *Traffic) Reads() TrafficMask {
	if t == nil {
		return 0
	}
	return t.reads
}

func (t *Traffic) Writes() TrafficMask {
	if t == nil {
		return 0
	}
	return t.writes
}

// Passes are the loop's passes in order (Reads including Writes; none for a nil
// Traffic).
func (t *Traffic) Passes() []TrafficPass {
	if t == nil {
		return nil
	}
	return append([]TrafficPass(nil), t.passes...)
}

// BytesPerParam is what the loop moves per param: the sum of its passes' Bytes.
func (t *Traffic) BytesPerParam() int {
	n := 0
	for _, p := range t.Passes() {
		n += p.Bytes()
	}
	return n
}

// Step is one pass over every param with a gradient (one per pass, in order).
func (t *Traffic) Step() error {
	if t == nil {
		return errNoTraffic
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return fmt.Errorf("optim: Traffic.Step: %w", ErrClosed)
	}
	if t.list == nil {
		return errNoTraffic
	}
	defer t.held.done()
	ctx, err := engine()
	if err != nil {
		return err
	}
	t.list.Reset()
	var cur struct {
		n     int64
		p, gr uintptr
		st    [binding.MaxState]uintptr
	}
	have := false
	for i, p := range t.params {
		if p.Data.Len() != t.numel[i] {
			return &ShapeError{Param: p.label(i), What: "data", Got: p.Data.Len(), Want: t.numel[i]}
		}
		if p.Grad == nil {
			continue
		}
		if p.Grad.Len() != t.numel[i] {
			return &ShapeError{Param: p.label(i), What: "grad", Got: p.Grad.Len(), Want: t.numel[i]}
		}
		if !t.held.add(p.Data.buf) || !t.held.add(p.Grad.buf) {
			return fmt.Errorf("optim: Traffic.Step: param %s: %w", p.label(i), ErrClosed)
		}
		var st [binding.MaxState]uintptr
		for k, s := range t.state {
			if s != nil {
				st[k] = uintptr(s.buf.at(t.off[i], t.numel[i]))
			}
		}
		pa, ga := p.Data.addr(), p.Grad.addr()
		// neighbours contiguous in every array are one entry: an arena is one tensor
		if have && cur.p+uintptr(4*cur.n) == pa && cur.gr+uintptr(4*cur.n) == ga && contiguous(cur.st, st, cur.n) {
			cur.n += int64(t.numel[i])
			continue
		}
		if have {
			t.list.Append(cur.n, cur.p, cur.gr, cur.st)
		}
		cur.n, cur.p, cur.gr, cur.st, have = int64(t.numel[i]), pa, ga, st, true
	}
	if have {
		t.list.Append(cur.n, cur.p, cur.gr, cur.st)
	}
	for i, ps := range t.passes {
		hp := binding.TrafficParams{Reads: uint32(ps.Reads), Writes: uint32(ps.Writes)}
		if err := ctx.TrafficStep(t.list, &hp, 1, nil); err != nil {
			if len(t.passes) > 1 {
				return fmt.Errorf("optim: Traffic.Step: pass %d: %w", i, err)
			}
			return fmt.Errorf("optim: Traffic.Step: %w", err)
		}
	}
	return nil
}

// State is a copy of param i's state tensor k: what the loop wrote there.
func (t *Traffic) State(k, i int) ([]float32, error) {
	if t == nil {
		return nil, errNoTraffic
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("optim: Traffic.State: %w", ErrClosed)
	}
	if k < 0 || k >= len(t.state) || t.state[k] == nil || i < 0 || i >= len(t.params) {
		return nil, fmt.Errorf("optim: Traffic.State(%d, %d): the loop has no such state: %w", k, i, ErrInvalidArgument)
	}
	return viewOf(t.state[k].buf, t.off[i], t.numel[i]).Values()
}

func (t *Traffic) closeState() error {
	var first error
	for k, s := range t.state {
		if s != nil {
			if err := s.Close(); err != nil && first == nil {
				first = err
			}
			t.state[k] = nil
		}
	}
	return first
}

// Close frees the loop's state; the params stay as they are. It is idempotent.
func (t *Traffic) Close() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	if t.list == nil {
		return nil // a zero Traffic holds nothing
	}
	runtime.SetFinalizer(t, nil)
	err := t.closeState()
	t.list.Free()
	return err
}
