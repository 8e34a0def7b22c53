// optim_rmsprop.cu - goptim_rmsprop_step: the fused multi-tensor RMSprop step (see ops.cuh).
#include "step_entry.cuh"

GOPTIM_STEP_ENTRY(goptim_rmsprop_step, goptim_rmsprop_params, dispatch_rmsprop, "rmsprop_kernel")
