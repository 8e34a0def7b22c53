// optim_lamb.cu - LAMB on the GPU and on its emulation: lamb_math.h's arithmetic.
//
// GPU: one multi-tensor pass advances the moments and sums each chunk's squares of param
// and update (trust.cuh), one thread per tensor folds them into the tensor's ratio, and
// a second pass recomputes the update from the stored moments and applies the ratio.
// Without a trust ratio the first pass steps the params itself. The emulation
// (GOPTIM_EMULATE) runs the same arithmetic tensor by tensor on the host, summing the
// squares in order.
#include "step_entry.cuh"

#include "lamb_math.h"

#if defined(GOPTIM_OPS_ONLY)

#elif defined(GOPTIM_EMULATE)

#include <cmath>

#include "emu_launch.h"

namespace {

using namespace goptim_cuda;
using namespace goptim_cuda_emu;

template <int WD>
void emu_lamb(const goptim_tensor_list *list, const gm_lamb_k &k, bool sc, float scale, float coef, float clip) {
    for (int64_t i = 0; i < list->count; i++) {
        const int64_t n = list->numel[i];
        if (n == 0) continue;
        float *p = list->param[i], *g = list->grad[i], *m = list->state[0][i], *v = list->state[1][i];
        double ps = 0, us = 0;
        for (int64_t j = 0; j < n; j++) {
            float grad = g[j];
            if (sc) g[j] = grad = gm_unscale(grad, scale, 1);
            float s = GM_MUL(grad, coef);
            if (clip != 1.0f) s = GM_DIV(s, clip);
            gm_lamb_moments(&k, p[j], s, &m[j], &v[j], WD);
            const float u = gm_lamb_update(&k, p[j], m[j], v[j], WD);
            if (k.trust) {
                ps += (double)p[j] * (double)p[j];
                us += (double)u * (double)u;
            } else {
                p[j] = GM_FMA(-k.lr, u, p[j]);
            }
        }
        if (!k.trust) continue;
        const float neg = -gm_lamb_ratio(&k, (float)std::sqrt(ps), (float)std::sqrt(us));
        for (int64_t j = 0; j < n; j++) p[j] = GM_FMA(neg, gm_lamb_update(&k, p[j], m[j], v[j], WD), p[j]);
    }
}

}  // namespace

extern "C" goptim_status goptim_lamb_step(goptim_context *ctx, const goptim_tensor_list *list,
                                          const goptim_lamb_params *hp, int64_t step, const goptim_step_aux *aux) {
    return enter(ctx, "goptim_lamb_step", [&] {
        const char *what = "lamb_kernel";
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lamb_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lamb_step: step must be >= 1");
        if (hp->max_grad_norm > 0 && !hp->global_grad_norm)
            return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lamb_step: max_grad_norm %g > 0 needs global_grad_norm",
                         hp->max_grad_norm);
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        Table t;
        goptim_status st = get_table(ctx, list, kP | kG | kS0 | kS1, what, &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        if (hp->max_grad_norm > 0 &&
            (st = check_scalar(ctx, what, hp->global_grad_norm, "global_grad_norm")) != GOPTIM_OK)
            return st;
        HostAux ha;
        if ((st = read_aux(ctx, what, aux, &ha)) != GOPTIM_OK || ha.skip) return st;
        const bool sc = ha.unscale;
        const float scale = ha.scale, coef = ha.coef;
        const gm_lamb_k k = gm_lamb_scalars(hp, step);
        const float clip = hp->max_grad_norm > 0 ? gm_lamb_clip(*hp->global_grad_norm, (float)hp->max_grad_norm) : 1.f;
        if (k.wd_mode == GM_LAMB_WD_L2) emu_lamb<GM_LAMB_WD_L2>(list, k, sc, scale, coef, clip);
        else if (k.wd_mode == GM_LAMB_WD_DECOUPLED) emu_lamb<GM_LAMB_WD_DECOUPLED>(list, k, sc, scale, coef, clip);
        else emu_lamb<GM_LAMB_WD_NONE>(list, k, sc, scale, coef, clip);
        return GOPTIM_OK;
    });
}

#else  // the GPU

#include "trust.cuh"

namespace goptim_cuda {

// Pass 1: the moments, and either the sums of squares (NORMS) or the step itself.
template <bool U, bool C, int WD, bool NORMS, bool DIV>
struct LambOp : GradPrep<U, C, false> {
    static constexpr unsigned kLoad = kP | kG | kS0 | kS1;
    static constexpr unsigned kStore = kS0 | kS1 | (NORMS ? 0u : kP) | (U ? kG : 0u);
    gm_lamb_k k;
    const float *gnorm;
    float max_grad_norm, clip;
    SumSq2 sums;
    __device__ __forceinline__ bool begin_block() {
        if (!GradPrep<U, C, false>::begin_block()) return false;
        clip = DIV ? gm_lamb_clip(*gnorm, max_grad_norm) : 1.f;
        sums.a = sums.b = 0.0;
        return true;
    }
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) {
        float s = this->grad(v);
        if (DIV) s = GM_DIV(s, clip);
        gm_lamb_moments(&k, v[0], s, &v[2], &v[3], WD);
        const float u = gm_lamb_update(&k, v[0], v[2], v[3], WD);
        if (NORMS) sums.add(v[0], u);
        else v[0] = GM_FMA(-k.lr, u, v[0]);
    }
    __device__ __forceinline__ void end_block() {
        if (NORMS) sums.end();
    }
};

// Pass 2: p -= ratio * u, u recomputed from the moments of pass 1.
template <int WD>
struct LambApplyOp {
    static constexpr unsigned kLoad = kP | kS0 | kS1;
    static constexpr unsigned kStore = kP;
    gm_lamb_k k;
    const float *ratio;
    const int32_t *chunk_tensor;
    const float *found_inf;
    float neg;
    __device__ __forceinline__ bool begin_block() {
        if (found_inf != nullptr && *found_inf != 0.f) return false;
        neg = -ratio[chunk_tensor[blockIdx.x]];
        return true;
    }
    __device__ __forceinline__ void end_block() {}
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        v[0] = GM_FMA(neg, gm_lamb_update(&k, v[0], v[2], v[3], WD), v[0]);
    }
};

struct LambRatio {
    gm_lamb_k k;
    __device__ __forceinline__ float operator()(float pnorm, float unorm) const { return gm_lamb_ratio(&k, pnorm, unorm); }
};

template <int WD>
goptim_status lamb_launch(goptim_context *ctx, const goptim_tensor_list *list, const DeviceTable &t,
                          const goptim_lamb_params &hp, const gm_lamb_k &k, const goptim_step_aux *aux) {
    const bool div = hp.max_grad_norm > 0;
    StreamScratch scratch(ctx);
    if (k.trust) {
        const cudaError_t e = scratch.alloc(trust_scratch_bytes(t.nchunks, list->count));
        if (e != cudaSuccess) return cuda_fail(ctx, "lamb scratch", e);
    }
    double *partial = reinterpret_cast<double *>(scratch.get());
    float *ratio = reinterpret_cast<float *>(partial + 2 * t.nchunks);
    goptim_status st = dispatch_prep(aux, false, [&](auto U, auto C, auto M) {
        (void)M;
        return bool_dispatch(k.trust, [&](auto N) {
            return bool_dispatch(div, [&](auto D) {
                LambOp<GOPTIM_B(U), GOPTIM_B(C), WD, GOPTIM_B(N), GOPTIM_B(D)> op;
                set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), false>(op, aux);
                op.k = k;
                op.gnorm = hp.global_grad_norm;
                op.max_grad_norm = (float)hp.max_grad_norm;
                op.clip = 1.f;
                op.sums.partial = partial;
                return launch_multi_tensor(ctx, t, op, "lamb_kernel");
            });
        });
    });
    if (st != GOPTIM_OK || !k.trust) return st;
    const float *found_inf = aux ? aux->found_inf : nullptr;
    if ((st = launch_trust_fold(ctx, t, list->count, partial, ratio, found_inf, LambRatio{k})) != GOPTIM_OK)
        return st;
    LambApplyOp<WD> apply;
    apply.k = k;
    apply.ratio = ratio;
    apply.chunk_tensor = t.chunk_tensor;
    apply.found_inf = found_inf;
    apply.neg = 0.f;
    return launch_multi_tensor(ctx, t, apply, "lamb_apply_kernel");
}

}  // namespace goptim_cuda

extern "C" goptim_status goptim_lamb_step(goptim_context *ctx, const goptim_tensor_list *list,
                                          const goptim_lamb_params *hp, int64_t step, const goptim_step_aux *aux) {
    using namespace goptim_cuda;
    return enter(ctx, "goptim_lamb_step", [&] {
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lamb_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_lamb_step: step must be >= 1");
        if (hp->max_grad_norm > 0 && !hp->global_grad_norm)
            return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lamb_step: max_grad_norm %g > 0 needs global_grad_norm",
                         hp->max_grad_norm);
        DeviceTable t;
        goptim_status st = get_table(ctx, list, kP | kG | kS0 | kS1, &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        const gm_lamb_k k = gm_lamb_scalars(hp, step);
        if (k.wd_mode == GM_LAMB_WD_L2) return lamb_launch<GM_LAMB_WD_L2>(ctx, list, t, *hp, k, aux);
        if (k.wd_mode == GM_LAMB_WD_DECOUPLED) return lamb_launch<GM_LAMB_WD_DECOUPLED>(ctx, list, t, *hp, k, aux);
        return lamb_launch<GM_LAMB_WD_NONE>(ctx, list, t, *hp, k, aux);
    });
}

#endif
