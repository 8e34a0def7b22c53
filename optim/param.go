package optim

import (
	"fmt"
	"math"
)

// Param is one trainable tensor and its gradient. Optimizers skip a Param whose
// Grad is nil in a step (as torch skips params whose .grad is None): its state and
// step count do not change.
type Param struct {
	Name string
	Data *Tensor
	Grad *Tensor
	// Shape is the param's shape in the model, optional: nil (or one dimension) is a
	// vector. Optimizers that treat matrices apart read it when the param is added to
	// them (Adafactor factors the second moment of a param of two or more dimensions
	// over its last two, as torch does for grad.dim() > 1); the others ignore it. Its
	// product must be Data.Len(), and it must not change while an optimizer holds the
	// param.
	Shape []int
}

// checkShape: p.Shape, if any, describes the n elements of param label for optimizer
// kind.
func checkShape(kind string, p *Param, label string, n int) error {
	prod := 1
	for _, d := range p.Shape {
		if d < 0 || (d > 0 && prod > math.MaxInt/d) {
			return fmt.Errorf("optim: %s: param %s: Shape %v has a negative or overflowing dimension: %w",
				kind, label, p.Shape, ErrShape)
		}
		prod *= d
	}
	if len(p.Shape) > 0 && prod != n {
		return &ShapeError{Param: label, What: fmt.Sprintf("Shape %v", p.Shape), Got: prod, Want: n}
	}
	return nil
}

// matrixOf is the matrix a shape's last two dimensions make (rows 0: a vector, a
// shape of fewer than two dimensions).
func matrixOf(shape []int) (rows, cols int) {
	if len(shape) < 2 {
		return 0, 0
	}
	return shape[len(shape)-2], shape[len(shape)-1]
}

// NewParam allocates a param of n zeroed elements and its zeroed gradient.
func NewParam(name string, n int) (*Param, error) {
	d, err := NewTensor(n)
	if err != nil {
		return nil, err
	}
	g, err := NewTensor(n)
	if err != nil {
		d.Close()
		return nil, err
	}
	return &Param{Name: name, Data: d, Grad: g}, nil
}

// Close frees Data and Grad (when they are not arena views).
func (p *Param) Close() error {
	if p == nil {
		return nil
	}
	var first error
	for _, t := range []*Tensor{p.Data, p.Grad} {
		if t != nil && !t.view {
			if err := t.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (p *Param) label(i int) string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprintf("#%d", i)
}

// Arena holds many params in two contiguous buffers, one for the data and one for the
// gradients, in the order given. An optimizer over an arena's params (all of them, in
// order) updates them with one C call (one GPU launch) per step, however many there
// are. The params' tensors, Data and Grad are views: only Close on the Arena frees
// the buffers (after any call in flight on them has finished).
type Arena struct {
	data, grad *Tensor // views of the whole buffers
	params     []*Param
}

// NewArena allocates params with the given names and sizes (names may be nil).
func NewArena(names []string, sizes []int) (*Arena, error) {
	if names != nil && len(names) != len(sizes) {
		return nil, fmt.Errorf("optim: NewArena: %d names for %d sizes: %w", len(names), len(sizes), ErrShape)
	}
	total := 0
	for i, n := range sizes {
		if n < 0 {
			return nil, fmt.Errorf("optim: NewArena: size %d of param %d is negative: %w", n, i, ErrShape)
		}
		if n > math.MaxInt-total {
			return nil, fmt.Errorf("optim: NewArena: the sizes add up to more than %d elements (at param %d): %w",
				math.MaxInt, i, ErrShape)
		}
		total += n
	}
	data, err := NewTensor(total)
	if err != nil {
		return nil, err
	}
	grad, err := NewTensor(total)
	if err != nil {
		data.Close()
		return nil, err
	}
	a := &Arena{data: viewOf(data.buf, 0, total), grad: viewOf(grad.buf, 0, total)}
	off := 0
	for i, n := range sizes {
		p := &Param{Data: viewOf(data.buf, off, n), Grad: viewOf(grad.buf, off, n)}
		if names != nil {
			p.Name = names[i]
		}
		a.params = append(a.params, p)
		off += n
	}
	return a, nil
}

func viewOf(b *buffer, off, n int) *Tensor { return &Tensor{buf: b, off: off, n: n, view: true} }

// Params are the arena's params, in order.
func (a *Arena) Params() []*Param {
	if a == nil {
		return nil
	}
	return append([]*Param(nil), a.params...)
}

// Data is a view of the whole data buffer (all params back to back). Closing it is an
// error; close the Arena.
func (a *Arena) Data() *Tensor {
	if a == nil {
		return nil
	}
	return a.data
}

// Grad is a view of the whole gradient buffer (all gradients back to back).
func (a *Arena) Grad() *Tensor {
	if a == nil {
		return nil
	}
	return a.grad
}

// Close frees the arena's buffers; its params' tensors become unusable. It waits
// for calls in flight on them, and is idempotent.
func (a *Arena) Close() error {
	if a == nil || a.data == nil {
		return nil
	}
	err1 := a.data.buf.close()
	err2 := a.grad.buf.close()
	if err1 != nil {
		return err1
	}
	return err2
}
