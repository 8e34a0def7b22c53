// context.cu - status strings, contexts, memory, the list-table cache and sgemm of the
// CUDA backend of goptim.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "internal.cuh"
#include "multi_tensor.cuh"

using namespace goptim_cuda;

namespace goptim_cuda {

goptim_status fail(goptim_context *ctx, goptim_status s, const char *msg) noexcept {
    if (ctx) std::snprintf(ctx->last_error, sizeof ctx->last_error, "%s", msg ? msg : "");
    return s;
}

goptim_status fail(goptim_context *ctx, goptim_status s, const std::string &msg) noexcept {
    return fail(ctx, s, msg.c_str());
}

goptim_status failf(goptim_context *ctx, goptim_status s, const char *fmt, ...) noexcept {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(ctx->last_error, sizeof ctx->last_error, fmt, ap);
        va_end(ap);
    }
    return s;
}

goptim_status cuda_fail(goptim_context *ctx, const char *what, cudaError_t e) noexcept {
    if (ctx)
        std::snprintf(ctx->last_error, sizeof ctx->last_error, "%s: %s: %s", what, cudaGetErrorName(e),
                      cudaGetErrorString(e));
    clear_cuda_error();
    return e == cudaErrorMemoryAllocation ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND;
}

goptim_status exception_fail(goptim_context *ctx, bool locked, const char *fn, goptim_status s,
                             const char *what) noexcept {
    if (ctx && locked)
        std::snprintf(ctx->last_error, sizeof ctx->last_error, "%s: C++ exception: %s", fn, what ? what : "");
    return s;
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

goptim_status cublas_fail(goptim_context *ctx, const char *what, cublasStatus_t s) noexcept {
    std::snprintf(ctx->last_error, sizeof ctx->last_error, "%s: %s", what, cublas_name(s));
    // cuBLAS runs CUDA calls of its own; one that failed may have left the error pending.
    clear_cuda_error();
    return s == CUBLAS_STATUS_ALLOC_FAILED ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND;
}

// Releases a slot. Failures are not reported (the slot is dropped either way) and so
// must not stay pending on the thread.
static void free_slot(TableSlot &t) {
    if (t.uploaded) cudaEventSynchronize(t.uploaded);
    if (t.host) cudaFreeHost(t.host);
    if (t.dev) cudaFree(t.dev);
    if (t.uploaded) cudaEventDestroy(t.uploaded);
    t = TableSlot{};
    clear_cuda_error();
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

#include "context_common.h"

extern "C" const char *goptim_backend_name(void) { return "cuda"; }
extern "C" int goptim_backend_is_device(void) { return 1; }

// ------------------------------------------------------------------ context

// Everything a context owns on its device; the device is current (DeviceGuard).
static goptim_status init_context(goptim_context *ctx) {
    cudaError_t e = cudaDeviceGetAttribute(&ctx->sm_count, cudaDevAttrMultiProcessorCount, ctx->device);
    size_t free_bytes = 0;
    if (e == cudaSuccess) e = cudaMemGetInfo(&free_bytes, &ctx->total_mem);
    int pools = 0;
    if (e == cudaSuccess) e = cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, ctx->device);
    if (e == cudaSuccess && pools) e = cudaDeviceGetDefaultMemPool(&ctx->pool, ctx->device);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&ctx->own_stream, cudaStreamNonBlocking);
    ctx->stream = ctx->own_stream;
    if (e == cudaSuccess) e = cudaMalloc(reinterpret_cast<void **>(&ctx->scratch), kNormBlocks * sizeof(double));
    if (e != cudaSuccess) {
        clear_cuda_error();
        return e == cudaErrorMemoryAllocation ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND;
    }
    cublasStatus_t b = cublasCreate(&ctx->blas);
    if (b == CUBLAS_STATUS_SUCCESS) b = cublasSetStream(ctx->blas, ctx->stream);
    if (b != CUBLAS_STATUS_SUCCESS) {
        clear_cuda_error();
        return b == CUBLAS_STATUS_ALLOC_FAILED ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND;
    }
    init_norm_grids(ctx);
    return GOPTIM_OK;
}

static goptim_status create_context(int32_t device, int32_t threads, goptim_context **out) {
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0) {
        clear_cuda_error();
        return GOPTIM_ERR_UNSUPPORTED;
    }
    if (device < 0 || device >= ndev) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_context *ctx = new (std::nothrow) goptim_context();
    if (!ctx) return GOPTIM_ERR_OUT_OF_MEMORY;
    ctx->device = device;  // every later call on ctx runs on it (DeviceGuard)
    ctx->threads = resolve_threads(threads);
    if (const char *env = std::getenv("GOPTIM_CUDA_CHUNK")) {
        long long c = std::atoll(env);
        const int64_t q = 4 * kBlock;
        if (c >= q && c <= (1ll << 26)) ctx->chunk = (int64_t)(c / q) * q;
    }
    goptim_status st;
    {
        DeviceGuard dev(ctx->device);
        st = dev.error() != cudaSuccess ? GOPTIM_ERR_BACKEND : init_context(ctx);
    }
    if (st != GOPTIM_OK) {
        goptim_context_destroy(ctx);
        clear_cuda_error();
        return st;
    }
    *out = ctx;
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_create(int32_t threads, goptim_context **out) {
    return goptim_context_create_on(0, threads, out);
}

extern "C" goptim_status goptim_context_create_on(int32_t device, int32_t threads, goptim_context **out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    try {
        return create_context(device, threads, out);
    } catch (const std::bad_alloc &) {
        clear_cuda_error();
        return GOPTIM_ERR_OUT_OF_MEMORY;
    } catch (...) {
        clear_cuda_error();
        return GOPTIM_ERR_BACKEND;
    }
}

extern "C" goptim_status goptim_context_destroy(goptim_context *ctx) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    const goptim_status st = enter(ctx, "context_destroy", [&] {
        goptim_status r = GOPTIM_OK;
        // The caller's stream (if one is set) carries everything queued since the switch,
        // and waited for the own stream's work at the switch: waiting for both covers all.
        for (cudaStream_t st : {ctx->stream, ctx->own_stream}) {
            if (!st) continue;
            cudaError_t e = cudaStreamSynchronize(st);
            if (e != cudaSuccess && r == GOPTIM_OK) r = cuda_fail(ctx, "cudaStreamSynchronize", e);
        }
        for (TableSlot &t : ctx->tables) free_slot(t);
        if (ctx->blas) cublasDestroy(ctx->blas);
        if (ctx->scratch) cudaFree(ctx->scratch);
        if (ctx->switch_event) cudaEventDestroy(ctx->switch_event);
        if (ctx->own_stream) cudaStreamDestroy(ctx->own_stream);
        return r;
    });
    delete ctx;
    return st;
}

extern "C" goptim_status goptim_context_synchronize(goptim_context *ctx) {
    return enter(ctx, "context_synchronize", [&] {
        cudaError_t e = cudaStreamSynchronize(ctx->stream);
        if (e != cudaSuccess) return cuda_fail(ctx, "cudaStreamSynchronize", e);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_device_count(int32_t *out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = 0;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        clear_cuda_error();
        return GOPTIM_ERR_UNSUPPORTED;
    }
    *out = n;
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_device(const goptim_context *ctx, int32_t *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = ctx->device;  // fixed at create
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_set_stream(goptim_context *ctx, void *stream) {
    return enter(ctx, "context_set_stream", [&] {
        cudaStream_t next = stream ? static_cast<cudaStream_t>(stream) : ctx->own_stream;
        if (next == ctx->stream) return GOPTIM_OK;
        // Everything queued so far on the old stream comes before anything on the new one.
        cudaError_t e = cudaSuccess;
        if (!ctx->switch_event) e = cudaEventCreateWithFlags(&ctx->switch_event, cudaEventDisableTiming);
        if (e != cudaSuccess) {
            ctx->switch_event = nullptr;
            return cuda_fail(ctx, "cudaEventCreate", e);
        }
        e = cudaEventRecord(ctx->switch_event, ctx->stream);
        if (e != cudaSuccess) return cuda_fail(ctx, "cudaEventRecord (stream switch)", e);
        e = cudaStreamWaitEvent(next, ctx->switch_event, 0);
        if (e != cudaSuccess) return cuda_fail(ctx, "cudaStreamWaitEvent (stream switch)", e);
        if (cublasSetStream(ctx->blas, next) != CUBLAS_STATUS_SUCCESS)
            return fail(ctx, GOPTIM_ERR_BACKEND, "set_stream: cublasSetStream failed");
        ctx->stream = next;
        return GOPTIM_OK;
    });
}

// ------------------------------------------------------------------ memory

// Device memory in the order of the context's stream: from the device's default pool,
// usable by work queued on the stream after this call (cudaMalloc without a pool).
static cudaError_t dev_alloc(goptim_context *ctx, size_t bytes, void **p) {
    if (ctx->pool) return cudaMallocFromPoolAsync(p, bytes, ctx->pool, ctx->stream);
    return cudaMalloc(p, bytes);
}

// Frees p after the work already queued on the context's stream, without waiting for it
// (with a pool); without one, waits for the stream and calls cudaFree.
static cudaError_t dev_free(goptim_context *ctx, void *p) {
    if (ctx->pool) return cudaFreeAsync(p, ctx->stream);
    cudaError_t e = cudaStreamSynchronize(ctx->stream);
    if (e == cudaSuccess) e = cudaFree(p);
    return e;
}

extern "C" goptim_status goptim_alloc(goptim_context *ctx, int64_t n, float **out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    return enter(ctx, "alloc", [&] {
        const ArgCheck a = alloc_args(n, ctx->total_mem, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK) return a.status;
        const size_t bytes = a.bytes;
        void *p = nullptr;
        cudaError_t e = dev_alloc(ctx, bytes, &p);
        if (e != cudaSuccess) return cuda_fail(ctx, ctx->pool ? "cudaMallocFromPoolAsync" : "cudaMalloc", e);
        // Zero on the context's stream: later work on this context is ordered after it.
        e = cudaMemsetAsync(p, 0, bytes, ctx->stream);
        if (e != cudaSuccess) {
            (void)dev_free(ctx, p);
            return cuda_fail(ctx, "cudaMemsetAsync", e);
        }
        *out = static_cast<float *>(p);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_free(goptim_context *ctx, float *p) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    if (!p) return GOPTIM_OK;
    return enter(ctx, "free", [&] {
        cudaError_t e = dev_free(ctx, p);
        if (e != cudaSuccess) return cuda_fail(ctx, ctx->pool ? "cudaFreeAsync" : "cudaFree", e);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_copy_from_host(goptim_context *ctx, float *dst, const float *host_src, int64_t n) {
    return enter(ctx, "copy_from_host", [&] {
        const ArgCheck a = move_args("copy_from_host", Move::HostCopy, dst, host_src, n, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK || a.bytes == 0) return a.status;
        const size_t bytes = a.bytes;
        cudaError_t e = cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, ctx->stream);
        // The host buffer may be reused as soon as we return (Go memory): wait.
        if (e == cudaSuccess) e = cudaStreamSynchronize(ctx->stream);
        if (e != cudaSuccess) return cuda_fail(ctx, "copy_from_host", e);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_copy_to_host(goptim_context *ctx, float *host_dst, const float *src, int64_t n) {
    return enter(ctx, "copy_to_host", [&] {
        const ArgCheck a = move_args("copy_to_host", Move::HostCopy, host_dst, src, n, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK || a.bytes == 0) return a.status;
        const size_t bytes = a.bytes;
        cudaError_t e = cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream);
        if (e == cudaSuccess) e = cudaStreamSynchronize(ctx->stream);
        if (e != cudaSuccess) return cuda_fail(ctx, "copy_to_host", e);
        return GOPTIM_OK;
    });
}

namespace goptim_cuda {

// Pieces of an overlapping copy staged through a temporary, in bytes.
constexpr size_t kBounceBytes = (size_t)16 << 20;

// memmove of `bytes` between overlapping device ranges (dst != src). cudaMemcpyAsync of
// overlapping ranges is undefined, so the copy is cut into pieces that do not overlap
// their own source, queued in the order that reads every source byte before a piece
// overwrites it: ascending when dst is below src, descending when above. Pieces as long
// as the distance between the ranges copy directly; when that would take many pieces,
// each piece goes through a temporary of at most kBounceBytes (stream-ordered, so
// nothing waits for it).
static goptim_status copy_overlapping(goptim_context *ctx, char *dst, const char *src, size_t bytes) {
    const bool ascending = dst < src;
    const size_t dist = ascending ? (size_t)(src - dst) : (size_t)(dst - src);
    char *tmp = nullptr;
    size_t piece = dist;
    if (dist < kBounceBytes && bytes / dist > 16) {
        piece = bytes < kBounceBytes ? bytes : kBounceBytes;
        cudaError_t e = dev_alloc(ctx, piece, reinterpret_cast<void **>(&tmp));
        if (e != cudaSuccess) return cuda_fail(ctx, "copy: temporary for an overlapping copy", e);
    }
    cudaError_t e = cudaSuccess;
    for (size_t done = 0; done < bytes && e == cudaSuccess; done += piece) {
        const size_t len = bytes - done < piece ? bytes - done : piece;
        const size_t off = ascending ? done : bytes - done - len;
        if (!tmp) {
            e = cudaMemcpyAsync(dst + off, src + off, len, cudaMemcpyDeviceToDevice, ctx->stream);
        } else {
            e = cudaMemcpyAsync(tmp, src + off, len, cudaMemcpyDeviceToDevice, ctx->stream);
            if (e == cudaSuccess) e = cudaMemcpyAsync(dst + off, tmp, len, cudaMemcpyDeviceToDevice, ctx->stream);
        }
    }
    cudaError_t fe = tmp ? dev_free(ctx, tmp) : cudaSuccess;
    if (e != cudaSuccess) return cuda_fail(ctx, "cudaMemcpyAsync (overlapping copy)", e);
    if (fe != cudaSuccess) return cuda_fail(ctx, "copy: freeing the temporary", fe);
    return GOPTIM_OK;
}

}  // namespace goptim_cuda

extern "C" goptim_status goptim_copy(goptim_context *ctx, float *dst, const float *src, int64_t n) {
    return enter(ctx, "copy", [&] {
        const ArgCheck a = move_args("copy", Move::DeviceCopy, dst, src, n, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK || a.bytes == 0) return a.status;
        const size_t bytes = a.bytes;
        const uintptr_t d = reinterpret_cast<uintptr_t>(dst), s = reinterpret_cast<uintptr_t>(src);
        const bool overlap = d < s ? s - d < bytes : d - s < bytes;
        if (overlap)
            return copy_overlapping(ctx, reinterpret_cast<char *>(dst), reinterpret_cast<const char *>(src), bytes);
        cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream);
        if (e != cudaSuccess) return cuda_fail(ctx, "cudaMemcpyAsync", e);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_fill(goptim_context *ctx, float *dst, float value, int64_t n) {
    return enter(ctx, "fill", [&] {
        const ArgCheck a = move_args("fill", Move::Fill, dst, nullptr, n, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK || a.bytes == 0) return a.status;
        const size_t bytes = a.bytes;
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
    });
}

// ------------------------------------------------------------------ sgemm

extern "C" goptim_status goptim_sgemm(goptim_context *ctx, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                                      int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                                      int64_t ldb, float beta, float *c, int64_t ldc) {
    return enter(ctx, "sgemm", [&] {
        bool work;
        const goptim_status st = sgemm_args(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, &work, ctx->last_error,
                                            sizeof ctx->last_error);
        if (st != GOPTIM_OK || !work) return st;
        // Column-major view: C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m).
        const cublasOperation_t ob = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
        const cublasOperation_t oa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
        cublasStatus_t s = cublasSgemm(ctx->blas, ob, oa, (int)n, (int)m, (int)k, &alpha, b, (int)ldb, a, (int)lda,
                                       &beta, c, (int)ldc);
        if (s != CUBLAS_STATUS_SUCCESS) return cublas_fail(ctx, "cublasSgemm", s);
        return GOPTIM_OK;
    });
}
