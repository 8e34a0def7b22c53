// optim_radam.cu - RAdam and RAdamW on the GPU: radam_math.h's update as a multi-tensor
// op, one kernel per option set, and goptim_radam_step.
#include "step_entry.cuh"

#include "radam_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M, int WD, bool Rect>
struct RadamOp : GradPrep<U, C, M> {
    gm_radam_k k;
    static constexpr unsigned kLoad = kP | kG | kS0 | kS1;
    static constexpr unsigned kStore = kP | kS0 | kS1 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_radam_update(&k, &v[0], this->grad(v), &v[2], &v[3], WD, Rect);
    }
};

template <class L>
inline goptim_status dispatch_radam(const goptim_radam_params &hp, int64_t step, const goptim_step_aux *aux,
                                    L &&launch) {
    const gm_radam_k k = gm_radam_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        return bool_dispatch(k.rectified != 0, [&](auto R) {
            auto go = [&](auto W) {
                RadamOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W), GOPTIM_B(R)> op;
                set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                op.k = k;
                return launch(op);
            };
            return gm_wd_dispatch(k.wd_mode, go);
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_radam_step, goptim_radam_params, dispatch_radam, "radam_kernel")
