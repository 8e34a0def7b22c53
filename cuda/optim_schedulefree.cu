// optim_schedulefree.cu - Schedule-Free AdamW on the GPU: schedulefree_math.h's update as
// a multi-tensor op, one kernel per option set (weight decay, the param's first step),
// goptim_schedulefree_adamw_step and goptim_schedulefree_adamw_next (host arithmetic, the
// same function the CPU library runs); and goptim_lerp_state, the train/eval switch, as a
// multi-tensor op of its own over param and one state array.
#include "step_entry.cuh"

#include "schedulefree_math.h"

namespace goptim_cuda {

// First: the param's first step, where z is the param itself and state[0] is only
// written (the kernel does not load it).
template <bool U, bool C, bool WD, bool First>
struct SfAdamWOp : GradPrep<U, C, false> {
    gm_sf_adamw_k k;
    static constexpr unsigned kLoad = kP | kG | (First ? 0u : kS0) | kS1;
    static constexpr unsigned kStore = kP | kS0 | kS1 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        const float g = this->grad(v);
        gm_sf_adamw_update(&k, &v[0], g, &v[2], &v[3], WD, First);
    }
};

template <class L>
inline goptim_status dispatch_sf_adamw(const goptim_schedulefree_adamw_params &hp, int64_t step,
                                       const goptim_step_aux *aux, L &&launch) {
    const gm_sf_adamw_k k = gm_sf_adamw_scalars(&hp, step);
    return dispatch_prep(aux, false, [&](auto U, auto C, auto M) {
        (void)M;
        return bool_dispatch(k.wd != 0, [&](auto W) {
            return bool_dispatch(step == 1, [&](auto F) {
                SfAdamWOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(W), GOPTIM_B(F)> op;
                set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), false>(op, aux);
                op.k = k;
                return launch(op);
            });
        });
    });
}

// param = lerp(param, state[Slot], w); nothing else is read or written.
template <int Slot>
struct LerpStateOp : NoBlockHooks {
    gm_lerp_w w;
    static constexpr unsigned kLoad = kP | (kS0 << Slot);
    static constexpr unsigned kStore = kP;
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const { v[0] = gm_lerp(v[0], v[2 + Slot], w); }
};

static_assert(GOPTIM_MAX_STATE == 3, "goptim_lerp_state has one case per state slot");

template <int Slot, class L>
inline goptim_status launch_lerp_state(gm_lerp_w w, L &&launch) {
    LerpStateOp<Slot> op;
    op.w = w;
    return launch(op);
}

}  // namespace goptim_cuda

GOPTIM_STEP_ENTRY(goptim_schedulefree_adamw_step, goptim_schedulefree_adamw_params, dispatch_sf_adamw,
                  "schedulefree_adamw_kernel")

#if !defined(GOPTIM_OPS_ONLY)
extern "C" goptim_status goptim_schedulefree_adamw_next(const goptim_schedulefree_adamw_params *hp, int64_t step,
                                                        double *weight_sum, double *lr_max) {
    if (!hp || !weight_sum || !lr_max || step < 1) return GOPTIM_ERR_INVALID_ARGUMENT;
    const gm_sf_adamw_h h = gm_sf_adamw_host(hp, step);
    *weight_sum = h.weight_sum;
    *lr_max = h.lr_max;
    return GOPTIM_OK;
}

// Not a step (no hyperparameter struct, no aux), so not GOPTIM_STEP_ENTRY: the same
// launch on each build, the slot checked first as the CPU library checks it.
#if defined(GOPTIM_EMULATE)
#define GOPTIM_LERP_RUN(ctx, list, op) goptim_cuda_emu::run_step(ctx, list, nullptr, op, "lerp_state_kernel")
#else
#define GOPTIM_LERP_RUN(ctx, list, op) goptim_cuda::run_op(ctx, list, op, "lerp_state_kernel")
#endif

extern "C" goptim_status goptim_lerp_state(goptim_context *ctx, const goptim_tensor_list *list, int32_t slot,
                                           double weight) {
    using namespace goptim_cuda;
#if defined(GOPTIM_EMULATE)
    using namespace goptim_cuda_emu;
#endif
    return enter(ctx, "goptim_lerp_state", [&] {
        if (slot < 0 || slot >= GOPTIM_MAX_STATE)
            return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lerp_state: slot %d outside [0, %d)", (int)slot,
                         GOPTIM_MAX_STATE);
        if (!list) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lerp_state: NULL tensor list");
        const gm_lerp_w w = gm_lerp_weight(weight);
        auto run = [&](const auto &op) { return GOPTIM_LERP_RUN(ctx, list, op); };
        switch (slot) {
        case 0: return launch_lerp_state<0>(w, run);
        case 1: return launch_lerp_state<1>(w, run);
        default: return launch_lerp_state<2>(w, run);
        }
    });
}

#undef GOPTIM_LERP_RUN
#endif
