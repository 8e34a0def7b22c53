// optim_adam.cu - goptim_adam_step: the fused multi-tensor Adam and AdamW step (see ops.cuh).
#include "step_entry.cuh"

GOPTIM_STEP_ENTRY(goptim_adam_step, goptim_adam_params, dispatch_adam, "adam_kernel")
