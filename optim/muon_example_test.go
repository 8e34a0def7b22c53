package optim_test

import (
	"fmt"

	"github.com/goptim/goptim/optim"
)

// Muon steps the matrices (a Shape of two dimensions) and AdamW the rest, in one
// optimizer; the AdamW side has a schedule view of its own.
func ExampleNewMuon() {
	w, _ := optim.NewParam("w", 4*6)
	b, _ := optim.NewParam("b", 6)
	defer w.Close()
	defer b.Close()
	w.Shape = []int{4, 6}
	grad := make([]float32, 24)
	for i := range grad {
		grad[i] = float32(i%5) - 2
	}
	_ = w.Grad.CopyFrom(grad)
	_ = b.Grad.CopyFrom(grad[:6])

	cfg := optim.MuonDefaults()
	cfg.LR = 0.02
	cfg.Aux.LR = 3e-4
	opt, err := optim.NewMuon([]*optim.Param{w, b}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer opt.Close()
	if err := opt.Step(); err != nil {
		fmt.Println(err)
		return
	}
	buf, _ := opt.State(0, 0, "momentum_buffer")
	avg, _ := opt.State(0, 1, "exp_avg")
	fmt.Println(len(buf), len(avg), opt.GroupLR(0), opt.AuxLRGroups().GroupLR(0))
	// Output: 24 6 0.02 0.0003
}

// BLAS runs the Newton-Schulz products on the backend's sgemm (OpenBLAS on the CPU) for
// speed, where the default rounds as torch's reference BLAS does; checkpoints keep it.
func ExampleMuonConfig_blas() {
	w, _ := optim.NewParam("w", 4*6)
	defer w.Close()
	w.Shape = []int{4, 6}
	grad := make([]float32, 24)
	for i := range grad {
		grad[i] = float32(i%7) - 3
	}
	_ = w.Grad.CopyFrom(grad)

	cfg := optim.MuonDefaults()
	cfg.BLAS = true
	opt, err := optim.NewMuon([]*optim.Param{w}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer opt.Close()
	if err := opt.Step(); err != nil {
		fmt.Println(err)
		return
	}
	cfg.BF16 = true // bfloat16 products are cuBLAS's already: one or the other
	fmt.Println(opt.Config(0).BLAS, opt.SetConfig(0, cfg) != nil)
	// Output: true true
}
