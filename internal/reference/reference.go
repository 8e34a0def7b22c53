// Package reference is the float64 statement of every update goptim's kernels perform,
// written straight from torch.optim's equations for reading, not speed: the one
// semantic reference of the Go tests (the kernels' exact float arithmetic is
// csrc/<optimizer>_math.h; torch's golden trajectories arbitrate both).
//
// Every optimizer has a Round hook: nil computes in plain float64; a function is
// applied to the result of every operation, which is how the fuzz tests run Monte
// Carlo arithmetic (each result times 1+d*noise) on the same equations to measure how
// far rounding can move each output.
package reference

import "math"

// rounder returns r, or the identity when r is nil.
func rounder(r func(float64) float64) func(float64) float64 {
	if r == nil {
		return func(x float64) float64 { return x }
	}
	return r
}

// SGD holds torch.optim.SGD's options.
type SGD struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov, Maximize                   bool
	Round                                func(float64) float64
}

// Step applies step t (1-based) to p with gradient g; buf is the momentum buffer.
func (o SGD) Step(p, g, buf []float64, t int64) {
	q := rounder(o.Round)
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		if o.Momentum != 0 {
			if t == 1 {
				buf[i] = gi
			} else {
				buf[i] = q(q(o.Momentum*buf[i]) + q(q(1-o.Dampening)*gi))
			}
			if o.Nesterov {
				gi = q(gi + q(o.Momentum*buf[i]))
			} else {
				gi = buf[i]
			}
		}
		p[i] = q(p[i] - q(o.LR*gi))
	}
}

// Adam holds torch.optim.Adam's options; Decoupled makes it AdamW.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	AMSGrad, Maximize, Decoupled       bool
	Round                              func(float64) float64
}

// Step applies step t to p; m, v, vmax are exp_avg, exp_avg_sq, max_exp_avg_sq.
func (o Adam) Step(p, g, m, v, vmax []float64, t int64) {
	q := rounder(o.Round)
	bc1 := q(1 - math.Pow(o.Beta1, float64(t)))
	bc2 := q(1 - math.Pow(o.Beta2, float64(t)))
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.Decoupled {
			p[i] = q(p[i] * q(1-o.LR*o.WeightDecay))
		} else if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		m[i] = q(q(o.Beta1*m[i]) + q(q(1-o.Beta1)*gi))
		v[i] = q(q(o.Beta2*v[i]) + q(q(q(1-o.Beta2)*gi)*gi))
		vh := v[i]
		if o.AMSGrad {
			vmax[i] = math.Max(vmax[i], v[i])
			vh = vmax[i]
		}
		p[i] = q(p[i] - q(q(o.LR/bc1)*q(m[i]/q(q(math.Sqrt(vh)/q(math.Sqrt(bc2)))+o.Eps))))
	}
}

// Adagrad holds torch.optim.Adagrad's options.
type Adagrad struct {
	LR, LRDecay, WeightDecay, Eps float64
	Maximize                      bool
	Round                         func(float64) float64
}

// Step applies step t to p; sum is the accumulator.
func (o Adagrad) Step(p, g, sum []float64, t int64) {
	q := rounder(o.Round)
	clr := q(o.LR / (1 + float64(t-1)*o.LRDecay))
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		sum[i] = q(sum[i] + q(gi*gi))
		p[i] = q(p[i] - q(clr*q(gi/q(q(math.Sqrt(sum[i]))+o.Eps))))
	}
}

// Adamax holds torch.optim.Adamax's options.
type Adamax struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Maximize                           bool
	Round                              func(float64) float64
}

// Step applies step t to p; m and u are exp_avg and exp_inf.
func (o Adamax) Step(p, g, m, u []float64, t int64) {
	q := rounder(o.Round)
	clr := q(o.LR / q(1-math.Pow(o.Beta1, float64(t))))
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		m[i] = q(q(o.Beta1*m[i]) + q(q(1-o.Beta1)*gi))
		u[i] = math.Max(q(o.Beta2*u[i]), q(math.Abs(gi)+o.Eps))
		p[i] = q(p[i] - q(clr*q(m[i]/u[i])))
	}
}

// RAdam holds torch.optim.RAdam's options; Decoupled is decoupled_weight_decay.
type RAdam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Decoupled, Maximize                bool
	Round                              func(float64) float64
}

// Step applies step t to p; m and v are exp_avg and exp_avg_sq.
func (o RAdam) Step(p, g, m, v []float64, t int64) {
	q := rounder(o.Round)
	ft := float64(t)
	bc1 := q(1 - math.Pow(o.Beta1, ft))
	bc2 := q(1 - math.Pow(o.Beta2, ft))
	rhoInf := 2/(1-o.Beta2) - 1
	rhoT := rhoInf - 2*ft*math.Pow(o.Beta2, ft)/bc2
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.Decoupled {
			p[i] = q(p[i] * q(1-o.LR*o.WeightDecay))
		} else if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		m[i] = q(q(o.Beta1*m[i]) + q(q(1-o.Beta1)*gi))
		v[i] = q(q(o.Beta2*v[i]) + q(q(q(1-o.Beta2)*gi)*gi))
		upd := q(q(m[i]/bc1) * o.LR)
		if rhoT > 5 {
			rect := math.Sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT))
			upd = q(q(upd*q(math.Sqrt(bc2)/q(q(math.Sqrt(v[i]))+o.Eps))) * rect)
		}
		p[i] = q(p[i] - upd)
	}
}

// NAdam holds torch.optim.NAdam's options; Decoupled is decoupled_weight_decay.
type NAdam struct {
	LR, Beta1, Beta2, Eps, WeightDecay, MomentumDecay float64
	Decoupled, Maximize                               bool
	Round                                             func(float64) float64
}

// Step applies step t to p; m and v are exp_avg and exp_avg_sq, muProduct the
// product of the momentum coefficients before the step (1 before the first), updated.
func (o NAdam) Step(p, g, m, v []float64, muProduct *float64, t int64) {
	q := rounder(o.Round)
	ft := float64(t)
	bc2 := q(1 - math.Pow(o.Beta2, ft))
	mu := q(o.Beta1 * (1 - 0.5*math.Pow(0.96, ft*o.MomentumDecay)))
	muNext := q(o.Beta1 * (1 - 0.5*math.Pow(0.96, (ft+1)*o.MomentumDecay)))
	*muProduct = q(*muProduct * mu)
	muProductNext := q(*muProduct * muNext)
	cGrad := q(o.LR * (1 - mu) / (1 - *muProduct))
	cAvg := q(o.LR * muNext / (1 - muProductNext))
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.Decoupled {
			p[i] = q(p[i] * q(1-o.LR*o.WeightDecay))
		} else if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		m[i] = q(q(o.Beta1*m[i]) + q(q(1-o.Beta1)*gi))
		v[i] = q(q(o.Beta2*v[i]) + q(q(q(1-o.Beta2)*gi)*gi))
		denom := q(q(math.Sqrt(q(v[i]/bc2))) + o.Eps)
		p[i] = q(p[i] - q(q(cGrad*gi)/denom))
		p[i] = q(p[i] - q(q(cAvg*m[i])/denom))
	}
}

// ASGD holds torch.optim.ASGD's options.
type ASGD struct {
	LR, Lambd, Alpha, T0, WeightDecay float64
	Maximize                          bool
	Round                             func(float64) float64
}

// Step applies step t to p; ax is the average, eta and mu the param's values before
// the step (lr and 1 before the first), updated.
func (o ASGD) Step(p, g, ax []float64, eta, mu *float64, t int64) {
	q := rounder(o.Round)
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		p[i] = q(q(p[i]*q(1-o.Lambd**eta)) - q(*eta*gi))
		if *mu != 1 {
			ax[i] = q(ax[i] + q(q(p[i]-ax[i])**mu))
		} else {
			ax[i] = p[i]
		}
	}
	ft := float64(t)
	*eta = q(o.LR / math.Pow(1+o.Lambd*o.LR*ft, o.Alpha))
	*mu = 1 / math.Max(1, ft-o.T0)
}

// Adafactor holds torch.optim.Adafactor's options; Eps1 and Eps2 are its eps pair.
type Adafactor struct {
	LR, Beta2Decay, Eps1, Eps2, D, WeightDecay float64
	Maximize                                   bool
	Round                                      func(float64) float64
}

// Step applies step t to p, of the given shape (fewer than two dimensions: a vector);
// rowVar and colVar are a matrix's factors, variance a vector's second moment.
func (o Adafactor) Step(p, g []float64, shape []int, rowVar, colVar, variance []float64, t int64) {
	q := rounder(o.Round)
	n := len(p)
	if n == 0 {
		return
	}
	ft := float64(t)
	w := q(math.Pow(ft, o.Beta2Decay)) // 1 - beta2_t
	rho := math.Min(o.LR, 1/math.Sqrt(ft))
	gu := make([]float64, n)
	ss := 0.0
	for i := range p {
		gu[i] = g[i]
		if o.Maximize {
			gu[i] = -gu[i]
		}
		ss = q(ss + q(p[i]*p[i]))
	}
	alpha := math.Max(o.Eps2, q(math.Sqrt(ss)/math.Sqrt(float64(n)))) * rho
	v := make([]float64, n)
	if len(shape) >= 2 {
		rows, cols := shape[len(shape)-2], shape[len(shape)-1]
		for m := 0; m < n/(rows*cols); m++ {
			mean := 0.0
			for a := 0; a < rows; a++ {
				s := 0.0
				for b := 0; b < cols; b++ {
					x := gu[(m*rows+a)*cols+b]
					s = q(s + q(x*x))
				}
				r := &rowVar[m*rows+a]
				*r = q(*r + q(w*q(q(s/float64(cols))-*r)))
				mean = q(mean + *r)
			}
			mean = math.Max(q(mean/float64(rows)), o.Eps1)
			for b := 0; b < cols; b++ {
				s := 0.0
				for a := 0; a < rows; a++ {
					x := gu[(m*rows+a)*cols+b]
					s = q(s + q(x*x))
				}
				c := &colVar[m*cols+b]
				*c = q(*c + q(w*q(q(s/float64(rows))-*c)))
			}
			for a := 0; a < rows; a++ {
				for b := 0; b < cols; b++ {
					v[(m*rows+a)*cols+b] = q(q(rowVar[m*rows+a]*colVar[m*cols+b]) / mean)
				}
			}
		}
	} else {
		for i := range v {
			variance[i] = q(variance[i] + q(w*q(q(gu[i]*gu[i])-variance[i])))
			v[i] = variance[i]
		}
	}
	u := make([]float64, n)
	us := 0.0
	for i := range u {
		u[i] = q(gu[i] / q(math.Sqrt(math.Max(v[i], o.Eps1*o.Eps1))))
		us = q(us + q(u[i]*u[i]))
	}
	denom := math.Max(1, q(math.Sqrt(us)/math.Sqrt(float64(n)))/o.D)
	for i := range p {
		if o.WeightDecay != 0 {
			p[i] = q(p[i] * q(1-o.LR*o.WeightDecay))
		}
		p[i] = q(p[i] - q(alpha*u[i]/denom))
	}
}

// Lion holds Lion's options (google/automl lion/lion_pytorch.py).
type Lion struct {
	LR, Beta1, Beta2, WeightDecay float64
	Round                         func(float64) float64
}

// Step applies one step to p; m is exp_avg.
func (o Lion) Step(p, g, m []float64) {
	q := rounder(o.Round)
	for i := range p {
		p[i] = q(p[i] * q(1-o.LR*o.WeightDecay))
		u := q(q(o.Beta1*m[i]) + q(q(1-o.Beta1)*g[i]))
		sign := 0.0
		if u > 0 {
			sign = 1
		} else if u < 0 {
			sign = -1
		}
		p[i] = q(p[i] - q(o.LR*sign))
		m[i] = q(q(o.Beta2*m[i]) + q(q(1-o.Beta2)*g[i]))
	}
}

// LAMB holds the options of apex's FusedLAMB (apex/optimizers/fused_lamb.py) with
// timm's TrustClip; MaxGradNorm 0 turns the clipping off.
type LAMB struct {
	LR, Beta1, Beta2, Eps, WeightDecay, MaxGradNorm                float64
	BiasCorrection, GradAveraging, AdamWMode, UseNVLAMB, TrustClip bool
	Round                                                          func(float64) float64
}

// Step applies step t to the tensors ps of one param group with gradients gs; ms and
// vs are their exp_avg and exp_avg_sq. gn is the L2 norm of every gradient of every
// group (GradNorm of all of them): apex clips by the norm over the whole optimizer, so
// a group's step depends on the other groups' gradients. Each tensor then takes its
// own trust ratio ||p||/||u||.
func (o LAMB) Step(ps, gs, ms, vs [][]float64, gn float64, t int64) {
	q := rounder(o.Round)
	ft := float64(t)
	clip := 1.0
	if o.MaxGradNorm > 0 && gn > o.MaxGradNorm {
		clip = q(gn / o.MaxGradNorm)
	}
	bc1, bc2 := 1.0, 1.0
	if o.BiasCorrection {
		bc1 = q(1 - math.Pow(o.Beta1, ft))
		bc2 = q(1 - math.Pow(o.Beta2, ft))
	}
	beta3 := 1.0
	if o.GradAveraging {
		beta3 = q(1 - o.Beta1)
	}
	for i, p := range ps {
		g, m, v := gs[i], ms[i], vs[i]
		u := make([]float64, len(p))
		pss, uss := 0.0, 0.0
		for j := range p {
			s := q(g[j] / clip)
			if !o.AdamWMode && o.WeightDecay != 0 {
				s = q(s + q(o.WeightDecay*p[j]))
			}
			m[j] = q(q(o.Beta1*m[j]) + q(beta3*s))
			v[j] = q(q(o.Beta2*v[j]) + q(q(q(1-o.Beta2)*s)*s))
			u[j] = q(q(m[j]/bc1) / q(q(math.Sqrt(q(v[j]/bc2)))+o.Eps))
			if o.AdamWMode && o.WeightDecay != 0 {
				u[j] = q(u[j] + q(o.WeightDecay*p[j]))
			}
			pss = q(pss + q(p[j]*p[j]))
			uss = q(uss + q(u[j]*u[j]))
		}
		ratio := o.LR
		if o.UseNVLAMB || o.WeightDecay != 0 {
			pn, un := math.Sqrt(pss), math.Sqrt(uss)
			if pn != 0 && un != 0 {
				trust := q(pn / un)
				if o.TrustClip {
					trust = math.Min(trust, 1)
				}
				ratio = q(o.LR * trust)
			}
		}
		for j := range p {
			p[j] = q(p[j] - q(ratio*u[j]))
		}
	}
}

// LARS holds the options of torch.optim.SGD wrapped in apex's LARC
// (apex/parallel/LARC.py): SGD's, with the weight decay LARC applies, and LARC's
// trust_coefficient, clip and eps.
type LARS struct {
	LR, Momentum, Dampening, WeightDecay, TrustCoefficient, Eps float64
	Nesterov, Maximize, Clip                                    bool
	Round                                                       func(float64) float64
}

// Step applies step t to one tensor p with gradient g; buf is its momentum buffer. The
// adaptive lr is the tensor's own, from ||p|| and ||g||; a tensor with either norm 0
// steps on its gradient as it is (no decay, no scaling). Maximize negates the scaled
// gradient: SGD's maximize, after LARC.
func (o LARS) Step(p, g, buf []float64, t int64) {
	q := rounder(o.Round)
	pss, gss := 0.0, 0.0
	for j := range p {
		pss = q(pss + q(p[j]*p[j]))
		gss = q(gss + q(g[j]*g[j]))
	}
	pn, gn := math.Sqrt(pss), math.Sqrt(gss)
	d := append([]float64(nil), g...)
	if pn != 0 && gn != 0 {
		a := q(q(o.TrustCoefficient*pn) / q(q(gn+q(pn*o.WeightDecay))+o.Eps))
		if o.Clip {
			a = math.Min(q(a/o.LR), 1)
		}
		for j := range d {
			d[j] = q(q(g[j]+q(o.WeightDecay*p[j])) * a)
		}
	}
	SGD{LR: o.LR, Momentum: o.Momentum, Dampening: o.Dampening, Nesterov: o.Nesterov, Maximize: o.Maximize,
		Round: o.Round}.Step(p, d, buf, t)
}

// AdEMAMix holds AdEMAMix's options (apple/ml-ademamix pytorch/ademamix.py); the
// warmups are steps, 0 for none.
type AdEMAMix struct {
	LR, Beta1, Beta2, Beta3, Alpha, Eps, WeightDecay float64
	AlphaWarmup, Beta3Warmup                         int
	Round                                            func(float64) float64
}

// Step applies step t to p; fast, slow and sq are exp_avg_fast (unused with beta1 = 0),
// exp_avg_slow and exp_avg_sq.
func (o AdEMAMix) Step(p, g, fast, slow, sq []float64, t int64) {
	q := rounder(o.Round)
	ft := float64(t)
	alpha, beta3 := o.Alpha, o.Beta3
	if int(t) < o.AlphaWarmup {
		alpha = ft / float64(o.AlphaWarmup) * o.Alpha
	}
	if int(t) < o.Beta3Warmup {
		f := func(b float64) float64 { return math.Log(0.5)/math.Log(b+1e-8) - 1 }
		a := ft / float64(o.Beta3Warmup)
		beta3 = math.Pow(0.5, 1/((1-a)*f(o.Beta1)+a*f(o.Beta3)+1))
	}
	bc1 := q(1 - math.Pow(o.Beta1, ft))
	bc2 := q(1 - math.Pow(o.Beta2, ft))
	for i := range p {
		m1 := g[i]
		if o.Beta1 != 0 {
			fast[i] = q(q(o.Beta1*fast[i]) + q(q(1-o.Beta1)*g[i]))
			m1 = fast[i]
		}
		slow[i] = q(q(beta3*slow[i]) + q(q(1-beta3)*g[i]))
		sq[i] = q(q(o.Beta2*sq[i]) + q(q(q(1-o.Beta2)*g[i])*g[i]))
		denom := q(q(math.Sqrt(sq[i])/math.Sqrt(bc2)) + o.Eps)
		u := q(q(q(m1/bc1)+q(alpha*slow[i])) / denom)
		u = q(u + q(o.WeightDecay*p[i]))
		p[i] = q(p[i] - q(o.LR*u))
	}
}

// ScheduleFreeAdamW holds Schedule-Free AdamW's options (Defazio et al. 2024;
// facebookresearch/schedule_free schedulefree/adamw_schedulefree.py); WarmupSteps 0 for
// no warmup.
type ScheduleFreeAdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay, R, WeightLRPower float64
	WarmupSteps                                          int
	Round                                                func(float64) float64
}

// Step applies step t (1-based) to p, which holds y (train mode), with gradient g; z
// and v are z and exp_avg_sq. At t == 1 z becomes a copy of p first, as the reference
// clones the param at its first step. weightSum and lrMax are the values before this
// step (0 and -1 before the first) and are advanced in place; the reference keeps them,
// and k = t-1, per param group, goptim per param: the same while every param steps
// every step. Per step, in double as the reference's Python floats:
//
//	lr_t = lr * min(1, t/warmup_steps);  lr_max = max(lr_t, lr_max)
//	weight = t^r * lr_max^weight_lr_power;  weight_sum += weight
//	ckp1 = weight/weight_sum (0 when weight_sum is 0)
//
// then per element
//
//	v = beta2 v + (1-beta2) g²;  u = g / (sqrt(v/(1-beta2^t)) + eps) + weight_decay*y
//	y = y + ckp1 (z-y) + lr_t (beta1 (1-ckp1) - 1) u;  z = z - lr_t u
func (o ScheduleFreeAdamW) Step(p, g, z, v []float64, weightSum, lrMax *float64, t int64) {
	q := rounder(o.Round)
	ft := float64(t)
	sched := 1.0
	if t <= int64(o.WarmupSteps) {
		sched = q(ft / float64(o.WarmupSteps))
	}
	lr := q(o.LR * sched)
	*lrMax = math.Max(lr, *lrMax)
	weight := q(q(math.Pow(ft, o.R)) * q(math.Pow(*lrMax, o.WeightLRPower)))
	*weightSum = q(*weightSum + weight)
	ckp1 := 0.0
	if *weightSum != 0 {
		ckp1 = q(weight / *weightSum)
	}
	bc2 := q(1 - math.Pow(o.Beta2, ft))
	yLR := q(lr * q(q(o.Beta1*q(1-ckp1))-1))
	for i := range p {
		y := p[i]
		if t == 1 {
			z[i] = y
		}
		v[i] = q(q(o.Beta2*v[i]) + q(q(q(1-o.Beta2)*g[i])*g[i]))
		u := q(g[i] / q(q(math.Sqrt(q(v[i]/bc2)))+o.Eps))
		if o.WeightDecay != 0 {
			u = q(u + q(o.WeightDecay*y))
		}
		p[i] = q(q(y+q(ckp1*q(z[i]-y))) + q(yLR*u))
		z[i] = q(z[i] - q(lr*u))
	}
}

// Train moves p from x to y, where the gradients are taken (the reference's train()):
// p = p + (1-beta1)(z-p). steps is the steps p has taken: a param without any has no
// z yet and does not move.
func (o ScheduleFreeAdamW) Train(p, z []float64, steps int64) { o.lerp(p, z, 1-o.Beta1, steps) }

// Eval moves p from y to x, the average to evaluate (the reference's eval()):
// p = p + (1-1/beta1)(z-p), for a param that has stepped.
func (o ScheduleFreeAdamW) Eval(p, z []float64, steps int64) { o.lerp(p, z, 1-1/o.Beta1, steps) }

func (o ScheduleFreeAdamW) lerp(p, z []float64, w float64, steps int64) {
	if steps == 0 {
		return
	}
	q := rounder(o.Round)
	for i := range p {
		p[i] = q(p[i] + q(w*q(z[i]-p[i])))
	}
}

// Adadelta holds torch.optim.Adadelta's options.
type Adadelta struct {
	LR, Rho, Eps, WeightDecay float64
	Maximize                  bool
	Round                     func(float64) float64
}

// Step applies one step to p; sq and acc are square_avg and acc_delta.
func (o Adadelta) Step(p, g, sq, acc []float64) {
	q := rounder(o.Round)
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		sq[i] = q(q(o.Rho*sq[i]) + q(q(q(1-o.Rho)*gi)*gi))
		delta := q(q(q(math.Sqrt(q(acc[i]+o.Eps)))/q(math.Sqrt(q(sq[i]+o.Eps)))) * gi)
		acc[i] = q(q(o.Rho*acc[i]) + q(q(q(1-o.Rho)*delta)*delta))
		p[i] = q(p[i] - q(o.LR*delta))
	}
}

// Rprop holds torch.optim.Rprop's options.
type Rprop struct {
	LR, EtaMinus, EtaPlus, StepSizeMin, StepSizeMax float64
	Maximize                                        bool
	Round                                           func(float64) float64
}

// Step applies one step to p; prev and ss are prev and step_size (ss starts at LR, which
// the caller fills at the first step).
func (o Rprop) Step(p, g, prev, ss []float64) {
	q := rounder(o.Round)
	sign := func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	}
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		f := 1.0
		switch sign(q(gi * prev[i])) {
		case 1:
			f = o.EtaPlus
		case -1:
			f = o.EtaMinus
			gi = 0
		}
		ss[i] = math.Min(math.Max(q(ss[i]*f), o.StepSizeMin), o.StepSizeMax)
		p[i] = q(p[i] - sign(gi)*ss[i])
		prev[i] = gi
	}
}

// RMSprop holds torch.optim.RMSprop's options.
type RMSprop struct {
	LR, Alpha, Eps, WeightDecay, Momentum float64
	Centered, Maximize                    bool
	Round                                 func(float64) float64
}

// Step applies one step to p; sq, buf, ga are square_avg, momentum_buffer, grad_avg.
func (o RMSprop) Step(p, g, sq, buf, ga []float64) {
	q := rounder(o.Round)
	for i := range p {
		gi := g[i]
		if o.Maximize {
			gi = -gi
		}
		if o.WeightDecay != 0 {
			gi = q(gi + q(o.WeightDecay*p[i]))
		}
		sq[i] = q(q(o.Alpha*sq[i]) + q(q(q(1-o.Alpha)*gi)*gi))
		var avg float64
		if o.Centered {
			ga[i] = q(q(o.Alpha*ga[i]) + q(q(1-o.Alpha)*gi))
			avg = q(q(math.Sqrt(q(sq[i]-q(ga[i]*ga[i])))) + o.Eps)
		} else {
			avg = q(q(math.Sqrt(sq[i])) + o.Eps)
		}
		if o.Momentum > 0 {
			buf[i] = q(q(o.Momentum*buf[i]) + q(gi/avg))
			p[i] = q(p[i] - q(o.LR*buf[i]))
		} else {
			p[i] = q(p[i] - q(o.LR*q(gi/avg)))
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
