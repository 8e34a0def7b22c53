package optim_test

import (
	"fmt"

	"github.com/goptim/goptim/optim"
)

// Minimise f(w) = Σ (w_i - 3)² with Adam. The same code runs on the CPU build and on
// the GPU build (-tags cuda).
func Example() {
	w, _ := optim.NewParam("w", 4) // data and gradient, zeroed
	defer w.Close()
	opt, _ := optim.NewAdam([]*optim.Param{w}, optim.AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	defer opt.Close()
	x, g := make([]float32, 4), make([]float32, 4)
	for step := 0; step < 500; step++ {
		w.Data.CopyTo(x)
		for i := range x {
			g[i] = 2 * (x[i] - 3) // df/dw
		}
		w.Grad.CopyFrom(g)
		opt.Step()
	}
	w.Data.CopyTo(x)
	fmt.Printf("%.3f\n", x)
	// Output: [3.000 3.000 3.000 3.000]
}

// Two param groups with their own learning rates and gradient clipping, as in a
// torch training loop (package optim/schedule adds the learning-rate schedule).
func ExampleNewSGD() {
	arena, _ := optim.NewArena([]string{"weight", "bias"}, []int{6, 2}) // one contiguous buffer
	defer arena.Close()
	ps := arena.Params()
	opt, _ := optim.NewSGD(ps[:1], optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true})
	defer opt.Close()
	opt.AddParamGroup(ps[1:], optim.SGDDefaults(0.01))
	for _, p := range ps {
		p.Grad.Fill(1)
	}
	norm, _ := optim.ClipGradNorm(ps, 1.0, 2, true)
	opt.Step()
	fmt.Printf("grad norm before clipping %.4f, lr %v and %v\n", norm, opt.GroupLR(0), opt.GroupLR(1))
	// Output: grad norm before clipping 2.8284, lr 0.1 and 0.01
}
