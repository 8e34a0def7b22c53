// optim_rmsprop.cu - RMSprop on the GPU: rmsprop_math.h's update as a multi-tensor op,
// one kernel per option set, and goptim_rmsprop_step.
#include "step_entry.cuh"

#include "rmsprop_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M, bool WD, bool Mom, bool Centered>
struct RmspropOp : GradPrep<U, C, M> {
    gm_rmsprop_k k;
    static constexpr unsigned kLoad = kP | kG | kS0 | (Mom ? kS1 : 0u) | (Centered ? kS2 : 0u);
    static constexpr unsigned kStore = kP | kS0 | (Mom ? kS1 : 0u) | (Centered ? kS2 : 0u) | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_rmsprop_update(&k, &v[0], this->grad(v), &v[2], &v[3], &v[4], WD, Centered, Mom);
    }
};

template <class L>
inline goptim_status dispatch_rmsprop(const goptim_rmsprop_params &hp, int64_t step, const goptim_step_aux *aux,
                                      L &&launch) {
    const gm_rmsprop_k k = gm_rmsprop_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        return bool_dispatch(k.wd != 0, [&](auto W) {
            return bool_dispatch(k.mom != 0, [&](auto Mo) {
                return bool_dispatch(k.centered != 0, [&](auto Ce) {
                    RmspropOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W), GOPTIM_B(Mo), GOPTIM_B(Ce)> op;
                    set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                    op.k = k;
                    return launch(op);
                });
            });
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_rmsprop_step, goptim_rmsprop_params, dispatch_rmsprop, "rmsprop_kernel")
