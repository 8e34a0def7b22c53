package optim_test

import (
	"fmt"
	"os"

	"github.com/goptim/goptim/optim"
)

// Per-layer gradient norms, all of them in one read of the gradients.
func ExampleGradNorms() {
	w, _ := optim.NewParam("w", 3)
	defer w.Close()
	b, _ := optim.NewParam("b", 2)
	defer b.Close()
	_ = w.Grad.CopyFrom([]float32{3, -4, 0})
	_ = b.Grad.CopyFrom([]float32{0.5, 0})
	norms, err := optim.GradNorms([]*optim.Param{w, b})
	if err != nil {
		panic(err)
	}
	for i, n := range norms {
		fmt.Printf("%s: L2 %g, max %g\n", []string{"w", "b"}[i], n.L2, n.Inf)
	}
	// Output:
	// w: L2 5, max 4
	// b: L2 0.5, max 0.5
}

// A monitor writes one CSV row per step (or JSON lines) and flags a layer whose
// gradient vanishes for VanishSteps steps in a row.
func ExampleMonitor() {
	w, _ := optim.NewParam("w", 2)
	defer w.Close()
	cfg := optim.MonitorDefaults()
	cfg.VanishSteps = 2
	m, err := optim.NewMonitor(os.Stdout, []*optim.Param{w}, cfg)
	if err != nil {
		panic(err)
	}
	for step, g := range [][]float32{{0.3, 0.4}, {1e-9, 0}, {0, 1e-9}} {
		_ = w.Grad.CopyFrom(g)
		r, err := m.Record(step+1, 1/float64(step+1), 0.1, 1)
		if err != nil {
			panic(err)
		}
		for _, f := range r.Flags {
			fmt.Println("flag:", f.Message)
		}
	}
	// Output:
	// step,loss,lr,grad_norm,clipped,w,flags
	// 1,1,0.1,0.5,false,0.5,
	// 2,0.5,0.1,1e-09,false,1e-09,
	// 3,0.333333,0.1,1e-09,false,1e-09,vanishing:w
	// flag: step 3: the gradients of w have stayed below 1e-07 for 2 steps
}
