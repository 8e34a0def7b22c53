package mlp

import (
	"fmt"

	"github.com/goptim/goptim/optim"
)

// Device is Math for tensors wherever the backend keeps them, the GPU included: the
// matrix products run on the backend's BLAS through optim.Gemm (cuBLAS on the GPU,
// OpenBLAS on the CPU), and the small elementwise steps copy their operands to the
// host, run the same loops as CPU and copy back. For this model (a 64×128 hidden layer
// and a batch of 64) those copies are a few kilobytes a step; a bigger model would
// want device kernels for them.
type Device struct{}

func (Device) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b *optim.Tensor, beta float32, c *optim.Tensor) error {
	return optim.Gemm(transA, transB, m, n, k, alpha, a, b, beta, c)
}

// roundTrip copies the first n elements of each tensor to the host, runs f on the
// copies, and writes back those listed in out.
func roundTrip(n int, ts []*optim.Tensor, out []bool, f func([][]float32)) error {
	hs := make([][]float32, len(ts))
	for i, t := range ts {
		if t.Len() < n {
			return fmt.Errorf("mlp: tensor of %d elements, need %d", t.Len(), n)
		}
		v, err := t.Values()
		if err != nil {
			return err
		}
		hs[i] = v
	}
	f(hs)
	for i, t := range ts {
		if out[i] {
			if err := t.CopyFrom(hs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (Device) AddBias(rows, cols int, x, bias *optim.Tensor) error {
	return roundTrip(cols, []*optim.Tensor{x, bias}, []bool{true, false},
		func(h [][]float32) { addBias(rows, cols, h[0], h[1]) })
}

func (Device) SumRows(rows, cols int, x, out *optim.Tensor) error {
	return roundTrip(cols, []*optim.Tensor{x, out}, []bool{false, true},
		func(h [][]float32) { sumRows(rows, cols, h[0], h[1]) })
}

func (Device) ReLU(n int, x *optim.Tensor) error {
	return roundTrip(n, []*optim.Tensor{x}, []bool{true}, func(h [][]float32) { relu(h[0][:n]) })
}

func (Device) ReLUBackward(n int, dy, y *optim.Tensor) error {
	return roundTrip(n, []*optim.Tensor{dy, y}, []bool{true, false},
		func(h [][]float32) { reluBackward(h[0][:n], h[1][:n]) })
}

func (Device) SoftmaxCrossEntropy(rows, cols int, logits *optim.Tensor, labels []int, scale float32, dlogits *optim.Tensor) (float64, int, error) {
	if len(labels) < rows {
		return 0, 0, fmt.Errorf("mlp: %d labels for %d rows", len(labels), rows)
	}
	ts, out := []*optim.Tensor{logits}, []bool{false}
	if dlogits != nil {
		ts, out = append(ts, dlogits), append(out, true)
	}
	var loss float64
	var correct int
	err := roundTrip(rows*cols, ts, out, func(h [][]float32) {
		var d []float32
		if dlogits != nil {
			d = h[1]
		}
		loss, correct = softmaxCrossEntropy(rows, cols, h[0], labels, scale, d)
	})
	return loss, correct, err
}
