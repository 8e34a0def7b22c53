package binding

/*
#cgo CFLAGS: -I${SRCDIR}/../csrc/include
#include "goptim.h"
*/
import "C"

import "unsafe"

// LAMBParams mirrors goptim_lamb_params. GlobalGradNorm is backend memory holding one
// float (C or device memory, never Go memory), read when MaxGradNorm > 0.
type LAMBParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay, MaxGradNorm                float64
	BiasCorrection, GradAveraging, AdamWMode, UseNVLAMB, TrustClip bool
	GlobalGradNorm                                                 unsafe.Pointer
}

// LAMBStep is goptim_lamb_step.
func (ctx *Context) LAMBStep(l *List, h *LAMBParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_lamb_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		eps: C.double(h.Eps), weight_decay: C.double(h.WeightDecay), max_grad_norm: C.double(h.MaxGradNorm),
		bias_correction: cbool(h.BiasCorrection), grad_averaging: cbool(h.GradAveraging),
		adam_w_mode: cbool(h.AdamWMode), use_nvlamb: cbool(h.UseNVLAMB), trust_clip: cbool(h.TrustClip),
		global_grad_norm: (*C.float)(h.GlobalGradNorm)}
	return check(ctx, "lamb_step", C.goptim_lamb_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// LARSParams mirrors goptim_lars_params.
type LARSParams struct {
	LR, Momentum, Dampening, WeightDecay, TrustCoefficient, Eps float64
	Nesterov, Maximize, Clip                                    bool
}

// LARSStep is goptim_lars_step.
func (ctx *Context) LARSStep(l *List, h *LARSParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_lars_params{lr: C.double(h.LR), momentum: C.double(h.Momentum), dampening: C.double(h.Dampening),
		weight_decay: C.double(h.WeightDecay), trust_coefficient: C.double(h.TrustCoefficient), eps: C.double(h.Eps),
		nesterov: cbool(h.Nesterov), maximize: cbool(h.Maximize), clip: cbool(h.Clip)}
	return check(ctx, "lars_step", C.goptim_lars_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}
