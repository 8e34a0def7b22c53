package binding

/*
#include "goptim.h"
*/
import "C"

// TrafficParams mirrors goptim_traffic_params: bit k of Reads and Writes is param (0),
// grad (1) or state k-2 (2..4).
type TrafficParams struct {
	Reads, Writes uint32
}

// TrafficStep is goptim_traffic_step.
func (ctx *Context) TrafficStep(l *List, h *TrafficParams, step int64, aux *Aux) error {
	defer ctx.lock()()
	hp := C.goptim_traffic_params{reads: C.uint32_t(h.Reads), writes: C.uint32_t(h.Writes)}
	return check(ctx, "traffic_step", C.goptim_traffic_step(ctx.c, &l.c.list, &hp, C.int64_t(step), aux.c()))
}
