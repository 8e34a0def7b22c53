package mlp

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
)

// Device (backend BLAS + host elementwise) computes what CPU computes: same losses
// and gradients for the same net and batch, up to BLAS rounding. On the CPU build both
// run; on the GPU build this compares cuBLAS with OpenBLAS.
func TestDeviceMathMatchesCPU(t *testing.T) {
	if optim.OnDevice() {
		t.Skip("CPU math needs host tensors; on the GPU build Device is checked by the demo's accuracy")
	}
	x := make([]float32, 8*5)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := []int{0, 2, 1, 2, 0, 1, 1, 0}
	run := func(m Math) (float64, [][]float32) {
		net, err := New(m, []int{5, 7, 3}, 8, rand.New(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		defer net.Close()
		loss, err := net.TrainStep(x, labels)
		require.NoError(t, err)
		var grads [][]float32
		for _, p := range net.Params() {
			g, err := p.Grad.Values()
			require.NoError(t, err)
			grads = append(grads, g)
		}
		return loss, grads
	}
	lc, gc := run(CPU{})
	ld, gd := run(Device{})
	require.InDelta(t, lc, ld, 1e-6*lc)
	for i := range gc {
		require.InDeltaSlice(t, gc[i], gd[i], 1e-5)
	}
}
