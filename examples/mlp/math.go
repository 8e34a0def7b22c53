package mlp

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"

	"github.com/goptim/goptim/cblas"
	"github.com/goptim/goptim/optim"
)

// Math is all the arithmetic the MLP does, on row-major matrices held in optim tensors
// (the first rows*cols elements of each). Keeping it behind an interface keeps the
// model independent of where the tensors live: CPU does it with OpenBLAS and plain
// loops over host memory; a GPU version would call goptim's sgemm (package binding)
// and a few small kernels on device pointers (Tensor.Ptr).
type Math interface {
	// Gemm sets c = alpha*op(a)*op(b) + beta*c, where op(a) is m×k, op(b) is k×n and c
	// is m×n, as cblas_sgemm with row-major storage and tight leading dimensions.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a, b *optim.Tensor, beta float32, c *optim.Tensor) error
	// AddBias adds the vector bias (length cols) to every row of x.
	AddBias(rows, cols int, x, bias *optim.Tensor) error
	// SumRows sets out (length cols) to the sum of the rows of x.
	SumRows(rows, cols int, x, out *optim.Tensor) error
	// ReLU sets x = max(x, 0) on the first n elements.
	ReLU(n int, x *optim.Tensor) error
	// ReLUBackward zeroes dy where the ReLU output y is not positive.
	ReLUBackward(n int, dy, y *optim.Tensor) error
	// SoftmaxCrossEntropy takes logits (rows×cols) and class labels; it returns the
	// summed cross-entropy of the rows and how many rows have their label as the
	// arg-max, and, when dlogits is not nil, sets dlogits = (softmax - onehot) * scale.
	SoftmaxCrossEntropy(rows, cols int, logits *optim.Tensor, labels []int, scale float32, dlogits *optim.Tensor) (loss float64, correct int, err error)
}

// CPU is Math on the CPU build: matrix products in OpenBLAS (package cblas), the rest
// in plain Go loops, all single-goroutine and in a fixed order, so results depend only
// on the inputs and OpenBLAS's thread count.
type CPU struct{ blas cblas.Implementation }

// errNotHost: CPU was handed tensors in GPU memory.
var errNotHost = errors.New("mlp: CPU math needs host tensors (the CPU build of optim)")

// host returns the tensors' host views, checking each holds at least n elements.
func host(n int, ts ...*optim.Tensor) ([][]float32, error) {
	out := make([][]float32, len(ts))
	for i, t := range ts {
		v := t.Float32s()
		if v == nil {
			return nil, errNotHost
		}
		if len(v) < n {
			return nil, fmt.Errorf("mlp: tensor of %d elements, need %d", len(v), n)
		}
		out[i] = v
	}
	return out, nil
}

func (c CPU) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b *optim.Tensor, beta float32, cm *optim.Tensor) error {
	h, err := host(0, a, b, cm)
	if err != nil {
		return err
	}
	ta, lda := blas.NoTrans, k
	if transA {
		ta, lda = blas.Trans, m
	}
	tb, ldb := blas.NoTrans, n
	if transB {
		tb, ldb = blas.Trans, k
	}
	if len(h[0]) < m*k || len(h[1]) < k*n || len(h[2]) < m*n {
		return fmt.Errorf("mlp: gemm %d×%d×%d on tensors of %d, %d and %d elements", m, n, k, len(h[0]), len(h[1]), len(h[2]))
	}
	c.blas.Sgemm(ta, tb, m, n, k, alpha, h[0][:m*k], lda, h[1][:k*n], ldb, beta, h[2][:m*n], n)
	return nil
}

func (CPU) AddBias(rows, cols int, x, bias *optim.Tensor) error {
	h, err := host(cols, x, bias)
	if err != nil {
		return err
	}
	addBias(rows, cols, h[0], h[1])
	return nil
}

func (CPU) SumRows(rows, cols int, x, out *optim.Tensor) error {
	h, err := host(cols, x, out)
	if err != nil {
		return err
	}
	sumRows(rows, cols, h[0], h[1])
	return nil
}

func (CPU) ReLU(n int, x *optim.Tensor) error {
	h, err := host(n, x)
	if err != nil {
		return err
	}
	relu(h[0][:n])
	return nil
}

func (CPU) ReLUBackward(n int, dy, y *optim.Tensor) error {
	h, err := host(n, dy, y)
	if err != nil {
		return err
	}
	reluBackward(h[0][:n], h[1][:n])
	return nil
}

func (CPU) SoftmaxCrossEntropy(rows, cols int, logits *optim.Tensor, labels []int, scale float32, dlogits *optim.Tensor) (float64, int, error) {
	ts := []*optim.Tensor{logits}
	if dlogits != nil {
		ts = append(ts, dlogits)
	}
	h, err := host(rows*cols, ts...)
	if err != nil {
		return 0, 0, err
	}
	if len(labels) < rows {
		return 0, 0, fmt.Errorf("mlp: %d labels for %d rows", len(labels), rows)
	}
	var d []float32
	if dlogits != nil {
		d = h[1]
	}
	loss, correct := softmaxCrossEntropy(rows, cols, h[0], labels, scale, d)
	return loss, correct, nil
}

// The elementwise operations on host slices, shared by CPU and Device.

func addBias(rows, cols int, x, b []float32) {
	x, b = x[:rows*cols], b[:cols]
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		for j := range row {
			row[j] += b[j]
		}
	}
}

func sumRows(rows, cols int, x, out []float32) {
	x, out = x[:rows*cols], out[:cols]
	clear(out)
	for r := 0; r < rows; r++ {
		for j, v := range x[r*cols : (r+1)*cols] {
			out[j] += v
		}
	}
}

func relu(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

func reluBackward(dy, y []float32) {
	for i, v := range y {
		if v <= 0 {
			dy[i] = 0
		}
	}
}

// softmaxCrossEntropy: see Math.SoftmaxCrossEntropy; d may be nil.
func softmaxCrossEntropy(rows, cols int, logits []float32, labels []int, scale float32, d []float32) (float64, int) {
	var loss float64
	correct := 0
	for r := 0; r < rows; r++ {
		z := logits[r*cols : (r+1)*cols]
		best := 0
		for j := range z {
			if z[j] > z[best] {
				best = j
			}
		}
		if best == labels[r] {
			correct++
		}
		// log-sum-exp around the maximum, in float64.
		var sum float64
		for _, v := range z {
			sum += math.Exp(float64(v - z[best]))
		}
		loss += math.Log(sum) - float64(z[labels[r]]-z[best])
		if d != nil {
			dr := d[r*cols : (r+1)*cols]
			for j, v := range z {
				p := math.Exp(float64(v-z[best])) / sum
				if j == labels[r] {
					p--
				}
				dr[j] = float32(p) * scale
			}
		}
	}
	return loss, correct
}
