package mlp

import (
	"fmt"
	"math"

	"github.com/goptim/goptim/optim"
)

// The MLP's arithmetic works on row-major matrices held in optim tensors (the first
// rows*cols elements of each), on whichever backend the build links. The matrix
// products are optim.Gemm calls (mlp.go), so they run on the backend's BLAS: OpenBLAS
// on the CPU build, cuBLAS on the GPU build (-tags cuda). The element-wise steps below
// are Go loops over host memory: the tensors themselves where they are host memory,
// host copies where they are device memory. For this model (a 64×128 hidden layer and
// batches of 64) the copies are a few kilobytes a step; a bigger model would want
// device kernels for them.

// elementwise runs the element-wise steps on host slices of the tensors.
type elementwise struct {
	// copies: the tensors are in device memory (optim.OnDevice), so the loops run on
	// copies fetched with CopyTo and the results go back with CopyFrom; otherwise they
	// run on the tensors' own memory (Float32s views).
	copies bool
}

func newElementwise() elementwise { return elementwise{copies: optim.OnDevice()} }

// onHost runs f on host slices of the tensors ts, each at least n elements long, and
// writes back those marked in written when the slices are copies.
func (e elementwise) onHost(n int, ts []*optim.Tensor, written []bool, f func(h [][]float32)) error {
	h := make([][]float32, len(ts))
	for i, t := range ts {
		if t.Len() < n {
			return fmt.Errorf("mlp: tensor of %d elements, need %d", t.Len(), n)
		}
		if e.copies {
			v, err := t.Values()
			if err != nil {
				return err
			}
			h[i] = v
		} else if h[i] = t.Float32s(); h[i] == nil && n > 0 {
			return fmt.Errorf("mlp: tensor has no host view: %w", optim.ErrClosed)
		}
	}
	f(h)
	if e.copies {
		for i, t := range ts {
			if written[i] {
				if err := t.CopyFrom(h[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// addBias adds the vector bias (length cols) to every row of x.
func (e elementwise) addBias(rows, cols int, x, bias *optim.Tensor) error {
	if x.Len() < rows*cols {
		return fmt.Errorf("mlp: tensor of %d elements, need %d", x.Len(), rows*cols)
	}
	return e.onHost(cols, []*optim.Tensor{x, bias}, []bool{true, false},
		func(h [][]float32) { addBias(rows, cols, h[0], h[1]) })
}

// sumRows sets out (length cols) to the sum of the rows of x.
func (e elementwise) sumRows(rows, cols int, x, out *optim.Tensor) error {
	if x.Len() < rows*cols {
		return fmt.Errorf("mlp: tensor of %d elements, need %d", x.Len(), rows*cols)
	}
	return e.onHost(cols, []*optim.Tensor{x, out}, []bool{false, true},
		func(h [][]float32) { sumRows(rows, cols, h[0], h[1]) })
}

// activate applies a to the first n elements of x in place.
func (e elementwise) activate(a Activation, n int, x *optim.Tensor) error {
	return e.onHost(n, []*optim.Tensor{x}, []bool{true}, func(h [][]float32) { activate(a, h[0][:n]) })
}

// activateBackward multiplies the first n elements of dy by the derivative of a, which
// each activation gives from its output y (ReLU: y > 0; tanh: 1 - y²; sigmoid: y(1 - y)).
func (e elementwise) activateBackward(a Activation, n int, dy, y *optim.Tensor) error {
	return e.onHost(n, []*optim.Tensor{dy, y}, []bool{true, false},
		func(h [][]float32) { activateBackward(a, h[0][:n], h[1][:n]) })
}

// softmaxCrossEntropy takes logits (rows×cols) and class labels; it returns the summed
// cross-entropy of the rows and how many rows have their label as the arg-max, and,
// when dlogits is not nil, sets dlogits = (softmax - onehot) * scale.
func (e elementwise) softmaxCrossEntropy(rows, cols int, logits *optim.Tensor, labels []int, scale float32, dlogits *optim.Tensor) (float64, int, error) {
	if len(labels) < rows {
		return 0, 0, fmt.Errorf("mlp: %d labels for %d rows", len(labels), rows)
	}
	ts, written := []*optim.Tensor{logits}, []bool{false}
	if dlogits != nil {
		ts, written = append(ts, dlogits), append(written, true)
	}
	var loss float64
	var correct int
	err := e.onHost(rows*cols, ts, written, func(h [][]float32) {
		var d []float32
		if dlogits != nil {
			d = h[1]
		}
		loss, correct = softmaxCrossEntropy(rows, cols, h[0], labels, scale, d)
	})
	return loss, correct, err
}

// The loops themselves, on host slices, single-goroutine and in a fixed order, so
// results depend only on the inputs.

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

func activate(a Activation, x []float32) {
	switch a {
	case ReLU:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	case Tanh:
		for i, v := range x {
			x[i] = float32(math.Tanh(float64(v)))
		}
	case Sigmoid:
		for i, v := range x {
			x[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

func activateBackward(a Activation, dy, y []float32) {
	switch a {
	case ReLU:
		for i, v := range y {
			if v <= 0 {
				dy[i] = 0
			}
		}
	case Tanh:
		for i, v := range y {
			dy[i] *= 1 - v*v
		}
	case Sigmoid:
		for i, v := range y {
			dy[i] *= v * (1 - v)
		}
	}
}

// softmaxCrossEntropy: see elementwise.softmaxCrossEntropy; d may be nil.
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
