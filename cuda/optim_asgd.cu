// optim_asgd.cu - ASGD on the GPU: asgd_math.h's update as a multi-tensor op, one kernel
// per option set, goptim_asgd_step, and goptim_asgd_next (host arithmetic, the same
// function the CPU library runs).
#include "step_entry.cuh"

#include "asgd_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M, bool WD, bool Avg>
struct AsgdOp : GradPrep<U, C, M> {
    gm_asgd_k k;
    static constexpr unsigned kLoad = kP | kG | (Avg ? kS0 : 0u);
    static constexpr unsigned kStore = kP | kS0 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_asgd_update(&k, &v[0], this->grad(v), &v[2], WD, Avg);
    }
};

template <class L>
inline goptim_status dispatch_asgd(const goptim_asgd_params &hp, int64_t step, const goptim_step_aux *aux,
                                   L &&launch) {
    (void)step;
    const gm_asgd_k k = gm_asgd_scalars(&hp);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        return bool_dispatch(k.wd != 0, [&](auto W) {
            return bool_dispatch(k.avg != 0, [&](auto A) {
                AsgdOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W), GOPTIM_B(A)> op;
                set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                op.k = k;
                return launch(op);
            });
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_asgd_step, goptim_asgd_params, dispatch_asgd, "asgd_kernel")

#if !defined(GOPTIM_OPS_ONLY)
extern "C" goptim_status goptim_asgd_next(const goptim_asgd_params *hp, int64_t step, float *eta, float *mu) {
    if (!hp || !eta || !mu || step < 1) return GOPTIM_ERR_INVALID_ARGUMENT;
    gm_asgd_next(hp, step, eta, mu);
    return GOPTIM_OK;
}
#endif
