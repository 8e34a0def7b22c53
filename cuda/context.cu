// context.cu - status strings, contexts, memory, the list-table cache and sgemm of the
// CUDA backend of goptim.
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "internal.cuh"
#include "multi_tensor.cuh"

using namespace goptim_cuda;

namespace goptim_cuda {

goptim_status fail(goptim_context *ctx, goptim_status s, const std::string &msg) {
    if (ctx) ctx->last_error = msg;
    return s;
}

goptim_status cuda_fail(goptim_context *ctx, const char *what, cudaError_t e) {
    std::string m = std::string(what) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
    return fail(ctx, e == cudaErrorMemoryAllocation ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND, m);
}

goptim_status check_launch(goptim_context *ctx, const char *what) {
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return cuda_fail(ctx, what, e);
    return GOPTIM_OK;
}

static const char *cublas_name(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

static goptim_status cublas_fail(goptim_context *ctx, const char *what, cublasStatus_t s) {
    return fail(ctx, s == CUBLAS_STATUS_ALLOC_FAILED ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND,
                std::string(what) + ": " + cublas_name(s));
}

static void free_slot(TableSlot &t) {
    if (t.uploaded) cudaEventSynchronize(t.uploaded);
    if (t.host) cudaFreeHost(t.host);
    if (t.dev) cudaFree(t.dev);
    if (t.uploaded) cudaEventDestroy(t.uploaded);
    t = TableSlot{};
}

goptim_status get_table(goptim_context *ctx, const goptim_tensor_list *list, unsigned slots, DeviceTable *out) {
    *out = DeviceTable{nullptr, nullptr, 0};
    std::vector<TensorDesc> &ser = ctx->ser;
    const int64_t chunk = ctx->chunk;
    int64_t nchunks = 0;
    uint64_t h = 0;
    std::string err;
    goptim_status st = serialize_list(list, slots, chunk, ser, &nchunks, &h, &err);
    if (st != GOPTIM_OK) return fail(ctx, st, err);
    const int64_t count = list->count;
    if (count == 0 || nchunks == 0) return GOPTIM_OK;  // nothing to launch
    const size_t desc_bytes = (size_t)count * sizeof(TensorDesc);

    // Cache lookup.
    for (TableSlot &t : ctx->tables) {
        if (t.count == count && t.hash == h && std::memcmp(t.host, ser.data(), desc_bytes) == 0) {
            t.last_use = ++ctx->tick;
            *out = DeviceTable{reinterpret_cast<const TensorDesc *>(t.dev),
                               reinterpret_cast<const int32_t *>(t.dev + desc_bytes), t.nchunks};
            return GOPTIM_OK;
        }
    }

    // Miss: refill the least recently used slot.
    TableSlot *v = &ctx->tables[0];
    for (TableSlot &t : ctx->tables)
        if (t.last_use < v->last_use) v = &t;
    const size_t bytes = desc_bytes + (size_t)nchunks * sizeof(int32_t);
    cudaError_t e;
    if (v->cap < bytes) {
        // The device copy may still be read by queued kernels: wait before freeing it.
        if (v->dev) {
            e = cudaStreamSynchronize(ctx->stream);
            if (e != cudaSuccess) return cuda_fail(ctx, "cudaStreamSynchronize", e);
        }
        free_slot(*v);
        size_t cap = bytes < 4096 ? 4096 : bytes + bytes / 4;
        cap = (cap + 255) & ~(size_t)255;
        e = cudaMallocHost(reinterpret_cast<void **>(&v->host), cap);
        if (e != cudaSuccess) { v->host = nullptr; return cuda_fail(ctx, "cudaMallocHost (tensor table)", e); }
        e = cudaMalloc(reinterpret_cast<void **>(&v->dev), cap);
        if (e != cudaSuccess) { v->dev = nullptr; free_slot(*v); return cuda_fail(ctx, "cudaMalloc (tensor table)", e); }
        e = cudaEventCreateWithFlags(&v->uploaded, cudaEventDisableTiming);
        if (e != cudaSuccess) { v->uploaded = nullptr; free_slot(*v); return cuda_fail(ctx, "cudaEventCreate", e); }
        v->cap = cap;
    } else if (v->pending) {
        // The pinned copy may still be read by the previous upload.
        e = cudaEventSynchronize(v->uploaded);
        if (e != cudaSuccess) return cuda_fail(ctx, "cudaEventSynchronize", e);
    }
    v->count = -1;  // invalid until the upload is queued
    std::memcpy(v->host, ser.data(), desc_bytes);
    fill_chunk_table(ser.data(), count, chunk, reinterpret_cast<int32_t *>(v->host + desc_bytes));
    e = cudaMemcpyAsync(v->dev, v->host, bytes, cudaMemcpyHostToDevice, ctx->stream);
    if (e != cudaSuccess) return cuda_fail(ctx, "cudaMemcpyAsync (tensor table)", e);
    e = cudaEventRecord(v->uploaded, ctx->stream);
    if (e != cudaSuccess) return cuda_fail(ctx, "cudaEventRecord", e);
    v->pending = true;
    v->count = count;
    v->hash = h;
    v->nchunks = nchunks;
    v->last_use = ++ctx->tick;
    *out = DeviceTable{reinterpret_cast<const TensorDesc *>(v->dev), reinterpret_cast<const int32_t *>(v->dev + desc_bytes),
                       nchunks};
    return GOPTIM_OK;
}

// Fill of one contiguous range: aligned float4 body, scalar head and tail.
__global__ void __launch_bounds__(kBlock) fill_kernel(float *__restrict__ dst, float value, int64_t n) {
    const int64_t tid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const unsigned mis = (unsigned)(reinterpret_cast<uintptr_t>(dst) & 15u);
    int64_t head = (mis & 3u) ? n : (int64_t)(((16u - mis) & 15u) >> 2);
    if (head > n) head = n;
    for (int64_t i = tid; i < head; i += stride) dst[i] = value;
    const int64_t nv = (n - head) >> 2;
    float4 *v = reinterpret_cast<float4 *>(dst + head);
    const float4 f = make_float4(value, value, value, value);
    for (int64_t i = tid; i < nv; i += stride) v[i] = f;
    for (int64_t i = head + 4 * nv + tid; i < n; i += stride) dst[i] = value;
}

}  // namespace goptim_cuda

// ------------------------------------------------------------------ status, backend

extern "C" const char *goptim_status_string(goptim_status s) {
    switch (s) {
    case GOPTIM_OK: return "ok";
    case GOPTIM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case GOPTIM_ERR_OUT_OF_MEMORY: return "out of memory";
    case GOPTIM_ERR_NONFINITE: return "non-finite value";
    case GOPTIM_ERR_BACKEND: return "backend failure";
    case GOPTIM_ERR_UNSUPPORTED: return "unsupported";
    default: return "unknown status";
    }
}

extern "C" const char *goptim_backend_name(void) { return "cuda"; }
extern "C" int goptim_backend_is_device(void) { return 1; }

// ------------------------------------------------------------------ context

extern "C" const char *goptim_context_last_error(const goptim_context *ctx) {
    if (!ctx) return "";
    return ctx->last_error.c_str();
}

static int32_t resolve_threads(int32_t n) {
    if (n > 0) return n;
    unsigned h = std::thread::hardware_concurrency();
    return h > 0 ? (int32_t)h : 1;
}

extern "C" goptim_status goptim_context_create(int32_t threads, goptim_context **out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0) {
        cudaGetLastError();
        return GOPTIM_ERR_UNSUPPORTED;
    }
    goptim_context *ctx = new (std::nothrow) goptim_context();
    if (!ctx) return GOPTIM_ERR_OUT_OF_MEMORY;
    ctx->device = 0;
    ctx->threads = resolve_threads(threads);
    if (const char *env = std::getenv("GOPTIM_CUDA_CHUNK")) {
        long long c = std::atoll(env);
        const int64_t q = 4 * kBlock;
        if (c >= q && c <= (1ll << 26)) ctx->chunk = (int64_t)(c / q) * q;
    }
    goptim_status st = GOPTIM_OK;
    e = cudaSetDevice(ctx->device);
    if (e == cudaSuccess) e = cudaDeviceGetAttribute(&ctx->sm_count, cudaDevAttrMultiProcessorCount, ctx->device);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaMalloc(reinterpret_cast<void **>(&ctx->scratch), kNormBlocks * sizeof(double));
    if (e != cudaSuccess) {
        st = e == cudaErrorMemoryAllocation ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND;
    } else {
        cublasStatus_t b = cublasCreate(&ctx->blas);
        if (b == CUBLAS_STATUS_SUCCESS) b = cublasSetStream(ctx->blas, ctx->stream);
        if (b != CUBLAS_STATUS_SUCCESS) st = b == CUBLAS_STATUS_ALLOC_FAILED ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND;
    }
    if (st != GOPTIM_OK) {
        cudaGetLastError();
        goptim_context_destroy(ctx);
        return st;
    }
    init_norm_grids(ctx);
    *out = ctx;
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_destroy(goptim_context *ctx) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_status st = GOPTIM_OK;
    {
        std::lock_guard<std::mutex> lock(ctx->mu);
        cudaSetDevice(ctx->device);
        if (ctx->stream && cudaStreamSynchronize(ctx->stream) != cudaSuccess) st = GOPTIM_ERR_BACKEND;
        for (TableSlot &t : ctx->tables) free_slot(t);
        if (ctx->blas) cublasDestroy(ctx->blas);
        if (ctx->scratch) cudaFree(ctx->scratch);
        if (ctx->stream) cudaStreamDestroy(ctx->stream);
    }
    delete ctx;
    return st;
}

extern "C" goptim_status goptim_context_set_threads(goptim_context *ctx, int32_t n) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    ctx->threads = resolve_threads(n);
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_threads(const goptim_context *ctx, int32_t *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = ctx->threads;
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_set_isa(goptim_context *ctx, goptim_isa isa) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    switch (isa) {
    case GOPTIM_ISA_AUTO: return GOPTIM_OK;
    case GOPTIM_ISA_PORTABLE:
    case GOPTIM_ISA_AVX2:
    case GOPTIM_ISA_AVX512:
    case GOPTIM_ISA_NEON:
        return fail(ctx, GOPTIM_ERR_UNSUPPORTED, "set_isa: the CUDA backend has no CPU kernels");
    default: return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "set_isa: unknown isa");
    }
}

extern "C" goptim_status goptim_context_isa(const goptim_context *ctx, goptim_isa *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = GOPTIM_ISA_AUTO;
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_synchronize(goptim_context *ctx) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    cudaError_t e = cudaStreamSynchronize(ctx->stream);
    if (e != cudaSuccess) return cuda_fail(ctx, "cudaStreamSynchronize", e);
    return GOPTIM_OK;
}

// ------------------------------------------------------------------ memory

static bool bytes_of(int64_t n, size_t *out) {
    if (n < 0 || (uint64_t)n > (SIZE_MAX / sizeof(float)) / 2) return false;
    *out = (size_t)n * sizeof(float);
    return true;
}

extern "C" goptim_status goptim_alloc(goptim_context *ctx, int64_t n, float **out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    *out = nullptr;
    size_t bytes;
    if (!bytes_of(n, &bytes)) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "alloc: bad length");
    if (bytes == 0) bytes = 16;  // a valid, unique pointer
    void *p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return cuda_fail(ctx, "cudaMalloc", e);
    }
    // Zero on the context's stream: later work on this context is ordered after it.
    e = cudaMemsetAsync(p, 0, bytes, ctx->stream);
    if (e != cudaSuccess) {
        cudaFree(p);
        return cuda_fail(ctx, "cudaMemsetAsync", e);
    }
    *out = static_cast<float *>(p);
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_free(goptim_context *ctx, float *p) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    if (!p) return GOPTIM_OK;
    CtxGuard g(ctx);
    // Queued kernels may still use p.
    cudaError_t e = cudaStreamSynchronize(ctx->stream);
    if (e != cudaSuccess) return cuda_fail(ctx, "cudaStreamSynchronize", e);
    e = cudaFree(p);
    if (e != cudaSuccess) return cuda_fail(ctx, "cudaFree", e);
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_copy_from_host(goptim_context *ctx, float *dst, const float *host_src, int64_t n) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    size_t bytes;
    if (!bytes_of(n, &bytes)) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "copy_from_host: bad length");
    if (bytes == 0) return GOPTIM_OK;
    if (!dst || !host_src) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "copy_from_host: NULL pointer");
    cudaError_t e = cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, ctx->stream);
    // The host buffer may be reused as soon as we return (Go memory): wait.
    if (e == cudaSuccess) e = cudaStreamSynchronize(ctx->stream);
    if (e != cudaSuccess) return cuda_fail(ctx, "copy_from_host", e);
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_copy_to_host(goptim_context *ctx, float *host_dst, const float *src, int64_t n) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    size_t bytes;
    if (!bytes_of(n, &bytes)) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "copy_to_host: bad length");
    if (bytes == 0) return GOPTIM_OK;
    if (!host_dst || !src) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "copy_to_host: NULL pointer");
    cudaError_t e = cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(ctx->stream);
    if (e != cudaSuccess) return cuda_fail(ctx, "copy_to_host", e);
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_copy(goptim_context *ctx, float *dst, const float *src, int64_t n) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    size_t bytes;
    if (!bytes_of(n, &bytes)) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "copy: bad length");
    if (bytes == 0 || dst == src) return GOPTIM_OK;
    if (!dst || !src) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "copy: NULL pointer");
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream);
    if (e != cudaSuccess) return cuda_fail(ctx, "cudaMemcpyAsync", e);
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_fill(goptim_context *ctx, float *dst, float value, int64_t n) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    size_t bytes;
    if (!bytes_of(n, &bytes)) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "fill: bad length");
    if (bytes == 0) return GOPTIM_OK;
    if (!dst) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "fill: NULL pointer");
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if (bits == 0) {
        cudaError_t e = cudaMemsetAsync(dst, 0, bytes, ctx->stream);
        if (e != cudaSuccess) return cuda_fail(ctx, "cudaMemsetAsync", e);
        return GOPTIM_OK;
    }
    int64_t blocks = (n / 4 + kBlock - 1) / kBlock;
    const int64_t max_blocks = (int64_t)ctx->sm_count * 16;
    if (blocks > max_blocks) blocks = max_blocks;
    if (blocks < 1) blocks = 1;
    fill_kernel<<<(unsigned)blocks, kBlock, 0, ctx->stream>>>(dst, value, n);
    return check_launch(ctx, "fill_kernel");
}

// ------------------------------------------------------------------ sgemm

extern "C" goptim_status goptim_sgemm(goptim_context *ctx, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                                      int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                                      int64_t ldb, float beta, float *c, int64_t ldc) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    CtxGuard g(ctx);
    if (m < 0 || n < 0 || k < 0 || m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX ||
        ldc > INT_MAX)
        return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "sgemm: bad dimension");
    // Row-major: op(A) is m x k, op(B) is k x n, C is m x n.
    const int64_t min_lda = trans_a ? m : k, min_ldb = trans_b ? k : n;
    if (lda < (min_lda > 1 ? min_lda : 1) || ldb < (min_ldb > 1 ? min_ldb : 1) || ldc < (n > 1 ? n : 1))
        return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "sgemm: leading dimension too small");
    if (m == 0 || n == 0) return GOPTIM_OK;
    if (!c || (k > 0 && (!a || !b))) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "sgemm: NULL pointer");
    // Column-major view: C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m).
    const cublasOperation_t ob = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t oa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t s = cublasSgemm(ctx->blas, ob, oa, (int)n, (int)m, (int)k, &alpha, b, (int)ldb, a, (int)lda, &beta, c,
                                   (int)ldc);
    if (s != CUBLAS_STATUS_SUCCESS) return cublas_fail(ctx, "cublasSgemm", s);
    return GOPTIM_OK;
}
