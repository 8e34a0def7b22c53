// optim_ademamix.cu - AdEMAMix on the GPU: ademamix_math.h's update as a multi-tensor op,
// one kernel per option set, and goptim_ademamix_step.
#include "step_entry.cuh"

#include "ademamix_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool Fast>
struct AdemamixOp : GradPrep<U, C, false> {
    gm_ademamix_k k;
    static constexpr unsigned kLoad = kP | kG | (Fast ? kS0 : 0u) | kS1 | kS2;
    static constexpr unsigned kStore = kP | (Fast ? kS0 : 0u) | kS1 | kS2 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_ademamix_update(&k, &v[0], this->grad(v), &v[2], &v[3], &v[4], Fast);
    }
};

template <class L>
inline goptim_status dispatch_ademamix(const goptim_ademamix_params &hp, int64_t step, const goptim_step_aux *aux,
                                       L &&launch) {
    const gm_ademamix_k k = gm_ademamix_scalars(&hp, step);
    return dispatch_prep(aux, false, [&](auto U, auto C, auto M) {
        (void)M;
        return bool_dispatch(k.fast != 0, [&](auto F) {
            AdemamixOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(F)> op;
            set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), false>(op, aux);
            op.k = k;
            return launch(op);
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_ademamix_step, goptim_ademamix_params, dispatch_ademamix, "ademamix_kernel")
