package optim

import (
	"cmp"
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

// Optimizer is what every optimizer in this package offers, so that code over any
// of them needs no type switch. Three methods are not on it because their
// signatures name the optimizer's config type: AddParamGroup, Config and SetConfig
// take or return an SGDConfig, an AdamConfig, ... They are on OptimizerOf[C], which
// code generic in the config type takes instead. A version of them over `any`
// would turn a config of the wrong type from a compile error into a run-time one.
type Optimizer interface {
	LRGroups
	// Step applies one update to every param that has a gradient.
	Step() error
	// ClipStep is ClipGradNorm over every param fused into Step.
	ClipStep(maxNorm, normType float64) error
	// LastGradNorm is the norm the last ClipStep computed.
	LastGradNorm() (float64, error)
	// SetCheckFinite makes Step skip and report steps with NaN or Inf gradients.
	SetCheckFinite(on bool)
	// ZeroGrad sets every param's gradient to zero.
	ZeroGrad() error
	// LR is the learning rate of the first group.
	LR() float64
	// SetLR sets the learning rate of every group.
	SetLR(lr float64) error
	// Params are group g's params (nil if g is out of range).
	Params(g int) []*Param
	// StepCount is the number of steps param i of group g has taken.
	StepCount(g, i int) int64
	// State is a host copy of the state tensor called name (torch's key, e.g.
	// "exp_avg") of param i of group g.
	State(g, i int, name string) ([]float32, error)
	// Save writes the optimizer's state (hyperparameters, step counts, state tensors).
	Save(w io.Writer) error
	// Load restores state written by Save, or fails and changes nothing.
	Load(r io.Reader) error
	// Close frees the optimizer's state memory and unpins what it pinned.
	Close() error
}

// OptimizerOf is an Optimizer with its config type C: each optimizer of this package
// is one of its config (*SGD an OptimizerOf[SGDConfig], *Adam, for Adam and AdamW, an
// OptimizerOf[AdamConfig], *Rprop an OptimizerOf[RpropConfig], and so on).
// A function generic in C reaches param groups and configs through it, for
// instance to add params with the config of group 0:
//
//	func addLike[C any](opt optim.OptimizerOf[C], params []*optim.Param) error {
//		return opt.AddParamGroup(params, opt.Config(0))
//	}
type OptimizerOf[C any] interface {
	Optimizer
	// AddParamGroup adds params with a config of their own (torch's add_param_group),
	// every option of it the group's own (Adagrad's initial_accumulator_value too).
	AddParamGroup(params []*Param, cfg C) error
	// Config is group g's config (a copy); the zero config if g is out of range.
	Config(g int) C
	// SetConfig replaces group g's config after validating it.
	SetConfig(g int, cfg C) error
}

// Every optimizer of this package is an Optimizer and an OptimizerOf its config.
var (
	_ OptimizerOf[SGDConfig]     = (*SGD)(nil)
	_ OptimizerOf[AdamConfig]    = (*Adam)(nil)
	_ OptimizerOf[AdagradConfig] = (*Adagrad)(nil)
	_ OptimizerOf[RMSpropConfig] = (*RMSprop)(nil)
	_ Optimizer                  = (*SGD)(nil)
	_ Optimizer                  = (*Adam)(nil)
	_ Optimizer                  = (*Adagrad)(nil)
	_ Optimizer                  = (*RMSprop)(nil)
)

// spec describes one optimizer to the shared machinery: its name, how to check and
// read its config, which state tensors it keeps and how a step is launched.
type spec[C any] struct {
	kind     string
	validate func(C) error
	lr       func(*C) *float64
	momentum func(*C) *float64 // nil when the optimizer has none
	// slots names the state tensors of goptim.h's state[k] for a config; "" = unused.
	slots func(C) [binding.MaxState]string
	// initial is the value a fresh state tensor in slot k starts at.
	initial func(C, int) float32
	// initialAtFirstStep: torch creates this optimizer's state at a param's first step,
	// from the group's options then (Rprop's step_size is the lr of that moment), so
	// every config change fills the state of the params that have not stepped yet
	// again; a skipped step changes nothing.
	initialAtFirstStep bool
	step               func(ctx *binding.Context, l *binding.List, cfg C, step int64, aux *binding.Aux) error
	// scalarNames names the values torch keeps per param on the host beside the state
	// tensors (NAdam's mu_product, ASGD's eta and mu; torch's state keys); nil for
	// most optimizers. With them, stepScalars launches a step instead of step.
	scalarNames []string
	// freshScalars are a param's values before its first step, from the group's
	// options at that step (torch creates them then).
	freshScalars func(C) scalars
	// nextScalars are the values after step t, given those before it.
	nextScalars func(cfg C, t int64, before scalars) (scalars, error)
	stepScalars func(ctx *binding.Context, l *binding.List, cfg C, step int64, sc scalars, aux *binding.Aux) error
	// shaped: the optimizer reads each param's Shape (Adafactor factors matrices).
	// Every param is then its own list entry, never merged with its neighbours, and
	// stepShaped launches a step with the rows and cols of each (rows 0: a vector).
	shaped     bool
	stepShaped func(ctx *binding.Context, l *binding.List, rows, cols []int64, cfg C, step int64, aux *binding.Aux) error
	// globalNorm: for a group's config, whether its step reads the L2 norm of every
	// gradient of every group (LAMB's clipping, as apex's norm spans all groups). The
	// norm is computed once per Step, after unscaling and clipping, and stepNorm
	// launches the step with its backend memory.
	globalNorm func(C) bool
	// perTensor: the step's arithmetic depends on each param as a whole (LAMB's and
	// LARS's norms), so params are never merged into one list entry with their
	// neighbours in memory.
	perTensor bool
	stepNorm  func(ctx *binding.Context, l *binding.List, cfg C, step int64, norm unsafe.Pointer, aux *binding.Aux) error
	// slotLen is the length of slot k's state for a param of that shape and length
	// (0: the param has none in that slot); nil means numel for every slot in use.
	slotLen func(shape []int, numel, k int) int
	// scalars32: the reference keeps the host values as float32 tensors; a checkpoint's
	// values are rounded to float32 when loaded.
	scalars32 bool
	// fusedScaling: torch's GradScaler hands its scale to this optimizer's fused kernel
	// (the optimizer sets _step_supports_amp_scaling), which divides the gradients by it
	// during the step; otherwise GradScaler multiplies them by 1/scale in place first.
	// GradScaler.Step takes the same path so that it gives torch's numbers.
	fusedScaling bool
}

// maxScalars is the most per-param host values an optimizer keeps (ASGD's two).
const maxScalars = 2

// scalars are an optimizer's per-param host values (spec.scalarNames), in the
// precision its reference keeps them: float32 tensors for NAdam and ASGD (held here
// exactly), Python floats (double) for Schedule-Free; entries past the optimizer's
// names are 0. They follow each param's own history of steps and options, so params
// share a kernel call only when theirs are equal.
type scalars [maxScalars]float64

// group is a param group: params sharing one config, and their state.
type group[C any] struct {
	cfg    C
	params []*Param
	numel  []int   // each param's length when the group was made
	steps  []int64 // torch's per-param step counts
	// sc are the per-param host values of spec.scalarNames, meaningful once the
	// param has stepped (before, spec.freshScalars of the config gives them).
	sc []scalars
	// shape is each param's Shape when the group was made (shaped optimizers).
	shape [][]int
	// state[k] is one contiguous tensor for slot k holding every param's state back
	// to back (nil when the slot is unused).
	state [binding.MaxState]*Tensor
	off   [binding.MaxState][]int // each param's offset into state[k]
	slen  [binding.MaxState][]int // each param's length in state[k]
}

// core is the machinery shared by every optimizer: groups, state, the step loop,
// checkpoints. The exported optimizer types embed it.
type core[C any] struct {
	mu     sync.Mutex
	spec   spec[C]
	groups []*group[C]
	list   *binding.List
	closed bool
	// scratch is four floats of backend memory for the extras of a step: the total
	// gradient norm, the found-inf flag, the loss scale's factor and the global norm of
	// spec.globalNorm. Made on first use.
	scratch *Tensor
	// checkFinite makes Step skip (and report) a step with NaN or Inf gradients.
	checkFinite bool
	// normSet: scratch holds a norm from ClipStep.
	normSet bool
	// held is the params' memory acquired for the call in progress.
	held hold
	// checked is every param's Data and Grad (in group order) as the last overlap
	// check saw them: a step repeats the check only when one of them changed.
	checked []*Tensor
	// rows and cols are the shapes of the list's tensors (shaped optimizers), filled
	// with it.
	rows, cols []int64
	// ext is what an optimizer adds beyond its spec (nil for most), set by its
	// constructor.
	ext extension
}

// extension is an optimizer's behaviour outside its spec's step: a check before every
// step (Schedule-Free refuses to step outside train mode) and a part of its own in
// checkpoints. Called with the core's lock held.
type extension interface {
	// beforeStep runs after the params are checked and before any pass over them; an
	// error refuses the step with nothing changed.
	beforeStep() error
	// saveExtra is the optimizer's own part of a checkpoint header (nil for none).
	saveExtra() (json.RawMessage, error)
	// checkExtra validates a checkpoint's part before anything is loaded; commitExtra
	// then takes it.
	checkExtra(raw json.RawMessage) error
	commitExtra(raw json.RawMessage)
}

func newCore[C any](s spec[C], params []*Param, cfg C) (*core[C], error) {
	c := &core[C]{spec: s}
	if err := c.addGroup(params, cfg); err != nil {
		return nil, err
	}
	c.list = binding.NewList(len(params))
	// The C tensor list of an optimizer dropped without Close is freed when the
	// optimizer is collected (state tensors have finalizers of their own). Every
	// method holds c.mu with a deferred unlock, which keeps c alive across its C
	// calls.
	runtime.SetFinalizer(c, (*core[C]).finalize)
	return c, nil
}

func (c *core[C]) finalize() { c.list.Free() }

func (c *core[C]) addGroup(params []*Param, cfg C) error {
	if err := c.spec.validate(cfg); err != nil {
		return err
	}
	seen := map[*Tensor]bool{}
	for _, og := range c.groups {
		for _, p := range og.params {
			seen[p.Data] = true
		}
	}
	g := &group[C]{cfg: cfg}
	var total [binding.MaxState]int
	slots := c.spec.slots(cfg)
	var h hold
	defer h.done()
	for i, p := range params {
		if p == nil || p.Data == nil {
			return fmt.Errorf("optim: %s: param %d: %w", c.spec.kind, i, ErrNilParam)
		}
		if !h.add(p.Data.buf) {
			return fmt.Errorf("optim: %s: param %s: data tensor: %w", c.spec.kind, p.label(i), ErrClosed)
		}
		if seen[p.Data] {
			return fmt.Errorf("optim: %s: param %s appears twice (a param may be in only one group): %w",
				c.spec.kind, p.label(i), ErrInvalidConfig)
		}
		seen[p.Data] = true
		n := p.Data.Len()
		var shape []int
		if c.spec.shaped {
			if err := checkShape(c.spec.kind, p, p.label(i), n); err != nil {
				return err
			}
			shape = slices.Clone(p.Shape)
		}
		g.params = append(g.params, p)
		for k, name := range slots {
			if name == "" {
				continue
			}
			l := n
			if c.spec.slotLen != nil {
				l = c.spec.slotLen(shape, n, k)
			}
			if l == n {
				// Each param's state starts at the same place modulo 16 floats (64
				// bytes) as its data, so that data, grad and state share one alignment
				// and the vector paths (float4 on the GPU) cover all of them: packing
				// the state back to back would misalign every param after one of odd
				// length. An arena's params, packed themselves, get packed state and
				// so stay one contiguous run.
				total[k] += int((p.Data.addr()/4 - uintptr(total[k])) & 15)
			} else {
				total[k] = (total[k] + 15) &^ 15
			}
			g.off[k] = append(g.off[k], total[k])
			g.slen[k] = append(g.slen[k], l)
			total[k] += l
		}
		g.numel = append(g.numel, n)
		g.shape = append(g.shape, shape)
		g.steps = append(g.steps, 0)
		g.sc = append(g.sc, scalars{})
	}
	if err := c.checkOverlap(append(c.groups[:len(c.groups):len(c.groups)], g), false); err != nil {
		return err
	}
	if err := c.allocState(g, total); err != nil {
		return err
	}
	c.groups = append(c.groups, g)
	return nil
}

func (c *core[C]) allocState(g *group[C], total [binding.MaxState]int) error {
	slots := c.spec.slots(g.cfg)
	for k, name := range slots {
		if name == "" {
			continue
		}
		t, err := newBackendTensor(total[k], "state")
		if err == nil {
			if v := c.spec.initial(g.cfg, k); v != 0 {
				err = t.Fill(v)
			}
		}
		if err != nil {
			for j := range g.state {
				if g.state[j] != nil {
					g.state[j].Close()
					g.state[j] = nil
				}
			}
			return fmt.Errorf("optim: %s: state %s: %w", c.spec.kind, name, err)
		}
		g.state[k] = t
	}
	return nil
}

// AddParamGroup is torch's add_param_group: params with a config of their own. Every
// option of cfg is the group's, including the starting value of its state: Adagrad's
// sum starts at cfg.InitialAccumulatorValue, where torch 1.13 takes the
// constructor's value for every group.
func (c *core[C]) AddParamGroup(params []*Param, cfg C) error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("optim: %s: AddParamGroup: %w", c.spec.kind, ErrClosed)
	}
	return c.addGroup(params, cfg)
}

// NumGroups is the number of param groups.
func (c *core[C]) NumGroups() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.groups)
}

// Config is group g's config (a copy); the zero config if g is out of range.
func (c *core[C]) Config(g int) C {
	if c == nil {
		var zero C
		return zero
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g < 0 || g >= len(c.groups) {
		var zero C
		return zero
	}
	return c.groups[g].cfg
}

// SetConfig replaces group g's config after validating it. The new config must keep
// the same state tensors (e.g. Adam's AMSGrad, SGD's momentum on or off cannot change:
// torch would start the missing state from nothing in the middle of training).
func (c *core[C]) SetConfig(g int, cfg C) error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.groupIndex(g); err != nil {
		return err
	}
	return c.setConfig(g, cfg)
}

func (c *core[C]) setConfig(g int, cfg C) error {
	if err := c.spec.validate(cfg); err != nil {
		return err
	}
	if c.spec.slots(cfg) != c.spec.slots(c.groups[g].cfg) {
		return fmt.Errorf("optim: %s: group %d: the new config needs state tensors %q, the group has %q: %w",
			c.spec.kind, g, c.spec.slots(cfg), c.spec.slots(c.groups[g].cfg), ErrInvalidConfig)
	}
	if c.spec.initialAtFirstStep {
		// The params that have not stepped yet have no state in torch: it is created
		// at their first step from the options then, so theirs follows the config.
		if err := c.refillFresh(c.groups[g], cfg); err != nil {
			_ = c.refillFresh(c.groups[g], c.groups[g].cfg) // put back what was there
			return err
		}
	}
	c.groups[g].cfg = cfg
	return nil
}

// refillFresh fills the state of group g's params that have not stepped yet with the
// values a fresh state starts at under cfg.
func (c *core[C]) refillFresh(g *group[C], cfg C) error {
	var fresh []int
	for i, t := range g.steps {
		if t == 0 {
			fresh = append(fresh, i)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	return c.initialState(ctx, g, cfg, fresh)
}

func (c *core[C]) groupIndex(g int) error {
	if c.closed {
		return fmt.Errorf("optim: %s: group %d: %w", c.spec.kind, g, ErrClosed)
	}
	if g < 0 || g >= len(c.groups) {
		return fmt.Errorf("optim: %s: group %d out of range [0, %d): %w", c.spec.kind, g, len(c.groups), ErrInvalidArgument)
	}
	return nil
}

// GroupLR is the learning rate of group g (0 if g is out of range).
func (c *core[C]) GroupLR(g int) float64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g < 0 || g >= len(c.groups) {
		return 0
	}
	return *c.spec.lr(&c.groups[g].cfg)
}

// SetGroupLR sets the learning rate of group g.
func (c *core[C]) SetGroupLR(g int, lr float64) error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.groupIndex(g); err != nil {
		return err
	}
	cfg := c.groups[g].cfg
	*c.spec.lr(&cfg) = lr
	return c.setConfig(g, cfg)
}

// LR is the learning rate of the first group.
func (c *core[C]) LR() float64 { return c.GroupLR(0) }

// errNoCore is the error of a method called on an optimizer that its constructor
// did not make (a zero SGD, &Adam{}): it has no groups and no state.
var errNoCore = fmt.Errorf("optim: optimizer not made by its constructor (NewSGD, NewAdam, ...): %w", ErrInvalidArgument)

// SetLR sets the learning rate of every group.
func (c *core[C]) SetLR(lr float64) error {
	if c == nil {
		return errNoCore
	}
	n := c.NumGroups()
	for g := 0; g < n; g++ {
		if err := c.SetGroupLR(g, lr); err != nil {
			return err
		}
	}
	return nil
}

// GroupMomentum is the momentum of group g as OneCycleLR cycles it (momentum for
// SGD and RMSprop, beta1 for Adam and AdamW); ok is false where there is none.
func (c *core[C]) GroupMomentum(g int) (float64, bool) {
	if c == nil {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spec.momentum == nil || g < 0 || g >= len(c.groups) {
		return 0, false
	}
	return *c.spec.momentum(&c.groups[g].cfg), true
}

// SetGroupMomentum sets what GroupMomentum reads.
func (c *core[C]) SetGroupMomentum(g int, m float64) error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.groupIndex(g); err != nil {
		return err
	}
	if c.spec.momentum == nil {
		return fmt.Errorf("optim: %s has no momentum: %w", c.spec.kind, ErrInvalidConfig)
	}
	cfg := c.groups[g].cfg
	*c.spec.momentum(&cfg) = m
	return c.setConfig(g, cfg)
}

// StepCount is the number of steps param i of group g has taken (0 if g or i is
// out of range).
func (c *core[C]) StepCount(g, i int) int64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g < 0 || g >= len(c.groups) || i < 0 || i >= len(c.groups[g].params) {
		return 0
	}
	return c.groups[g].steps[i]
}

// Params are group g's params (nil if g is out of range).
func (c *core[C]) Params(g int) []*Param {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g < 0 || g >= len(c.groups) {
		return nil
	}
	return append([]*Param(nil), c.groups[g].params...)
}

// State returns a host copy of the state tensor called name (torch's key, e.g.
// "exp_avg") of param i of group g. For the values torch keeps per param as 0-dim
// tensors on the host (NAdam's "mu_product", ASGD's "eta" and "mu") it is one value:
// before the param's first step, the one that step will start from.
func (c *core[C]) State(g, i int, name string) ([]float32, error) {
	if c == nil {
		return nil, errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.groupIndex(g); err != nil {
		return nil, err
	}
	gr := c.groups[g]
	if i < 0 || i >= len(gr.params) {
		return nil, fmt.Errorf("optim: %s: param %d out of range [0, %d): %w", c.spec.kind, i, len(gr.params), ErrInvalidArgument)
	}
	for k, n := range c.spec.slots(gr.cfg) {
		if n == name && n != "" {
			if gr.slen[k][i] == 0 && gr.numel[i] > 0 {
				return nil, fmt.Errorf("optim: %s: param %s keeps no %q (shape %v): %w", c.spec.kind,
					gr.params[i].label(i), name, gr.shape[i], ErrInvalidArgument)
			}
			out := make([]float32, gr.slen[k][i])
			ctx, err := engine()
			if err != nil {
				return nil, err
			}
			if err := ctx.CopyToHost(out, gr.stateAt(k, i)); err != nil {
				return nil, err
			}
			return out, nil
		}
	}
	for k, n := range c.spec.scalarNames {
		if n == name {
			return []float32{float32(c.scalarsOf(gr, i)[k])}, nil
		}
	}
	return nil, fmt.Errorf("optim: %s: no state %q (it keeps %q): %w", c.spec.kind, name, c.stateNames(gr.cfg), ErrInvalidArgument)
}

// stateNames are the names State answers to under cfg: the state tensors', then the
// host values'.
func (c *core[C]) stateNames(cfg C) []string {
	var out []string
	for _, n := range c.spec.slots(cfg) {
		if n != "" {
			out = append(out, n)
		}
	}
	return append(out, c.spec.scalarNames...)
}

// stateAt is the address of param i's elements in state slot k.
func (g *group[C]) stateAt(k, i int) unsafe.Pointer {
	return g.state[k].buf.at(g.off[k][i], g.slen[k][i])
}

// active checks every param of a group, acquires the memory of those with a
// gradient into c.held and returns their indices. Nothing is changed.
func (c *core[C]) active(gi int, g *group[C]) ([]int, error) {
	act := make([]int, 0, len(g.params))
	for i, p := range g.params {
		if p == nil || p.Data == nil {
			return nil, fmt.Errorf("optim: %s: group %d param %d: %w", c.spec.kind, gi, i, ErrNilParam)
		}
		if p.Data.Len() != g.numel[i] {
			return nil, &ShapeError{Param: p.label(i), What: "data", Got: p.Data.Len(), Want: g.numel[i]}
		}
		if c.spec.shaped && !slices.Equal(p.Shape, g.shape[i]) {
			return nil, fmt.Errorf("optim: %s: param %s: Shape is %v, it was %v when the param was added "+
				"(the state is laid out for that shape): %w", c.spec.kind, p.label(i), p.Shape, g.shape[i], ErrInvalidArgument)
		}
		if p.Grad == nil {
			continue
		}
		if p.Grad.Len() != g.numel[i] {
			return nil, &ShapeError{Param: p.label(i), What: "grad", Got: p.Grad.Len(), Want: g.numel[i]}
		}
		if !c.held.add(p.Data.buf) {
			return nil, fmt.Errorf("optim: %s: param %s: data tensor: %w", c.spec.kind, p.label(i), ErrClosed)
		}
		if !c.held.add(p.Grad.buf) {
			return nil, fmt.Errorf("optim: %s: param %s: grad tensor: %w", c.spec.kind, p.label(i), ErrClosed)
		}
		act = append(act, i)
	}
	return act, nil
}

// span is the memory of one param's data or grad, for the overlap check.
type span struct {
	lo, hi uintptr
	param  string
	what   string
}

// checkOverlap refuses params whose data and grads share memory with one another
// (two WrapSlices over one array, Grad == Data, an arena's param next to a param
// over the arena's Data): a step would update that memory twice, or ZeroGrad would
// zero params. cached skips the check when no param's Data or Grad changed since
// the last one passed.
func (c *core[C]) checkOverlap(groups []*group[C], cached bool) error {
	key := c.checked[:0:0]
	for _, g := range groups {
		for _, p := range g.params {
			key = append(key, p.Data, p.Grad)
		}
	}
	if cached && slices.Equal(key, c.checked) {
		return nil
	}
	var h hold
	defer h.done()
	var spans []span
	for _, g := range groups {
		for i, p := range g.params {
			for _, x := range []struct {
				t    *Tensor
				what string
			}{{p.Data, "data"}, {p.Grad, "grad"}} {
				if x.t == nil || x.t.n == 0 {
					continue
				}
				if !h.add(x.t.buf) {
					return fmt.Errorf("optim: %s: param %s: %s tensor: %w", c.spec.kind, p.label(i), x.what, ErrClosed)
				}
				lo := x.t.addr()
				spans = append(spans, span{lo, lo + uintptr(4*x.t.n), p.label(i), x.what})
			}
		}
	}
	slices.SortStableFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	for j := 1; j < len(spans); j++ {
		// Sorted by start and disjoint so far, so the previous span reaches furthest.
		prev, cur := spans[j-1], spans[j]
		if cur.lo < prev.hi {
			if prev.param == cur.param {
				return fmt.Errorf("optim: %s: param %s: its data and grad share memory: %w",
					c.spec.kind, cur.param, ErrInvalidArgument)
			}
			return fmt.Errorf("optim: %s: param %s (%s) and param %s (%s) share memory: %w",
				c.spec.kind, prev.param, prev.what, cur.param, cur.what, ErrInvalidArgument)
		}
	}
	c.checked = key
	return nil
}

// fill puts the params idx of group g into the list, merging neighbours that are
// contiguous in data, grad and every state tensor, so an arena becomes one entry.
// Addresses are compared as integers: the end of one tensor is never formed as a
// pointer. The params' memory is held in c.held.
func (c *core[C]) fill(g *group[C], idx []int) {
	c.list.Reset()
	if c.spec.shaped {
		c.fillShaped(g, idx)
		return
	}
	var cur struct {
		n     int64
		p, gr uintptr
		st    [binding.MaxState]uintptr
	}
	have := false
	for _, i := range idx {
		p := g.params[i]
		var st [binding.MaxState]uintptr
		for k, t := range g.state {
			if t != nil {
				st[k] = uintptr(g.stateAt(k, i))
			}
		}
		pa, ga := p.Data.addr(), p.Grad.addr()
		if have && !c.spec.perTensor && cur.p+uintptr(4*cur.n) == pa && cur.gr+uintptr(4*cur.n) == ga && contiguous(cur.st, st, cur.n) {
			cur.n += int64(g.numel[i])
			continue
		}
		if have {
			c.list.Append(cur.n, cur.p, cur.gr, cur.st)
		}
		cur.n, cur.p, cur.gr, cur.st, have = int64(g.numel[i]), pa, ga, st, true
	}
	if have {
		c.list.Append(cur.n, cur.p, cur.gr, cur.st)
	}
}

// fillShaped puts each of the params idx of group g in the list as an entry of its
// own, with its shape in c.rows and c.cols; a slot the param keeps nothing in is 0.
func (c *core[C]) fillShaped(g *group[C], idx []int) {
	c.rows, c.cols = c.rows[:0], c.cols[:0]
	for _, i := range idx {
		var st [binding.MaxState]uintptr
		for k, t := range g.state {
			if t != nil && g.slen[k][i] > 0 {
				st[k] = uintptr(g.stateAt(k, i))
			}
		}
		r, cl := matrixOf(g.shape[i])
		c.rows, c.cols = append(c.rows, int64(r)), append(c.cols, int64(cl))
		c.list.Append(int64(g.numel[i]), g.params[i].Data.addr(), g.params[i].Grad.addr(), st)
	}
}

func contiguous(a, b [binding.MaxState]uintptr, n int64) bool {
	for k := range a {
		if a[k] != 0 && a[k]+uintptr(4*n) != b[k] {
			return false
		}
	}
	return true
}

// Step applies one update to every param with a gradient. All params of every group
// are checked first: on a bad param nothing is updated. With SetCheckFinite(true), a
// step whose gradients hold a NaN or Inf changes nothing and returns an error
// matching ErrNonFinite.
func (c *core[C]) Step() error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stepLocked(stepExtras{})
}

// stepExtras are the optional passes fused around a step.
type stepExtras struct {
	clip     bool    // clip_grad_norm_ folded into the step
	maxNorm  float64 // with clip; 0 scales the gradients in place first (see ClipStep)
	normType float64 // with clip
	// lossScale > 0: GradScaler's step. The gradients are scaled by it; how they are
	// unscaled is the optimizer's spec.fusedScaling.
	lossScale float32
}

// prepare checks the optimizer and every param of every group, and returns the
// backend and, per group, the indices of the params with a gradient, whose memory
// it holds open in c.held until the caller's deferred c.held.done. Nothing is
// changed, so a call that fails here leaves everything as it was.
func (c *core[C]) prepare(op string) (*binding.Context, [][]int, error) {
	if c.closed {
		return nil, nil, fmt.Errorf("optim: %s: %s: %w", c.spec.kind, op, ErrClosed)
	}
	ctx, err := engine()
	if err != nil {
		return nil, nil, err
	}
	acts := make([][]int, len(c.groups))
	for gi, g := range c.groups {
		if acts[gi], err = c.active(gi, g); err != nil {
			return nil, nil, err
		}
	}
	if err := c.checkOverlap(c.groups, true); err != nil {
		return nil, nil, err
	}
	return ctx, acts, nil
}

func (c *core[C]) stepLocked(x stepExtras) error {
	defer c.held.done()
	ctx, acts, err := c.prepare("Step")
	if err != nil {
		return err
	}
	if c.ext != nil {
		if err := c.ext.beforeStep(); err != nil {
			return err
		}
	}
	stepped := make([][]int, len(acts))
	copy(stepped, acts)
	var aux *binding.Aux
	check := c.checkFinite || x.lossScale > 0
	// Where torch's GradScaler drives this optimizer's fused kernel, the step divides
	// each gradient by the scale as it reads it and writes the quotient back, and the
	// check before it only reads: one pass over the gradients fewer than unscaling in
	// place first, and on a skipped step the gradients stay scaled, as torch leaves
	// them. Clipping needs the norm of the unscaled gradients before the step, so with
	// it they are unscaled in place first.
	fusedScale := x.lossScale > 0 && c.spec.fusedScaling && !x.clip
	if check || x.clip {
		if c.scratch == nil {
			if c.scratch, err = newBackendTensor(4, "scratch"); err != nil {
				return err
			}
		}
		aux = &binding.Aux{}
		// The third float is the factor of the unscale: 1/scale for the in-place pass,
		// the scale itself for the fused one (never both in one step).
		norm, found, factor := c.scratch.ptr(), unsafe.Add(c.scratch.ptr(), 4), unsafe.Add(c.scratch.ptr(), 8)
		c.gradsList(acts)
		if check {
			var invp unsafe.Pointer
			switch {
			case fusedScale:
				if err := ctx.CopyFromHost(factor, []float32{x.lossScale}); err != nil {
					return err
				}
				aux.GradScale = factor
			case x.lossScale > 0:
				// torch takes the reciprocal in double and rounds it to float once.
				if err := ctx.CopyFromHost(factor, []float32{float32(1 / float64(x.lossScale))}); err != nil {
					return err
				}
				invp = factor
			}
			if err := ctx.Fill(found, 0, 1); err != nil {
				return err
			}
			if err := ctx.CheckFinite(c.list, invp, found); err != nil {
				return err
			}
			aux.FoundInf = found
		}
		if x.clip {
			if err := ctx.GradNorm(c.list, x.normType, norm); err != nil {
				return err
			}
			c.normSet = true
			if x.maxNorm > 0 && c.spec.globalNorm == nil {
				aux.ClipNorm, aux.MaxNorm = norm, x.maxNorm
			} else if err := c.clipInPlace(ctx, aux, norm, x.maxNorm); err != nil {
				return err
			}
		}
	}
	if err := c.globalGradNorm(ctx, acts); err != nil {
		return err
	}
	// The per-param host values before the step, to take back with the step counts.
	var before [][]scalars
	if c.spec.scalarNames != nil {
		before = make([][]scalars, len(c.groups))
		for gi, g := range c.groups {
			before[gi] = slices.Clone(g.sc)
		}
	}
	for gi, g := range c.groups {
		// Params advance one step each; those at the same step (and with the same host
		// values) share a call: in practice all of them, as the counts differ only when
		// some grads were nil.
		for len(acts[gi]) > 0 {
			t, sc := g.steps[acts[gi][0]], c.scalarsOf(g, acts[gi][0])
			same := acts[gi][:0:0]
			rest := acts[gi][:0:0]
			for _, i := range acts[gi] {
				if g.steps[i] == t && c.scalarsOf(g, i) == sc {
					same = append(same, i)
				} else {
					rest = append(rest, i)
				}
			}
			var next scalars
			if c.spec.scalarNames != nil {
				var err error
				if next, err = c.spec.nextScalars(g.cfg, t+1, sc); err != nil {
					return fmt.Errorf("optim: %s: step of group %d: %w", c.spec.kind, gi, err)
				}
			}
			c.fill(g, same)
			if err := c.launch(ctx, g.cfg, t+1, sc, aux); err != nil {
				return fmt.Errorf("optim: %s: step of group %d: %w", c.spec.kind, gi, err)
			}
			for _, i := range same {
				g.steps[i] = t + 1
				g.sc[i] = next
			}
			acts[gi] = rest
		}
	}
	if aux != nil && aux.FoundInf != nil {
		// The kernels skipped the update on the device; take the step counts back.
		var f [1]float32
		if err := ctx.CopyToHost(f[:], aux.FoundInf); err != nil {
			return err
		}
		if f[0] != 0 {
			for gi, g := range c.groups {
				for _, i := range stepped[gi] {
					g.steps[i]--
				}
				if before != nil {
					copy(g.sc, before[gi])
				}
			}
			return c.errSkipped()
		}
	}
	return nil
}

// globalGradNorm puts the L2 norm of every active gradient of every group into the
// scratch's fourth float when a group's step reads it (spec.globalNorm).
func (c *core[C]) globalGradNorm(ctx *binding.Context, acts [][]int) error {
	if c.spec.globalNorm == nil {
		return nil
	}
	need := false
	for gi, g := range c.groups {
		need = need || (len(acts[gi]) > 0 && c.spec.globalNorm(g.cfg))
	}
	if !need {
		return nil
	}
	if c.scratch == nil {
		var err error
		if c.scratch, err = newBackendTensor(4, "scratch"); err != nil {
			return err
		}
	}
	c.gradsList(acts)
	return ctx.GradNorm(c.list, 2, c.globalNormPtr())
}

func (c *core[C]) globalNormPtr() unsafe.Pointer { return unsafe.Add(c.scratch.ptr(), 12) }

// scalarsOf are param i's host values for its next step.
func (c *core[C]) scalarsOf(g *group[C], i int) scalars {
	if c.spec.scalarNames == nil {
		return scalars{}
	}
	if g.steps[i] == 0 {
		return c.spec.freshScalars(g.cfg)
	}
	return g.sc[i]
}

// launch runs the optimizer's kernel over c.list.
func (c *core[C]) launch(ctx *binding.Context, cfg C, t int64, sc scalars, aux *binding.Aux) error {
	if c.spec.stepScalars != nil {
		return c.spec.stepScalars(ctx, c.list, cfg, t, sc, aux)
	}
	if c.spec.stepShaped != nil {
		return c.spec.stepShaped(ctx, c.list, c.rows, c.cols, cfg, t, aux)
	}
	if c.spec.stepNorm != nil {
		var norm unsafe.Pointer
		if c.scratch != nil {
			norm = c.globalNormPtr()
		}
		return c.spec.stepNorm(ctx, c.list, cfg, t, norm, aux)
	}
	return c.spec.step(ctx, c.list, cfg, t, aux)
}

func (c *core[C]) errSkipped() error {
	return fmt.Errorf("optim: %s: step skipped, params and state unchanged: a gradient holds NaN or Inf: %w",
		c.spec.kind, ErrNonFinite)
}

// clipInPlace scales the gradients of c.list by min(maxNorm/(norm+1e-6), 1) in
// memory, as ClipGradNorm does. The fused clip of the C ABI applies only for
// max_norm > 0, so a maxNorm of 0 (torch's clip_grad_norm_ then scales every
// gradient by 0, or by NaN when the norm is NaN) takes this path. When the finite
// check is on, it runs first and a non-finite gradient skips the step with every
// gradient as it was, as on the fused path.
func (c *core[C]) clipInPlace(ctx *binding.Context, aux *binding.Aux, norm unsafe.Pointer, maxNorm float64) error {
	if aux.FoundInf != nil {
		var f [1]float32
		if err := ctx.CopyToHost(f[:], aux.FoundInf); err != nil {
			return err
		}
		if f[0] != 0 {
			return c.errSkipped()
		}
	}
	return ctx.ClipGradByNorm(c.list, maxNorm, norm)
}

// initialState fills the state of params idx of group g with the values a fresh state
// starts at under cfg.
func (c *core[C]) initialState(ctx *binding.Context, g *group[C], cfg C, idx []int) error {
	for k, name := range c.spec.slots(cfg) {
		if name == "" || g.state[k] == nil {
			continue
		}
		v := c.spec.initial(cfg, k)
		for _, i := range idx {
			if err := ctx.Fill(g.stateAt(k, i), v, int64(g.slen[k][i])); err != nil {
				return fmt.Errorf("optim: %s: state %s: %w", c.spec.kind, name, err)
			}
		}
	}
	return nil
}

// gradsList puts the gradients of the active params of every group into the list.
func (c *core[C]) gradsList(acts [][]int) {
	c.list.Reset()
	for gi, g := range c.groups {
		for _, i := range acts[gi] {
			c.list.Append(int64(g.numel[i]), g.params[i].Data.addr(), g.params[i].Grad.addr(), [binding.MaxState]uintptr{})
		}
	}
}

// SetCheckFinite turns on a check of every gradient before each Step: a step whose
// gradients hold a NaN or Inf is skipped for every group (params, state and step
// counts unchanged) and Step returns an error matching ErrNonFinite. The check reads
// the gradients once more (4 bytes per parameter) and, on the GPU, makes Step wait
// for the device.
func (c *core[C]) SetCheckFinite(on bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checkFinite = on
}

// ClipStep is ClipGradNorm fused into Step: the total gradient norm (normType 2 or
// +Inf) over every param of every group is computed in one pass, and each gradient
// is scaled by min(maxNorm/(norm+1e-6), 1) as the step reads it. Unlike
// ClipGradNorm, the gradients in memory are left unscaled, and on the GPU nothing
// waits for the norm. LastGradNorm reads the norm afterwards.
//
// maxNorm must be finite and >= 0. With 0 the coefficient is 0 (NaN for a NaN
// norm), as in torch: the gradients are then scaled in memory before the step,
// exactly as ClipGradNorm(params, 0, normType, false) scales them, and the step
// takes the same numbers as ClipGradNorm followed by Step.
//
// The L2 norm is summed in double and rounded to float32 once, so it can differ
// from torch's float32 norm by a few ulps, and it stays finite where torch's
// overflows to +Inf (above about 1.8e19, where torch scales every gradient to 0 and
// goptim still clips). Over a trajectory the ulps grow: runs with L2 clipping drift
// from torch's by up to 1e-3 relative. Without L2 clipping the library matches torch
// bit for bit.
func (c *core[C]) ClipStep(maxNorm, normType float64) error {
	if c == nil {
		return errNoCore
	}
	if err := checkNonNeg(c.spec.kind, "max_norm", maxNorm); err != nil {
		return err
	}
	if err := checkNormType(c.spec.kind, normType); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stepLocked(stepExtras{clip: true, maxNorm: maxNorm, normType: normType})
}

// LastGradNorm is the total gradient norm the last ClipStep computed (before
// clipping); NaN if there was none. On the GPU it waits for the device.
func (c *core[C]) LastGradNorm() (float64, error) {
	if c == nil {
		return 0, errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, fmt.Errorf("optim: %s: LastGradNorm: %w", c.spec.kind, ErrClosed)
	}
	if !c.normSet {
		return math.NaN(), nil
	}
	ctx, err := engine()
	if err != nil {
		return 0, err
	}
	var f [1]float32
	if err := ctx.CopyToHost(f[:], c.scratch.ptr()); err != nil {
		return 0, err
	}
	return float64(f[0]), nil
}

// ZeroGrad sets every gradient to zero (one C call per group).
func (c *core[C]) ZeroGrad() error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Every group is checked before any gradient is zeroed.
	defer c.held.done()
	ctx, acts, err := c.prepare("ZeroGrad")
	if err != nil {
		return err
	}
	for gi, g := range c.groups {
		c.fill(g, acts[gi])
		if err := ctx.ZeroGrad(c.list); err != nil {
			return err
		}
	}
	return nil
}

// Close frees the optimizer's state. The params are the caller's and stay as they
// are. Close is idempotent.
func (c *core[C]) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	runtime.SetFinalizer(c, nil)
	var first error
	for _, g := range c.groups {
		for k, t := range g.state {
			if t != nil {
				if err := t.Close(); err != nil && first == nil {
					first = err
				}
				g.state[k] = nil
			}
		}
	}
	if c.scratch != nil {
		if err := c.scratch.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.list.Free()
	return first
}

// Validation helpers shared by the optimizers' configs.

func checkNonNeg(kind, field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return &ConfigError{Optimizer: kind, Field: field, Value: v, Reason: "must be finite and >= 0"}
	}
	return nil
}

func checkPos(kind, field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return &ConfigError{Optimizer: kind, Field: field, Value: v, Reason: "must be finite and > 0"}
	}
	return nil
}

func checkUnit(kind, field string, v float64) error {
	if !(v >= 0 && v < 1) {
		return &ConfigError{Optimizer: kind, Field: field, Value: v, Reason: "must be in [0, 1)"}
	}
	return nil
}
