// optim_lars.cu - LARS/LARC on the GPU and on its emulation: lars_math.h's arithmetic.
//
// GPU: a multi-tensor pass sums each chunk's squares of param and gradient (trust.cuh;
// the gradient unscaled in memory there when AMP's scale is fused), one thread per
// tensor folds them into the tensor's adaptive lr, and SGD's pass scales each gradient
// by its tensor's. The emulation (GOPTIM_EMULATE) runs the same arithmetic tensor by
// tensor on the host, summing the squares in order.
#include "step_entry.cuh"

#include "lars_math.h"

#if defined(GOPTIM_OPS_ONLY)

#elif defined(GOPTIM_EMULATE)

#include <cmath>

#include "emu_launch.h"

namespace {

using namespace goptim_cuda;
using namespace goptim_cuda_emu;

template <int MOM, int NEST>
void emu_lars(const goptim_tensor_list *list, const gm_lars_k &k, bool sc, float scale, float coef) {
    for (int64_t i = 0; i < list->count; i++) {
        const int64_t n = list->numel[i];
        if (n == 0) continue;
        float *p = list->param[i], *g = list->grad[i], *buf = MOM != GM_MOM_NONE ? list->state[0][i] : nullptr;
        double ps = 0, gs = 0;
        for (int64_t j = 0; j < n; j++) {
            if (sc) g[j] = gm_unscale(g[j], scale, 1);
            const float x = GM_MUL(g[j], coef);
            ps += (double)p[j] * (double)p[j];
            gs += (double)x * (double)x;
        }
        const float alr = gm_lars_alr(&k, (float)std::sqrt(ps), (float)std::sqrt(gs));
        for (int64_t j = 0; j < n; j++) {
            float b = MOM == GM_MOM_RUN ? buf[j] : 0.f;
            const float d_p = gm_lars_grad(&k, p[j], GM_MUL(g[j], coef), alr);
            gm_sgd_update(&k.sgd, &p[j], d_p, &b, 0, MOM, NEST);
            if (MOM != GM_MOM_NONE) buf[j] = b;
        }
    }
}

}  // namespace

extern "C" goptim_status goptim_lars_step(goptim_context *ctx, const goptim_tensor_list *list,
                                          const goptim_lars_params *hp, int64_t step, const goptim_step_aux *aux) {
    return enter(ctx, "goptim_lars_step", [&] {
        const char *what = "lars_kernel";
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lars_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lars_step: step must be >= 1");
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        Table t;
        goptim_status st = get_table(ctx, list, kP | kG | (hp->momentum != 0 ? kS0 : 0u), what, &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        HostAux ha;
        if ((st = read_aux(ctx, what, aux, &ha)) != GOPTIM_OK || ha.skip) return st;
        const bool sc = ha.unscale;
        const float scale = ha.scale, coef = ha.coef;
        const gm_lars_k k = gm_lars_scalars(hp, step);
        const int mom = k.sgd.mom_mode, nest = k.sgd.nesterov;
        if (mom == GM_MOM_NONE) emu_lars<GM_MOM_NONE, 0>(list, k, sc, scale, coef);
        else if (mom == GM_MOM_FIRST) nest ? emu_lars<GM_MOM_FIRST, 1>(list, k, sc, scale, coef)
                                           : emu_lars<GM_MOM_FIRST, 0>(list, k, sc, scale, coef);
        else nest ? emu_lars<GM_MOM_RUN, 1>(list, k, sc, scale, coef) : emu_lars<GM_MOM_RUN, 0>(list, k, sc, scale, coef);
        return GOPTIM_OK;
    });
}

#else  // the GPU

#include "trust.cuh"

namespace goptim_cuda {

// Pass 1: the sums of squares of param and gradient as read (unscaled in memory).
template <bool U, bool C>
struct LarsNormOp : GradPrep<U, C, false> {
    static constexpr unsigned kLoad = kP | kG;
    static constexpr unsigned kStore = U ? kG : 0u;
    SumSq2 sums;
    __device__ __forceinline__ bool begin_block() {
        if (!GradPrep<U, C, false>::begin_block()) return false;
        sums.a = sums.b = 0.0;
        return true;
    }
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) { sums.add(v[0], this->grad(v)); }
    __device__ __forceinline__ void end_block() { sums.end(); }
};

// Pass 2: SGD over the gradient scaled by its tensor's adaptive lr.
template <bool C, int MOM, bool NEST>
struct LarsOp : GradPrep<false, C, false> {
    static constexpr unsigned kLoad = kP | kG | (MOM == GM_MOM_RUN ? kS0 : 0u);
    static constexpr unsigned kStore = kP | (MOM != GM_MOM_NONE ? kS0 : 0u);
    gm_lars_k k;
    const float *alrs;
    const int32_t *chunk_tensor;
    float alr;
    __device__ __forceinline__ bool begin_block() {
        if (!GradPrep<false, C, false>::begin_block()) return false;
        alr = alrs[chunk_tensor[blockIdx.x]];
        return true;
    }
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        const float d_p = gm_lars_grad(&k, v[0], this->grad(v), alr);
        gm_sgd_update(&k.sgd, &v[0], d_p, &v[2], 0, MOM, NEST ? 1 : 0);
    }
};

struct LarsAlr {
    gm_lars_k k;
    __device__ __forceinline__ float operator()(float pnorm, float gnorm) const { return gm_lars_alr(&k, pnorm, gnorm); }
};

template <int MOM>
goptim_status lars_sgd(goptim_context *ctx, const DeviceTable &t, const gm_lars_k &k, const float *alrs,
                       const goptim_step_aux *aux) {
    bool unscale, clip;
    aux_flags(aux, &unscale, &clip);
    return bool_dispatch(clip, [&](auto C) {
        return bool_dispatch(k.sgd.nesterov != 0, [&](auto N) {
            LarsOp<GOPTIM_B(C), MOM, GOPTIM_B(N)> op;
            set_prep<decltype(op), false, GOPTIM_B(C), false>(op, aux);
            op.k = k;
            op.alrs = alrs;
            op.chunk_tensor = t.chunk_tensor;
            op.alr = 0.f;
            return launch_multi_tensor(ctx, t, op, "lars_kernel");
        });
    });
}

}  // namespace goptim_cuda

extern "C" goptim_status goptim_lars_step(goptim_context *ctx, const goptim_tensor_list *list,
                                          const goptim_lars_params *hp, int64_t step, const goptim_step_aux *aux) {
    using namespace goptim_cuda;
    return enter(ctx, "goptim_lars_step", [&] {
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lars_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lars_step: step must be >= 1");
        DeviceTable t;
        goptim_status st = get_table(ctx, list, kP | kG | (hp->momentum != 0 ? kS0 : 0u), &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        const gm_lars_k k = gm_lars_scalars(hp, step);
        StreamScratch scratch(ctx);
        const cudaError_t e = scratch.alloc(trust_scratch_bytes(t.nchunks, list->count));
        if (e != cudaSuccess) return cuda_fail(ctx, "lars scratch", e);
        double *partial = reinterpret_cast<double *>(scratch.get());
        float *alrs = reinterpret_cast<float *>(partial + 2 * t.nchunks);
        st = dispatch_prep(aux, false, [&](auto U, auto C, auto M) {
            (void)M;
            LarsNormOp<GOPTIM_B(U), GOPTIM_B(C)> op;
            set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), false>(op, aux);
            op.sums.partial = partial;
            return launch_multi_tensor(ctx, t, op, "lars_norm_kernel");
        });
        if (st != GOPTIM_OK) return st;
        if ((st = launch_trust_fold(ctx, t, list->count, partial, alrs, aux ? aux->found_inf : nullptr,
                                    LarsAlr{k})) != GOPTIM_OK)
            return st;
        if (k.sgd.mom_mode == GM_MOM_NONE) return lars_sgd<GM_MOM_NONE>(ctx, t, k, alrs, aux);
        if (k.sgd.mom_mode == GM_MOM_FIRST) return lars_sgd<GM_MOM_FIRST>(ctx, t, k, alrs, aux);
        return lars_sgd<GM_MOM_RUN>(ctx, t, k, alrs, aux);
    });
}

#endif
