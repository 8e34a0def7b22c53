// optim_sgd.cu - goptim_sgd_step: the fused multi-tensor SGD step (see ops.cuh).
#include "step_entry.cuh"

GOPTIM_STEP_ENTRY(goptim_sgd_step, goptim_sgd_params, dispatch_sgd, "sgd_kernel")
