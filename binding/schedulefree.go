package binding

/*
#cgo CFLAGS: -I${SRCDIR}/../csrc/include
#include "goptim.h"
*/
import "C"

// ScheduleFreeAdamWParams mirrors goptim_schedulefree_adamw_params.
type ScheduleFreeAdamWParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay, R, WeightLRPower float64
	WarmupSteps                                          int64
	WeightSum, LRMax                                     float64 // before the step
}

func (h *ScheduleFreeAdamWParams) c() C.goptim_schedulefree_adamw_params {
	return C.goptim_schedulefree_adamw_params{lr: C.double(h.LR), beta1: C.double(h.Beta1), beta2: C.double(h.Beta2),
		eps: C.double(h.Eps), weight_decay: C.double(h.WeightDecay), r: C.double(h.R),
		weight_lr_power: C.double(h.WeightLRPower), warmup_steps: C.int64_t(h.WarmupSteps),
		weight_sum: C.double(h.WeightSum), lr_max: C.double(h.LRMax)}
}

// ScheduleFreeAdamWStep is goptim_schedulefree_adamw_step.
func (ctx *Context) ScheduleFreeAdamWStep(l *List, h *ScheduleFreeAdamWParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := h.c()
	return check(ctx, "schedulefree_adamw_step",
		C.goptim_schedulefree_adamw_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}

// ScheduleFreeAdamWNext is goptim_schedulefree_adamw_next: weight_sum and lr_max after
// step.
func ScheduleFreeAdamWNext(h *ScheduleFreeAdamWParams, step int64) (weightSum, lrMax float64, err error) {
	hp := h.c()
	var ws, lm C.double
	if st := C.goptim_schedulefree_adamw_next(&hp, C.int64_t(step), &ws, &lm); st != C.GOPTIM_OK {
		return 0, 0, check(nil, "schedulefree_adamw_next", st)
	}
	return float64(ws), float64(lm), nil
}

// LerpState is goptim_lerp_state: param = lerp(param, state[slot], weight) over the
// list (its gradients are not read).
func (ctx *Context) LerpState(l *List, slot int, weight float64) error {
	if slot < 0 || slot >= MaxState {
		// Refused here too: a slot past int32 would wrap into the C library's range.
		return &Error{Op: "lerp_state", Status: StatusInvalidArgument, Detail: "slot outside [0, GOPTIM_MAX_STATE)"}
	}
	defer ctx.lock()()
	return check(ctx, "lerp_state", C.goptim_lerp_state(ctx.c, &l.c.list, C.int32_t(slot), C.double(weight)))
}
