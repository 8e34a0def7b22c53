// optim_adafactor.cu - Adafactor on the GPU and on its emulation: adafactor_math.h's
// arithmetic, per tensor, with the norms between the passes reduced in double.
//
// Adafactor is not element-wise (its step size needs the norms of the param and of the
// update over the whole tensor), so it is not a multi-tensor op: each tensor of the list
// takes a few kernels in stream order, with every reduction in a fixed order (one block
// per row, one thread per column, fixed blocks of elements), so a run repeats its bits:
//   rows   : one block per matrix row (a vector: per kVecBlock elements): the gradient
//            unscaled and written back, the row's sum of squares, the param's.
//   cols   : one thread per matrix column: the column's sum of squares.
//   factors: one block: row_var and col_var advanced, row_var's mean, alpha.
//   usum   : per kVecBlock elements: the update's sum of squares (a vector's variance
//            advanced first).
//   coef   : one block: -alpha / max(1, RMS(update)/d).
//   apply  : the update again, added to the param.
// The emulation (GOPTIM_EMULATE) sums in the CPU library's order instead (csrc/
// adafactor.c's blocks), so on the host it gives the CPU's bits; the GPU's tree order
// can differ from both in the last bits of the norms.
#include <string>

#include "step_entry.cuh"

#include "adafactor_math.h"

namespace goptim_cuda {

// The gradient as the update reads it, from the unscaled one: clipped, then negated
// for maximize (gm_grad_use with the CPU's signed coefficient gives the same bits).
struct AfGrad {
    float coef;
    bool maximize;
    GM_FN float operator()(float g) const {
        g = GM_MUL(g, coef);
        return maximize ? -g : g;
    }
};

}  // namespace goptim_cuda

#if defined(GOPTIM_OPS_ONLY)

#elif defined(GOPTIM_EMULATE)

#include <vector>

#include "emu_launch.h"

namespace {

using namespace goptim_cuda;
using namespace goptim_cuda_emu;

constexpr int64_t kEmuBlock = 65536;  // csrc/adafactor.c's AF_BLOCK

// One tensor on the host, in csrc/adafactor.c's blocks and order of sums.
void emu_tensor(const gm_adafactor_k &k, const AfGrad &gu, float scale, bool sc, float *p, float *g, float *rv,
                float *cv, float *var, int64_t n, int64_t rows, int64_t cols) {
    int64_t rpb = 0, bpm = 0, nblocks, batch = 0;
    if (rows > 0) {
        batch = n / (rows * cols);
        rpb = kEmuBlock / cols > 0 ? kEmuBlock / cols : 1;
        if (rpb > rows) rpb = rows;
        bpm = (rows + rpb - 1) / rpb;
        nblocks = batch * bpm;
    } else {
        nblocks = (n + kEmuBlock - 1) / kEmuBlock;
    }
    auto range = [&](int64_t b, int64_t *lo, int64_t *hi, int64_t *m, int64_t *r0, int64_t *r1) {
        if (rows == 0) {
            *lo = b * kEmuBlock;
            *hi = *lo + kEmuBlock < n ? *lo + kEmuBlock : n;
            *m = *r0 = *r1 = 0;
            return;
        }
        *m = b / bpm;
        *r0 = (b % bpm) * rpb;
        *r1 = *r0 + rpb < rows ? *r0 + rpb : rows;
        *lo = (*m * rows + *r0) * cols;
        *hi = (*m * rows + *r1) * cols;
    };
    std::vector<double> psum((size_t)nblocks), usum((size_t)nblocks), rsum((size_t)(batch * rows)),
        csum((size_t)(nblocks * cols)), rmean((size_t)batch);
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t lo, hi, m, r0, r1;
        range(b, &lo, &hi, &m, &r0, &r1);
        double ps = 0;
        for (int64_t i = lo; i < hi; i++) ps += (double)p[i] * (double)p[i];
        psum[(size_t)b] = ps;
        if (sc)
            for (int64_t i = lo; i < hi; i++) g[i] = gm_unscale(g[i], scale, 1);
        for (int64_t r = r0; r < r1 && rows > 0; r++) {
            double rs = 0;
            for (int64_t c = 0; c < cols; c++) {
                const double x = (double)gu(g[(m * rows + r) * cols + c]);
                rs += x * x;
                csum[(size_t)(b * cols + c)] += x * x;
            }
            rsum[(size_t)(m * rows + r)] = rs;
        }
    }
    double ps = 0;
    for (int64_t b = 0; b < nblocks; b++) ps += psum[(size_t)b];
    const double alpha = gm_adafactor_alpha(k.eps2, k.rho, ps, n);
    for (int64_t m = 0; m < batch; m++) {
        double rvs = 0;
        for (int64_t r = 0; r < rows; r++) {
            float &x = rv[m * rows + r];
            x = gm_lerp(x, gm_adafactor_mean_sq(rsum[(size_t)(m * rows + r)], (float)cols), k.w);
            rvs += x;
        }
        rmean[(size_t)m] = gm_clamp_min(GM_DIV((float)rvs, (float)rows), k.eps1);
        for (int64_t c = 0; c < cols; c++) {
            double cs = 0;
            for (int64_t b = m * bpm; b < (m + 1) * bpm; b++) cs += csum[(size_t)(b * cols + c)];
            float &x = cv[m * cols + c];
            x = gm_lerp(x, gm_adafactor_mean_sq(cs, (float)rows), k.w);
        }
    }
    auto update = [&](int64_t i) {
        if (rows == 0) return gm_adafactor_update(&k, var[i], gu(g[i]));
        const int64_t row = i / cols, m = row / rows;
        return gm_adafactor_update(&k, gm_adafactor_var(rv[row], cv[m * cols + i % cols], (float)rmean[(size_t)m]),
                                   gu(g[i]));
    };
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t lo, hi, m, r0, r1;
        range(b, &lo, &hi, &m, &r0, &r1);
        double us = 0;
        for (int64_t i = lo; i < hi; i++) {
            if (rows == 0) {
                const float x = gu(g[i]);
                var[i] = gm_lerp(var[i], GM_MUL(x, x), k.w);
            }
            const float u = update(i);
            us += (double)u * (double)u;
        }
        usum[(size_t)b] = us;
    }
    double us = 0;
    for (int64_t b = 0; b < nblocks; b++) us += usum[(size_t)b];
    const float coef = gm_adafactor_coef(k.d, alpha, us, n);
    for (int64_t i = 0; i < n; i++) {
        const float u = update(i);
        p[i] = k.wd ? gm_adafactor_apply(&k, p[i], u, coef, 1) : gm_adafactor_apply(&k, p[i], u, coef, 0);
    }
}

}  // namespace

extern "C" goptim_status goptim_adafactor_step(goptim_context *ctx, const goptim_tensor_list *list,
                                               const int64_t *rows, const int64_t *cols,
                                               const goptim_adafactor_params *hp, int64_t step,
                                               const goptim_step_aux *aux) {
    return enter(ctx, "goptim_adafactor_step", [&] {
        const char *what = "adafactor_kernel";
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_adafactor_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_adafactor_step: step must be >= 1");
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        Table t;
        goptim_status st = get_table(ctx, list, kP | kG, what, &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        if (!rows || !cols) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adafactor_step: NULL rows or cols");
        for (int64_t i = 0; i < list->count; i++) {
            const int64_t n = list->numel[i], r = rows[i];
            if (n == 0) continue;
            if (!gm_adafactor_shape_ok(n, r, cols[i]))
                return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_ADAFACTOR_SHAPE_MSG, (long long)i, (long long)n,
                             (long long)r, (long long)(r > 0 ? cols[i] : 0));
            const int k0 = r > 0 ? 0 : 2, k1 = r > 0 ? 1 : 2;
            if (!list->state[k0] || !list->state[k1] || !list->state[k0][i] || !list->state[k1][i])
                return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_ADAFACTOR_STATE_MSG, (long long)i,
                             r > 0 ? GM_ADAFACTOR_STATE_MATRIX : GM_ADAFACTOR_STATE_VECTOR);
            const int64_t len0 = r > 0 ? n / cols[i] : n, len1 = r > 0 ? n / r : n;
            if (!heap_contains(list->state[k0][i], len0) || !heap_contains(list->state[k1][i], len1))
                return cuda_fail(ctx, what, CudaErr::IllegalAddress,
                                 "the state of tensor " + std::to_string(i) + " is not device memory of its shape");
        }
        HostAux ha;
        if ((st = read_aux(ctx, what, aux, &ha)) != GOPTIM_OK || ha.skip) return st;
        const bool sc = ha.unscale;
        const float scale = ha.scale;
        const AfGrad gu{ha.coef, hp->maximize != 0};
        const gm_adafactor_k k = gm_adafactor_scalars(hp, step);
        for (int64_t i = 0; i < list->count; i++) {
            const int64_t n = list->numel[i], r = rows[i];
            if (n == 0) continue;
            emu_tensor(k, gu, scale, sc, list->param[i], list->grad[i], r > 0 ? list->state[0][i] : nullptr,
                       r > 0 ? list->state[1][i] : nullptr, r > 0 ? nullptr : list->state[2][i], n, r,
                       r > 0 ? cols[i] : 0);
        }
        return GOPTIM_OK;
    });
}

#else  // the GPU

#include "trust.cuh"

namespace goptim_cuda {

constexpr int64_t kVecBlock = 16384;  // elements per block of the element-wise passes

struct AfTensor {
    float *p, *g, *rv, *cv, *var;
    int64_t n, rows, cols, batch;  // rows == 0: a vector
    const float *grad_scale, *found_inf, *clip_norm;
    float max_norm;
    bool maximize;
    gm_adafactor_k k;
    // device scratch
    double *rsum, *psum, *csum, *usum;  // [batch*rows or vector blocks], ..., [batch*cols], [blocks]
    double *alpha;                      // one double
    float *rmean;                       // [batch]
    float *coef;                        // one float
};

__device__ __forceinline__ bool af_skip(const AfTensor &a) { return a.found_inf && *a.found_inf != 0.f; }

__device__ __forceinline__ AfGrad af_grad(const AfTensor &a) {
    AfGrad gu{1.f, a.maximize};
    if (a.clip_norm && a.max_norm > 0.f) gu.coef = gm_clip_coef(*a.clip_norm, a.max_norm);
    return gu;
}

// Matrix: block b is row b of the stack; vector: block b is elements [b*kVecBlock, ...).
__global__ void __launch_bounds__(kBlock) af_rows_kernel(AfTensor a) {
    if (af_skip(a)) return;
    const AfGrad gu = af_grad(a);
    const float scale = a.grad_scale ? *a.grad_scale : 1.f;
    const int64_t lo = a.rows > 0 ? (int64_t)blockIdx.x * a.cols : (int64_t)blockIdx.x * kVecBlock;
    const int64_t len = a.rows > 0 ? a.cols : (a.n - lo < kVecBlock ? a.n - lo : kVecBlock);
    double ps = 0, gs = 0;
    for (int64_t j = threadIdx.x; j < len; j += kBlock) {
        const int64_t i = lo + j;
        const double pv = (double)a.p[i];
        ps = __dadd_rn(ps, __dmul_rn(pv, pv));
        float g = a.g[i];
        if (a.grad_scale) {
            g = gm_unscale(g, scale, 1);
            a.g[i] = g;
        }
        const double x = (double)gu(g);
        gs = __dadd_rn(gs, __dmul_rn(x, x));
    }
    ps = block_sum_double(ps);
    gs = block_sum_double(gs);
    if (threadIdx.x == 0) {
        a.psum[blockIdx.x] = ps;
        if (a.rows > 0) a.rsum[blockIdx.x] = gs;
    }
}

// One thread per column of the stack (after af_rows_kernel unscaled the gradient).
__global__ void __launch_bounds__(kBlock) af_cols_kernel(AfTensor a) {
    if (af_skip(a)) return;
    const int64_t j = (int64_t)blockIdx.x * kBlock + threadIdx.x;
    if (j >= a.batch * a.cols) return;
    const AfGrad gu = af_grad(a);
    const int64_t m = j / a.cols, c = j % a.cols;
    double cs = 0;
    for (int64_t r = 0; r < a.rows; r++) {
        const double x = (double)gu(a.g[(m * a.rows + r) * a.cols + c]);
        cs = __dadd_rn(cs, __dmul_rn(x, x));
    }
    a.csum[j] = cs;
}

// One block: the factors advanced, row_var's mean per matrix, alpha. nparts: the
// partial sums of the param's squares in a.psum.
__global__ void __launch_bounds__(kBlock) af_factors_kernel(AfTensor a, int64_t nparts) {
    if (af_skip(a)) return;
    double ps = 0;
    for (int64_t i = threadIdx.x; i < nparts; i += kBlock) ps = __dadd_rn(ps, a.psum[i]);
    ps = block_sum_double(ps);
    if (threadIdx.x == 0) *a.alpha = gm_adafactor_alpha(a.k.eps2, a.k.rho, ps, a.n);
    for (int64_t m = 0; m < a.batch; m++) {
        double rvs = 0;
        for (int64_t r = threadIdx.x; r < a.rows; r += kBlock) {
            float *x = &a.rv[m * a.rows + r];
            *x = gm_lerp(*x, gm_adafactor_mean_sq(a.rsum[m * a.rows + r], (float)a.cols), a.k.w);
            rvs = __dadd_rn(rvs, (double)*x);
        }
        rvs = block_sum_double(rvs);
        if (threadIdx.x == 0) a.rmean[m] = gm_clamp_min(GM_DIV((float)rvs, (float)a.rows), a.k.eps1);
        for (int64_t c = threadIdx.x; c < a.cols; c += kBlock) {
            float *x = &a.cv[m * a.cols + c];
            *x = gm_lerp(*x, gm_adafactor_mean_sq(a.csum[m * a.cols + c], (float)a.rows), a.k.w);
        }
    }
}

__device__ __forceinline__ float af_update(const AfTensor &a, const AfGrad &gu, int64_t i) {
    if (a.rows == 0) return gm_adafactor_update(&a.k, a.var[i], gu(a.g[i]));
    const int64_t row = i / a.cols, m = row / a.rows;
    return gm_adafactor_update(&a.k, gm_adafactor_var(a.rv[row], a.cv[m * a.cols + i % a.cols], a.rmean[m]),
                               gu(a.g[i]));
}

// Block b: elements [b*kVecBlock, ...): a vector's variance advanced, the update's sum of
// squares.
__global__ void __launch_bounds__(kBlock) af_usum_kernel(AfTensor a) {
    if (af_skip(a)) return;
    const AfGrad gu = af_grad(a);
    const int64_t lo = (int64_t)blockIdx.x * kVecBlock, hi = lo + kVecBlock < a.n ? lo + kVecBlock : a.n;
    double us = 0;
    for (int64_t i = lo + threadIdx.x; i < hi; i += kBlock) {
        if (a.rows == 0) {
            const float x = gu(a.g[i]);
            a.var[i] = gm_lerp(a.var[i], GM_MUL(x, x), a.k.w);
        }
        const double u = (double)af_update(a, gu, i);
        us = __dadd_rn(us, __dmul_rn(u, u));
    }
    us = block_sum_double(us);
    if (threadIdx.x == 0) a.usum[blockIdx.x] = us;
}

__global__ void __launch_bounds__(kBlock) af_coef_kernel(AfTensor a, int64_t nparts) {
    if (af_skip(a)) return;
    double us = 0;
    for (int64_t i = threadIdx.x; i < nparts; i += kBlock) us = __dadd_rn(us, a.usum[i]);
    us = block_sum_double(us);
    if (threadIdx.x == 0) *a.coef = gm_adafactor_coef(a.k.d, *a.alpha, us, a.n);
}

template <int WD>
__global__ void __launch_bounds__(kBlock) af_apply_kernel(AfTensor a) {
    if (af_skip(a)) return;
    const AfGrad gu = af_grad(a);
    const float coef = *a.coef;
    const int64_t lo = (int64_t)blockIdx.x * kVecBlock, hi = lo + kVecBlock < a.n ? lo + kVecBlock : a.n;
    for (int64_t i = lo + threadIdx.x; i < hi; i += kBlock)
        a.p[i] = gm_adafactor_apply(&a.k, a.p[i], af_update(a, gu, i), coef, WD);
}

goptim_status af_launch(goptim_context *ctx, AfTensor a, char *scratch) {
    const int64_t vblocks = (a.n + kVecBlock - 1) / kVecBlock;
    const int64_t rblocks = a.rows > 0 ? a.batch * a.rows : vblocks;
    double *d = reinterpret_cast<double *>(scratch);
    a.rsum = d;
    a.psum = a.rsum + rblocks;
    a.csum = a.psum + rblocks;
    a.usum = a.csum + a.batch * a.cols;
    a.alpha = a.usum + vblocks;
    a.rmean = reinterpret_cast<float *>(a.alpha + 1);
    a.coef = a.rmean + a.batch;
    goptim_status st;
    af_rows_kernel<<<(unsigned)rblocks, kBlock, 0, ctx->stream>>>(a);
    if ((st = check_launch(ctx, "af_rows_kernel")) != GOPTIM_OK) return st;
    if (a.rows > 0) {
        af_cols_kernel<<<(unsigned)((a.batch * a.cols + kBlock - 1) / kBlock), kBlock, 0, ctx->stream>>>(a);
        if ((st = check_launch(ctx, "af_cols_kernel")) != GOPTIM_OK) return st;
    }
    af_factors_kernel<<<1, kBlock, 0, ctx->stream>>>(a, rblocks);
    if ((st = check_launch(ctx, "af_factors_kernel")) != GOPTIM_OK) return st;
    af_usum_kernel<<<(unsigned)vblocks, kBlock, 0, ctx->stream>>>(a);
    if ((st = check_launch(ctx, "af_usum_kernel")) != GOPTIM_OK) return st;
    af_coef_kernel<<<1, kBlock, 0, ctx->stream>>>(a, vblocks);
    if ((st = check_launch(ctx, "af_coef_kernel")) != GOPTIM_OK) return st;
    if (a.k.wd)
        af_apply_kernel<1><<<(unsigned)vblocks, kBlock, 0, ctx->stream>>>(a);
    else
        af_apply_kernel<0><<<(unsigned)vblocks, kBlock, 0, ctx->stream>>>(a);
    return check_launch(ctx, "af_apply_kernel");
}

// Bytes of scratch a tensor needs (doubles first, then the floats).
inline size_t af_scratch_bytes(int64_t n, int64_t rows, int64_t cols) {
    const int64_t vblocks = (n + kVecBlock - 1) / kVecBlock;
    const int64_t batch = rows > 0 ? n / (rows * cols) : 0;
    const int64_t rblocks = rows > 0 ? batch * rows : vblocks;
    return sizeof(double) * (size_t)(2 * rblocks + batch * cols + vblocks + 1) + sizeof(float) * (size_t)(batch + 1);
}

}  // namespace goptim_cuda

extern "C" goptim_status goptim_adafactor_step(goptim_context *ctx, const goptim_tensor_list *list,
                                               const int64_t *rows, const int64_t *cols,
                                               const goptim_adafactor_params *hp, int64_t step,
                                               const goptim_step_aux *aux) {
    using namespace goptim_cuda;
    return enter(ctx, "goptim_adafactor_step", [&] {
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_adafactor_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_adafactor_step: step must be >= 1");
        DeviceTable t;
        goptim_status st = get_table(ctx, list, kP | kG, &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        if (!rows || !cols) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adafactor_step: NULL rows or cols");
        size_t need = 0;
        for (int64_t i = 0; i < list->count; i++) {
            const int64_t n = list->numel[i], r = rows[i];
            if (n == 0) continue;
            if (!gm_adafactor_shape_ok(n, r, cols[i]))
                return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_ADAFACTOR_SHAPE_MSG, (long long)i, (long long)n,
                             (long long)r, (long long)(r > 0 ? cols[i] : 0));
            const int k0 = r > 0 ? 0 : 2, k1 = r > 0 ? 1 : 2;
            if (!list->state[k0] || !list->state[k1] || !list->state[k0][i] || !list->state[k1][i])
                return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_ADAFACTOR_STATE_MSG, (long long)i,
                             r > 0 ? GM_ADAFACTOR_STATE_MATRIX : GM_ADAFACTOR_STATE_VECTOR);
            const size_t b = af_scratch_bytes(n, r, r > 0 ? cols[i] : 0);
            if (b > need) need = b;
        }
        if (need == 0) return GOPTIM_OK;
        StreamScratch scratch(ctx);
        const cudaError_t e = scratch.alloc(need);
        if (e != cudaSuccess) return cuda_fail(ctx, "adafactor scratch", e);
        AfTensor a{};
        if (aux) {
            a.grad_scale = aux->grad_scale;
            a.found_inf = aux->found_inf;
            a.clip_norm = aux->max_norm > 0 ? aux->clip_norm : nullptr;
            a.max_norm = (float)aux->max_norm;
        }
        a.maximize = hp->maximize != 0;
        a.k = gm_adafactor_scalars(hp, step);
        for (int64_t i = 0; i < list->count; i++) {
            const int64_t n = list->numel[i], r = rows[i];
            if (n == 0) continue;
            a.p = list->param[i];
            a.g = list->grad[i];
            a.rv = r > 0 ? list->state[0][i] : nullptr;
            a.cv = r > 0 ? list->state[1][i] : nullptr;
            a.var = r > 0 ? nullptr : list->state[2][i];
            a.n = n;
            a.rows = r;
            a.cols = r > 0 ? cols[i] : 0;
            a.batch = r > 0 ? n / (r * cols[i]) : 0;
            // One tensor's kernels after another's on the stream: the scratch is reused.
            if ((st = af_launch(ctx, a, scratch.get())) != GOPTIM_OK) return st;
        }
        return GOPTIM_OK;
    });
}

#endif
