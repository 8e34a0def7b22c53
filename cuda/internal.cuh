// internal.cuh - shared internals of the CUDA backend of goptim (not part of the ABI).
#ifndef GOPTIM_CUDA_INTERNAL_CUH
#define GOPTIM_CUDA_INTERNAL_CUH

#include <cuda_runtime.h>
#include <cublas_v2.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "goptim.h"

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

struct DeviceTable {
    const TensorDesc *descs;
    const int32_t *chunk_tensor;
    int64_t nchunks;
};

}  // namespace goptim_cuda

struct goptim_context {
    std::mutex mu;
    int device = 0;
    int sm_count = 0;
    int32_t threads = 1;
    cudaStream_t stream = nullptr;
    cublasHandle_t blas = nullptr;
    double *scratch = nullptr;  // kNormBlocks doubles for reductions
    int norm_grid[3] = {goptim_cuda::kNormBlocks, goptim_cuda::kNormBlocks, goptim_cuda::kNormBlocks};  // resident blocks of each norm kernel
    int64_t chunk = goptim_cuda::kDefaultChunk;
    std::string last_error;
    goptim_cuda::TableSlot tables[goptim_cuda::kTableSlots];
    uint64_t tick = 0;
    std::vector<goptim_cuda::TensorDesc> ser;  // serialisation scratch (host)
};

namespace goptim_cuda {

// Records a failure on the context and returns s.
goptim_status fail(goptim_context *ctx, goptim_status s, const std::string &msg);
// Records a CUDA failure (what: the failing call) and maps it to a status.
goptim_status cuda_fail(goptim_context *ctx, const char *what, cudaError_t e);
// Sizes the grids of the norm kernels to what is resident at once (grads.cu).
void init_norm_grids(goptim_context *ctx);
// Checks for a launch error after a kernel launch.
goptim_status check_launch(goptim_context *ctx, const char *what);

// Builds (or finds in the cache) the device table for a list. slots: bitmask of the
// pointer slots the kernel uses; each must be non-NULL for tensors with numel > 0.
// On success *out is filled; out->nchunks may be 0 (nothing to do).
goptim_status get_table(goptim_context *ctx, const goptim_tensor_list *list, unsigned slots, DeviceTable *out);

// Locks the context and makes its device current for the current thread.
class CtxGuard {
  public:
    explicit CtxGuard(goptim_context *ctx) : lock_(ctx->mu) {
        ctx->last_error.clear();
        cudaSetDevice(ctx->device);
    }

  private:
    std::lock_guard<std::mutex> lock_;
};

}  // namespace goptim_cuda

#endif
