package schedule_test

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

// sgd is an SGD over one param with learning rate lr, for the examples; any
// optimizer of package optim (or any optim.LRGroups) can take its place.
func sgd(lr float64) (*optim.SGD, func()) {
	w, _ := optim.NewParam("w", 1)
	opt, _ := optim.NewSGD([]*optim.Param{w}, optim.SGDDefaults(lr))
	return opt, func() { opt.Close(); w.Close() }
}

// A cosine schedule over Adam, stepped once per epoch after the optimizer's steps as
// in torch, and its state saved for a checkpoint (the lrs themselves are in the
// optimizer's checkpoint).
func Example() {
	w, _ := optim.NewParam("w", 4)
	defer w.Close()
	opt, _ := optim.NewAdam([]*optim.Param{w}, optim.AdamDefaults()) // lr 0.001
	defer opt.Close()
	sched, _ := schedule.NewCosineAnnealingLR(opt, schedule.CosineAnnealingLRConfig{TMax: 4, EtaMin: 1e-5})
	for epoch := 0; epoch < 4; epoch++ {
		for batch := 0; batch < 10; batch++ {
			w.Grad.Fill(1) // your model's backward pass
			opt.Step()
		}
		sched.Step()
		fmt.Printf("after epoch %d: lr %.6f\n", epoch, opt.LR())
	}
	state, _ := json.Marshal(sched.State())
	fmt.Println(string(state))
	// Output:
	// after epoch 0: lr 0.000855
	// after epoch 1: lr 0.000505
	// after epoch 2: lr 0.000155
	// after epoch 3: lr 0.000010
	// {"kind":"CosineAnnealingLR","last_epoch":4,"base_lrs":[0.001],"last_lr":[0.00001]}
}

// A linear warm-up over 5 epochs, then cosine annealing over the rest: torch's
// SequentialLR([LinearLR, CosineAnnealingLR], milestones=[5]).
func ExampleNewSequentialLR() {
	opt, done := sgd(0.1) // one param group with lr 0.1
	defer done()
	warm, _ := schedule.NewLinearLR(opt, schedule.LinearLRConfig{StartFactor: 0.2, EndFactor: 1, TotalIters: 5})
	cos, _ := schedule.NewCosineAnnealingLR(opt, schedule.CosineAnnealingLRConfig{TMax: 5, EtaMin: 0.001})
	sched, _ := schedule.NewSequentialLR(opt, schedule.SequentialLRConfig{
		Schedulers: []schedule.Scheduler{warm, cos},
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
	opt, done := sgd(0.1)
	defer done()
	cfg := schedule.ReduceLROnPlateauDefaults()
	cfg.Patience = 2
	sched, _ := schedule.NewReduceLROnPlateau(opt, cfg)
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

// The inverse square root schedule of "Attention is all you need" as a LambdaLR: a
// linear warm-up over 4 epochs, then lr ~ 1/sqrt(epoch).
func ExampleNewLambdaLR() {
	opt, done := sgd(0.1)
	defer done()
	const warmup = 4.0
	sched, _ := schedule.NewLambdaLR(opt, schedule.LambdaLRConfig{LRLambda: []schedule.LRLambda{
		func(e int) float64 { return math.Min(float64(e+1)/warmup, math.Sqrt(warmup/float64(e+1))) },
	}})
	for epoch := 0; epoch < 8; epoch++ {
		fmt.Printf("epoch %d: lr %.4f\n", epoch, sched.LastLR()[0])
		sched.Step()
	}
	// Output:
	// epoch 0: lr 0.0250
	// epoch 1: lr 0.0500
	// epoch 2: lr 0.0750
	// epoch 3: lr 0.1000
	// epoch 4: lr 0.0894
	// epoch 5: lr 0.0816
	// epoch 6: lr 0.0756
	// epoch 7: lr 0.0707
}

// SGDR, stepped every batch with a fractional epoch (torch's
// scheduler.step(epoch + batch/batches)): cycles of 2, then 4 epochs.
func ExampleCosineAnnealingWarmRestarts_StepEpoch() {
	opt, done := sgd(0.1)
	defer done()
	sched, _ := schedule.NewCosineAnnealingWarmRestarts(opt,
		schedule.CosineAnnealingWarmRestartsConfig{T0: 2, TMult: 2, EtaMin: 0.001})
	const batches = 2
	for epoch := 0; epoch < 6; epoch++ {
		for batch := 0; batch < batches; batch++ {
			sched.StepEpoch(float64(epoch) + float64(batch)/batches)
			fmt.Printf("epoch %d batch %d: lr %.5f (T_cur %.1f of %d)\n",
				epoch, batch, sched.LastLR()[0], sched.TCur(), sched.TI())
			// ... train on the batch: opt.Step() ...
		}
	}
	// Output:
	// epoch 0 batch 0: lr 0.10000 (T_cur 0.0 of 2)
	// epoch 0 batch 1: lr 0.08550 (T_cur 0.5 of 2)
	// epoch 1 batch 0: lr 0.05050 (T_cur 1.0 of 2)
	// epoch 1 batch 1: lr 0.01550 (T_cur 1.5 of 2)
	// epoch 2 batch 0: lr 0.10000 (T_cur 0.0 of 4)
	// epoch 2 batch 1: lr 0.09623 (T_cur 0.5 of 4)
	// epoch 3 batch 0: lr 0.08550 (T_cur 1.0 of 4)
	// epoch 3 batch 1: lr 0.06944 (T_cur 1.5 of 4)
	// epoch 4 batch 0: lr 0.05050 (T_cur 2.0 of 4)
	// epoch 4 batch 1: lr 0.03156 (T_cur 2.5 of 4)
	// epoch 5 batch 0: lr 0.01550 (T_cur 3.0 of 4)
	// epoch 5 batch 1: lr 0.00477 (T_cur 3.5 of 4)
}
