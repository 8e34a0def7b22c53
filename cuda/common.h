// common.h - constants, the tensor descriptor and the host-side table builder of the
// CUDA backend of goptim. Plain C++ (no CUDA headers), so the host emulation test
// (tests/test_emulated.cpp) uses exactly the code the library uses.
#ifndef GOPTIM_CUDA_COMMON_H
#define GOPTIM_CUDA_COMMON_H

#include <cstdint>
#include <string>
#include <vector>

#include "goptim.h"

namespace goptim_cuda {

// Threads per block of every multi-tensor kernel (float4 loads in flight per thread: see
// OpILP in multi_tensor.cuh).
constexpr int kBlock = 256;
// Default elements per chunk (one block per chunk). GOPTIM_CUDA_CHUNK overrides it per
// context (benchmarks sweep it); it is rounded down to a multiple of 4*kBlock.
constexpr int64_t kDefaultChunk = 16384;
// Most blocks (= partial sums) of the first stage of a norm: the scratch size. The grid is
// what is resident at once on the device (init_norm_grids), so results are deterministic.
constexpr int kNormBlocks = 1024;
constexpr int kSlots = 5;  // pointer slots per tensor: param, grad, state0, state1, state2

enum : unsigned {
    kP = 1u << 0,
    kG = 1u << 1,
    kS0 = 1u << 2,
    kS1 = 1u << 3,
    kS2 = 1u << 4,
};

// One tensor of a list as the kernels see it. Slots not used by a kernel are NULL.
struct TensorDesc {
    float *ptr[kSlots];
    int64_t numel;
    int64_t first_chunk;  // index of the tensor's first chunk in the launch
};
static_assert(sizeof(TensorDesc) == 56, "TensorDesc layout");

// Chunks of a tensor of n elements (n >= 0, chunk > 0), without the overflow of
// (n + chunk - 1) / chunk near INT64_MAX.
inline int64_t chunks_of(int64_t n, int64_t chunk) { return n / chunk + (n % chunk != 0); }

// Validates a list and serialises the slots a kernel uses (bitmask) into ser; computes the
// number of chunks and a hash of the content. Returns GOPTIM_OK or an error with *err set.
inline goptim_status serialize_list(const goptim_tensor_list *list, unsigned slots, int64_t chunk,
                                    std::vector<TensorDesc> &ser, int64_t *nchunks_out, uint64_t *hash_out,
                                    std::string *err) {
    *nchunks_out = 0;
    *hash_out = 0;
    ser.clear();
    if (!list || list->count < 0) {
        *err = "tensor list: NULL or negative count";
        return GOPTIM_ERR_INVALID_ARGUMENT;
    }
    const int64_t count = list->count;
    if (count == 0) return GOPTIM_OK;
    if (count > INT32_MAX) {
        *err = "tensor list: more than 2^31-1 tensors";
        return GOPTIM_ERR_INVALID_ARGUMENT;
    }
    float *const *arr[kSlots] = {list->param, list->grad, list->state[0], list->state[1], list->state[2]};
    static const char *const names[kSlots] = {"param", "grad", "state[0]", "state[1]", "state[2]"};
    if (!list->numel) {
        *err = "tensor list: numel is NULL";
        return GOPTIM_ERR_INVALID_ARGUMENT;
    }
    for (int s = 0; s < kSlots; ++s)
        if (((slots >> s) & 1u) && !arr[s]) {
            *err = std::string("tensor list: ") + names[s] + " array is NULL";
            return GOPTIM_ERR_INVALID_ARGUMENT;
        }
    ser.resize((size_t)count);
    int64_t nchunks = 0, total = 0;
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](uint64_t w) {
        h = (h ^ w) * 1099511628211ull;
        h ^= h >> 29;
    };
    for (int64_t i = 0; i < count; ++i) {
        TensorDesc &d = ser[(size_t)i];
        const int64_t n = list->numel[i];
        if (n < 0) {
            *err = "tensor list: negative numel at index " + std::to_string(i);
            return GOPTIM_ERR_INVALID_ARGUMENT;
        }
        d.numel = n;
        d.first_chunk = nchunks;
        for (int s = 0; s < kSlots; ++s) {
            float *p = ((slots >> s) & 1u) ? arr[s][i] : nullptr;
            if (n > 0 && ((slots >> s) & 1u) && !p) {
                *err = std::string("tensor list: ") + names[s] + " pointer is NULL at index " + std::to_string(i);
                return GOPTIM_ERR_INVALID_ARGUMENT;
            }
            d.ptr[s] = n > 0 ? p : nullptr;
            mix((uint64_t)(uintptr_t)d.ptr[s]);
        }
        mix((uint64_t)n);
        // The CPU backend's limit, so that one list gets one answer on both.
        if (n > INT64_MAX - total) {
            *err = "tensor list: total element count overflows int64";
            return GOPTIM_ERR_INVALID_ARGUMENT;
        }
        total += n;
        nchunks += chunks_of(n, chunk);
        if (nchunks > INT32_MAX) {
            *err = "tensor list: too many chunks";
            return GOPTIM_ERR_INVALID_ARGUMENT;
        }
    }
    *nchunks_out = nchunks;
    *hash_out = h;
    return GOPTIM_OK;
}

// chunk_tensor[c] = index of the tensor that chunk c belongs to.
inline void fill_chunk_table(const TensorDesc *descs, int64_t count, int64_t chunk, int32_t *chunk_tensor) {
    for (int64_t i = 0; i < count; ++i) {
        const TensorDesc &d = descs[i];
        const int64_t nc = chunks_of(d.numel, chunk);
        for (int64_t c = 0; c < nc; ++c) chunk_tensor[d.first_chunk + c] = (int32_t)i;
    }
}

}  // namespace goptim_cuda

#endif
