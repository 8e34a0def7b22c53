// emu_internal.h - shared internals of the emulated CUDA backend of goptim (cuda/emu/):
// the context, the emulated device heap and the error helpers. Mirrors cuda/internal.cuh
// without CUDA: no stream, no cuBLAS handle, no pinned table cache (see README.md).
#ifndef GOPTIM_CUDA_EMU_INTERNAL_H
#define GOPTIM_CUDA_EMU_INTERNAL_H

#ifndef GOPTIM_EMULATE
#define GOPTIM_EMULATE 1
#endif

#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <vector>

#include "goptim.h"

#include "args.h"
#include "common.h"

namespace goptim_cuda_emu {

// Bytes of the detail kept for goptim_context_last_error (kLastErrorBytes of
// internal.cuh): a fixed buffer, so the pointer stays valid for the context's lifetime
// and recording a failure never allocates.
constexpr size_t kLastErrorBytes = 512;

// The two norms of goptim_grad_norm (index into goptim_context::norm_grid), as in
// internal.cuh.
enum { kNormL2 = 0, kNormInf = 1, kNormKinds = 2 };

}  // namespace goptim_cuda_emu

struct goptim_context {
    std::mutex mu;
    int32_t threads = 1;
    // The stream calls queue on: &own_stream (a handle no one else has), or the caller's
    // from goptim_context_set_stream. Every emulated call completes before it returns,
    // so ordering holds whatever the handle; it is only kept and handed back.
    void *stream = nullptr;
    char own_stream = 0;
    int64_t chunk = goptim_cuda::kDefaultChunk;
    // Bytes of "device memory" (cudaMemGetInfo's total on the GPU): no goptim_alloc of
    // more can succeed. The emulated heap's capacity.
    size_t total_mem = 0;
    // Blocks of the first stage of each norm: what the GPU sizes to the blocks resident at
    // once (init_norm_grids in grads.cu). GOPTIM_EMU_NORM_GRID overrides it.
    int norm_grid[goptim_cuda_emu::kNormKinds] = {goptim_cuda::kNormBlocks, goptim_cuda::kNormBlocks};
    char last_error[goptim_cuda_emu::kLastErrorBytes] = {};
    // Per-launch scratch, reused from call to call (host memory: the emulated "upload").
    std::vector<goptim_cuda::TensorDesc> ser;
    std::vector<int32_t> chunk_tensor;
    std::vector<double> partial;  // kNormBlocks partials of a norm (ctx->scratch on the GPU)
};

namespace goptim_cuda_emu {

// Records a failure on the context (truncated to kLastErrorBytes) and returns s; never
// allocates, never throws (fail/failf of context.cu).
goptim_status fail(goptim_context *ctx, goptim_status s, const char *msg) noexcept;
goptim_status fail(goptim_context *ctx, goptim_status s, const std::string &msg) noexcept;
goptim_status failf(goptim_context *ctx, goptim_status s, const char *fmt, ...) noexcept
    __attribute__((format(printf, 3, 4)));

// The CUDA errors the emulation reports, as cuda_fail() of context.cu words them:
// "<what>: <cudaGetErrorName>: <cudaGetErrorString>" (+ " (emulator: <why>)").
enum class CudaErr { InvalidValue, MemoryAllocation, IllegalAddress };
goptim_status cuda_fail(goptim_context *ctx, const char *what, CudaErr e, const std::string &why = "") noexcept;

// Records a C++ exception caught at the C boundary (exception_fail of context.cu).
goptim_status exception_fail(goptim_context *ctx, bool locked, const char *fn, goptim_status s,
                             const char *what) noexcept;

// The body of every entry point that works on a context (enter of internal.cuh, without
// the device guard and CUDA error bookkeeping, which have nothing to do here): locks the
// context, clears its last error, runs body() -> goptim_status; no C++ exception crosses
// into C (std::bad_alloc is GOPTIM_ERR_OUT_OF_MEMORY, any other GOPTIM_ERR_BACKEND, with
// "<fn>: C++ exception: <what>" as the detail).
template <class F>
goptim_status enter(goptim_context *ctx, const char *fn, F &&body) noexcept {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    std::unique_lock<std::mutex> lock(ctx->mu, std::defer_lock);
    try {
        lock.lock();
        ctx->last_error[0] = '\0';
        return body();
    } catch (const std::bad_alloc &) {
        return exception_fail(ctx, lock.owns_lock(), fn, GOPTIM_ERR_OUT_OF_MEMORY, "out of host memory (std::bad_alloc)");
    } catch (const std::exception &e) {
        return exception_fail(ctx, lock.owns_lock(), fn, GOPTIM_ERR_BACKEND, e.what());
    } catch (...) {
        return exception_fail(ctx, lock.owns_lock(), fn, GOPTIM_ERR_BACKEND, "unknown C++ exception");
    }
}

// The emulated device memory: every live goptim_alloc block, so that every pointer a
// kernel, a copy or sgemm is given can be checked to be device memory (a host pointer is
// an illegal address on the GPU). Kernels and copies hold the lock shared while they run;
// alloc and free hold it exclusively, so no block is freed under a running emulated kernel
// of another context.
std::shared_mutex &heap_mutex();
// True when [p, p + nfloats) lies inside one live block (caller holds heap_mutex()).
bool heap_contains(const void *p, int64_t nfloats);
// The heap's capacity in bytes (GOPTIM_EMU_DEVICE_MEMORY; see README.md).
size_t heap_capacity();

}  // namespace goptim_cuda_emu

#endif
