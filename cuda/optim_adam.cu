// optim_adam.cu - Adam and AdamW on the GPU: adam_math.h's update as a multi-tensor op,
// one kernel per option set, and goptim_adam_step.
#include "step_entry.cuh"

#include "adam_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M, int WD, bool Ams>
struct AdamOp : GradPrep<U, C, M> {
    gm_adam_k k;
    static constexpr unsigned kLoad = kP | kG | kS0 | kS1 | (Ams ? kS2 : 0u);
    static constexpr unsigned kStore = kP | kS0 | kS1 | (Ams ? kS2 : 0u) | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_adam_update(&k, &v[0], this->grad(v), &v[2], &v[3], &v[4], WD, Ams);
    }
};

template <class L>
inline goptim_status dispatch_adam(const goptim_adam_params &hp, int64_t step, const goptim_step_aux *aux,
                                   L &&launch) {
    const gm_adam_k k = gm_adam_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        return bool_dispatch(hp.amsgrad != 0, [&](auto A) {
            auto go = [&](auto W) {
                AdamOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W), GOPTIM_B(A)> op;
                set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                op.k = k;
                return launch(op);
            };
            return gm_wd_dispatch(k.wd_mode, go);
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_adam_step, goptim_adam_params, dispatch_adam, "adam_kernel")
