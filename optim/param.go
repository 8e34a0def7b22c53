package optim

import (
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"
)

// Param is one trainable tensor and its gradient. Optimizers skip a Param whose
// Grad is nil in a step (as torch skips params whose .grad is None): its state and
// step count do not change.
type Param struct {
	Name string
	Data *Tensor
	Grad *Tensor
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
	var first error
	for _, t := range []*Tensor{p.Data, p.Grad} {
		if t != nil && t.parent == nil {
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
// are.
type Arena struct {
	data, grad *Tensor
	params     []*Param
	closed     atomic.Bool
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
		// reliability: the sum used to wrap around (four sizes of 2^62 gave a total
		// of 0, a 0-float allocation, and params of 2^62 floats over it).
		if n > math.MaxInt-total {
			return nil, fmt.Errorf("optim: NewArena: the sizes add up to more than %d elements (at param %d): %w",
				math.MaxInt, i, ErrShape)
		}
		total += n
	}
	a := &Arena{}
	var err error
	if a.data, err = NewTensor(total); err != nil {
		return nil, err
	}
	if a.grad, err = NewTensor(total); err != nil {
		a.data.Close()
		return nil, err
	}
	off := 0
	for i, n := range sizes {
		p := &Param{Data: a.view(a.data, off, n), Grad: a.view(a.grad, off, n)}
		if names != nil {
			p.Name = names[i]
		}
		a.params = append(a.params, p)
		off += n
	}
	return a, nil
}

func (a *Arena) view(t *Tensor, off, n int) *Tensor {
	return &Tensor{ptr: unsafe.Add(t.ptr, 4*off), n: n, parent: a}
}

// Params are the arena's params, in order.
func (a *Arena) Params() []*Param { return append([]*Param(nil), a.params...) }

// Data is the whole data buffer (all params back to back).
func (a *Arena) Data() *Tensor { return a.data }

// Grad is the whole gradient buffer (all gradients back to back).
func (a *Arena) Grad() *Tensor { return a.grad }

// Close frees the arena; its params' tensors become unusable.
func (a *Arena) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	err1 := a.data.Close()
	err2 := a.grad.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

func (a *Arena) isClosed() bool { return a.closed.Load() }
