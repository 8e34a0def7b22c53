// optim_nadam.cu - NAdam and NAdamW on the GPU: nadam_math.h's update as a multi-tensor
// op, one kernel per option set, goptim_nadam_step, and goptim_nadam_mu_product (host
// arithmetic, the same function the CPU library runs).
#include "step_entry.cuh"

#include "nadam_math.h"

namespace goptim_cuda {

template <bool U, bool C, bool M, int WD>
struct NadamOp : GradPrep<U, C, M> {
    gm_nadam_k k;
    static constexpr unsigned kLoad = kP | kG | kS0 | kS1;
    static constexpr unsigned kStore = kP | kS0 | kS1 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_nadam_update(&k, &v[0], this->grad(v), &v[2], &v[3], WD);
    }
};

template <class L>
inline goptim_status dispatch_nadam(const goptim_nadam_params &hp, int64_t step, const goptim_step_aux *aux,
                                    L &&launch) {
    const gm_nadam_k k = gm_nadam_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        auto go = [&](auto W) {
            NadamOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W)> op;
            set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
            op.k = k;
            return launch(op);
        };
        return gm_wd_dispatch(k.wd_mode, go);
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_nadam_step, goptim_nadam_params, dispatch_nadam, "nadam_kernel")

#if !defined(GOPTIM_OPS_ONLY)
extern "C" goptim_status goptim_nadam_mu_product(const goptim_nadam_params *hp, int64_t step, float *out) {
    if (!hp || !out || step < 1) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = gm_nadam_scalars(hp, step).mu_product;
    return GOPTIM_OK;
}
#endif
