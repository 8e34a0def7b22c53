package binding

/*
#cgo CFLAGS: -I${SRCDIR}/../csrc/include
#include "goptim.h"
*/
import "C"

import (
	"runtime"
)

// Muon's adjust_lr_fn and precision, as goptim.h numbers them.
const (
	MuonAdjustOriginal      = int32(C.GOPTIM_MUON_ADJUST_ORIGINAL)
	MuonAdjustMatchRMSAdamW = int32(C.GOPTIM_MUON_ADJUST_MATCH_RMS_ADAMW)
	MuonFP32                = int32(C.GOPTIM_MUON_FP32)
	MuonBF16                = int32(C.GOPTIM_MUON_BF16)
	MuonFP32BLAS            = int32(C.GOPTIM_MUON_FP32_BLAS)
)

// MuonParams mirrors goptim_muon_params; Adam is the AdamW of the tensors that are not
// matrices.
type MuonParams struct {
	LR, WeightDecay, Momentum, Eps float64
	NSA, NSB, NSC                  float64
	NSSteps                        int32
	Nesterov                       bool
	AdjustLRFn                     int32
	Precision                      int32
	Adam                           AdamParams
}

// MuonStep is goptim_muon_step. rows and cols hold one entry per tensor of the list
// (rows[i] == 0: stepped by AdamW).
func (ctx *Context) MuonStep(l *List, rows, cols []int64, h *MuonParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	rp, cp, err := shapePointers("muon_step", l, rows, cols)
	if err != nil {
		return err
	}
	a := &h.Adam
	hp := C.goptim_muon_params{lr: C.double(h.LR), weight_decay: C.double(h.WeightDecay),
		momentum: C.double(h.Momentum), eps: C.double(h.Eps), ns_a: C.double(h.NSA), ns_b: C.double(h.NSB),
		ns_c: C.double(h.NSC), ns_steps: C.int32_t(h.NSSteps), nesterov: cbool(h.Nesterov),
		adjust_lr_fn: C.int32_t(h.AdjustLRFn), precision: C.int32_t(h.Precision),
		adam: C.goptim_adam_params{lr: C.double(a.LR), beta1: C.double(a.Beta1), beta2: C.double(a.Beta2),
			eps: C.double(a.Eps), weight_decay: C.double(a.WeightDecay), amsgrad: cbool(a.AMSGrad),
			maximize: cbool(a.Maximize), decoupled_weight_decay: cbool(a.DecoupledWeightDecay)}}
	st := C.goptim_muon_step(ctx.c, &l.c.list, rp, cp, &hp, C.int64_t(step), aux.c())
	runtime.KeepAlive(rows)
	runtime.KeepAlive(cols)
	return check(ctx, "muon_step", st)
}
