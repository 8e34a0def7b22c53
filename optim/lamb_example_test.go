package optim_test

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/optim"
)

// relStep is ||after-before|| / ||before||: how far a step moved a param, relative
// to its size.
func relStep(before, after []float32) float64 {
	var d, n float64
	for i := range before {
		x := float64(after[i]) - float64(before[i])
		d += x * x
		n += float64(before[i]) * float64(before[i])
	}
	return math.Sqrt(d / n)
}

// LAMB scales each param's Adam update by its trust ratio ||p||/||u||, so every param
// moves by lr relative to its own size, whatever the size of its gradient; the
// gradients are first divided by their norm over every param when it exceeds
// MaxGradNorm.
func ExampleNewLAMB() {
	w, _ := optim.NewParam("w", 4)
	b, _ := optim.NewParam("b", 2)
	defer w.Close()
	defer b.Close()
	_ = w.Data.CopyFrom([]float32{3, -4, 12, 0})
	_ = w.Grad.CopyFrom([]float32{100, -50, 25, 10}) // large gradients: clipped
	_ = b.Data.CopyFrom([]float32{0.5, -0.25})
	_ = b.Grad.CopyFrom([]float32{0.001, 0.002}) // small ones

	cfg := optim.LAMBDefaults()
	cfg.LR = 0.01
	opt, err := optim.NewLAMB([]*optim.Param{w, b}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer opt.Close()
	w0, _ := w.Data.Values()
	b0, _ := b.Data.Values()
	if err := opt.Step(); err != nil {
		fmt.Println(err)
		return
	}
	w1, _ := w.Data.Values()
	b1, _ := b.Data.Values()
	fmt.Printf("relative steps %.4f %.4f\n", relStep(w0, w1), relStep(b0, b1))
	// Output: relative steps 0.0100 0.0100
}

// LARS (LARC with Clip) caps each param's step size at trust_coefficient*||p||/||g||
// (the adaptive lr) where that is below lr: a param with large gradients moves by
// trust_coefficient relative to its size, one with small gradients takes SGD's step.
func ExampleNewLARS() {
	w, _ := optim.NewParam("w", 2)
	b, _ := optim.NewParam("b", 2)
	defer w.Close()
	defer b.Close()
	_ = w.Data.CopyFrom([]float32{3, 4})
	_ = w.Grad.CopyFrom([]float32{30, 40}) // ||g|| = 10 ||p||: the adaptive lr 0.002
	_ = b.Data.CopyFrom([]float32{3, 4})
	_ = b.Grad.CopyFrom([]float32{0.3, 0.4}) // ||g|| = ||p||/10: the adaptive lr 0.2, capped at lr

	opt, err := optim.NewLARS([]*optim.Param{w, b}, optim.LARSDefaults(0.1)) // trust_coefficient 0.02
	if err != nil {
		fmt.Println(err)
		return
	}
	defer opt.Close()
	if err := opt.Step(); err != nil {
		fmt.Println(err)
		return
	}
	w1, _ := w.Data.Values()
	b1, _ := b.Data.Values()
	fmt.Printf("relative steps %.4f %.4f\n", relStep([]float32{3, 4}, w1), relStep([]float32{3, 4}, b1))
	fmt.Printf("w %.3f, b %.3f\n", w1, b1)
	// Output:
	// relative steps 0.0200 0.0100
	// w [2.940 3.920], b [2.970 3.960]
}
