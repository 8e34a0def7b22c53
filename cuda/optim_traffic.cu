// optim_traffic.cu - goptim_traffic_step on the GPU: the multi-tensor kernel with an op
// that loads and stores exactly the arrays of a given set, so that a pass of a step and
// its limit differ only in their arithmetic (same table, chunks, float4 path, launch). One
// kernel per set of the family of goptim.h: param and grad each not touched, loaded, or
// loaded and stored; states 0..n-1 (n = 0..3) loaded, or loaded and stored; some array
// touched. The arithmetic makes every store depend on the loads and the values mean
// nothing: a stored param or state x takes x + g when the gradient is loaded, else -x; a
// stored gradient takes -g. An array only loaded (the gradient too when no stored array
// uses it) is folded into a per-thread XOR of its float bits, which the block's end stores
// to ctx->scratch when it equals kTrafficKey: a store the compiler cannot prove never
// happens, so the loads stay (and rarely made; scratch holds nothing between launches).
// csrc/traffic.c is the CPU's, with the same values and refusals: bits above 4 are
// GOPTIM_ERR_INVALID_ARGUMENT, other sets GOPTIM_ERR_UNSUPPORTED, checked before the list;
// aux is not read.
#include <cstring>

#include "step_entry.cuh"

namespace goptim_cuda {

constexpr unsigned kTrafficKey = 0x9e3779b9u;

__device__ __forceinline__ unsigned traffic_bits(float x) {
#if defined(GOPTIM_EMULATE)
    unsigned u;
    std::memcpy(&u, &x, sizeof u);
    return u;
#else
    return __float_as_uint(x);
#endif
}

// PM, GM: param, grad 0 not touched, 1 loaded, 2 loaded and stored; states 0..NS-1
// loaded, and stored when SW.
template <int PM, int GM, int NS, bool SW>
struct TrafficOp {
    static constexpr unsigned kStates = ((1u << NS) - 1u) << 2;
    static constexpr unsigned kLoad = (PM ? kP : 0u) | (GM ? kG : 0u) | kStates;
    static constexpr unsigned kStore = (PM == 2 ? kP : 0u) | (GM == 2 ? kG : 0u) | (SW ? kStates : 0u);
    // a gradient only loaded is folded when no stored array uses it
    static constexpr bool kGFold = GM == 1 && PM != 2 && !(NS > 0 && SW);
    static constexpr bool kFolds = PM == 1 || kGFold || (NS > 0 && !SW);
    double *sink;  // device memory (ctx->scratch)
    unsigned acc;
    __device__ __forceinline__ bool begin_block() {
        acc = 0u;
        return true;
    }
    __device__ __forceinline__ void end_block() {
        if (kFolds && acc == kTrafficKey) *sink = (double)acc;
    }
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) {
        const float g = v[1];
        unsigned fold = 0u;
        if (PM == 2) v[0] = GM ? __fadd_rn(v[0], g) : -v[0];
        if (PM == 1) fold ^= traffic_bits(v[0]);
        if (kGFold) fold ^= traffic_bits(g);
#pragma unroll
        for (int k = 0; k < NS; ++k) {
            if (SW) v[2 + k] = GM ? __fadd_rn(v[2 + k], g) : -v[2 + k];
            else fold ^= traffic_bits(v[2 + k]);
        }
        if (GM == 2) v[1] = -g;
        acc ^= fold;
    }
};

// The set of reads/writes (reads already |= writes, no bits above 4): true and the flags
// when it is one of the family, as traffic_shape of csrc/traffic.c.
struct TrafficSet {
    int pm, gm, ns;
    bool sw;
};
inline bool traffic_shape(uint32_t reads, uint32_t writes, TrafficSet *s) {
    if (reads == 0u) return false;
    s->pm = (reads & kP) ? 1 + ((writes & kP) != 0u) : 0;
    s->gm = (reads & kG) ? 1 + ((writes & kG) != 0u) : 0;
    const uint32_t sr = reads >> 2, sw = writes >> 2;
    if (sw != 0u && sw != sr) return false;  // some states stored, others only loaded
    s->sw = sw != 0u;
    for (int k = 0; k <= GOPTIM_MAX_STATE; ++k)
        if (sr == (1u << k) - 1u) {
            s->ns = k;
            return true;
        }
    return false;  // not a prefix
}

template <int PM, int GM, int NS, bool SW, class L>
inline goptim_status launch_traffic(double *sink, L &launch) {
    using Op = TrafficOp<PM, GM, NS, SW>;
    if constexpr ((Op::kLoad | Op::kStore) == 0u) {
        return GOPTIM_ERR_UNSUPPORTED;  // no array: traffic_shape refuses it first
    } else {
        Op op{};
        op.sink = sink;
        return launch(op);
    }
}

template <int PM, int GM, class L>
inline goptim_status dispatch_traffic_states(const TrafficSet &s, double *sink, L &launch) {
    switch (s.ns) {
    case 0: return launch_traffic<PM, GM, 0, false>(sink, launch);
    case 1: return s.sw ? launch_traffic<PM, GM, 1, true>(sink, launch) : launch_traffic<PM, GM, 1, false>(sink, launch);
    case 2: return s.sw ? launch_traffic<PM, GM, 2, true>(sink, launch) : launch_traffic<PM, GM, 2, false>(sink, launch);
    default: return s.sw ? launch_traffic<PM, GM, 3, true>(sink, launch) : launch_traffic<PM, GM, 3, false>(sink, launch);
    }
}

template <int PM, class L>
inline goptim_status dispatch_traffic_grad(const TrafficSet &s, double *sink, L &launch) {
    switch (s.gm) {
    case 0: return dispatch_traffic_states<PM, 0>(s, sink, launch);
    case 1: return dispatch_traffic_states<PM, 1>(s, sink, launch);
    default: return dispatch_traffic_states<PM, 2>(s, sink, launch);
    }
}

// Launches the kernel for a set traffic_shape accepted.
template <class L>
inline goptim_status dispatch_traffic(const TrafficSet &s, double *sink, L &&launch) {
    switch (s.pm) {
    case 0: return dispatch_traffic_grad<0>(s, sink, launch);
    case 1: return dispatch_traffic_grad<1>(s, sink, launch);
    default: return dispatch_traffic_grad<2>(s, sink, launch);
    }
}

}  // namespace goptim_cuda

// GOPTIM_STEP_ENTRY's entry with the mask check added: a refused set is reported with a
// detail, which needs the context, and a step's dispatch is not given it.
#if !defined(GOPTIM_OPS_ONLY)
#if defined(GOPTIM_EMULATE)
#define GOPTIM_TRAFFIC_RUN(ctx, list, op) goptim_cuda_emu::run_step(ctx, list, nullptr, op, "traffic_kernel")
#define GOPTIM_TRAFFIC_SINK(ctx) ((ctx)->partial.data())
#else
#define GOPTIM_TRAFFIC_RUN(ctx, list, op) goptim_cuda::run_op(ctx, list, op, "traffic_kernel")
#define GOPTIM_TRAFFIC_SINK(ctx) ((ctx)->scratch)
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
        TrafficSet s{};
        if (!traffic_shape(reads, writes, &s))
            return failf(ctx, GOPTIM_ERR_UNSUPPORTED,
                         "goptim_traffic_step: reads 0x%x, writes 0x%x: no kernel for this set (param and grad "
                         "each not touched, read or written; states 0..n-1 all read only or all written; some "
                         "array touched)",
                         (unsigned)reads, (unsigned)writes);
        return dispatch_traffic(s, GOPTIM_TRAFFIC_SINK(ctx),
                                [&](const auto &op) { return GOPTIM_TRAFFIC_RUN(ctx, list, op); });
    });
}

#undef GOPTIM_TRAFFIC_RUN
#undef GOPTIM_TRAFFIC_SINK
#endif
