// kernels.cpp - the optimizer steps and gradient utilities of the emulated CUDA backend
// (cuda/emu/). The element math is the GPU's own: ops.cuh (the ops and their option
// dispatch) and multi_tensor.cuh (the kernel body: chunks, float4 head/body/tail), with
// tests/emu_shim.h standing in for CUDA, run one block and one thread at a time. The
// kernels that need barriers or shuffles (the norm reductions and check_finite, in
// grads.cu) are run the same way with the cross-thread steps done explicitly between
// threads: the per-thread accumulation in the GPU's order, then its warp-shuffle tree
// and block fold in the same order (see README.md for what that reproduces).
#include <cmath>
#include <string>

#include "emu_internal.h"
#include "emu_launch.h"
#include "ops.cuh"

thread_local emu_dim3 threadIdx, blockIdx, gridDim, blockDim;

using namespace goptim_cuda;
using namespace goptim_cuda_emu;

namespace {

const char *const kSlotNames[kSlots] = {"param", "grad", "state[0]", "state[1]", "state[2]"};

}  // namespace

namespace goptim_cuda_emu {

goptim_status get_table(goptim_context *ctx, const goptim_tensor_list *list, unsigned slots, const char *what,
                        Table *out) {
    *out = Table{};
    std::vector<TensorDesc> &ser = ctx->ser;
    int64_t nchunks = 0;
    uint64_t h = 0;
    std::string err;
    goptim_status st = serialize_list(list, slots, ctx->chunk, ser, &nchunks, &h, &err);
    if (st != GOPTIM_OK) return fail(ctx, st, err);
    const int64_t count = list->count;
    if (count == 0 || nchunks == 0) return GOPTIM_OK;
    for (int64_t i = 0; i < count; ++i) {
        const TensorDesc &d = ser[(size_t)i];
        if (d.numel == 0) continue;
        for (int s = 0; s < kSlots; ++s)
            if (((slots >> s) & 1u) && !heap_contains(d.ptr[s], d.numel))
                return cuda_fail(ctx, what, CudaErr::IllegalAddress,
                                 std::string(kSlotNames[s]) + " of tensor " + std::to_string(i) + " is not " +
                                     std::to_string(d.numel) + " floats of device memory");
    }
    ctx->chunk_tensor.resize((size_t)nchunks);
    fill_chunk_table(ser.data(), count, ctx->chunk, ctx->chunk_tensor.data());
    *out = Table{ser.data(), ctx->chunk_tensor.data(), nchunks};
    return GOPTIM_OK;
}

goptim_status check_scalar(goptim_context *ctx, const char *what, const float *p, const char *name) {
    if (p && !heap_contains(p, 1))
        return cuda_fail(ctx, what, CudaErr::IllegalAddress, std::string(name) + " is not device memory");
    return GOPTIM_OK;
}

}  // namespace goptim_cuda_emu

namespace {


template <class Op>
goptim_status run_op(goptim_context *ctx, const goptim_tensor_list *list, unsigned slots, const Op &op,
                     const char *what) {
    std::shared_lock<std::shared_mutex> lock(heap_mutex());
    Table t;
    goptim_status st = get_table(ctx, list, slots, what, &t);
    if (st != GOPTIM_OK || t.nchunks == 0) return st;
    run_grid(ctx, t, op, [] {});
    return GOPTIM_OK;
}

// ---------------------------------------------------------------- norms (grads.cu)

// Mirrors of grads.cu's dnanmax, norm_combine and NormAcc (device code that grads.cu
// keeps to itself); keep them in step with it.
inline double dnanmax(double a, double b) { return (a != a || a > b) ? a : b; }

template <int Kind>
inline double norm_combine(double a, double b) {
    if (Kind == kNormInf) return dnanmax(a, b);
    return __dadd_rn(a, b);
}

template <int Kind>
struct NormAcc : NoBlockHooks {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = 0u;
    double acc;
    void operator()(float (&v)[kSlots]) {
        const double g = (double)v[1];
        double t;
        if (Kind == kNormL2) t = __dmul_rn(g, g);  // exact
        else t = std::fabs(g);
        acc = norm_combine<Kind>(acc, t);
    }
};

// grads.cu's block_reduce: __shfl_down_sync over each warp (offsets 16, 8, 4, 2, 1),
// lane 0 of each warp into warp_part, then warp 0 folds warp_part (lanes past the warp
// count contribute 0.0) the same way. Returns thread 0's value. Lane l at offset o reads
// lane l + o; only lanes below o feed lane 0 later, so only they are computed.
template <int Kind>
double warp_reduce(double (&lane)[32]) {
    for (int o = 16; o > 0; o >>= 1)
        for (int l = 0; l < o; ++l) lane[l] = norm_combine<Kind>(lane[l], lane[l + o]);
    return lane[0];
}

template <int Kind>
double block_reduce(const double (&x)[kBlock]) {
    constexpr int kWarps = kBlock / 32;
    double warp_part[kWarps];
    for (int w = 0; w < kWarps; ++w) {
        double lane[32];
        for (int l = 0; l < 32; ++l) lane[l] = x[w * 32 + l];
        warp_part[w] = warp_reduce<Kind>(lane);
    }
    double lane[32];
    for (int l = 0; l < 32; ++l) lane[l] = l < kWarps ? warp_part[l] : 0.0;
    return warp_reduce<Kind>(lane);
}

// norm_partial_kernel then norm_final_kernel over a grid of g blocks.
template <int Kind>
goptim_status launch_norm(goptim_context *ctx, const Table &t, float *out) {
    const int64_t grid = ctx->norm_grid[Kind];
    const int64_t g = t.nchunks < grid ? t.nchunks : grid;
    double x[kBlock];
    // Stage 1: block b takes chunks b, b + g, ...; each thread accumulates its elements
    // of them in the kernel's order (process_chunk: head, float4 body, tail).
    gridDim.x = (unsigned)g;
    blockDim.x = kBlock;
    for (int64_t b = 0; b < g; ++b) {
        blockIdx.x = (unsigned)b;
        for (int th = 0; th < kBlock; ++th) {
            threadIdx.x = (unsigned)th;
            NormAcc<Kind> acc;
            acc.acc = 0.0;
            for (int64_t c = b; c < t.nchunks; c += g) {
                float *base[kSlots];
                const int64_t n = chunk_bases<kG>(t.descs, t.chunk_tensor, ctx->chunk, c, base);
                process_chunk(acc, base, n);
            }
            x[th] = acc.acc;
        }
        ctx->partial[(size_t)b] = block_reduce<Kind>(x);
    }
    // Stage 2: one block; thread i folds partials i, i + kBlock, ... then the block reduce.
    for (int th = 0; th < kBlock; ++th) {
        double v = 0.0;
        for (int64_t i = th; i < g; i += kBlock) v = norm_combine<Kind>(v, ctx->partial[(size_t)i]);
        x[th] = v;
    }
    double r = block_reduce<Kind>(x);
    if (Kind == kNormL2) r = std::sqrt(r);
    *out = (float)r;
    return GOPTIM_OK;
}

// ---------------------------------------------------------------- check_finite (grads.cu)

// grads.cu's CheckFiniteOp with its __syncthreads_or epilogue made explicit: every
// thread of a block ORs into *block_bad, and the launch writes *found_inf = 1 after a
// block that saw a NaN or Inf (run_grid's after_block).
template <bool Unscale>
struct CheckFiniteOp {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = Unscale ? kG : 0u;
    const float *inv_scale;
    bool *block_bad;
    float inv;
    bool begin_block() {
        if (Unscale) inv = *inv_scale;
        return true;
    }
    void operator()(float (&v)[kSlots]) {
        const float x = v[1];
        if (!std::isfinite(x)) *block_bad = true;
        if (Unscale) v[1] = __fmul_rn(x, inv);
    }
    void end_block() {}
};

template <bool Unscale>
goptim_status run_check_finite(goptim_context *ctx, const goptim_tensor_list *list, const float *inv_scale,
                               float *found_inf) {
    const char *what = "check_finite_kernel";
    std::shared_lock<std::shared_mutex> lock(heap_mutex());
    Table t;
    goptim_status st = get_table(ctx, list, kG, what, &t);
    if (st != GOPTIM_OK || t.nchunks == 0) return st;
    if ((st = check_scalar(ctx, what, inv_scale, "inv_scale")) != GOPTIM_OK) return st;
    if ((st = check_scalar(ctx, what, found_inf, "found_inf")) != GOPTIM_OK) return st;
    bool bad = false;
    CheckFiniteOp<Unscale> op;
    op.inv_scale = inv_scale;
    op.block_bad = &bad;
    op.inv = 1.f;
    run_grid(ctx, t, op, [&] {
        if (bad) *found_inf = 1.f;
        bad = false;
    });
    return GOPTIM_OK;
}

}  // namespace

// ---------------------------------------------------------------- steps
//
// The optimizer steps are cuda/optim_<optimizer>.cu themselves, compiled for the host
// (step_entry.cuh's emulated entry point runs them with run_step of emu_launch.h).

// ---------------------------------------------------------------- gradients (grads.cu)

// norm_type 2 or +inf only, as on the CPU backend (goptim.h).
extern "C" goptim_status goptim_grad_norm(goptim_context *ctx, const goptim_tensor_list *list, double norm_type,
                                          float *out_norm) {
    return enter(ctx, "grad_norm", [&] {
        if (!list || !out_norm) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norm: NULL argument");
        const bool inf = std::isinf(norm_type) && norm_type > 0;
        if (!inf && norm_type != 2.0)
            return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norm: norm_type %g is not supported (2 or +Inf)",
                         norm_type);
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        Table t;
        goptim_status st = get_table(ctx, list, kG, "norm_partial_kernel", &t);
        if (st != GOPTIM_OK) return st;
        if (t.nchunks == 0) {  // empty: the norm is 0 (cudaMemsetAsync on the GPU)
            if (!heap_contains(out_norm, 1))
                return cuda_fail(ctx, "cudaMemsetAsync", CudaErr::InvalidValue, "out_norm is not device memory");
            *out_norm = 0.f;
            return GOPTIM_OK;
        }
        if ((st = check_scalar(ctx, "norm_final_kernel", out_norm, "out_norm")) != GOPTIM_OK) return st;
        if (inf) return launch_norm<kNormInf>(ctx, t, out_norm);
        return launch_norm<kNormL2>(ctx, t, out_norm);
    });
}

// Per tensor, in order on the host: the squares summed in double, max |g| with NaN
// winning (grads.cu's partials and fold, whose sums round to the same floats).
extern "C" goptim_status goptim_grad_norms(goptim_context *ctx, const goptim_tensor_list *list, float *l2,
                                           float *inf) {
    return enter(ctx, "grad_norms", [&] {
        if (!list) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norms: NULL argument");
        if (!l2 && !inf) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norms: NULL l2 and inf");
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        Table t;
        goptim_status st = get_table(ctx, list, kG, "grad_norms_kernel", &t);
        if (st != GOPTIM_OK || list->count == 0) return st;
        for (float *out : {l2, inf})
            if (out && !heap_contains(out, list->count))
                return cuda_fail(ctx, "grad_norms_fold_kernel", CudaErr::IllegalAddress,
                                 "an output is not device memory of one float per tensor");
        for (int64_t i = 0; i < list->count; i++) {
            double s = 0.0, m = 0.0;
            const float *g = list->grad[i];
            for (int64_t j = 0; j < list->numel[i]; j++) {
                const double x = (double)g[j];
                s += x * x;
                m = dnanmax(m, std::fabs(x));
            }
            if (l2) l2[i] = (float)std::sqrt(s);
            if (inf) inf[i] = (float)m;
        }
        return GOPTIM_OK;
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
        const char *what = "clip_by_norm_kernel";
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        Table t;
        goptim_status st = get_table(ctx, list, kG, what, &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        if ((st = check_scalar(ctx, what, norm, "norm")) != GOPTIM_OK) return st;
        run_grid(ctx, t, op, [] {});
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_clip_grad_value(goptim_context *ctx, const goptim_tensor_list *list,
                                                double clip_value) {
    return enter(ctx, "clip_grad_value", [&] {
        if (!list) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "clip_grad_value: NULL argument");
        ClipValueOp op;
        op.hi = (float)clip_value;
        op.lo = -op.hi;
        return run_op(ctx, list, kG, op, "clip_value_kernel");
    });
}

extern "C" goptim_status goptim_check_finite(goptim_context *ctx, const goptim_tensor_list *list,
                                             const float *inv_scale, float *found_inf) {
    return enter(ctx, "check_finite", [&] {
        if (!list || !found_inf) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "check_finite: NULL argument");
        if (inv_scale) return run_check_finite<true>(ctx, list, inv_scale, found_inf);
        return run_check_finite<false>(ctx, list, nullptr, found_inf);
    });
}

extern "C" goptim_status goptim_zero_grad(goptim_context *ctx, const goptim_tensor_list *list) {
    return enter(ctx, "zero_grad", [&] {
        if (!list) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "zero_grad: NULL argument");
        return run_op(ctx, list, kG, ZeroOp{}, "zero_grad_kernel");
    });
}
