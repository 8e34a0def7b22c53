package optim

import (
	"flag"
	"fmt"
	"testing"
)

// go test -bench . ./optim -benchn 67108864 measures on 64M parameters; the default
// is smaller so that a plain -bench run stays quick. Every optimizer's figure is to
// be read against BenchmarkCopy of the same run: both report the bytes a step must
// move (b.SetBytes), so MB/s(opt) / MB/s(copy) is the fraction of copy bandwidth.
var benchN = flag.Int("benchn", 1<<22, "parameters per benchmark tensor")

// stepBytes is what one fused step must move per parameter: read param, grad and
// each state tensor, write param and each state tensor.
func stepBytes(states int) int64 { return int64(4 * (2 + 2*states + 1)) }

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
