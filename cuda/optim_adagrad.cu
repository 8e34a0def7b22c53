// optim_adagrad.cu - goptim_adagrad_step: the fused multi-tensor Adagrad step (see ops.cuh).
#include "step_entry.cuh"

GOPTIM_STEP_ENTRY(goptim_adagrad_step, goptim_adagrad_params, dispatch_adagrad, "adagrad_kernel")
