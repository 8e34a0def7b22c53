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
