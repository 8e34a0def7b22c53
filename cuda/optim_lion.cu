// optim_lion.cu - Lion on the GPU: lion_math.h's update as a multi-tensor op and
// goptim_lion_step.
#include "step_entry.cuh"

#include "lion_math.h"

namespace goptim_cuda {

template <bool U, bool C>
struct LionOp : GradPrep<U, C, false> {
    gm_lion_k k;
    static constexpr unsigned kLoad = kP | kG | kS0;
    static constexpr unsigned kStore = kP | kS0 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_lion_update(&k, &v[0], this->grad(v), &v[2]);
    }
};

template <class L>
inline goptim_status dispatch_lion(const goptim_lion_params &hp, int64_t step, const goptim_step_aux *aux, L &&launch) {
    (void)step;
    const gm_lion_k k = gm_lion_scalars(&hp);
    return dispatch_prep(aux, false, [&](auto U, auto C, auto M) {
        (void)M;
        LionOp<GOPTIM_B(U), GOPTIM_B(C)> op;
        set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), false>(op, aux);
        op.k = k;
        return launch(op);
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_lion_step, goptim_lion_params, dispatch_lion, "lion_kernel")
