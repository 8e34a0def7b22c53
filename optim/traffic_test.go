package optim

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
)

// trafficSets are the sets the backends have: 0..3 states, the gradient written or not.
func trafficSets() (sets []struct{ reads, writes TrafficMask }) {
	for ns := 0; ns <= 3; ns++ {
		for _, gw := range []TrafficMask{0, TrafficGrad} {
			st := TrafficStates(ns)
			sets = append(sets, struct{ reads, writes TrafficMask }{TrafficParam | TrafficGrad | st, TrafficParam | st | gw})
		}
	}
	return sets
}

// TestTrafficWritesExactlyItsMasks: one Traffic step over an arena (one list entry), a
// separate param and a param without a gradient leaves every param at p + g, every
// state it keeps at 0 + g, the gradient at -g when written and as it was otherwise, and
// the param without a gradient untouched.
func TestTrafficWritesExactlyItsMasks(t *testing.T) {
	for _, set := range trafficSets() {
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
			if err := tr.Step(); err != nil {
				t.Fatal(err)
			}
			for i, p := range params {
				s := starts[i]
				got, err := p.Data.Values()
				if err != nil {
					t.Fatal(err)
				}
				skipped := p.Grad == nil
				for j := range got {
					want := s.p[j] + s.g[j]
					if skipped {
						want = s.p[j]
					}
					if got[j] != want {
						t.Fatalf("param %s [%d] = %v, want %v", p.label(i), j, got[j], want)
					}
				}
				if skipped {
					continue
				}
				g, err := p.Grad.Values()
				if err != nil {
					t.Fatal(err)
				}
				for j := range g {
					want := s.g[j]
					if set.writes&TrafficGrad != 0 {
						want = -want
					}
					if g[j] != want {
						t.Fatalf("grad %s [%d] = %v, want %v", p.label(i), j, g[j], want)
					}
				}
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
					for j := range st {
						if st[j] != s.g[j] {
							t.Fatalf("state %d of %s [%d] = %v, want %v", k, p.label(i), j, st[j], s.g[j])
						}
					}
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

// TestTrafficRefusals: masks past the five arrays, sets without a loop, use after Close.
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
		{TrafficParam, TrafficParam, ErrUnsupported},                       // no gradient read
		{pg, TrafficGrad, ErrUnsupported},                                  // param not written
		{pg | TrafficState1, TrafficParam | TrafficState1, ErrUnsupported}, // state 1 without state 0
		{pg | TrafficState0, TrafficParam, ErrUnsupported},                 // a state read, not written
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
		if tr.Reads() != 0 || tr.Writes() != 0 || tr.BytesPerParam() != 0 {
			t.Errorf("masks of a zero Traffic: %v %v %d", tr.Reads(), tr.Writes(), tr.BytesPerParam())
		}
	}
}
