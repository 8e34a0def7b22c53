// optim_adagrad.cu - Adagrad on the GPU: adagrad_math.h's update as a multi-tensor op,
// one kernel per option set, and goptim_adagrad_step.
#include "step_entry.cuh"

#include "adagrad_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M, bool WD>
struct AdagradOp : GradPrep<U, C, M> {
    gm_adagrad_k k;
    static constexpr unsigned kLoad = kP | kG | kS0;
    static constexpr unsigned kStore = kP | kS0 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_adagrad_update(&k, &v[0], this->grad(v), &v[2], WD);
    }
};

template <class L>
inline goptim_status dispatch_adagrad(const goptim_adagrad_params &hp, int64_t step, const goptim_step_aux *aux,
                                      L &&launch) {
    const gm_adagrad_k k = gm_adagrad_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        return bool_dispatch(k.wd != 0, [&](auto W) {
            AdagradOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W)> op;
            set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
            op.k = k;
            return launch(op);
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_adagrad_step, goptim_adagrad_params, dispatch_adagrad, "adagrad_kernel")
