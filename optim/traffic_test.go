package optim

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

// trafficSets are the sets the backends have: param and gradient each not touched, read,
// or read and written; states 0..n-1 (n = 0..3) all read only or all written; some
// array touched. 3*3*(1+3*2) - 1 = 62 sets.
func trafficSets() (sets []struct{ reads, writes TrafficMask }) {
	for _, p := range [][2]TrafficMask{{0, 0}, {TrafficParam, 0}, {TrafficParam, TrafficParam}} {
		for _, g := range [][2]TrafficMask{{0, 0}, {TrafficGrad, 0}, {TrafficGrad, TrafficGrad}} {
			for ns := 0; ns <= 3; ns++ {
				st := TrafficStates(ns)
				sws := []TrafficMask{0} // read only
				if ns > 0 {
					sws = append(sws, st) // written
				}
				for _, sw := range sws {
					if p[0]|g[0]|st == 0 {
						continue // no array
					}
					sets = append(sets, struct{ reads, writes TrafficMask }{p[0] | g[0] | st, p[1] | g[1] | sw})
				}
			}
		}
	}
	return sets
}

// TestTrafficWritesExactlyItsMasks: one Traffic step over an arena (one list entry), a
// separate param and a param without a gradient, for every supported set, leaves every
// array it writes at its documented value (a param or state x at x + g when the gradient
// is read, else at -x; the gradient at -g) and every other array bit for bit as it was:
// those it only reads, those it does not touch, and every array of the param without a
// gradient.
func TestTrafficWritesExactlyItsMasks(t *testing.T) {
	sets := trafficSets()
	if len(sets) != 62 {
		t.Fatalf("%d sets, want 62", len(sets))
	}
	for _, set := range sets {
		t.Run(fmt.Sprintf("reads=%v/writes=%v", set.reads, set.writes), func(t *testing.T) {
			arena, err := NewArena(nil, []int{5, 1000, 33})
			if err != nil {
				t.Fatal(err)
			}
			defer arena.Close()
			lone, err := NewParam("lone", 70001)
			if err != nil {
				t.Fatal(err)
			}
			defer lone.Close()
			noGrad, err := NewParam("nograd", 17)
			if err != nil {
				t.Fatal(err)
			}
			defer noGrad.Close()
			params := append(arena.Params(), lone, noGrad)
			type start struct{ p, g []float32 }
			starts := make([]start, len(params))
			for i, p := range params {
				n := p.Data.Len()
				s := start{make([]float32, n), make([]float32, n)}
				for j := range n {
					s.p[j] = float32(math.Sin(float64(i*7919+j))) * 3
					s.g[j] = float32(math.Cos(float64(i*104729+j))) + 0.25
				}
				if err := p.Data.CopyFrom(s.p); err != nil {
					t.Fatal(err)
				}
				if err := p.Grad.CopyFrom(s.g); err != nil {
					t.Fatal(err)
				}
				starts[i] = s
			}
			noGrad.Grad = nil
			tr, err := NewTraffic(params, set.reads, set.writes)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			// nonzero states, so that a read-only state left alone and a written one
			// negated both show
			states := make([][3][]float32, len(params))
			for i, p := range params {
				for k := range 3 {
					if tr.state[k] == nil {
						continue
					}
					v := make([]float32, p.Data.Len())
					for j := range v {
						v[j] = float32(math.Sin(float64(k*31337+i*7+j)))*2 - 2.5
					}
					if err := viewOf(tr.state[k].buf, tr.off[i], tr.numel[i]).CopyFrom(v); err != nil {
						t.Fatal(err)
					}
					states[i][k] = v
				}
			}
			if err := tr.Step(); err != nil {
				t.Fatal(err)
			}
			gRead := set.reads&TrafficGrad != 0
			// written: x + g with the gradient read, else -x
			written := func(x, g float32) float32 {
				if gRead {
					return x + g
				}
				return -x
			}
			same := func(what string, got, want []float32) {
				t.Helper()
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s [%d] = %v, want %v", what, j, got[j], want[j])
					}
				}
			}
			for i, p := range params {
				s := starts[i]
				skipped := p.Grad == nil
				got, err := p.Data.Values()
				if err != nil {
					t.Fatal(err)
				}
				want := append([]float32(nil), s.p...)
				if !skipped && set.writes&TrafficParam != 0 {
					for j := range want {
						want[j] = written(s.p[j], s.g[j])
					}
				}
				same("param "+p.label(i), got, want)
				if skipped {
					continue
				}
				g, err := p.Grad.Values()
				if err != nil {
					t.Fatal(err)
				}
				want = append([]float32(nil), s.g...)
				if set.writes&TrafficGrad != 0 {
					for j := range want {
						want[j] = -s.g[j]
					}
				}
				same("grad "+p.label(i), g, want)
				for k := range 3 {
					st, err := tr.State(k, i)
					if set.reads&(TrafficState0<<k) == 0 {
						if !errors.Is(err, ErrInvalidArgument) {
							t.Fatalf("state %d of a loop without it: %v, want ErrInvalidArgument", k, err)
						}
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					want = append([]float32(nil), states[i][k]...)
					if set.writes&(TrafficState0<<k) != 0 {
						for j := range want {
							want[j] = written(states[i][k][j], s.g[j])
						}
					}
					same(fmt.Sprintf("state %d of %s", k, p.label(i)), st, want)
				}
			}
			if got, want := tr.BytesPerParam(), TrafficBytes(set.reads, set.writes); got != want {
				t.Fatalf("BytesPerParam %d, want %d", got, want)
			}
		})
	}
}

func TestTrafficBytesAndNames(t *testing.T) {
	pg := TrafficParam | TrafficGrad
	for _, c := range []struct {
		reads, writes TrafficMask
		bytes         int
		name          string
	}{
		{pg, TrafficParam, 12, "p,g"},                                                // SGD
		{pg | TrafficStates(1), TrafficParam | TrafficStates(1), 20, "p,g,s0"},       // SGD momentum, Adagrad
		{pg | TrafficStates(2), TrafficParam | TrafficStates(2), 28, "p,g,s0,s1"},    // Adam
		{pg | TrafficStates(2), pg | TrafficStates(2), 32, "p,g,s0,s1"},              // Adam, fused unscale
		{0, TrafficParam | TrafficStates(3), 32, "p,s0,s1,s2"},                       // reads |= writes
		{pg | TrafficStates(3), TrafficParam | TrafficStates(3), 36, "p,g,s0,s1,s2"}, // Adam amsgrad
		{pg | 1<<7, TrafficParam, 16, "p,g,0x80"},
	} {
		if got := TrafficBytes(c.reads, c.writes); got != c.bytes {
			t.Errorf("TrafficBytes(%v, %v) = %d, want %d", c.reads, c.writes, got, c.bytes)
		}
		if got := (c.reads | c.writes).String(); got != c.name {
			t.Errorf("String %q, want %q", got, c.name)
		}
	}
	if TrafficStates(0) != 0 || TrafficStates(3) != TrafficState0|TrafficState1|TrafficState2 {
		t.Errorf("TrafficStates: %v, %v", TrafficStates(0), TrafficStates(3))
	}
}

// TestTrafficRefusals: masks past the five arrays, sets outside the family, use after
// Close.
func TestTrafficRefusals(t *testing.T) {
	p, err := NewParam("w", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ps := []*Param{p}
	pg := TrafficParam | TrafficGrad
	for _, c := range []struct {
		reads, writes TrafficMask
		want          error
	}{
		{pg | 1<<5, TrafficParam, ErrInvalidArgument},
		{pg, TrafficParam | 1<<31, ErrInvalidArgument},
		{0, 0, ErrUnsupported},                                                // no array
		{pg | TrafficState1, TrafficParam | TrafficState1, ErrUnsupported},    // state 1 without state 0
		{TrafficState2, 0, ErrUnsupported},                                    // state 2 alone, read only
		{pg | TrafficStates(2), TrafficParam | TrafficState0, ErrUnsupported}, // state 0 written, state 1 read only
		{TrafficStates(3), TrafficState1 | TrafficState2, ErrUnsupported},     // state 0 read only, 1 and 2 written
	} {
		tr, err := NewTraffic(ps, c.reads, c.writes)
		if !errors.Is(err, c.want) {
			t.Errorf("NewTraffic(%v, %v): %v, want %v", c.reads, c.writes, err, c.want)
		}
		if tr != nil {
			t.Errorf("NewTraffic(%v, %v) made a loop", c.reads, c.writes)
		}
	}
	if _, err := NewTraffic([]*Param{nil}, pg, TrafficParam); !errors.Is(err, ErrNilParam) {
		t.Errorf("nil param: %v", err)
	}
	tr, err := NewTraffic(ps, pg|TrafficStates(2), TrafficParam|TrafficStates(2))
	if err != nil {
		t.Fatal(err)
	}
	// Steps from several goroutines race Close: each either runs whole or gets ErrClosed.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := tr.Step(); err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("Step: %v", err)
				}
			}
		}()
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := tr.Step(); !errors.Is(err, ErrClosed) {
		t.Errorf("Step after Close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := tr.State(0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("State after Close: %v", err)
	}
}

// TestTrafficZeroValue: a Traffic not made by NewTraffic refuses every call, panicking
// on none.
func TestTrafficZeroValue(t *testing.T) {
	for _, tr := range []*Traffic{nil, {}} {
		if err := tr.Step(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Step: %v", err)
		}
		if _, err := tr.State(0, 0); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("State: %v", err)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if tr.Reads() != 0 || tr.Writes() != 0 || tr.BytesPerParam() != 0 || tr.Passes() != nil {
			t.Errorf("masks of a zero Traffic: %v %v %d", tr.Reads(), tr.Writes(), tr.BytesPerParam())
		}
	}
}

// TestTrafficPasses: a loop of several passes runs them in order over one set of state
// tensors, and counts the bytes of each. LAMB's passes (the gradients' norm; the moments
// from the param and gradient; the param from the moments) leave the gradient as it was,
// each moment at s + g and the param at -p; LARS's (the norms; SGD with momentum) the
// param at p + g and the buffer at s + g.
func TestTrafficPasses(t *testing.T) {
	pg := TrafficParam | TrafficGrad
	for _, c := range []struct {
		name   string
		passes []TrafficPass
		bytes  int
		p      func(p, g float32) float32
	}{
		{"lamb", []TrafficPass{{TrafficGrad, 0}, {pg | TrafficStates(2), TrafficStates(2)},
			{TrafficParam | TrafficStates(2), TrafficParam}}, 4 + 24 + 16, func(p, g float32) float32 { return -p }},
		{"lars", []TrafficPass{{pg, 0}, {pg | TrafficStates(1), TrafficParam | TrafficStates(1)}}, 8 + 20,
			func(p, g float32) float32 { return p + g }},
	} {
		t.Run(c.name, func(t *testing.T) {
			arena, err := NewArena(nil, []int{5, 1000, 33})
			if err != nil {
				t.Fatal(err)
			}
			defer arena.Close()
			lone, err := NewParam("lone", 70001)
			if err != nil {
				t.Fatal(err)
			}
			defer lone.Close()
			params := append(arena.Params(), lone)
			type start struct{ p, g []float32 }
			starts := make([]start, len(params))
			for i, p := range params {
				n := p.Data.Len()
				s := start{make([]float32, n), make([]float32, n)}
				for j := range n {
					s.p[j] = float32(math.Sin(float64(i*7919+j))) * 3
					s.g[j] = float32(math.Cos(float64(i*104729+j))) + 0.25
				}
				if err := p.Data.CopyFrom(s.p); err != nil {
					t.Fatal(err)
				}
				if err := p.Grad.CopyFrom(s.g); err != nil {
					t.Fatal(err)
				}
				starts[i] = s
			}
			tr, err := NewTrafficPasses(params, c.passes...)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			var reads, writes TrafficMask
			for _, ps := range c.passes {
				reads |= ps.Reads | ps.Writes
				writes |= ps.Writes
			}
			if tr.Reads() != reads || tr.Writes() != writes || tr.BytesPerParam() != c.bytes {
				t.Fatalf("reads %v writes %v bytes %d, want %v %v %d", tr.Reads(), tr.Writes(), tr.BytesPerParam(),
					reads, writes, c.bytes)
			}
			if got := tr.Passes(); len(got) != len(c.passes) || got[len(got)-1] != c.passes[len(c.passes)-1] {
				t.Fatalf("Passes %v, want %v", got, c.passes)
			}
			states := make([][3][]float32, len(params))
			for i, p := range params {
				for k := range 3 {
					if tr.state[k] == nil {
						continue
					}
					v := make([]float32, p.Data.Len())
					for j := range v {
						v[j] = float32(math.Sin(float64(k*31337+i*7+j)))*2 - 2.5
					}
					if err := viewOf(tr.state[k].buf, tr.off[i], tr.numel[i]).CopyFrom(v); err != nil {
						t.Fatal(err)
					}
					states[i][k] = v
				}
			}
			if err := tr.Step(); err != nil {
				t.Fatal(err)
			}
			for i, p := range params {
				s := starts[i]
				got, err := p.Data.Values()
				if err != nil {
					t.Fatal(err)
				}
				g, err := p.Grad.Values()
				if err != nil {
					t.Fatal(err)
				}
				for j := range got {
					if want := c.p(s.p[j], s.g[j]); got[j] != want {
						t.Fatalf("param %s [%d] = %v, want %v", p.label(i), j, got[j], want)
					}
					if g[j] != s.g[j] {
						t.Fatalf("grad %s [%d] = %v, want %v", p.label(i), j, g[j], s.g[j])
					}
				}
				for k := range 3 {
					if states[i][k] == nil {
						continue
					}
					st, err := tr.State(k, i)
					if err != nil {
						t.Fatal(err)
					}
					for j := range st {
						if want := states[i][k][j] + s.g[j]; st[j] != want {
							t.Fatalf("state %d of %s [%d] = %v, want %v", k, p.label(i), j, st[j], want)
						}
					}
				}
			}
		})
	}
	p, err := NewParam("w", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := NewTrafficPasses([]*Param{p}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("no pass: %v", err)
	}
	_, err = NewTrafficPasses([]*Param{p}, TrafficPass{pg, 0}, TrafficPass{pg | TrafficState1, TrafficParam})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "pass 1") {
		t.Errorf("an unsupported second pass: %v", err)
	}
	tr, err := NewTraffic([]*Param{p}, pg, TrafficParam)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if got := tr.Passes(); len(got) != 1 || got[0] != (TrafficPass{pg, TrafficParam}) {
		t.Errorf("NewTraffic's passes %v", got)
	}
}
