package optim_test

import (
	"fmt"

	"github.com/goptim/goptim/optim"
)

// Schedule-Free AdamW trains without a learning-rate schedule. Train puts the params
// where the gradients are taken; Eval puts them at the average the optimizer keeps,
// which is what to evaluate (and save). Like the reference, the optimizer starts in
// eval mode, where Step is refused.
func ExampleNewScheduleFreeAdamW() {
	w, _ := optim.NewParam("w", 3)
	defer w.Close()
	cfg := optim.ScheduleFreeAdamWDefaults()
	cfg.LR, cfg.WarmupSteps = 0.1, 20
	opt, err := optim.NewScheduleFreeAdamW([]*optim.Param{w}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer opt.Close()
	fmt.Println("step before Train refused:", opt.Step() != nil)

	// Minimise f(w) = Σ (w_i - t_i)².
	target := []float32{1, -2, 3}
	x, g := make([]float32, 3), make([]float32, 3)
	loss := func() (f float64) {
		_ = w.Data.CopyTo(x)
		for i := range x {
			f += float64((x[i] - target[i]) * (x[i] - target[i]))
		}
		return f
	}
	for epoch := 1; epoch <= 3; epoch++ {
		_ = opt.Train()
		for step := 0; step < 100; step++ {
			_ = w.Data.CopyTo(x)
			for i := range x {
				g[i] = 2 * (x[i] - target[i]) // df/dw
			}
			_ = w.Grad.CopyFrom(g)
			if err := opt.Step(); err != nil {
				fmt.Println(err)
				return
			}
		}
		_ = opt.Eval()
		fmt.Printf("epoch %d: f %.2g at the average\n", epoch, loss())
	}
	// Output:
	// step before Train refused: true
	// epoch 1: f 0.026 at the average
	// epoch 2: f 0.024 at the average
	// epoch 3: f 0.0027 at the average
}
