package optim_test

import (
	"fmt"

	"github.com/goptim/goptim/optim"
)

// A linear warm-up over 5 epochs, then cosine annealing over the rest: torch's
// SequentialLR([LinearLR, CosineAnnealingLR], milestones=[5]). Any optimizer of this
// package can take the place of the groups here (they all implement LRGroups).
func ExampleNewSequentialLR() {
	groups := newFakeGroups([]float64{0.1}, nil) // one param group with lr 0.1
	warm, _ := optim.NewLinearLR(groups, optim.LinearLRConfig{StartFactor: 0.2, EndFactor: 1, TotalIters: 5})
	cos, _ := optim.NewCosineAnnealingLR(groups, optim.CosineAnnealingLRConfig{TMax: 5, EtaMin: 0.001})
	sched, _ := optim.NewSequentialLR(groups, optim.SequentialLRConfig{
		Schedulers: []optim.Scheduler{warm, cos},
		Milestones: []int{5},
	})
	for epoch := 0; epoch < 11; epoch++ {
		fmt.Printf("epoch %2d: lr %.5f\n", epoch, sched.LastLR()[0])
		// ... train one epoch: opt.Step() for every batch ...
		sched.Step()
	}
	// Output:
	// epoch  0: lr 0.02000
	// epoch  1: lr 0.03600
	// epoch  2: lr 0.05200
	// epoch  3: lr 0.06800
	// epoch  4: lr 0.08400
	// epoch  5: lr 0.10000
	// epoch  6: lr 0.09055
	// epoch  7: lr 0.06580
	// epoch  8: lr 0.03520
	// epoch  9: lr 0.01045
	// epoch 10: lr 0.00100
}

// ReduceLROnPlateau takes the metric it watches.
func ExampleNewReduceLROnPlateau() {
	groups := newFakeGroups([]float64{0.1}, nil)
	cfg := optim.ReduceLROnPlateauDefaults()
	cfg.Patience = 2
	sched, _ := optim.NewReduceLROnPlateau(groups, cfg)
	for _, valLoss := range []float64{1.0, 0.8, 0.8, 0.8, 0.8, 0.7} {
		sched.Step(valLoss)
		fmt.Printf("loss %.1f: lr %.3g\n", valLoss, sched.LastLR()[0])
	}
	// Output:
	// loss 1.0: lr 0.1
	// loss 0.8: lr 0.1
	// loss 0.8: lr 0.1
	// loss 0.8: lr 0.1
	// loss 0.8: lr 0.01
	// loss 0.7: lr 0.01
}
