// Package reference is a plain float64 implementation of every update goptim's
// kernels perform, written straight from torch.optim's equations for readability,
// not speed. Tests compare the fp32 C and CUDA kernels against it; it is the
// arbiter when torch itself is not at hand.
package reference

import "math"

// SGD holds torch.optim.SGD's options.
type SGD struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov, Maximize                   bool
}

// Step applies step t (1-based) to p with gradient g; buf is the momentum buffer.
func (o SGD) Step(p, g, buf []float64, t int64) {
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi += o.WeightDecay * p[i]
		}
		if o.Momentum != 0 {
			if t == 1 {
				buf[i] = gi
			} else {
				buf[i] = o.Momentum*buf[i] + (1-o.Dampening)*gi
			}
			if o.Nesterov {
				gi += o.Momentum * buf[i]
			} else {
				gi = buf[i]
			}
		}
		p[i] -= o.LR * gi
	}
}

// Adam holds torch.optim.Adam's options; Decoupled makes it AdamW.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	AMSGrad, Maximize, Decoupled       bool
}

// Step applies step t to p; m, v, vmax are exp_avg, exp_avg_sq, max_exp_avg_sq.
func (o Adam) Step(p, g, m, v, vmax []float64, t int64) {
	bc1 := 1 - math.Pow(o.Beta1, float64(t))
	bc2 := 1 - math.Pow(o.Beta2, float64(t))
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.Decoupled {
			p[i] *= 1 - o.LR*o.WeightDecay
		} else if o.WeightDecay != 0 {
			gi += o.WeightDecay * p[i]
		}
		m[i] = o.Beta1*m[i] + (1-o.Beta1)*gi
		v[i] = o.Beta2*v[i] + (1-o.Beta2)*gi*gi
		vh := v[i]
		if o.AMSGrad {
			vmax[i] = math.Max(vmax[i], v[i])
			vh = vmax[i]
		}
		p[i] -= o.LR / bc1 * m[i] / (math.Sqrt(vh)/math.Sqrt(bc2) + o.Eps)
	}
}

// Adagrad holds torch.optim.Adagrad's options.
type Adagrad struct {
	LR, LRDecay, WeightDecay, Eps float64
	Maximize                      bool
}

// Step applies step t to p; sum is the accumulator.
func (o Adagrad) Step(p, g, sum []float64, t int64) {
	clr := o.LR / (1 + float64(t-1)*o.LRDecay)
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi += o.WeightDecay * p[i]
		}
		sum[i] += gi * gi
		p[i] -= clr * gi / (math.Sqrt(sum[i]) + o.Eps)
	}
}

// RMSprop holds torch.optim.RMSprop's options.
type RMSprop struct {
	LR, Alpha, Eps, WeightDecay, Momentum float64
	Centered, Maximize                    bool
}

// Step applies one step to p; sq, buf, ga are square_avg, momentum_buffer, grad_avg.
func (o RMSprop) Step(p, g, sq, buf, ga []float64) {
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi += o.WeightDecay * p[i]
		}
		sq[i] = o.Alpha*sq[i] + (1-o.Alpha)*gi*gi
		var avg float64
		if o.Centered {
			ga[i] = o.Alpha*ga[i] + (1-o.Alpha)*gi
			avg = math.Sqrt(sq[i]-ga[i]*ga[i]) + o.Eps
		} else {
			avg = math.Sqrt(sq[i]) + o.Eps
		}
		if o.Momentum > 0 {
			buf[i] = o.Momentum*buf[i] + gi/avg
			p[i] -= o.LR * buf[i]
		} else {
			p[i] -= o.LR * gi / avg
		}
	}
}

// GradNorm is the total norm of the gradients: L2 or (normType = +Inf) max |g|.
func GradNorm(grads [][]float64, normType float64) float64 {
	if math.IsInf(normType, 1) {
		m := 0.0
		for _, g := range grads {
			for _, x := range g {
				if math.IsNaN(x) {
					return math.NaN()
				}
				m = math.Max(m, math.Abs(x))
			}
		}
		return m
	}
	s := 0.0
	for _, g := range grads {
		for _, x := range g {
			s += x * x
		}
	}
	return math.Sqrt(s)
}

// ClipCoef is clip_grad_norm_'s factor: min(maxNorm/(total+1e-6), 1).
func ClipCoef(maxNorm, total float64) float64 { return math.Min(maxNorm/(total+1e-6), 1) }
