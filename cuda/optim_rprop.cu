// optim_rprop.cu - Rprop on the GPU: rprop_math.h's update as a multi-tensor op, one
// kernel per option set, and goptim_rprop_step.
#include "step_entry.cuh"

#include "rprop_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M>
struct RpropOp : GradPrep<U, C, M> {
    gm_rprop_k k;
    static constexpr unsigned kLoad = kP | kG | kS0 | kS1;
    static constexpr unsigned kStore = kP | kS0 | kS1 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_rprop_update(&k, &v[0], this->grad(v), &v[2], &v[3]);
    }
};

template <class L>
inline goptim_status dispatch_rprop(const goptim_rprop_params &hp, int64_t step, const goptim_step_aux *aux,
                                    L &&launch) {
    const gm_rprop_k k = gm_rprop_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        RpropOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)> op;
        set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
        op.k = k;
        return launch(op);
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_rprop_step, goptim_rprop_params, dispatch_rprop, "rprop_kernel")
