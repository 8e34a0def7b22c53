package optim_test

import (
	"fmt"
	"log"

	"github.com/goptim/goptim/optim"
)

// ExampleLBFGS minimises f(x) = (x0 - 3)^2 + 10*(x1 + 1)^2 with LBFGS and its strong-Wolfe
// line search. The closure computes the loss at the params' current values and writes
// the gradient into the param's Grad, as a torch closure calls backward().
func ExampleLBFGS() {
	x, err := optim.NewParam("x", 2)
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	cfg := optim.LBFGSDefaults()
	cfg.LineSearch = optim.LineSearchStrongWolfe
	opt, err := optim.NewLBFGS([]*optim.Param{x}, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer opt.Close()
	v := make([]float32, 2)
	closure := func() (float64, error) {
		if err := x.Data.CopyTo(v); err != nil {
			return 0, err
		}
		a, b := v[0]-3, v[1]+1
		if err := x.Grad.CopyFrom([]float32{2 * a, 20 * b}); err != nil {
			return 0, err
		}
		return float64(a*a + 10*b*b), nil
	}
	loss, err := opt.Step(closure)
	if err != nil {
		log.Fatal(err)
	}
	if err := x.Data.CopyTo(v); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loss before: %.1f\n", loss)
	fmt.Printf("x after one step: [%.4f %.4f]\n", v[0], v[1])
	// Output:
	// loss before: 19.0
	// x after one step: [3.0000 -1.0000]
}
