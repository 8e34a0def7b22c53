// optim_traffic.cu - goptim_traffic_step on the GPU: the multi-tensor kernel with an op
// that loads and stores exactly the arrays a step with the given traffic does, so that a
// step and its limit differ only in their arithmetic (same table, chunks, float4 path,
// launch). One kernel per array set the optimizers have: param and grad loaded, param
// stored, states 0..n-1 (n = 0..3) loaded and stored, the gradient stored or not. The
// arithmetic (p += g, state_j += g, a stored gradient negated) makes every store depend
// on the loads; the values mean nothing. csrc/traffic.c is the CPU's, with the same
// refusals: bits above 4 are GOPTIM_ERR_INVALID_ARGUMENT, other sets
// GOPTIM_ERR_UNSUPPORTED, checked before the list; aux is not read.
#include "step_entry.cuh"

namespace goptim_cuda {

template <int NS, bool GW>
struct TrafficOp : NoBlockHooks {
    static constexpr unsigned kStates = ((1u << NS) - 1u) << 2;
    static constexpr unsigned kLoad = kP | kG | kStates;
    static constexpr unsigned kStore = kP | kStates | (GW ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        const float g = v[1];
        v[0] = __fadd_rn(v[0], g);
#pragma unroll
        for (int k = 0; k < NS; ++k) v[2 + k] = __fadd_rn(v[2 + k], g);
        if (GW) v[1] = -g;
    }
};

// The set of reads/writes (reads already |= writes): true and *ns, *gw when it is one of
// the kernels', as traffic_shape of csrc/traffic.c.
inline bool traffic_shape(uint32_t reads, uint32_t writes, int *ns, bool *gw) {
    const uint32_t states = reads >> 2;
    if ((reads & 3u) != (kP | kG) || !(writes & kP) || (writes >> 2) != states) return false;
    for (int k = 0; k <= GOPTIM_MAX_STATE; ++k)
        if (states == (1u << k) - 1u) {
            *ns = k;
            *gw = (writes & kG) != 0;
            return true;
        }
    return false;
}

template <int NS, class L>
inline goptim_status launch_traffic(bool gw, L &&launch) {
    return bool_dispatch(gw, [&](auto GW) { return launch(TrafficOp<NS, GOPTIM_B(GW)>{}); });
}

// Launches the kernel for a set traffic_shape accepted.
template <class L>
inline goptim_status dispatch_traffic(int ns, bool gw, L &&launch) {
    switch (ns) {
    case 0: return launch_traffic<0>(gw, launch);
    case 1: return launch_traffic<1>(gw, launch);
    case 2: return launch_traffic<2>(gw, launch);
    default: return launch_traffic<3>(gw, launch);
    }
}

}  // namespace goptim_cuda

// GOPTIM_STEP_ENTRY's entry with the mask check added: a refused set is reported with a
// detail, which needs the context, and a step's dispatch is not given it.
#if !defined(GOPTIM_OPS_ONLY)
#if defined(GOPTIM_EMULATE)
#define GOPTIM_TRAFFIC_RUN(ctx, list, op) goptim_cuda_emu::run_step(ctx, list, nullptr, op, "traffic_kernel")
#else
#define GOPTIM_TRAFFIC_RUN(ctx, list, op) goptim_cuda::run_op(ctx, list, op, "traffic_kernel")
#endif

extern "C" goptim_status goptim_traffic_step(goptim_context *ctx, const goptim_tensor_list *list,
                                             const goptim_traffic_params *hp, int64_t step,
                                             const goptim_step_aux *aux) {
    using namespace goptim_cuda;
#if defined(GOPTIM_EMULATE)
    using namespace goptim_cuda_emu;
#endif
    (void)aux;
    return enter(ctx, "goptim_traffic_step", [&] {
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_traffic_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_traffic_step: step must be >= 1");
        const uint32_t writes = hp->writes, reads = hp->reads | writes;
        if (reads >> kSlots)
            return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT,
                         "goptim_traffic_step: reads 0x%x, writes 0x%x: bits above 4 (0 param, 1 grad, 2-4 state)",
                         (unsigned)hp->reads, (unsigned)hp->writes);
        int ns = 0;
        bool gw = false;
        if (!traffic_shape(reads, writes, &ns, &gw))
            return failf(ctx, GOPTIM_ERR_UNSUPPORTED,
                         "goptim_traffic_step: reads 0x%x, writes 0x%x: no kernel for this set (param and grad "
                         "read, param written, states 0..n-1 read and written, grad written or not)",
                         (unsigned)reads, (unsigned)writes);
        return dispatch_traffic(ns, gw, [&](const auto &op) { return GOPTIM_TRAFFIC_RUN(ctx, list, op); });
    });
}

#undef GOPTIM_TRAFFIC_RUN
#endif
