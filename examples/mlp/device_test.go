package mlp

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"

	"github.com/goptim/goptim/optim"
)

// hostGemm is Device with the matrix products done as CPU does them (OpenBLAS through
// package cblas) on host copies of the operands: what CPU computes, for tensors in
// device memory, which CPU itself refuses.
type hostGemm struct{ Device }

func (hostGemm) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b *optim.Tensor, beta float32, c *optim.Tensor) error {
	return roundTrip(0, []*optim.Tensor{a, b, c}, []bool{false, false, true}, func(h [][]float32) {
		ta, lda := blas.NoTrans, k
		if transA {
			ta, lda = blas.Trans, m
		}
		tb, ldb := blas.NoTrans, n
		if transB {
			tb, ldb = blas.Trans, k
		}
		var cpu CPU
		cpu.blas.Sgemm(ta, tb, m, n, k, alpha, h[0][:m*k], lda, h[1][:k*n], ldb, beta, h[2][:m*n], n)
	})
}

// Device (backend BLAS + host elementwise) computes what CPU computes: same losses
// and gradients for the same net and batch, up to BLAS rounding. On the CPU build
// Device is compared with CPU; on the device backend, where CPU refuses the tensors
// (checked), with hostGemm, which is CPU's arithmetic on copies, so this compares
// cuBLAS (or the emulation's OpenBLAS) with OpenBLAS on the host.
func TestDeviceMathMatchesCPU(t *testing.T) {
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
	var reference Math = CPU{}
	if optim.OnDevice() {
		net, err := New(CPU{}, []int{5, 7, 3}, 8, rand.New(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		_, err = net.TrainStep(x, labels)
		require.ErrorIs(t, err, errNotHost, "CPU math over %s tensors", optim.Backend())
		require.NoError(t, net.Close())
		reference = hostGemm{}
	}
	lc, gc := run(reference)
	ld, gd := run(Device{})
	require.InDelta(t, lc, ld, 1e-6*lc)
	for i := range gc {
		require.InDeltaSlice(t, gc[i], gd[i], 1e-5)
	}
}
