// internal.cuh - shared internals of the CUDA backend of goptim (not part of the ABI).
#ifndef GOPTIM_CUDA_INTERNAL_CUH
#define GOPTIM_CUDA_INTERNAL_CUH

#include <cuda_runtime.h>
#include <cublas_v2.h>

#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "goptim.h"

#include "args.h"
#include "common.h"

namespace goptim_cuda {

// A list uploaded to the device: descs[count], then chunk_tensor[nchunks] (int32 tensor
// index of each chunk). Pinned host copy + device copy, cached by content.
struct TableSlot {
    uint64_t hash = 0;
    int64_t count = -1;
    int64_t nchunks = 0;
    size_t cap = 0;              // bytes of host and dev
    unsigned char *host = nullptr;  // pinned
    unsigned char *dev = nullptr;
    cudaEvent_t uploaded = nullptr;  // recorded after the last upload from host
    bool pending = false;            // uploaded has been recorded
    uint64_t last_use = 0;
};

// Tables cached per context (LRU): enough for one list per parameter group of a model.
constexpr int kTableSlots = 64;

// Bytes of the detail kept for goptim_context_last_error. A fixed buffer: recording a
// failure never allocates (it also runs while handling std::bad_alloc), and the pointer
// handed out stays valid for the context's lifetime.
constexpr size_t kLastErrorBytes = 512;

// The two norms of goptim_grad_norm (index into goptim_context::norm_grid).
enum { kNormL2 = 0, kNormInf = 1, kNormKinds = 2 };

struct DeviceTable {
    const TensorDesc *descs;
    const int32_t *chunk_tensor;
    int64_t nchunks;
};

}  // namespace goptim_cuda

struct goptim_context {
    std::mutex mu;
    int device = 0;  // chosen at create; every call runs on it (DeviceGuard)
    int sm_count = 0;
    size_t total_mem = 0;  // bytes of device memory: a larger goptim_alloc cannot succeed
    int32_t threads = 1;
    // Where every call queues its work: own_stream, or the caller's stream from
    // goptim_context_set_stream (not owned: never destroyed here).
    cudaStream_t stream = nullptr;
    cudaStream_t own_stream = nullptr;
    // Recorded on the old stream at a switch, waited on by the new one (made on first use).
    cudaEvent_t switch_event = nullptr;
    // The device's default memory pool when it supports stream-ordered allocation:
    // goptim_alloc/goptim_free are then queued on `stream` (no host or device-wide sync).
    // NULL: cudaMalloc, and goptim_free waits for the stream before cudaFree.
    cudaMemPool_t pool = nullptr;
    cublasHandle_t blas = nullptr;
    double *scratch = nullptr;  // kNormBlocks doubles for reductions
    // Resident blocks of each norm kernel (init_norm_grids).
    int norm_grid[goptim_cuda::kNormKinds] = {goptim_cuda::kNormBlocks, goptim_cuda::kNormBlocks};
    int64_t chunk = goptim_cuda::kDefaultChunk;
    char last_error[goptim_cuda::kLastErrorBytes] = {};
    goptim_cuda::TableSlot tables[goptim_cuda::kTableSlots];
    uint64_t tick = 0;
    std::vector<goptim_cuda::TensorDesc> ser;  // serialisation scratch (host)
};

namespace goptim_cuda {

// Records a failure on the context (truncated to kLastErrorBytes) and returns s.
// Never allocates and never throws.
goptim_status fail(goptim_context *ctx, goptim_status s, const char *msg) noexcept;
goptim_status fail(goptim_context *ctx, goptim_status s, const std::string &msg) noexcept;
goptim_status failf(goptim_context *ctx, goptim_status s, const char *fmt, ...) noexcept
    __attribute__((format(printf, 3, 4)));
// Records a CUDA failure (what: the failing call), maps it to a status and clears the
// thread's last CUDA error, so that a later check_launch does not report it again.
goptim_status cuda_fail(goptim_context *ctx, const char *what, cudaError_t e) noexcept;
// Records a cuBLAS failure (what: the failing call, with the status's name) and clears
// a CUDA error its own calls may have left pending: GOPTIM_ERR_OUT_OF_MEMORY for
// CUBLAS_STATUS_ALLOC_FAILED, GOPTIM_ERR_BACKEND otherwise.
goptim_status cublas_fail(goptim_context *ctx, const char *what, cublasStatus_t s) noexcept;
// Clears the calling thread's last CUDA error (a sticky error stays: it is the context's).
inline void clear_cuda_error() noexcept { (void)cudaGetLastError(); }
// Sizes the grids of the norm kernels to what is resident at once (grads.cu).
void init_norm_grids(goptim_context *ctx);
// Checks for a launch error after a kernel launch. Entry points start with no pending
// error (enter clears it) and every failing CUDA call is cleared where it is handled, so
// an error seen here belongs to the launch just made.
goptim_status check_launch(goptim_context *ctx, const char *what);

// Builds (or finds in the cache) the device table for a list. slots: bitmask of the
// pointer slots the kernel uses; each must be non-NULL for tensors with numel > 0.
// On success *out is filled; out->nchunks may be 0 (nothing to do).
goptim_status get_table(goptim_context *ctx, const goptim_tensor_list *list, unsigned slots, DeviceTable *out);

// Makes `device` current for the calling thread if it is not already, and restores the
// previous device when it goes out of scope: the caller's own CUDA code (or another
// library on the same thread) keeps the device it chose. error() is what setting it gave.
class DeviceGuard {
  public:
    explicit DeviceGuard(int device) noexcept {
        int cur = -1;
        err_ = cudaGetDevice(&cur);
        if (err_ == cudaSuccess && cur != device) {
            err_ = cudaSetDevice(device);
            if (err_ == cudaSuccess) prev_ = cur;
        }
        if (err_ != cudaSuccess) clear_cuda_error();
    }
    ~DeviceGuard() {
        if (prev_ >= 0 && cudaSetDevice(prev_) != cudaSuccess) clear_cuda_error();
    }
    DeviceGuard(const DeviceGuard &) = delete;
    DeviceGuard &operator=(const DeviceGuard &) = delete;
    cudaError_t error() const noexcept { return err_; }

  private:
    cudaError_t err_ = cudaSuccess;
    int prev_ = -1;
};

// Records a C++ exception caught at the C boundary. Only with the context's lock held:
// without it another thread may be writing last_error.
// Device scratch for one call, stream-ordered where the device has a memory pool (freed
// on the stream after the call's kernels), else cudaMalloc'd and freed after a sync.
class StreamScratch {
  public:
    explicit StreamScratch(goptim_context *ctx) : ctx_(ctx) {}
    ~StreamScratch();
    StreamScratch(const StreamScratch &) = delete;
    StreamScratch &operator=(const StreamScratch &) = delete;
    cudaError_t alloc(size_t bytes);
    char *get() const { return static_cast<char *>(p_); }

  private:
    goptim_context *ctx_;
    void *p_ = nullptr;
};

goptim_status exception_fail(goptim_context *ctx, bool locked, const char *fn, goptim_status s,
                             const char *what) noexcept;

// The body of every extern "C" entry point that works on a context: locks the context
// (calls on one context are serialised), clears its last error, makes its device current
// (DeviceGuard), drops a CUDA error left pending on this thread by someone else (it is not
// this call's), runs body() -> goptim_status, and leaves no pending CUDA error behind.
// No C++ exception crosses into C (a Go caller would be terminated): std::bad_alloc
// becomes GOPTIM_ERR_OUT_OF_MEMORY, any other GOPTIM_ERR_BACKEND, with the detail in
// last_error. fn names the entry point in those details.
template <class F>
goptim_status enter(goptim_context *ctx, const char *fn, F &&body) noexcept {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    std::unique_lock<std::mutex> lock(ctx->mu, std::defer_lock);
    goptim_status st;
    try {
        lock.lock();
        ctx->last_error[0] = '\0';
        DeviceGuard dev(ctx->device);
        if (dev.error() != cudaSuccess) {
            st = cuda_fail(ctx, "cudaSetDevice", dev.error());
        } else {
            clear_cuda_error();
            st = body();
        }
    } catch (const std::bad_alloc &) {
        st = exception_fail(ctx, lock.owns_lock(), fn, GOPTIM_ERR_OUT_OF_MEMORY, "out of host memory (std::bad_alloc)");
    } catch (const std::exception &e) {
        st = exception_fail(ctx, lock.owns_lock(), fn, GOPTIM_ERR_BACKEND, e.what());
    } catch (...) {
        st = exception_fail(ctx, lock.owns_lock(), fn, GOPTIM_ERR_BACKEND, "unknown C++ exception");
    }
    clear_cuda_error();
    return st;
}

inline StreamScratch::~StreamScratch() {
    if (!p_) return;
    if (ctx_->pool) {
        (void)cudaFreeAsync(p_, ctx_->stream);
    } else {
        (void)cudaStreamSynchronize(ctx_->stream);
        (void)cudaFree(p_);
    }
}

inline cudaError_t StreamScratch::alloc(size_t bytes) {
    return ctx_->pool ? cudaMallocAsync(&p_, bytes, ctx_->stream) : cudaMalloc(&p_, bytes);
}

}  // namespace goptim_cuda

#endif
