// Package mlp is the small multilayer perceptron that goptim's demo trains: linear
// layers with ReLU (or tanh, or the logistic sigmoid) between them and a softmax
// cross-entropy loss, forward and backward written out by hand. It runs on either backend with the same code: every matrix
// product is an optim.Gemm call (OpenBLAS on the CPU build, cuBLAS on the GPU build,
// -tags cuda), and the few element-wise steps are Go loops over host memory (math.go).
//
// It is an example of feeding package optim, not part of it: the weights live in one
// optim.Arena, the backward pass writes their gradients into the arena's gradient
// buffer, and any optimizer over Params() updates them all with one fused call.
package mlp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/goptim/goptim/optim"
)

// Activation is the non-linearity between the linear layers.
type Activation int

const (
	ReLU    Activation = iota // max(x, 0)
	Tanh                      // tanh(x)
	Sigmoid                   // 1 / (1 + exp(-x))
)

func (a Activation) String() string {
	switch a {
	case ReLU:
		return "relu"
	case Tanh:
		return "tanh"
	case Sigmoid:
		return "sigmoid"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Options are the choices New makes by default.
type Options struct {
	// Activation between the linear layers (default ReLU).
	Activation Activation
	// InitScale multiplies torch's initial bound 1/sqrt(fan_in) (0 means 1): weights
	// and biases start uniform in ±InitScale/sqrt(fan_in). Above about 1.7 a deep tanh
	// network starts in the regime where gradients grow layer by layer going back.
	InitScale float64
}

// MLP is Linear → activation → … → Linear, with weights stored as torch stores them
// (out×in, row-major) and named as torch names them ("fc1.weight", "fc1.bias", …).
type MLP struct {
	sizes   []int
	act     Activation
	ew      elementwise
	maxRows int
	arena   *optim.Arena
	w, b    []*optim.Param  // per layer
	acts    []*optim.Tensor // acts[0] the input, acts[l+1] layer l's output
	deltas  []*optim.Tensor // deltas[l+1]: the loss's gradient with respect to acts[l+1]
	staging []float32       // host copy of one input batch
}

// New makes an MLP with the given layer sizes (inputs, hidden…, classes) for batches of
// up to maxRows rows, with ReLU between the layers. Weights and biases start as torch's
// nn.Linear starts them: uniform in ±1/sqrt(fan_in), drawn from rng.
func New(sizes []int, maxRows int, rng *rand.Rand) (*MLP, error) {
	return NewWithOptions(sizes, maxRows, rng, Options{})
}

// NewWithOptions is New with another activation or initial scale.
func NewWithOptions(sizes []int, maxRows int, rng *rand.Rand, o Options) (*MLP, error) {
	if len(sizes) < 2 || maxRows < 1 {
		return nil, errors.New("mlp: need at least two layer sizes and maxRows >= 1")
	}
	for _, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("mlp: layer size %d", s)
		}
	}
	if o.Activation < ReLU || o.Activation > Sigmoid {
		return nil, fmt.Errorf("mlp: unknown %v", o.Activation)
	}
	if o.InitScale < 0 || math.IsNaN(o.InitScale) || math.IsInf(o.InitScale, 0) {
		return nil, fmt.Errorf("mlp: init scale %g: want a finite value >= 0", o.InitScale)
	}
	if o.InitScale == 0 {
		o.InitScale = 1
	}
	var names []string
	var lens []int
	for l := 0; l+1 < len(sizes); l++ {
		names = append(names, fmt.Sprintf("fc%d.weight", l+1), fmt.Sprintf("fc%d.bias", l+1))
		lens = append(lens, sizes[l+1]*sizes[l], sizes[l+1])
	}
	arena, err := optim.NewArena(names, lens)
	if err != nil {
		return nil, err
	}
	n := &MLP{sizes: sizes, act: o.Activation, ew: newElementwise(), maxRows: maxRows, arena: arena,
		staging: make([]float32, maxRows*sizes[0])}
	ps := arena.Params()
	for l := 0; l+1 < len(sizes); l++ {
		n.w, n.b = append(n.w, ps[2*l]), append(n.b, ps[2*l+1])
		// torch's shapes, for optimizers that treat matrices apart (Adafactor).
		ps[2*l].Shape, ps[2*l+1].Shape = []int{sizes[l+1], sizes[l]}, []int{sizes[l+1]}
		bound := o.InitScale / math.Sqrt(float64(sizes[l]))
		for _, p := range []*optim.Param{ps[2*l], ps[2*l+1]} {
			init := make([]float32, p.Data.Len())
			for i := range init {
				init[i] = float32((2*rng.Float64() - 1) * bound)
			}
			if err := p.Data.CopyFrom(init); err != nil {
				n.Close()
				return nil, err
			}
		}
	}
	for l, size := range sizes {
		a, err := optim.NewTensor(maxRows * size)
		if err != nil {
			n.Close()
			return nil, err
		}
		n.acts = append(n.acts, a)
		var d *optim.Tensor
		if l > 0 {
			if d, err = optim.NewTensor(maxRows * size); err != nil {
				n.Close()
				return nil, err
			}
		}
		n.deltas = append(n.deltas, d)
	}
	return n, nil
}

// Params are the weights and biases, layer by layer, all in one arena.
func (n *MLP) Params() []*optim.Param { return n.arena.Params() }

// Close frees the MLP's tensors.
func (n *MLP) Close() error {
	err := n.arena.Close()
	for l := range n.acts {
		err = errors.Join(err, n.acts[l].Close())
		if n.deltas[l] != nil {
			err = errors.Join(err, n.deltas[l].Close())
		}
	}
	return err
}

// forward runs the network on rows samples of x (row-major, sizes[0] features each)
// and leaves the logits in the last activation.
func (n *MLP) forward(x []float32, rows int) error {
	in := n.sizes[0]
	if rows < 1 || rows > n.maxRows || len(x) < rows*in {
		return fmt.Errorf("mlp: batch of %d rows (%d values) for at most %d rows of %d", rows, len(x), n.maxRows, in)
	}
	copy(n.staging, x[:rows*in])
	if err := n.acts[0].CopyFrom(n.staging); err != nil {
		return err
	}
	last := len(n.w) - 1
	for l := range n.w {
		fin, fout := n.sizes[l], n.sizes[l+1]
		// acts[l+1] = acts[l] · Wᵀ + b
		if err := optim.Gemm(false, true, rows, fout, fin, 1, n.acts[l], n.w[l].Data, 0, n.acts[l+1]); err != nil {
			return err
		}
		if err := n.ew.addBias(rows, fout, n.acts[l+1], n.b[l].Data); err != nil {
			return err
		}
		if l < last {
			if err := n.ew.activate(n.act, rows*fout, n.acts[l+1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// TrainStep runs a forward and a backward pass on one batch (len(labels) rows of x)
// and writes the gradients of the batch's mean cross-entropy into Params' Grad
// tensors, replacing what was there (so no ZeroGrad is needed between steps). It
// returns the mean loss.
func (n *MLP) TrainStep(x []float32, labels []int) (float64, error) {
	rows := len(labels)
	if err := n.forward(x, rows); err != nil {
		return 0, err
	}
	L := len(n.w)
	loss, _, err := n.ew.softmaxCrossEntropy(rows, n.sizes[L], n.acts[L], labels, 1/float32(rows), n.deltas[L])
	if err != nil {
		return 0, err
	}
	for l := L - 1; l >= 0; l-- {
		fin, fout := n.sizes[l], n.sizes[l+1]
		// dW = deltaᵀ · input, db = Σ_rows delta
		if err := optim.Gemm(true, false, fout, fin, rows, 1, n.deltas[l+1], n.acts[l], 0, n.w[l].Grad); err != nil {
			return 0, err
		}
		if err := n.ew.sumRows(rows, fout, n.deltas[l+1], n.b[l].Grad); err != nil {
			return 0, err
		}
		if l > 0 {
			// delta of the layer below = delta · W, through the activation.
			if err := optim.Gemm(false, false, rows, fin, fout, 1, n.deltas[l+1], n.w[l].Data, 0, n.deltas[l]); err != nil {
				return 0, err
			}
			if err := n.ew.activateBackward(n.act, rows*fin, n.deltas[l], n.acts[l]); err != nil {
				return 0, err
			}
		}
	}
	return loss / float64(rows), nil
}

// Evaluate returns the mean cross-entropy and the accuracy (fraction of arg-max
// predictions equal to the label) over all len(labels) rows of x, in batches.
func (n *MLP) Evaluate(x []float32, labels []int) (loss, accuracy float64, err error) {
	in, L := n.sizes[0], len(n.w)
	correct := 0
	for lo := 0; lo < len(labels); lo += n.maxRows {
		hi := min(lo+n.maxRows, len(labels))
		if err := n.forward(x[lo*in:hi*in], hi-lo); err != nil {
			return 0, 0, err
		}
		l, c, err := n.ew.softmaxCrossEntropy(hi-lo, n.sizes[L], n.acts[L], labels[lo:hi], 0, nil)
		if err != nil {
			return 0, 0, err
		}
		loss += l
		correct += c
	}
	return loss / float64(len(labels)), float64(correct) / float64(len(labels)), nil
}
