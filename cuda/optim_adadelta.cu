// optim_adadelta.cu - Adadelta on the GPU: adadelta_math.h's update as a multi-tensor op,
// one kernel per option set, and goptim_adadelta_step.
#include "step_entry.cuh"

#include "adadelta_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M, bool WD>
struct AdadeltaOp : GradPrep<U, C, M> {
    gm_adadelta_k k;
    static constexpr unsigned kLoad = kP | kG | kS0 | kS1;
    static constexpr unsigned kStore = kP | kS0 | kS1 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_adadelta_update(&k, &v[0], this->grad(v), &v[2], &v[3], WD);
    }
};

template <class L>
inline goptim_status dispatch_adadelta(const goptim_adadelta_params &hp, int64_t step, const goptim_step_aux *aux,
                                       L &&launch) {
    const gm_adadelta_k k = gm_adadelta_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        return bool_dispatch(k.wd != 0, [&](auto W) {
            AdadeltaOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W)> op;
            set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
            op.k = k;
            return launch(op);
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_adadelta_step, goptim_adadelta_params, dispatch_adadelta, "adadelta_kernel")
