package optim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MonitorConfig holds a Monitor's options. Zero values are taken literally: start
// from MonitorDefaults.
type MonitorConfig struct {
	// VanishBelow and VanishSteps: a param whose gradient's L2 norm stays below
	// VanishBelow for VanishSteps steps in a row is flagged as vanishing.
	VanishBelow float64
	VanishSteps int
	// ExplodeFactor and Window: a step whose global gradient norm exceeds
	// ExplodeFactor times the median of the previous Window steps' (once there are
	// at least 5 of them) is flagged as exploding, naming the params whose norms grew
	// the most (once for a run of such steps); a NaN or Inf norm is always flagged.
	ExplodeFactor float64
	Window        int
	// ExplodeAbove, when > 0, also flags as exploding a step whose global gradient
	// norm exceeds it (a network that starts with exploding gradients has no calm
	// history to jump from), naming the params with the largest norms; it fires on
	// the step the norm rises above it, not again until the norm has come back under.
	ExplodeAbove float64
	// JSON writes one JSON object per step instead of CSV rows.
	JSON bool
}

// MonitorDefaults flags norms under 1e-7 for 10 steps and jumps of 10x over the median
// of the last 20 steps, written as CSV.
func MonitorDefaults() MonitorConfig {
	return MonitorConfig{VanishBelow: 1e-7, VanishSteps: 10, ExplodeFactor: 10, Window: 20}
}

func (c MonitorConfig) validate() error {
	const k = "monitor"
	if err := checkNonNeg(k, "vanish_below", c.VanishBelow); err != nil {
		return err
	}
	if c.VanishSteps < 1 {
		return &ConfigError{Optimizer: k, Field: "vanish_steps", Value: float64(c.VanishSteps), Reason: "must be >= 1"}
	}
	if !(c.ExplodeFactor > 1) || math.IsInf(c.ExplodeFactor, 0) {
		return &ConfigError{Optimizer: k, Field: "explode_factor", Value: c.ExplodeFactor,
			Reason: "must be finite and > 1"}
	}
	if err := checkNonNeg(k, "explode_above", c.ExplodeAbove); err != nil {
		return err
	}
	if c.Window < 5 {
		return &ConfigError{Optimizer: k, Field: "window", Value: float64(c.Window), Reason: "must be >= 5"}
	}
	return nil
}

// Flag kinds a Monitor raises.
const (
	FlagVanishing = "vanishing"
	FlagExploding = "exploding"
	FlagNonFinite = "nonfinite"
)

// MonitorFlag is one warning of a step: its kind, the params it concerns (by name)
// and a sentence saying what was seen.
type MonitorFlag struct {
	Kind    string   `json:"kind"`
	Params  []string `json:"params"`
	Message string   `json:"message"`
}

// MonitorRecord is what a Monitor recorded for one step.
type MonitorRecord struct {
	Step     int
	Loss, LR float64
	// GradNorm is the global L2 norm of every watched gradient, from Layers.
	GradNorm float64
	// Clipped: GradNorm exceeded the clipping threshold Record was given.
	Clipped bool
	// Layers are the watched params' gradient norms, in the order they were given.
	Layers []TensorNorm
	Flags  []MonitorFlag
}

// Monitor records, per training step, the loss, the learning rate, the global
// gradient norm, whether clipping fired and every watched param's gradient norm
// (GradNorms: one read of the gradients), writes them as CSV or JSON lines that can be
// plotted or tailed, and flags vanishing and exploding gradients, naming the params.
// Safe for concurrent use.
type Monitor struct {
	mu      sync.Mutex
	w       io.Writer
	cw      *csv.Writer
	cfg     MonitorConfig
	params  []*Param
	names   []string
	history []float64 // the last Window global norms
	prev    []float64 // the previous step's per-param norms
	low     []int     // per param: steps in a row under VanishBelow
	above   bool      // the previous step's norm exceeded ExplodeAbove
	jumping bool      // the previous step's norm exceeded ExplodeFactor times the median
	header  bool
}

// NewMonitor watches the gradients of params and writes to w.
func NewMonitor(w io.Writer, params []*Param, cfg MonitorConfig) (*Monitor, error) {
	if w == nil {
		return nil, fmt.Errorf("optim: monitor: nil writer: %w", ErrInvalidArgument)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Monitor{w: w, cfg: cfg, params: slices.Clone(params), low: make([]int, len(params))}
	for i, p := range params {
		if p == nil {
			return nil, fmt.Errorf("optim: monitor: param %d: %w", i, ErrNilParam)
		}
		name := p.Name
		if name == "" {
			name = fmt.Sprintf("param%d", i)
		}
		m.names = append(m.names, name)
	}
	if !cfg.JSON {
		m.cw = csv.NewWriter(w)
	}
	return m, nil
}

// Record takes the norms of the watched gradients as they are now (call it after
// the backward pass, before the optimizer's step changes or clipping scales them),
// with the step's number, loss and learning rate and the clipping threshold (0: no
// clipping), writes the step's line and returns the record with its flags.
func (m *Monitor) Record(step int, loss, lr, clipAt float64) (MonitorRecord, error) {
	if m == nil || m.w == nil {
		return MonitorRecord{}, fmt.Errorf("optim: monitor: Record on a Monitor not made by NewMonitor: %w",
			ErrInvalidArgument)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	norms, err := GradNorms(m.params)
	if err != nil {
		return MonitorRecord{}, err
	}
	r := MonitorRecord{Step: step, Loss: loss, LR: lr, Layers: norms}
	sum := 0.0
	for _, n := range norms {
		sum += n.L2 * n.L2
	}
	r.GradNorm = math.Sqrt(sum)
	r.Clipped = clipAt > 0 && r.GradNorm > clipAt
	r.Flags = m.flags(r)
	return r, m.write(r)
}

func (m *Monitor) flags(r MonitorRecord) []MonitorFlag {
	var out []MonitorFlag
	var bad []string
	for i, n := range r.Layers {
		if math.IsNaN(n.L2) || math.IsInf(n.L2, 0) {
			bad = append(bad, m.names[i])
		}
	}
	if len(bad) > 0 {
		out = append(out, MonitorFlag{Kind: FlagNonFinite, Params: bad,
			Message: fmt.Sprintf("step %d: the gradients of %s hold NaN or Inf", r.Step, strings.Join(bad, ", "))})
	}
	jumped, jumping := false, false
	if len(m.history) >= 5 && len(bad) == 0 {
		med := median(m.history)
		jumping = r.GradNorm > m.cfg.ExplodeFactor*med
		if jumping && !m.jumping { // once a run of such steps
			grown := m.grown(r.Layers)
			out = append(out, MonitorFlag{Kind: FlagExploding, Params: grown,
				Message: fmt.Sprintf("step %d: gradient norm %.3g is %.1fx the median %.3g of the last %d steps; "+
					"grown most: %s", r.Step, r.GradNorm, r.GradNorm/med, med, len(m.history),
					strings.Join(grown, ", "))})
			jumped = true
		}
	}
	m.jumping = jumping
	if m.cfg.ExplodeAbove > 0 && len(bad) == 0 {
		above := r.GradNorm > m.cfg.ExplodeAbove
		if above && !m.above && !jumped { // one exploding flag a step
			top := m.largest(r.Layers)
			out = append(out, MonitorFlag{Kind: FlagExploding, Params: top,
				Message: fmt.Sprintf("step %d: gradient norm %.3g is above %g; largest: %s", r.Step, r.GradNorm,
					m.cfg.ExplodeAbove, strings.Join(top, ", "))})
		}
		m.above = above
	}
	var vanish []string
	for i, n := range r.Layers {
		if n.L2 < m.cfg.VanishBelow {
			m.low[i]++
		} else {
			m.low[i] = 0
		}
		if m.low[i] == m.cfg.VanishSteps {
			vanish = append(vanish, m.names[i])
		}
	}
	if len(vanish) > 0 {
		out = append(out, MonitorFlag{Kind: FlagVanishing, Params: vanish,
			Message: fmt.Sprintf("step %d: the gradients of %s have stayed below %g for %d steps", r.Step,
				strings.Join(vanish, ", "), m.cfg.VanishBelow, m.cfg.VanishSteps)})
	}
	if !math.IsNaN(r.GradNorm) && !math.IsInf(r.GradNorm, 0) {
		m.history = append(m.history, r.GradNorm)
		if len(m.history) > m.cfg.Window {
			m.history = m.history[1:]
		}
	}
	m.prev = m.prev[:0]
	for _, n := range r.Layers {
		m.prev = append(m.prev, n.L2)
	}
	return out
}

// largest are up to three params with the largest gradient norms, largest first.
func (m *Monitor) largest(now []TensorNorm) []string {
	idx := make([]int, 0, len(now))
	for i, n := range now {
		if n.L2 > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case now[a].L2 > now[b].L2:
			return -1
		case now[a].L2 < now[b].L2:
			return 1
		}
		return 0
	})
	var out []string
	for i := 0; i < len(idx) && i < 3; i++ {
		out = append(out, m.names[idx[i]])
	}
	return out
}

// grown are up to three params whose norms grew the most over the previous step.
func (m *Monitor) grown(now []TensorNorm) []string {
	type g struct {
		name  string
		ratio float64
	}
	var gs []g
	for i, n := range now {
		ratio := math.Inf(1)
		if i < len(m.prev) && m.prev[i] > 0 {
			ratio = n.L2 / m.prev[i]
		}
		if n.L2 > 0 {
			gs = append(gs, g{m.names[i], ratio})
		}
	}
	slices.SortStableFunc(gs, func(a, b g) int {
		switch {
		case a.ratio > b.ratio:
			return -1
		case a.ratio < b.ratio:
			return 1
		}
		return 0
	})
	var out []string
	for i := 0; i < len(gs) && i < 3; i++ {
		out = append(out, gs[i].name)
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// number is a float that JSON writes as a number, or as the string "NaN", "+Inf" or
// "-Inf" (which JSON numbers cannot hold).
type number float64

func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte(strconv.Quote(strconv.FormatFloat(f, 'g', -1, 64))), nil
	}
	return []byte(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

func (m *Monitor) write(r MonitorRecord) error {
	if m.cfg.JSON {
		layers := make(map[string]number, len(r.Layers))
		for i, n := range r.Layers {
			layers[m.names[i]] = number(n.L2)
		}
		line := struct {
			Step     int               `json:"step"`
			Loss     number            `json:"loss"`
			LR       number            `json:"lr"`
			GradNorm number            `json:"grad_norm"`
			Clipped  bool              `json:"clipped"`
			Layers   map[string]number `json:"layers"`
			Flags    []MonitorFlag     `json:"flags,omitempty"`
		}{r.Step, number(r.Loss), number(r.LR), number(r.GradNorm), r.Clipped, layers, r.Flags}
		b, err := json.Marshal(line)
		if err != nil {
			return err
		}
		_, err = m.w.Write(append(b, '\n'))
		return err
	}
	if !m.header {
		head := []string{"step", "loss", "lr", "grad_norm", "clipped"}
		for _, n := range m.names {
			head = append(head, n)
		}
		if err := m.cw.Write(append(head, "flags")); err != nil {
			return err
		}
		m.header = true
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	row := []string{strconv.Itoa(r.Step), f(r.Loss), f(r.LR), f(r.GradNorm), strconv.FormatBool(r.Clipped)}
	for _, n := range r.Layers {
		row = append(row, f(n.L2))
	}
	var flags []string
	for _, fl := range r.Flags {
		flags = append(flags, fl.Kind+":"+strings.Join(fl.Params, "|"))
	}
	if err := m.cw.Write(append(row, strings.Join(flags, " "))); err != nil {
		return err
	}
	m.cw.Flush()
	return m.cw.Error()
}
