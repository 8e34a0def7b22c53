package optim

import (
	"flag"
	"fmt"
	"testing"
)

// go test -bench . ./optim -benchn 67108864 measures on 64M parameters; the default
// is smaller so that a plain -bench run stays quick. BenchmarkTraffic puts each
// optimizer's step beside its same-traffic loop (Traffic, the same arrays read and
// written with trivial arithmetic) in one run; both report the same bytes
// (b.SetBytes), so MB/s(step) / MB/s(loop) is the step's fraction of its limit.
// BenchmarkCopy is the older, weaker limit: a copy of Adam's bytes as two arrays.
var benchN = flag.Int("benchn", 1<<22, "parameters per benchmark tensor")

// stepBytes is what one fused step must move per parameter: read param, grad and
// each state tensor, write param and each state tensor.
func stepBytes(states int) int64 { return int64(TrafficBytes(trafficOf(states))) }

// trafficOf is the traffic of a step with that many states: param and grad read, the
// param and every state read and written.
func trafficOf(states int) (reads, writes TrafficMask) {
	return TrafficParam | TrafficGrad | TrafficStates(states), TrafficParam | TrafficStates(states)
}

type benchOpt struct {
	name   string
	states int
	make   func([]*Param) (Optimizer, error)
}

var benchOpts = []benchOpt{
	{"sgd", 0, func(p []*Param) (Optimizer, error) { return NewSGD(p, SGDDefaults(0.01)) }},
	{"sgd-momentum", 1, func(p []*Param) (Optimizer, error) { return NewSGD(p, SGDConfig{LR: 0.01, Momentum: 0.9}) }},
	{"adam", 2, func(p []*Param) (Optimizer, error) { return NewAdam(p, AdamDefaults()) }},
	{"adamw", 2, func(p []*Param) (Optimizer, error) { return NewAdamW(p, AdamWDefaults()) }},
	{"adagrad", 1, func(p []*Param) (Optimizer, error) { return NewAdagrad(p, AdagradDefaults()) }},
	{"rmsprop", 1, func(p []*Param) (Optimizer, error) { return NewRMSprop(p, RMSpropDefaults()) }},
	{"adamax", 2, func(p []*Param) (Optimizer, error) { return NewAdamax(p, AdamaxDefaults()) }},
	{"radam", 2, func(p []*Param) (Optimizer, error) { return NewRAdam(p, RAdamDefaults()) }},
	{"adadelta", 2, func(p []*Param) (Optimizer, error) { return NewAdadelta(p, AdadeltaDefaults()) }},
	{"rprop", 2, func(p []*Param) (Optimizer, error) { return NewRprop(p, RpropDefaults()) }},
	{"nadam", 2, func(p []*Param) (Optimizer, error) { return NewNAdam(p, NAdamDefaults()) }},
	// before t0 ASGD writes its average without reading it; an ordinary store fetches
	// the line anyway, so its loop reads it (goptim.h: reads |= writes)
	{"asgd", 1, func(p []*Param) (Optimizer, error) { return NewASGD(p, ASGDDefaults()) }},
	{"lion", 1, func(p []*Param) (Optimizer, error) { return NewLion(p, LionDefaults()) }},
	{"ademamix", 3, func(p []*Param) (Optimizer, error) { return NewAdEMAMix(p, AdEMAMixDefaults()) }},
	// LAMB and LARS make more than the one pass their loop stands for: LAMB reads the
	// gradients once more for the global norm and, with its trust ratio, the params and
	// moments again to apply it; LARS reads params and gradients once for its norms. The
	// ratio of step to loop shows what those passes cost.
	{"lamb", 2, func(p []*Param) (Optimizer, error) { return NewLAMB(p, LAMBDefaults()) }},
	{"lars", 1, func(p []*Param) (Optimizer, error) {
		c := LARSDefaults(0.1)
		c.Momentum = 0.9
		return NewLARS(p, c)
	}},
	// Schedule-Free AdamW reads and writes z and exp_avg_sq beside the param (z is only
	// written at a param's first step, the untimed first touch). It starts in eval mode,
	// where Step is refused: Train first (nothing to move before a step).
	{"schedulefree_adamw", 2, func(p []*Param) (Optimizer, error) {
		o, err := NewScheduleFreeAdamW(p, ScheduleFreeAdamWDefaults())
		if err != nil {
			return nil, err
		}
		if err := o.Train(); err != nil {
			o.Close()
			return nil, err
		}
		return o, nil
	}},
}

// BenchmarkCopy is the baseline: a backend copy moving as many bytes as an Adam step
// (14 B read + 14 B written per parameter).
func BenchmarkCopy(b *testing.B) {
	n := *benchN * 7 / 2 // floats: 14 B per parameter each way
	src, err := NewTensor(n)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := NewTensor(n)
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	ctx, err := engine()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(8 * n))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ctx.Copy(dst.ptr(), src.ptr(), int64(n)); err != nil {
			b.Fatal(err)
		}
	}
	if err := ctx.Synchronize(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStep: every optimizer on one tensor of -benchn parameters.
func BenchmarkStep(b *testing.B) {
	for _, bo := range benchOpts {
		b.Run(fmt.Sprintf("%s/n=%d", bo.name, *benchN), func(b *testing.B) {
			p, err := NewParam("w", *benchN)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			if err := p.Grad.Fill(0.01); err != nil {
				b.Fatal(err)
			}
			opt, err := bo.make([]*Param{p})
			if err != nil {
				b.Fatal(err)
			}
			defer opt.Close()
			if err := opt.Step(); err != nil { // first touch of the state
				b.Fatal(err)
			}
			b.SetBytes(stepBytes(bo.states) * int64(*benchN))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := opt.Step(); err != nil {
					b.Fatal(err)
				}
			}
			if err := Synchronize(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkStepSmallTensors: Adam over many small separately allocated tensors (one
// list call per step), the layout where per-tensor overhead shows.
func BenchmarkStepSmallTensors(b *testing.B) {
	const size = 1000
	count := max(*benchN/size, 1)
	params := make([]*Param, count)
	for i := range params {
		p, err := NewParam("", size)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		params[i] = p
	}
	opt, err := NewAdam(params, AdamDefaults())
	if err != nil {
		b.Fatal(err)
	}
	defer opt.Close()
	b.SetBytes(stepBytes(2) * int64(count*size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := opt.Step(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTraffic: every optimizer's step (".../step") and its same-traffic loop
// (".../loop") on the same -benchn parameters, the step's values randomised so that
// no optimizer runs on a special case. Both report the step's bytes, so the ratio of
// their MB/s is the step's fraction of its limit; run with -count N and compare
// within each count, the machine's bandwidth drifts between runs.
func BenchmarkTraffic(b *testing.B) {
	for _, bo := range benchOpts {
		p, err := NewParam("w", *benchN)
		if err != nil {
			b.Fatal(err)
		}
		vals := make([]float32, *benchN)
		for i := range vals {
			vals[i] = float32(i%1999)/999.5 - 1
		}
		if err := p.Data.CopyFrom(vals); err != nil {
			b.Fatal(err)
		}
		for i := range vals {
			vals[i] *= 1e-3
		}
		if err := p.Grad.CopyFrom(vals); err != nil {
			b.Fatal(err)
		}
		opt, err := bo.make([]*Param{p})
		if err != nil {
			b.Fatal(err)
		}
		reads, writes := trafficOf(bo.states)
		loop, err := NewTraffic([]*Param{p}, reads, writes)
		if err != nil {
			b.Fatal(err)
		}
		bytes := int64(TrafficBytes(reads, writes)) * int64(*benchN)
		for _, side := range []struct {
			name string
			step func() error
		}{{"step", opt.Step}, {"loop", loop.Step}} {
			b.Run(fmt.Sprintf("%s/n=%d/%s", bo.name, *benchN, side.name), func(b *testing.B) {
				if err := side.step(); err != nil { // first touch of the state
					b.Fatal(err)
				}
				b.SetBytes(bytes)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := side.step(); err != nil {
						b.Fatal(err)
					}
				}
				if err := Synchronize(); err != nil {
					b.Fatal(err)
				}
			})
		}
		opt.Close()
		loop.Close()
		p.Close()
	}
}
