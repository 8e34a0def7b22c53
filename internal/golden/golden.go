// Package golden loads the torch reference data under testdata/torch: optimizer
// trajectories (optim.json) and gradient clipping results (clip.json) computed by
// torch.optim and torch.nn.utils in float32 by testdata/torch/gen_golden.py.
//
// Typical use from a test in any package of the module:
//
//	f, err := golden.LoadDefaultOptim()
//	if err != nil {
//		t.Fatal(err)
//	}
//	for _, c := range f.Cases {
//		h, err := c.Hyper()
//		...
//		// start from c.Init, feed c.Grads[s] at step s, compare with c.Params[s].
//	}
//
// Every loader validates the file's structure (lengths, step counts, options) and
// returns an error rather than panicking.
package golden

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Optimizer names used in OptimCase.Optimizer.
const (
	SGD       = "sgd"
	Adam      = "adam"
	AdamW     = "adamw"
	Adagrad   = "adagrad"
	RMSprop   = "rmsprop"
	Adamax    = "adamax"
	RAdam     = "radam"
	Adadelta  = "adadelta"
	Rprop     = "rprop"
	NAdam     = "nadam"
	ASGD      = "asgd"
	Adafactor = "adafactor"
	Lion      = "lion"
	AdEMAMix  = "ademamix"
	LAMB      = "lamb"
	LARS      = "lars"
)

// Optimizers lists every optimizer that optim.json covers.
var Optimizers = []string{SGD, Adam, AdamW, Adagrad, RMSprop, Adamax, RAdam, Adadelta, Rprop, NAdam, ASGD, Adafactor,
	Lion, AdEMAMix, LAMB, LARS}

// ScalarState are the state keys that torch keeps as one value per param (0-dim
// tensors): NAdam's mu_product, ASGD's eta and mu. Each is a one-element array per
// param in the file.
var ScalarState = map[string]bool{"mu_product": true, "eta": true, "mu": true}

// OptionKeys lists, per optimizer, every torch keyword argument that each case's
// options record (always all of them, defaults included).
var OptionKeys = map[string][]string{
	SGD:      {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"},
	Adam:     {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"},
	AdamW:    {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"},
	Adagrad:  {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"},
	RMSprop:  {"lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"},
	Adamax:   {"lr", "betas", "eps", "weight_decay", "maximize"},
	RAdam:    {"lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize"},
	Adadelta: {"lr", "rho", "eps", "weight_decay", "maximize"},
	Rprop:    {"lr", "etas", "step_sizes", "maximize"},
	NAdam:    {"lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize"},
	ASGD:     {"lr", "lambd", "alpha", "t0", "weight_decay", "maximize"},
	// eps is the pair (eps1, eps2), eps1 null for torch's None.
	Adafactor: {"lr", "beta2_decay", "eps", "d", "weight_decay", "maximize"},
	// The published algorithms torch lacks, with their references' option names.
	Lion: {"lr", "betas", "weight_decay"},
	// betas is a triple (beta1, beta2, beta3); the warmups are null for none.
	AdEMAMix: {"lr", "betas", "alpha", "beta3_warmup", "alpha_warmup", "eps", "weight_decay"},
	// apex's FusedLAMB, with timm's trust_clip.
	LAMB: {"lr", "bias_correction", "betas", "eps", "weight_decay", "adam_w_mode", "grad_averaging", "max_grad_norm",
		"use_nvlamb", "trust_clip"},
	// torch's SGD (weight decay applied by LARC) inside apex's LARC.
	LARS: {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "trust_coefficient", "clip", "eps"},
}

// boolOptions are the options whose JSON values are booleans; "betas", "etas" and
// "step_sizes" are pairs of numbers; every other option is a number.
var boolOptions = map[string]bool{"nesterov": true, "maximize": true, "amsgrad": true, "centered": true,
	"decoupled_weight_decay": true, "bias_correction": true, "adam_w_mode": true, "grad_averaging": true,
	"use_nvlamb": true, "trust_clip": true, "clip": true}

// OptimFile is testdata/torch/optim.json.
type OptimFile struct {
	TorchVersion string `json:"torch_version"`
	Generator    string `json:"generator"`
	DType        string `json:"dtype"`
	// Implementation holds the torch arguments that chose the code path (foreach,
	// fused); they are not part of any case's Options.
	Implementation map[string]any `json:"implementation"`
	Cases          []*OptimCase   `json:"cases"`
}

// OptimCase is one trajectory: one optimizer with one parameter group.
type OptimCase struct {
	Name      string  `json:"name"`
	Optimizer string  `json:"optimizer"`
	Options   Options `json:"options"`
	Steps     int     `json:"steps"`
	// Lengths are the element counts of the group's tensors.
	Lengths []int `json:"lengths"`
	// Init[i] is tensor i before the first step.
	Init [][]float32 `json:"init"`
	// Grads[s][i] is the gradient of tensor i fed to step s+1.
	Grads [][][]float32 `json:"grads"`
	// Params[s][i] is tensor i after step s+1.
	Params [][][]float32 `json:"params"`
	// State is torch's optimizer state after the last step.
	State State `json:"state"`
	// Shapes are the tensors' shapes where the optimizer reads them (Adafactor); nil
	// otherwise (every tensor a vector).
	Shapes [][]int `json:"shapes,omitempty"`
}

// StateLen is the length of state key k of tensor i: 1 for ScalarState, Adafactor's
// factors from the shape (0 where the tensor keeps none), otherwise the tensor's.
func (c *OptimCase) StateLen(k string, i int) int {
	if ScalarState[k] {
		return 1
	}
	if c.Optimizer != Adafactor {
		return c.Lengths[i]
	}
	var sh []int
	if i < len(c.Shapes) {
		sh = c.Shapes[i]
	}
	n := c.Lengths[i]
	matrix := len(sh) >= 2 && sh[len(sh)-2] > 0 && sh[len(sh)-1] > 0
	switch {
	case k == "row_var" && matrix:
		return n / sh[len(sh)-1]
	case k == "col_var" && matrix:
		return n / sh[len(sh)-2]
	case k == "variance" && !matrix:
		return n
	}
	return 0
}

// State is torch's per-parameter optimizer state after the last step, gathered over
// the group's tensors.
type State struct {
	// Step is torch's step count, nil where torch keeps none (SGD).
	Step *int
	// Tensors maps torch's state key (exp_avg, exp_avg_sq, max_exp_avg_sq, sum,
	// square_avg, grad_avg, momentum_buffer) to one slice per tensor of the group.
	// Keys that torch leaves as None (SGD's momentum_buffer without momentum) are absent.
	Tensors map[string][][]float32
}

// UnmarshalJSON reads {"step": int, "<key>": [[...] per tensor], ...}.
func (s *State) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	s.Step = nil
	s.Tensors = make(map[string][][]float32, len(raw))
	for k, v := range raw {
		if k == "step" {
			var n int
			if err := json.Unmarshal(v, &n); err != nil {
				return fmt.Errorf("state step: %w", err)
			}
			s.Step = &n
			continue
		}
		var t [][]float32
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("state %q: %w", k, err)
		}
		s.Tensors[k] = t
	}
	return nil
}

// MarshalJSON writes the same shape that UnmarshalJSON reads.
func (s State) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(s.Tensors)+1)
	for k, v := range s.Tensors {
		m[k] = v
	}
	if s.Step != nil {
		m["step"] = *s.Step
	}
	return json.Marshal(m)
}

// Keys returns the state's tensor keys, sorted.
func (s State) Keys() []string {
	keys := make([]string, 0, len(s.Tensors))
	for k := range s.Tensors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Options are a case's torch keyword arguments as decoded from JSON: numbers are
// float64, booleans bool, betas []any of two float64.
type Options map[string]any

// ErrOption reports a missing option or one of the wrong type.
var ErrOption = errors.New("golden: bad option")

// Has reports whether key is present.
func (o Options) Has(key string) bool {
	_, ok := o[key]
	return ok
}

// Float returns a numeric option.
func (o Options) Float(key string) (float64, error) {
	v, ok := o[key]
	if !ok {
		return 0, fmt.Errorf("%w: %q missing", ErrOption, key)
	}
	f, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("%w: %q is %T, not a number", ErrOption, key, v)
	}
	return f, nil
}

// Bool returns a boolean option.
func (o Options) Bool(key string) (bool, error) {
	v, ok := o[key]
	if !ok {
		return false, fmt.Errorf("%w: %q missing", ErrOption, key)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%w: %q is %T, not a bool", ErrOption, key, v)
	}
	return b, nil
}

// Betas returns Adam's and AdamW's (beta1, beta2).
func (o Options) Betas() (beta1, beta2 float64, err error) { return o.Pair("betas") }

// Pair decodes an option torch takes as a pair of numbers (betas, etas, step_sizes).
func (o Options) Pair(key string) (a, b float64, err error) {
	v, ok := o[key]
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q missing", ErrOption, key)
	}
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return 0, 0, fmt.Errorf("%w: %q is %v, not a pair", ErrOption, key, v)
	}
	a, ok1 := pair[0].(float64)
	b, ok2 := pair[1].(float64)
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("%w: %q is %v, not a pair of numbers", ErrOption, key, v)
	}
	return a, b, nil
}

// Triple decodes an option that is three numbers (AdEMAMix's betas).
func (o Options) Triple(key string) (a, b, c float64, err error) {
	v, ok := o[key]
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: %q missing", ErrOption, key)
	}
	t, ok := v.([]any)
	if !ok || len(t) != 3 {
		return 0, 0, 0, fmt.Errorf("%w: %q is %v, not three numbers", ErrOption, key, v)
	}
	var f [3]float64
	for i := range t {
		if f[i], ok = t[i].(float64); !ok {
			return 0, 0, 0, fmt.Errorf("%w: %q is %v, not three numbers", ErrOption, key, v)
		}
	}
	return f[0], f[1], f[2], nil
}

// Steps decodes a step count that may be null (0).
func (o Options) Steps(key string) (int, error) {
	v, ok := o[key]
	if !ok {
		return 0, fmt.Errorf("%w: %q missing", ErrOption, key)
	}
	if v == nil {
		return 0, nil
	}
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 1 {
		return 0, fmt.Errorf("%w: %q is %v, not a step count or null", ErrOption, key, v)
	}
	return int(f), nil
}

// EpsPair decodes Adafactor's eps, (eps1 or null, eps2): null is torch's None, the
// param dtype's machine epsilon, 2^-23 for float32.
func (o Options) EpsPair() (eps1, eps2 float64, err error) {
	v, ok := o["eps"]
	if !ok {
		return 0, 0, fmt.Errorf("%w: \"eps\" missing", ErrOption)
	}
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return 0, 0, fmt.Errorf("%w: \"eps\" is %v, not a pair", ErrOption, v)
	}
	eps1 = 0x1p-23
	if pair[0] != nil {
		if eps1, ok = pair[0].(float64); !ok {
			return 0, 0, fmt.Errorf("%w: \"eps\" is %v, not (number or null, number)", ErrOption, v)
		}
	}
	if eps2, ok = pair[1].(float64); !ok {
		return 0, 0, fmt.Errorf("%w: \"eps\" is %v, not (number or null, number)", ErrOption, v)
	}
	return eps1, eps2, nil
}

// Keys returns the option names, sorted.
func (o Options) Keys() []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Hyper is every hyperparameter of every optimizer, named as in torch.optim. Hyper
// fills the fields of the case's optimizer; the others stay zero.
type Hyper struct {
	LR          float64 // lr (all)
	WeightDecay float64 // weight_decay (sgd, adam, adamw, adagrad, rmsprop, adamax, radam, adadelta, nadam, asgd, adafactor, lion, ademamix, lamb, lars)
	Maximize    bool    // maximize (sgd, adam, adamw, adagrad, rmsprop, adamax, radam, adadelta, rprop, nadam, asgd, adafactor, lars)
	Eps         float64 // eps (adam, adamw, adagrad, rmsprop, adamax, radam, adadelta, nadam, ademamix, lamb, lars)

	Momentum  float64 // momentum (sgd, rmsprop, lars)
	Dampening float64 // dampening (sgd, lars)
	Nesterov  bool    // nesterov (sgd, lars)

	Beta1, Beta2 float64 // betas (adam, adamw, adamax, radam, nadam, lion, ademamix, lamb)
	Beta3        float64 // betas (ademamix)
	Amsgrad      bool    // amsgrad (adam, adamw)

	LRDecay                 float64 // lr_decay (adagrad)
	InitialAccumulatorValue float64 // initial_accumulator_value (adagrad)

	Alpha    float64 // alpha (rmsprop, asgd, ademamix)
	Centered bool    // centered (rmsprop)

	DecoupledWeightDecay bool    // decoupled_weight_decay (radam, nadam)
	MomentumDecay        float64 // momentum_decay (nadam)

	Beta2Decay float64 // beta2_decay (adafactor)
	// Eps1 and Eps2 are Adafactor's eps pair; torch's None for eps[0] is decoded as
	// float32's machine epsilon, 2^-23.
	Eps1, Eps2 float64 // eps (adafactor)
	D          float64 // d (adafactor)

	// Beta3Warmup and AlphaWarmup are AdEMAMix's warmups in steps, 0 for null.
	Beta3Warmup int // beta3_warmup (ademamix)
	AlphaWarmup int // alpha_warmup (ademamix)

	Lambd float64 // lambd (asgd)
	T0    float64 // t0 (asgd)

	Rho float64 // rho (adadelta)

	BiasCorrection bool    // bias_correction (lamb)
	AdamWMode      bool    // adam_w_mode (lamb)
	GradAveraging  bool    // grad_averaging (lamb)
	MaxGradNorm    float64 // max_grad_norm (lamb)
	UseNVLAMB      bool    // use_nvlamb (lamb)
	TrustClip      bool    // trust_clip (lamb)

	TrustCoefficient float64 // trust_coefficient (lars)
	Clip             bool    // clip (lars)

	EtaMinus, EtaPlus        float64 // etas (rprop)
	StepSizeMin, StepSizeMax float64 // step_sizes (rprop)
}

// Hyper decodes the case's options into a Hyper. It fails unless the options hold
// exactly the keys of OptionKeys[c.Optimizer], each of the right type.
func (c *OptimCase) Hyper() (Hyper, error) {
	var h Hyper
	want, ok := OptionKeys[c.Optimizer]
	if !ok {
		return h, fmt.Errorf("golden: case %q: unknown optimizer %q", c.Name, c.Optimizer)
	}
	if len(c.Options) != len(want) {
		return h, fmt.Errorf("%w: case %q: options %v, want exactly %v", ErrOption, c.Name, c.Options.Keys(), want)
	}
	var err error
	num := func(key string, dst *float64) {
		if err == nil {
			*dst, err = c.Options.Float(key)
		}
	}
	flag := func(key string, dst *bool) {
		if err == nil {
			*dst, err = c.Options.Bool(key)
		}
	}
	for _, k := range want {
		switch k {
		case "lr":
			num(k, &h.LR)
		case "weight_decay":
			num(k, &h.WeightDecay)
		case "maximize":
			flag(k, &h.Maximize)
		case "eps":
			if c.Optimizer == Adafactor {
				if err == nil {
					h.Eps1, h.Eps2, err = c.Options.EpsPair()
				}
				continue
			}
			num(k, &h.Eps)
		case "beta2_decay":
			num(k, &h.Beta2Decay)
		case "d":
			num(k, &h.D)
		case "momentum":
			num(k, &h.Momentum)
		case "dampening":
			num(k, &h.Dampening)
		case "nesterov":
			flag(k, &h.Nesterov)
		case "betas":
			if err == nil && c.Optimizer == AdEMAMix {
				h.Beta1, h.Beta2, h.Beta3, err = c.Options.Triple(k)
			} else if err == nil {
				h.Beta1, h.Beta2, err = c.Options.Betas()
			}
		case "beta3_warmup":
			if err == nil {
				h.Beta3Warmup, err = c.Options.Steps(k)
			}
		case "alpha_warmup":
			if err == nil {
				h.AlphaWarmup, err = c.Options.Steps(k)
			}
		case "amsgrad":
			flag(k, &h.Amsgrad)
		case "lr_decay":
			num(k, &h.LRDecay)
		case "initial_accumulator_value":
			num(k, &h.InitialAccumulatorValue)
		case "alpha":
			num(k, &h.Alpha)
		case "centered":
			flag(k, &h.Centered)
		case "decoupled_weight_decay":
			flag(k, &h.DecoupledWeightDecay)
		case "rho":
			num(k, &h.Rho)
		case "bias_correction":
			flag(k, &h.BiasCorrection)
		case "adam_w_mode":
			flag(k, &h.AdamWMode)
		case "grad_averaging":
			flag(k, &h.GradAveraging)
		case "max_grad_norm":
			num(k, &h.MaxGradNorm)
		case "use_nvlamb":
			flag(k, &h.UseNVLAMB)
		case "trust_clip":
			flag(k, &h.TrustClip)
		case "trust_coefficient":
			num(k, &h.TrustCoefficient)
		case "clip":
			flag(k, &h.Clip)
		case "momentum_decay":
			num(k, &h.MomentumDecay)
		case "lambd":
			num(k, &h.Lambd)
		case "t0":
			num(k, &h.T0)
		case "etas":
			if err == nil {
				h.EtaMinus, h.EtaPlus, err = c.Options.Pair(k)
			}
		case "step_sizes":
			if err == nil {
				h.StepSizeMin, h.StepSizeMax, err = c.Options.Pair(k)
			}
		default:
			err = fmt.Errorf("%w: unhandled key %q", ErrOption, k)
		}
	}
	if err != nil {
		return Hyper{}, fmt.Errorf("case %q: %w", c.Name, err)
	}
	return h, nil
}

// Validate checks the case's internal consistency: a known optimizer, exactly its
// options, at least one step, and every tensor list matching Lengths.
func (c *OptimCase) Validate() error {
	if c.Name == "" {
		return errors.New("golden: case without a name")
	}
	wrap := func(format string, a ...any) error {
		return fmt.Errorf("golden: case %q: %s", c.Name, fmt.Sprintf(format, a...))
	}
	if _, err := c.Hyper(); err != nil {
		return err
	}
	if c.Steps < 1 {
		return wrap("steps = %d", c.Steps)
	}
	if len(c.Lengths) == 0 {
		return wrap("no tensors")
	}
	for i, n := range c.Lengths {
		if n < 1 {
			return wrap("lengths[%d] = %d", i, n)
		}
	}
	if err := matchLengths(c.Lengths, c.Init); err != nil {
		return wrap("init: %v", err)
	}
	if len(c.Grads) != c.Steps || len(c.Params) != c.Steps {
		return wrap("%d grads and %d params for %d steps", len(c.Grads), len(c.Params), c.Steps)
	}
	for s := 0; s < c.Steps; s++ {
		if err := matchLengths(c.Lengths, c.Grads[s]); err != nil {
			return wrap("grads[%d]: %v", s, err)
		}
		if err := matchLengths(c.Lengths, c.Params[s]); err != nil {
			return wrap("params[%d]: %v", s, err)
		}
	}
	if c.State.Step != nil && *c.State.Step != c.Steps {
		return wrap("state step %d after %d steps", *c.State.Step, c.Steps)
	}
	if c.Shapes != nil {
		if len(c.Shapes) != len(c.Lengths) {
			return wrap("%d shapes for %d tensors", len(c.Shapes), len(c.Lengths))
		}
		for i, sh := range c.Shapes {
			prod := 1
			for _, d := range sh {
				prod *= d
			}
			if prod != c.Lengths[i] {
				return wrap("shapes[%d] = %v holds %d elements, lengths[%d] = %d", i, sh, prod, i, c.Lengths[i])
			}
		}
	}
	for k, v := range c.State.Tensors {
		lengths := make([]int, len(c.Lengths))
		for i := range lengths {
			lengths[i] = c.StateLen(k, i)
		}
		if err := matchLengths(lengths, v); err != nil {
			return wrap("state %q: %v", k, err)
		}
	}
	return nil
}

// NumElements is the total element count of the group.
func (c *OptimCase) NumElements() int {
	n := 0
	for _, l := range c.Lengths {
		n += l
	}
	return n
}

// Case returns the case with the given name.
func (f *OptimFile) Case(name string) (*OptimCase, bool) {
	for _, c := range f.Cases {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// ByOptimizer returns the cases of one optimizer, in file order.
func (f *OptimFile) ByOptimizer(optimizer string) []*OptimCase {
	var out []*OptimCase
	for _, c := range f.Cases {
		if c.Optimizer == optimizer {
			out = append(out, c)
		}
	}
	return out
}

// Clipping kinds used in ClipCase.Kind.
const (
	ClipNorm  = "norm"  // torch.nn.utils.clip_grad_norm_
	ClipValue = "value" // torch.nn.utils.clip_grad_value_
)

// ClipFile is testdata/torch/clip.json.
type ClipFile struct {
	TorchVersion string      `json:"torch_version"`
	Generator    string      `json:"generator"`
	DType        string      `json:"dtype"`
	Cases        []*ClipCase `json:"cases"`
}

// ClipCase is one call of clip_grad_norm_ or clip_grad_value_ on a group of gradients.
type ClipCase struct {
	Name string
	Kind string // ClipNorm or ClipValue
	// MaxNorm and NormType (2 or math.Inf(1)) are set for ClipNorm.
	MaxNorm  float64
	NormType float64
	// ClipValue is set for ClipValue.
	ClipValue float64
	Lengths   []int
	// Grads[i] is gradient i before clipping, Clipped[i] after.
	Grads   [][]float32
	Clipped [][]float32
	// TotalNorm is the float32 norm clip_grad_norm_ returned (ClipNorm only).
	TotalNorm float32
	// ClippingApplied reports max_norm/(total_norm+1e-6) < 1 (ClipNorm only).
	ClippingApplied bool
}

type clipCaseJSON struct {
	Name            string          `json:"name"`
	Kind            string          `json:"kind"`
	MaxNorm         *float64        `json:"max_norm,omitempty"`
	NormType        json.RawMessage `json:"norm_type,omitempty"`
	ClipValue       *float64        `json:"clip_value,omitempty"`
	Lengths         []int           `json:"lengths"`
	Grads           [][]float32     `json:"grads"`
	TotalNorm       *float32        `json:"total_norm,omitempty"`
	ClippingApplied *bool           `json:"clipping_applied,omitempty"`
	Clipped         [][]float32     `json:"clipped"`
}

// UnmarshalJSON reads a clip case; norm_type may be a number or the string "inf".
func (c *ClipCase) UnmarshalJSON(b []byte) error {
	var j clipCaseJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = ClipCase{Name: j.Name, Kind: j.Kind, Lengths: j.Lengths, Grads: j.Grads, Clipped: j.Clipped}
	switch j.Kind {
	case ClipNorm:
		if j.MaxNorm == nil || j.TotalNorm == nil || len(j.NormType) == 0 || j.ClippingApplied == nil {
			return fmt.Errorf("golden: clip case %q: norm case needs max_norm, norm_type, total_norm and clipping_applied", j.Name)
		}
		c.MaxNorm, c.TotalNorm, c.ClippingApplied = *j.MaxNorm, *j.TotalNorm, *j.ClippingApplied
		nt, err := parseNormType(j.NormType)
		if err != nil {
			return fmt.Errorf("golden: clip case %q: %w", j.Name, err)
		}
		c.NormType = nt
	case ClipValue:
		if j.ClipValue == nil {
			return fmt.Errorf("golden: clip case %q: value case needs clip_value", j.Name)
		}
		c.ClipValue = *j.ClipValue
	default:
		return fmt.Errorf("golden: clip case %q: unknown kind %q", j.Name, j.Kind)
	}
	return nil
}

func parseNormType(raw json.RawMessage) (float64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "inf" {
			return math.Inf(1), nil
		}
		return 0, fmt.Errorf("norm_type %q", s)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, fmt.Errorf("norm_type %s: %w", raw, err)
	}
	return f, nil
}

// Validate checks that the gradients before and after clipping match Lengths.
func (c *ClipCase) Validate() error {
	if c.Name == "" {
		return errors.New("golden: clip case without a name")
	}
	if len(c.Lengths) == 0 {
		return fmt.Errorf("golden: clip case %q: no tensors", c.Name)
	}
	if err := matchLengths(c.Lengths, c.Grads); err != nil {
		return fmt.Errorf("golden: clip case %q: grads: %w", c.Name, err)
	}
	if err := matchLengths(c.Lengths, c.Clipped); err != nil {
		return fmt.Errorf("golden: clip case %q: clipped: %w", c.Name, err)
	}
	if c.Kind == ClipNorm && c.NormType != 2 && !math.IsInf(c.NormType, 1) {
		return fmt.Errorf("golden: clip case %q: norm_type %v", c.Name, c.NormType)
	}
	return nil
}

// Case returns the clip case with the given name.
func (f *ClipFile) Case(name string) (*ClipCase, bool) {
	for _, c := range f.Cases {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

func matchLengths(lengths []int, tensors [][]float32) error {
	if len(tensors) != len(lengths) {
		return fmt.Errorf("%d tensors, want %d", len(tensors), len(lengths))
	}
	for i, t := range tensors {
		if len(t) != lengths[i] {
			return fmt.Errorf("tensor %d has %d elements, want %d", i, len(t), lengths[i])
		}
	}
	return nil
}

// LoadOptim reads and validates an optim.json file.
func LoadOptim(path string) (*OptimFile, error) {
	var f OptimFile
	if err := load(path, &f); err != nil {
		return nil, err
	}
	if err := checkCases(path, f.Cases, (*OptimCase).Validate, func(c *OptimCase) string { return c.Name }); err != nil {
		return nil, err
	}
	return &f, nil
}

// LoadClip reads and validates a clip.json file.
func LoadClip(path string) (*ClipFile, error) {
	var f ClipFile
	if err := load(path, &f); err != nil {
		return nil, err
	}
	if err := checkCases(path, f.Cases, (*ClipCase).Validate, func(c *ClipCase) string { return c.Name }); err != nil {
		return nil, err
	}
	return &f, nil
}

// checkCases requires at least one case, every case valid, and unique names.
func checkCases[T any](path string, cases []T, validate func(T) error, name func(T) string) error {
	if len(cases) == 0 {
		return fmt.Errorf("golden: %s: no cases", path)
	}
	seen := make(map[string]bool, len(cases))
	for _, c := range cases {
		if err := validate(c); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if seen[name(c)] {
			return fmt.Errorf("golden: %s: duplicate case %q", path, name(c))
		}
		seen[name(c)] = true
	}
	return nil
}

func load(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("golden: %s: %w", path, err)
	}
	return nil
}

// RepoRoot walks up from the working directory (a test's package directory under
// go test) to the directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("golden: %w", err)
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !st.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("golden: no go.mod above the working directory")
		}
		dir = parent
	}
}

// TestdataDir returns the repository's testdata directory.
func TestdataDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "testdata"), nil
}

// OptimPath is the path of testdata/torch/optim.json in this repository.
func OptimPath() (string, error) { return torchPath("optim.json") }

// ClipPath is the path of testdata/torch/clip.json in this repository.
func ClipPath() (string, error) { return torchPath("clip.json") }

func torchPath(name string) (string, error) {
	dir, err := TestdataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "torch", name), nil
}

// LoadDefaultOptim loads testdata/torch/optim.json of this repository.
func LoadDefaultOptim() (*OptimFile, error) {
	p, err := OptimPath()
	if err != nil {
		return nil, err
	}
	return LoadOptim(p)
}

// LoadDefaultClip loads testdata/torch/clip.json of this repository.
func LoadDefaultClip() (*ClipFile, error) {
	p, err := ClipPath()
	if err != nil {
		return nil, err
	}
	return LoadClip(p)
}
