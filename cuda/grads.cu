// grads.cu - gradient utilities of the CUDA backend of goptim: total norm (one pass over
// the whole list, deterministic two-stage reduction in double, result left on the
// device), clipping by norm and by value, the AMP finite check + unscale, zero_grad.
#include <cmath>
#include <type_traits>

#include "internal.cuh"
#include "multi_tensor.cuh"
#include "ops.cuh"

using namespace goptim_cuda;

namespace goptim_cuda {

// NaN-propagating max (torch.max semantics).
__device__ __forceinline__ double dnanmax(double a, double b) { return (a != a || a > b) ? a : b; }

template <int Kind>
__device__ __forceinline__ double norm_combine(double a, double b) {
    if (Kind == kNormInf) return dnanmax(a, b);
    return __dadd_rn(a, b);
}

// Per-thread accumulator op (reads the grad slot only).
template <int Kind>
struct NormAcc : NoBlockHooks {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = 0u;
    double acc;
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) {
        const double g = (double)v[1];
        double t;
        if (Kind == kNormL2) t = __dmul_rn(g, g);  // exact
        else t = fabs(g);
        acc = norm_combine<Kind>(acc, t);
    }
};

// Fixed-order block reduction; the result is valid in thread 0.
template <int Kind>
__device__ __forceinline__ double block_reduce(double x) {
    __shared__ double warp_part[kBlock / 32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = norm_combine<Kind>(x, __shfl_down_sync(0xffffffffu, x, o));
    if (lane == 0) warp_part[warp] = x;
    __syncthreads();
    if (warp == 0) {
        x = lane < kBlock / 32 ? warp_part[lane] : 0.0;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) x = norm_combine<Kind>(x, __shfl_down_sync(0xffffffffu, x, o));
    }
    return x;
}

// Stage 1: a fixed grid of blocks; block b takes chunks b, b + gridDim.x, ... and writes
// one partial. The assignment depends only on the list and the device (the grid is what
// is resident at once on it), so the result is deterministic.
template <int Kind>
__global__ void __launch_bounds__(kBlock) norm_partial_kernel(const TensorDesc *__restrict__ descs,
                                                              const int32_t *__restrict__ chunk_tensor, int64_t chunk,
                                                              int64_t nchunks, double *__restrict__ partial) {
    NormAcc<Kind> acc;
    acc.acc = 0.0;
    for (int64_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
        float *base[kSlots];
        const int64_t n = chunk_bases<kG>(descs, chunk_tensor, chunk, c, base);
        process_chunk(acc, base, n);
    }
    const double r = block_reduce<Kind>(acc.acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = r;
}

// Stage 2: one block folds the partials in a fixed order and writes the float norm.
template <int Kind>
__global__ void __launch_bounds__(kBlock) norm_final_kernel(const double *__restrict__ partial, int nparts,
                                                            float *__restrict__ out) {
    double x = 0.0;
    for (int i = threadIdx.x; i < nparts; i += kBlock) x = norm_combine<Kind>(x, partial[i]);
    x = block_reduce<Kind>(x);
    if (threadIdx.x == 0) {
        if (Kind == kNormL2) x = sqrt(x);
        *out = (float)x;
    }
}

// Stage 1 runs one wave of resident blocks (each takes every grid-th chunk), so the grid
// must not exceed what fits at once: a second, partial wave would idle most of the GPU.
void init_norm_grids(goptim_context *ctx) {
    const void *fns[kNormKinds] = {reinterpret_cast<const void *>(&norm_partial_kernel<kNormL2>),
                                   reinterpret_cast<const void *>(&norm_partial_kernel<kNormInf>)};
    for (int k = 0; k < kNormKinds; ++k) {
        int per_sm = 0;
        if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, fns[k], kBlock, 0) != cudaSuccess || per_sm < 1) {
            cudaGetLastError();
            per_sm = 1;
        }
        int64_t g = (int64_t)per_sm * (ctx->sm_count > 0 ? ctx->sm_count : 1);
        ctx->norm_grid[k] = (int)(g < kNormBlocks ? g : kNormBlocks);
    }
}

template <int Kind>
goptim_status launch_norm(goptim_context *ctx, const DeviceTable &t, float *out) {
    const int64_t grid = ctx->norm_grid[Kind];
    const int64_t g = t.nchunks < grid ? t.nchunks : grid;
    norm_partial_kernel<Kind><<<(unsigned)g, kBlock, 0, ctx->stream>>>(t.descs, t.chunk_tensor, ctx->chunk, t.nchunks,
                                                                       ctx->scratch);
    goptim_status st = check_launch(ctx, "norm_partial_kernel");
    if (st != GOPTIM_OK) return st;
    norm_final_kernel<Kind><<<1, kBlock, 0, ctx->stream>>>(ctx->scratch, (int)g, out);
    return check_launch(ctx, "norm_final_kernel");
}

template <bool Unscale>
struct CheckFiniteOp {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = Unscale ? kG : 0u;
    const float *inv_scale;
    float *found_inf;
    float inv;
    bool bad;
    __device__ __forceinline__ bool begin_block() {
        bad = false;
        if (Unscale) inv = *inv_scale;
        return true;
    }
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) {
        const float x = v[1];
        bad = bad || !isfinite(x);
        if (Unscale) v[1] = __fmul_rn(x, inv);
    }
    __device__ __forceinline__ void end_block() {
        if (__syncthreads_or(bad) && threadIdx.x == 0) *found_inf = 1.f;
    }
};

// Each chunk's sum of squares and max |g| (NaN winning) as two partials.
struct GradNormsOp {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = 0u;
    double sum, max;
    double *partial;
    __device__ __forceinline__ bool begin_block() {
        sum = 0.0;
        max = 0.0;
        return true;
    }
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) {
        const double g = (double)v[1];
        sum = __dadd_rn(sum, __dmul_rn(g, g));
        max = dnanmax(max, fabs(g));
    }
    __device__ __forceinline__ void end_block() {
        const double s = block_reduce<kNormL2>(sum), m = block_reduce<kNormInf>(max);
        if (threadIdx.x == 0) {
            partial[2 * blockIdx.x] = s;
            partial[2 * blockIdx.x + 1] = m;
        }
    }
};

// One thread per tensor: its chunks' partials in order into its two norms.
__global__ void grad_norms_fold_kernel(const TensorDesc *__restrict__ descs, int64_t count, int64_t chunk,
                                       const double *__restrict__ partial, float *l2, float *inf) {
    const int64_t d = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (d >= count) return;
    const int64_t c0 = descs[d].first_chunk, n = descs[d].numel;
    const int64_t nc = n / chunk + (n % chunk != 0);
    double s = 0.0, m = 0.0;
    for (int64_t c = c0; c < c0 + nc; ++c) {
        s = __dadd_rn(s, partial[2 * c]);
        m = dnanmax(m, partial[2 * c + 1]);
    }
    if (l2) l2[d] = (float)sqrt(s);
    if (inf) inf[d] = (float)m;
}

template <class Op>
goptim_status run_grad_op(goptim_context *ctx, const goptim_tensor_list *list, const Op &op, const char *what) {
    DeviceTable t;
    goptim_status st = get_table(ctx, list, kG, &t);
    if (st != GOPTIM_OK) return st;
    return launch_multi_tensor(ctx, t, op, what);
}

}  // namespace goptim_cuda

// norm_type 2 or +inf only, as on the CPU backend (goptim.h).
extern "C" goptim_status goptim_grad_norm(goptim_context *ctx, const goptim_tensor_list *list, double norm_type,
                                          float *out_norm) {
    return enter(ctx, "grad_norm", [&] {
        if (!list || !out_norm) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norm: NULL argument");
        const bool inf = std::isinf(norm_type) && norm_type > 0;
        if (!inf && norm_type != 2.0)
            return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norm: norm_type %g is not supported (2 or +Inf)",
                         norm_type);
        DeviceTable t;
        goptim_status st = get_table(ctx, list, kG, &t);
        if (st != GOPTIM_OK) return st;
        if (t.nchunks == 0) {  // empty: the norm is 0
            cudaError_t e = cudaMemsetAsync(out_norm, 0, sizeof(float), ctx->stream);
            if (e != cudaSuccess) return cuda_fail(ctx, "cudaMemsetAsync", e);
            return GOPTIM_OK;
        }
        if (inf) return launch_norm<kNormInf>(ctx, t, out_norm);
        return launch_norm<kNormL2>(ctx, t, out_norm);
    });
}

extern "C" goptim_status goptim_grad_norms(goptim_context *ctx, const goptim_tensor_list *list, float *l2,
                                           float *inf) {
    return enter(ctx, "grad_norms", [&] {
        if (!list) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norms: NULL argument");
        if (!l2 && !inf) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norms: NULL l2 and inf");
        DeviceTable t;
        goptim_status st = get_table(ctx, list, kG, &t);
        if (st != GOPTIM_OK || list->count == 0) return st;
        if (t.nchunks == 0) {  // every tensor empty: norms 0 (no device table was made)
            for (float *out : {l2, inf}) {
                if (!out) continue;
                const cudaError_t e = cudaMemsetAsync(out, 0, sizeof(float) * (size_t)list->count, ctx->stream);
                if (e != cudaSuccess) return cuda_fail(ctx, "cudaMemsetAsync", e);
            }
            return GOPTIM_OK;
        }
        StreamScratch scratch(ctx);
        const cudaError_t e = scratch.alloc(sizeof(double) * (size_t)(2 * t.nchunks));
        if (e != cudaSuccess) return cuda_fail(ctx, "grad_norms scratch", e);
        GradNormsOp op;
        op.sum = op.max = 0.0;
        op.partial = reinterpret_cast<double *>(scratch.get());
        if ((st = launch_multi_tensor(ctx, t, op, "grad_norms_kernel")) != GOPTIM_OK) return st;
        const unsigned grid = (unsigned)((list->count + kBlock - 1) / kBlock);
        grad_norms_fold_kernel<<<grid, kBlock, 0, ctx->stream>>>(t.descs, list->count, ctx->chunk,
                                                                 reinterpret_cast<double *>(scratch.get()), l2, inf);
        return check_launch(ctx, "grad_norms_fold_kernel");
    });
}

extern "C" goptim_status goptim_clip_grad_by_norm(goptim_context *ctx, const goptim_tensor_list *list,
                                                  double max_norm, const float *norm) {
    return enter(ctx, "clip_grad_by_norm", [&] {
        if (!list || !norm) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "clip_grad_by_norm: NULL argument");
        ClipByNormOp op;
        op.norm = norm;
        op.max_norm = (float)max_norm;
        op.coef = 1.f;
        return run_grad_op(ctx, list, op, "clip_by_norm_kernel");
    });
}

extern "C" goptim_status goptim_clip_grad_value(goptim_context *ctx, const goptim_tensor_list *list,
                                                double clip_value) {
    return enter(ctx, "clip_grad_value", [&] {
        if (!list) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "clip_grad_value: NULL argument");
        ClipValueOp op;
        op.hi = (float)clip_value;
        op.lo = -op.hi;
        return run_grad_op(ctx, list, op, "clip_value_kernel");
    });
}

extern "C" goptim_status goptim_check_finite(goptim_context *ctx, const goptim_tensor_list *list,
                                             const float *inv_scale, float *found_inf) {
    return enter(ctx, "check_finite", [&] {
        if (!list || !found_inf) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "check_finite: NULL argument");
        if (inv_scale) {
            CheckFiniteOp<true> op;
            op.inv_scale = inv_scale;
            op.found_inf = found_inf;
            op.inv = 1.f;
            op.bad = false;
            return run_grad_op(ctx, list, op, "check_finite_kernel");
        }
        CheckFiniteOp<false> op;
        op.inv_scale = nullptr;
        op.found_inf = found_inf;
        op.inv = 1.f;
        op.bad = false;
        return run_grad_op(ctx, list, op, "check_finite_kernel");
    });
}

extern "C" goptim_status goptim_zero_grad(goptim_context *ctx, const goptim_tensor_list *list) {
    return enter(ctx, "zero_grad", [&] {
        if (!list) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "zero_grad: NULL argument");
        return run_grad_op(ctx, list, ZeroOp{}, "zero_grad_kernel");
    });
}
