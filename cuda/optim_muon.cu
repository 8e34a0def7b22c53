// optim_muon.cu - Muon on the GPU and on its emulation (muon_math.h's arithmetic), with
// goptim_adam_step for the list's tensors that are not matrices.
//
// GPU: per batch of same-shape matrices, a kernel for the momentum and the norm (one
// block per matrix), the three Newton-Schulz products as cuBLAS strided-batched gemms
// (fp32, or bf16 inputs with fp32 accumulation: precision GOPTIM_MUON_BF16), the scaled
// adds in gemm's alpha/beta, and a kernel for the update. cuBLAS's order of sums is not
// the reference BLAS's: the GPU agrees with torch to rounding, not bit for bit.
// GOPTIM_MUON_FP32_BLAS asks for the products on the backend's BLAS: here they are
// cuBLAS's in every mode, so it runs as GOPTIM_MUON_FP32.
// The emulation (GOPTIM_EMULATE) runs gm_muon_mm_ref on the host, the reference BLAS's
// order, so it gives the CPU's bits (bf16 rounds the inputs of each product to bfloat16);
// for GOPTIM_MUON_FP32_BLAS it runs the CPU's calls to OpenBLAS (cblas_sgemm with the
// adds in beta), so it gives the CPU's bits there too.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "step_entry.cuh"

#include "muon_math.h"

#if defined(GOPTIM_OPS_ONLY)

#elif defined(GOPTIM_EMULATE)

#include <cblas.h>

#include "emu_launch.h"

namespace {

using namespace goptim_cuda;
using namespace goptim_cuda_emu;

float emu_bf16(float x) {  // round to nearest even bfloat16 (NaN kept quiet)
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return x;
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    std::memcpy(&x, &u, 4);
    return x;
}

void emu_matrix(const goptim_muon_params *hp, const gm_muon_k &k, float scale, bool sc, float gmul, float *p,
                float *g, float *buf, int64_t rows, int64_t cols) {
    const int64_t m = rows < cols ? rows : cols, n = rows < cols ? cols : rows;
    const bool tr = rows > cols, bf = hp->precision == GOPTIM_MUON_BF16;
    std::vector<float> x((size_t)(m * n)), xn((size_t)(m * n)), a((size_t)(m * m)), b((size_t)(m * m));
    float ss = 0.f;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            const int64_t i = r * cols + c;
            if (sc) g[i] = gm_unscale(g[i], scale, 1);
            const float u = gm_muon_momentum(&k, gm_grad_use(g[i], gmul), &buf[i]);
            ss = GM_ADD(ss, GM_MUL(u, u));
            x[(size_t)(tr ? c * rows + r : i)] = u;
        }
    const float nrm = gm_muon_clamp(GM_SQRT(ss), k.eps);
    for (auto &v : x) v = GM_DIV(v, nrm);
    auto rnd = [&](const std::vector<float> &v) {
        std::vector<float> o(v);
        if (bf)
            for (auto &e : o) e = emu_bf16(e);
        return o;
    };
    const bool blas = hp->precision == GOPTIM_MUON_FP32_BLAS;
    for (int32_t s = 0; blas && s < hp->ns_steps; s++) {
        const int M = (int)m, N = (int)n;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, M, N, 1.f, x.data(), N, x.data(), N, 0.f, a.data(), M);
        if (k.b != 0.f) b = a;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, M, M, k.c, a.data(), M, a.data(), M, k.b, b.data(),
                    M);
        if (k.a != 0.f) xn = x;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, M, 1.f, b.data(), M, x.data(), N, k.a, xn.data(),
                    N);
        x.swap(xn);
    }
    for (int32_t s = 0; !blas && s < hp->ns_steps; s++) {
        const std::vector<float> xr = rnd(x);
        gm_muon_mm_ref(m, m, n, 1.f, xr.data(), n, xr.data(), n, 1, 0.f, nullptr, m, a.data(), m, 0);
        const std::vector<float> ar = rnd(a);
        gm_muon_mm_ref(m, m, m, k.c, ar.data(), m, ar.data(), m, 0, k.b, a.data(), m, b.data(), m, 0);
        const std::vector<float> br = rnd(b);
        gm_muon_mm_ref(m, n, m, 1.f, br.data(), m, xr.data(), n, 0, k.a, x.data(), n, xn.data(), n, s == 0 && tr);
        x.swap(xn);
    }
    const float nl = gm_muon_neg_lr(hp, rows, cols);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            const int64_t i = r * cols + c;
            p[i] = gm_muon_apply(&k, p[i], x[(size_t)(tr ? c * rows + r : i)], nl);
        }
}

}  // namespace

static goptim_status muon_matrices(goptim_context *ctx, const goptim_tensor_list *list, const int64_t *rows,
                                   const int64_t *cols, const goptim_muon_params *hp, int64_t step,
                                   const goptim_step_aux *aux, int64_t *nvec) {
    return enter(ctx, "goptim_muon_step", [&] {
        const char *what = "muon_kernel";
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_muon_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_muon_step: step must be >= 1");
        if (hp->ns_steps < 0 || hp->adjust_lr_fn < 0 || hp->adjust_lr_fn > 1 || hp->precision < 0 ||
            hp->precision > 2)
            return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: ns_steps %d, adjust_lr_fn %d, precision %d",
                         (int)hp->ns_steps, (int)hp->adjust_lr_fn, (int)hp->precision);
        if (hp->adam.amsgrad)
            return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: the AdamW tensors have no room for amsgrad");
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        Table t;
        goptim_status st = get_table(ctx, list, kP | kG, what, &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        if (!rows || !cols) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: NULL rows or cols");
        for (int64_t i = 0; i < list->count; i++) {
            const int64_t n = list->numel[i], r = rows[i];
            if (n == 0) continue;
            if (!gm_muon_shape_ok(n, r, cols[i]))
                return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_MUON_SHAPE_MSG, (long long)i, (long long)n,
                             (long long)r, (long long)(r > 0 ? cols[i] : 0));
            if (r > 0 && hp->precision == GOPTIM_MUON_FP32_BLAS && (r > INT32_MAX || cols[i] > INT32_MAX))
                return failf(ctx, GOPTIM_ERR_UNSUPPORTED, GM_MUON_BLAS_SIZE_MSG, (long long)i, (long long)r,
                             (long long)cols[i]);
            const bool ok = r > 0 ? (list->state[0] && list->state[0][i])
                                  : (list->state[1] && list->state[2] && list->state[1][i] && list->state[2][i]);
            if (!ok)
                return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_MUON_STATE_MSG, (long long)i,
                             r > 0 ? GM_MUON_STATE_MATRIX : GM_MUON_STATE_VECTOR);
            if (r > 0 ? !heap_contains(list->state[0][i], n)
                      : (!heap_contains(list->state[1][i], n) || !heap_contains(list->state[2][i], n)))
                return cuda_fail(ctx, what, CudaErr::IllegalAddress,
                                 "the state of tensor " + std::to_string(i) + " is not device memory of its size");
            if (r == 0) ++*nvec;
        }
        HostAux ha;
        if ((st = read_aux(ctx, what, aux, &ha)) != GOPTIM_OK || ha.skip) return st;
        const bool sc = ha.unscale;
        const float scale = ha.scale, gmul = ha.coef;
        const gm_muon_k k = gm_muon_scalars(hp);
        for (int64_t i = 0; i < list->count; i++)
            if (list->numel[i] > 0 && rows[i] > 0)
                emu_matrix(hp, k, scale, sc, gmul, list->param[i], list->grad[i], list->state[0][i], rows[i],
                           cols[i]);
        return GOPTIM_OK;
    });
}

#else  // the GPU

#include <cuda_bf16.h>

namespace goptim_cuda {

struct MuBatch {
    float *const *p;
    float *const *g;
    float *const *buf;
    float *x;  // count matrices of m x n, back to back
    const float *neg_lr;
    int64_t rows, cols, m, n;
    const float *grad_scale, *found_inf, *clip_norm;
    float max_norm;
    gm_muon_k k;
};

__device__ __forceinline__ float mu_block_sum(float v) {
    __shared__ float part[kBlock / 32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = __fadd_rn(v, __shfl_down_sync(0xffffffffu, v, o));
    if (lane == 0) part[warp] = v;
    __syncthreads();
    v = threadIdx.x < kBlock / 32 ? part[threadIdx.x] : 0.f;
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v = __fadd_rn(v, __shfl_down_sync(0xffffffffu, v, o));
    __shared__ float total;
    if (threadIdx.x == 0) total = v;
    __syncthreads();
    return total;
}

// One block per matrix: momentum, X = u (transposed when rows > cols), the norm, X /= norm.
__global__ void __launch_bounds__(kBlock) mu_prep_kernel(MuBatch b) {
    if (b.found_inf && *b.found_inf != 0.f) return;
    const int64_t mi = blockIdx.x, nn = b.rows * b.cols;
    float *g = b.g[mi], *buf = b.buf[mi], *x = b.x + mi * nn;
    const float scale = b.grad_scale ? *b.grad_scale : 1.f;
    const float gmul = b.clip_norm && b.max_norm > 0.f ? gm_clip_coef(*b.clip_norm, b.max_norm) : 1.f;
    const bool tr = b.rows > b.cols;
    float ss = 0.f;
    for (int64_t i = threadIdx.x; i < nn; i += kBlock) {
        if (b.grad_scale) g[i] = gm_unscale(g[i], scale, 1);
        const float u = gm_muon_momentum(&b.k, gm_grad_use(g[i], gmul), &buf[i]);
        ss = __fadd_rn(ss, __fmul_rn(u, u));
        const int64_t r = i / b.cols, c = i % b.cols;
        x[tr ? c * b.rows + r : i] = u;
    }
    const float nrm = gm_muon_clamp(__fsqrt_rn(mu_block_sum(ss)), b.k.eps);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < nn; i += kBlock) x[i] = __fdiv_rn(x[i], nrm);
}

__global__ void mu_apply_kernel(MuBatch b, int64_t count) {
    if (b.found_inf && *b.found_inf != 0.f) return;
    const int64_t nn = b.rows * b.cols;
    const bool tr = b.rows > b.cols;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < count * nn;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t mi = t / nn, i = t % nn, r = i / b.cols, c = i % b.cols;
        float *p = b.p[mi];
        p[i] = gm_muon_apply(&b.k, p[i], b.x[mi * nn + (tr ? c * b.rows + r : i)], b.neg_lr[mi]);
    }
}

__global__ void mu_to_bf16(const float *src, __nv_bfloat16 *dst, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16_rn(src[i]);
}

// Row-major C (m x n) = alpha * op(A) B + beta * C over count matrices at fixed strides
// (cuBLAS is column-major: C^T = B^T op(A)^T). transB: B is given as its transpose (X for
// X X^T). Inputs bf16 when lo (their copies in lo_a, lo_b), accumulation fp32.
goptim_status mu_gemm(goptim_context *ctx, bool bf, int64_t count, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t sa, const float *b, int64_t sb, bool transB, float beta, float *c,
                      int64_t scs, __nv_bfloat16 *lo_a, __nv_bfloat16 *lo_b) {
    const cublasOperation_t ob = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int ldb = transB ? (int)k : (int)n;
    cublasStatus_t s;
    if (!bf) {
        s = cublasSgemmStridedBatched(ctx->blas, ob, CUBLAS_OP_N, (int)n, (int)m, (int)k, &alpha, b, ldb, sb, a,
                                      (int)k, sa, &beta, c, (int)n, scs, (int)count);
    } else {
        const int64_t na = count * sa, nb = count * sb;
        mu_to_bf16<<<(unsigned)((na + kBlock - 1) / kBlock < 65535 ? (na + kBlock - 1) / kBlock : 65535), kBlock, 0,
                     ctx->stream>>>(a, lo_a, na);
        mu_to_bf16<<<(unsigned)((nb + kBlock - 1) / kBlock < 65535 ? (nb + kBlock - 1) / kBlock : 65535), kBlock, 0,
                     ctx->stream>>>(b, lo_b, nb);
        goptim_status st = check_launch(ctx, "mu_to_bf16");
        if (st != GOPTIM_OK) return st;
        s = cublasGemmStridedBatchedEx(ctx->blas, ob, CUBLAS_OP_N, (int)n, (int)m, (int)k, &alpha, lo_b, CUDA_R_16BF,
                                       ldb, sb, lo_a, CUDA_R_16BF, (int)k, sa, &beta, c, CUDA_R_32F, (int)n, scs,
                                       (int)count, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    }
    if (s != CUBLAS_STATUS_SUCCESS) return cublas_fail(ctx, "cublasGemmStridedBatched", s);
    return GOPTIM_OK;
}

}  // namespace goptim_cuda

static goptim_status muon_matrices(goptim_context *ctx, const goptim_tensor_list *list, const int64_t *rows,
                                   const int64_t *cols, const goptim_muon_params *hp, int64_t step,
                                   const goptim_step_aux *aux, int64_t *nvec) {
    using namespace goptim_cuda;
    return enter(ctx, "goptim_muon_step", [&] {
        if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_muon_step: NULL argument");
        if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "goptim_muon_step: step must be >= 1");
        if (hp->ns_steps < 0 || hp->adjust_lr_fn < 0 || hp->adjust_lr_fn > 1 || hp->precision < 0 ||
            hp->precision > 2)
            return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: ns_steps %d, adjust_lr_fn %d, precision %d",
                         (int)hp->ns_steps, (int)hp->adjust_lr_fn, (int)hp->precision);
        if (hp->adam.amsgrad)
            return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: the AdamW tensors have no room for amsgrad");
        DeviceTable t;
        goptim_status st = get_table(ctx, list, kP | kG, &t);
        if (st != GOPTIM_OK || t.nchunks == 0) return st;
        if (!rows || !cols) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: NULL rows or cols");
        std::vector<int64_t> idx;
        for (int64_t i = 0; i < list->count; i++) {
            const int64_t n = list->numel[i], r = rows[i];
            if (n == 0) continue;
            if (!gm_muon_shape_ok(n, r, cols[i]))
                return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_MUON_SHAPE_MSG, (long long)i, (long long)n,
                             (long long)r, (long long)(r > 0 ? cols[i] : 0));
            if (r > 0 && hp->precision == GOPTIM_MUON_FP32_BLAS && (r > INT32_MAX || cols[i] > INT32_MAX))
                return failf(ctx, GOPTIM_ERR_UNSUPPORTED, GM_MUON_BLAS_SIZE_MSG, (long long)i, (long long)r,
                             (long long)cols[i]);
            const bool ok = r > 0 ? (list->state[0] && list->state[0][i])
                                  : (list->state[1] && list->state[2] && list->state[1][i] && list->state[2][i]);
            if (!ok)
                return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_MUON_STATE_MSG, (long long)i,
                             r > 0 ? GM_MUON_STATE_MATRIX : GM_MUON_STATE_VECTOR);
            if (r > 0) idx.push_back(i);
            else ++*nvec;
        }
        if (idx.empty()) return GOPTIM_OK;
        std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
            return rows[a] != rows[b] ? rows[a] < rows[b] : cols[a] < cols[b];
        });
        const bool bf = hp->precision == GOPTIM_MUON_BF16;
        const gm_muon_k k = gm_muon_scalars(hp);
        for (size_t a = 0; a < idx.size();) {
            size_t e = a + 1;
            while (e < idx.size() && rows[idx[e]] == rows[idx[a]] && cols[idx[e]] == cols[idx[a]]) e++;
            const int64_t count = (int64_t)(e - a), R = rows[idx[a]], Cc = cols[idx[a]];
            const int64_t m = R < Cc ? R : Cc, n = R < Cc ? Cc : R;
            // device: x, xn (m*n each), A, B (m*m each), neg_lr, pointer arrays; bf16 copies
            const size_t fl = (size_t)(count * (2 * m * n + 2 * m * m) + count);
            const size_t bytes = fl * 4 + (size_t)(3 * count) * sizeof(float *) +
                                 (bf ? (size_t)(count * (m * n + m * m)) * 2 * 2 : 0) + 256;
            void *dmem = nullptr;
            cudaError_t ce = ctx->pool ? cudaMallocAsync(&dmem, bytes, ctx->stream) : cudaMalloc(&dmem, bytes);
            if (ce != cudaSuccess) return cuda_fail(ctx, "cudaMalloc (muon workspace)", ce);
            float *x = static_cast<float *>(dmem), *xn = x + count * m * n, *A = xn + count * m * n,
                  *B = A + count * m * m, *nl = B + count * m * m;
            float **ptrs = reinterpret_cast<float **>(((uintptr_t)(nl + count) + 15) & ~(uintptr_t)15);
            __nv_bfloat16 *lo_a = reinterpret_cast<__nv_bfloat16 *>(ptrs + 3 * count);
            __nv_bfloat16 *lo_b = lo_a + count * (m * n > m * m ? m * n : m * m);
            std::vector<float *> hp3((size_t)(3 * count));
            std::vector<float> hnl((size_t)count);
            for (int64_t q = 0; q < count; q++) {
                const int64_t i = idx[a + (size_t)q];
                hp3[(size_t)q] = list->param[i];
                hp3[(size_t)(count + q)] = list->grad[i];
                hp3[(size_t)(2 * count + q)] = list->state[0][i];
                hnl[(size_t)q] = gm_muon_neg_lr(hp, R, Cc);
            }
            goptim_status s2 = GOPTIM_OK;
            if ((ce = cudaMemcpyAsync(ptrs, hp3.data(), hp3.size() * sizeof(float *), cudaMemcpyHostToDevice,
                                      ctx->stream)) != cudaSuccess ||
                (ce = cudaMemcpyAsync(nl, hnl.data(), hnl.size() * 4, cudaMemcpyHostToDevice, ctx->stream)) !=
                    cudaSuccess)
                s2 = cuda_fail(ctx, "cudaMemcpyAsync (muon)", ce);
            MuBatch mb{ptrs, ptrs + count, ptrs + 2 * count, x, nl, R, Cc, m, n,
                       aux ? aux->grad_scale : nullptr, aux ? aux->found_inf : nullptr,
                       aux && aux->max_norm > 0 ? aux->clip_norm : nullptr, aux ? (float)aux->max_norm : 0.f, k};
            if (s2 == GOPTIM_OK) {
                mu_prep_kernel<<<(unsigned)count, kBlock, 0, ctx->stream>>>(mb);
                s2 = check_launch(ctx, "mu_prep_kernel");
            }
            // A found_inf step still runs the products on the unchanged workspace; the apply
            // kernel skips, so nothing visible changes.
            for (int32_t s = 0; s2 == GOPTIM_OK && s < hp->ns_steps; s++) {
                s2 = mu_gemm(ctx, bf, count, m, m, n, 1.f, x, m * n, x, m * n, true, 0.f, A, m * m, lo_a, lo_b);
                if (s2 == GOPTIM_OK) {
                    if ((ce = cudaMemcpyAsync(B, A, (size_t)(count * m * m) * 4, cudaMemcpyDeviceToDevice,
                                              ctx->stream)) != cudaSuccess)
                        s2 = cuda_fail(ctx, "cudaMemcpyAsync (muon)", ce);
                }
                if (s2 == GOPTIM_OK)
                    s2 = mu_gemm(ctx, bf, count, m, m, m, k.c, A, m * m, A, m * m, false, k.b, B, m * m, lo_a, lo_b);
                if (s2 == GOPTIM_OK &&
                    (ce = cudaMemcpyAsync(xn, x, (size_t)(count * m * n) * 4, cudaMemcpyDeviceToDevice,
                                          ctx->stream)) != cudaSuccess)
                    s2 = cuda_fail(ctx, "cudaMemcpyAsync (muon)", ce);
                if (s2 == GOPTIM_OK)
                    s2 = mu_gemm(ctx, bf, count, m, n, m, 1.f, B, m * m, x, m * n, false, k.a, xn, m * n, lo_a, lo_b);
                std::swap(x, xn);
            }
            mb.x = x;
            if (s2 == GOPTIM_OK) {
                const int64_t tot = count * R * Cc;
                const int64_t blocks = (tot + kBlock - 1) / kBlock < 65535 ? (tot + kBlock - 1) / kBlock : 65535;
                mu_apply_kernel<<<(unsigned)blocks, kBlock, 0, ctx->stream>>>(mb, count);
                s2 = check_launch(ctx, "mu_apply_kernel");
            }
            if (ctx->pool) {
                (void)cudaFreeAsync(dmem, ctx->stream);
            } else {
                (void)cudaStreamSynchronize(ctx->stream);
                (void)cudaFree(dmem);
            }
            if (s2 != GOPTIM_OK) return s2;
            a = e;
        }
        return GOPTIM_OK;
    });
}

#endif

#if !defined(GOPTIM_OPS_ONLY)
// The matrices under the context's lock, then the AdamW tensors through goptim_adam_step
// (which takes the lock itself), from a list of their own.
extern "C" goptim_status goptim_muon_step(goptim_context *ctx, const goptim_tensor_list *list, const int64_t *rows,
                                          const int64_t *cols, const goptim_muon_params *hp, int64_t step,
                                          const goptim_step_aux *aux) {
    int64_t nvec = 0;
    goptim_status st = muon_matrices(ctx, list, rows, cols, hp, step, aux, &nvec);
    if (st != GOPTIM_OK || nvec == 0) return st;
    try {
        std::vector<int64_t> numel;
        std::vector<float *> p, g, s1, s2;
        for (int64_t i = 0; i < list->count; i++) {
            if (list->numel[i] == 0 || rows[i] != 0) continue;
            numel.push_back(list->numel[i]);
            p.push_back(list->param[i]);
            g.push_back(list->grad[i]);
            s1.push_back(list->state[1][i]);
            s2.push_back(list->state[2][i]);
        }
        goptim_tensor_list sub{};
        sub.count = (int64_t)numel.size();
        sub.numel = numel.data();
        sub.param = p.data();
        sub.grad = g.data();
        sub.state[0] = s1.data();
        sub.state[1] = s2.data();
        goptim_adam_params ah = hp->adam;
        ah.decoupled_weight_decay = 1;
        return goptim_adam_step(ctx, &sub, &ah, step, aux);
    } catch (...) {
        return GOPTIM_ERR_OUT_OF_MEMORY;
    }
}
#endif
