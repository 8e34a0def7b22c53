// optim_adamax.cu - Adamax on the GPU: adamax_math.h's update as a multi-tensor op, one
// kernel per option set, and goptim_adamax_step.
#include "step_entry.cuh"

#include "adamax_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M, bool WD>
struct AdamaxOp : GradPrep<U, C, M> {
    gm_adamax_k k;
    static constexpr unsigned kLoad = kP | kG | kS0 | kS1;
    static constexpr unsigned kStore = kP | kS0 | kS1 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_adamax_update(&k, &v[0], this->grad(v), &v[2], &v[3], WD);
    }
};

template <class L>
inline goptim_status dispatch_adamax(const goptim_adamax_params &hp, int64_t step, const goptim_step_aux *aux,
                                     L &&launch) {
    const gm_adamax_k k = gm_adamax_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        return bool_dispatch(k.wd != 0, [&](auto W) {
            AdamaxOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W)> op;
            set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
            op.k = k;
            return launch(op);
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_adamax_step, goptim_adamax_params, dispatch_adamax, "adamax_kernel")
