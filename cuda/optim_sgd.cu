// optim_sgd.cu - SGD on the GPU: sgd_math.h's update as a multi-tensor op, one kernel per
// option set, and goptim_sgd_step.
#include "step_entry.cuh"

#include "sgd_math.h"

namespace goptim_cuda {

// Mom: GM_MOM_*; Nest: nesterov.
template <bool U, bool C, bool M, bool WD, int Mom, bool Nest>
struct SgdOp : GradPrep<U, C, M> {
    gm_sgd_k k;
    static constexpr unsigned kLoad = kP | kG | (Mom == GM_MOM_RUN ? kS0 : 0u);
    static constexpr unsigned kStore = kP | (Mom != GM_MOM_NONE ? kS0 : 0u) | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        gm_sgd_update(&k, &v[0], this->grad(v), &v[2], WD, Mom, Nest);
    }
};

template <class L>
inline goptim_status dispatch_sgd(const goptim_sgd_params &hp, int64_t step, const goptim_step_aux *aux, L &&launch) {
    const gm_sgd_k k = gm_sgd_scalars(&hp, step);
    return dispatch_prep(aux, hp.maximize != 0, [&](auto U, auto C, auto M) {
        return bool_dispatch(k.wd != 0, [&](auto W) {
            auto go = [&](auto Mom, auto Nest) {
                SgdOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W), GOPTIM_B(Mom), GOPTIM_B(Nest)> op;
                set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                op.k = k;
                return launch(op);
            };
            if (k.mom_mode == GM_MOM_NONE) return go(std::integral_constant<int, GM_MOM_NONE>{}, std::false_type{});
            return bool_dispatch(k.nesterov != 0, [&](auto Nest) {
                if (k.mom_mode == GM_MOM_FIRST) return go(std::integral_constant<int, GM_MOM_FIRST>{}, Nest);
                return go(std::integral_constant<int, GM_MOM_RUN>{}, Nest);
            });
        });
    });
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_sgd_step, goptim_sgd_params, dispatch_sgd, "sgd_kernel")
