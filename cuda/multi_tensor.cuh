// multi_tensor.cuh - the device side of every multi-tensor kernel of goptim.
//
// A launch covers a whole goptim_tensor_list: every tensor is cut into chunks of
// `chunk` elements and each block of the grid takes one chunk (chunk_tensor[blockIdx.x]
// says which tensor, first_chunk where that tensor's chunks begin). Inside a chunk the
// block streams float4 vectors (OpILP of them per array per thread in flight) when every
// pointer the kernel uses has the same 16-byte misalignment (a scalar head peels it),
// with scalar code for the tail and for mixed alignments.
//
// An Op says which pointer slots it loads (kLoad) and stores (kStore) as compile-time
// masks, and updates one element through float v[kSlots] (v[0] param, v[1] grad,
// v[2 + k] state k). Slots outside kLoad hold 0 on entry; slots outside kStore are not
// written back. Ops also have begin_block() (false: the block does nothing, e.g.
// found_inf) and end_block() (block-level epilogue; every thread calls it).
#ifndef GOPTIM_CUDA_MULTI_TENSOR_CUH
#define GOPTIM_CUDA_MULTI_TENSOR_CUH

#ifdef GOPTIM_EMULATE
#include "tests/emu_shim.h"  // host emulation of the device code (test_emulated, cuda/emu/)
#include "common.h"
#include <type_traits>
#else
#include "internal.cuh"
#include <type_traits>
#endif

namespace goptim_cuda {

template <unsigned M>
struct PopCount {
    static constexpr int value = (int)(M & 1u) + PopCount<(M >> 1)>::value;
};
template <>
struct PopCount<0u> {
    static constexpr int value = 0;
};

// float4 vectors per loaded array per thread in flight: about 128 bytes of loads in flight
// per thread whatever the op loads (Adam: 2, SGD with momentum: 2, norms and clipping: 8).
template <class Op>
struct OpILP {
    static constexpr int n = PopCount<Op::kLoad>::value;
    static constexpr int value = n == 0 ? 4 : (8 / n < 1 ? 1 : 8 / n);
};

template <unsigned M>
struct MaskFirst {
    static constexpr int value = (M & 1u) ? 0 : 1 + MaskFirst<(M >> 1)>::value;
};
template <>
struct MaskFirst<0u> {
    static constexpr int value = 0;
};

__device__ __forceinline__ float comp(const float4 &a, int c) {
    return c == 0 ? a.x : c == 1 ? a.y : c == 2 ? a.z : a.w;
}
__device__ __forceinline__ void set_comp(float4 &a, int c, float v) {
    if (c == 0) a.x = v;
    else if (c == 1) a.y = v;
    else if (c == 2) a.z = v;
    else a.w = v;
}

// Scalar elements [lo, hi) of the chunk.
template <class Op>
__device__ __forceinline__ void scalar_range(Op &op, float *const (&base)[kSlots], int64_t lo, int64_t hi) {
    constexpr unsigned L = Op::kLoad, S = Op::kStore;
    constexpr int kILP = OpILP<Op>::value;
    for (int64_t i0 = lo + threadIdx.x; i0 < hi; i0 += (int64_t)kBlock * kILP) {
        float r[kILP][kSlots];
#pragma unroll
        for (int j = 0; j < kILP; ++j) {
            const int64_t i = i0 + (int64_t)j * kBlock;
#pragma unroll
            for (int s = 0; s < kSlots; ++s) {
                r[j][s] = 0.f;
                if ((L >> s) & 1u) {
                    if (i < hi) r[j][s] = base[s][i];
                }
            }
        }
#pragma unroll
        for (int j = 0; j < kILP; ++j) {
            const int64_t i = i0 + (int64_t)j * kBlock;
            if (i < hi) {
                op(r[j]);
#pragma unroll
                for (int s = 0; s < kSlots; ++s)
                    if ((S >> s) & 1u) base[s][i] = r[j][s];
            }
        }
    }
}

// nv float4 vectors starting at element `off` of the chunk (16-byte aligned there).
template <class Op>
__device__ __forceinline__ void vector_range(Op &op, float *const (&base)[kSlots], int64_t off, int64_t nv) {
    constexpr unsigned L = Op::kLoad, S = Op::kStore;
    constexpr int kILP = OpILP<Op>::value;
    float4 *vb[kSlots];
#pragma unroll
    for (int s = 0; s < kSlots; ++s) vb[s] = (((L | S) >> s) & 1u) ? reinterpret_cast<float4 *>(base[s] + off) : nullptr;
    for (int64_t i0 = threadIdx.x; i0 < nv; i0 += (int64_t)kBlock * kILP) {
        float4 r[kILP][kSlots];
#pragma unroll
        for (int j = 0; j < kILP; ++j) {
            const int64_t i = i0 + (int64_t)j * kBlock;
#pragma unroll
            for (int s = 0; s < kSlots; ++s) {
                r[j][s] = make_float4(0.f, 0.f, 0.f, 0.f);
                if ((L >> s) & 1u) {
                    if (i < nv) r[j][s] = vb[s][i];
                }
            }
        }
#pragma unroll
        for (int j = 0; j < kILP; ++j) {
            const int64_t i = i0 + (int64_t)j * kBlock;
            if (i < nv) {
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    float v[kSlots];
#pragma unroll
                    for (int s = 0; s < kSlots; ++s) v[s] = comp(r[j][s], c);
                    op(v);
#pragma unroll
                    for (int s = 0; s < kSlots; ++s)
                        if ((S >> s) & 1u) set_comp(r[j][s], c, v[s]);
                }
#pragma unroll
                for (int s = 0; s < kSlots; ++s)
                    if ((S >> s) & 1u) vb[s][i] = r[j][s];
            }
        }
    }
}

// One chunk of n elements whose slot pointers are base[s].
template <class Op>
__device__ __forceinline__ void process_chunk(Op &op, float *const (&base)[kSlots], int64_t n) {
    constexpr unsigned U = Op::kLoad | Op::kStore;
    static_assert(U != 0u, "an op must touch memory");
    constexpr int first = MaskFirst<U>::value;
    const unsigned mis = (unsigned)(reinterpret_cast<uintptr_t>(base[first]) & 15u);
    bool same = (mis & 3u) == 0u;
#pragma unroll
    for (int s = 0; s < kSlots; ++s)
        if ((U >> s) & 1u) same = same && ((unsigned)(reinterpret_cast<uintptr_t>(base[s]) & 15u) == mis);
    int64_t head = same ? (int64_t)(((16u - mis) & 15u) >> 2) : n;
    if (head > n) head = n;
    if (head > 0) scalar_range(op, base, 0, head);
    if (head == n) return;
    const int64_t nv = (n - head) >> 2;
    if (nv > 0) vector_range(op, base, head, nv);
    const int64_t done = head + 4 * nv;
    if (done < n) scalar_range(op, base, done, n);
}

// Pointers of chunk c of the table, and its length.
template <unsigned U>
__device__ __forceinline__ int64_t chunk_bases(const TensorDesc *__restrict__ descs,
                                               const int32_t *__restrict__ chunk_tensor, int64_t chunk, int64_t c,
                                               float *(&base)[kSlots]) {
    const TensorDesc *d = descs + chunk_tensor[c];
    const int64_t start = (c - d->first_chunk) * chunk;
    int64_t n = d->numel - start;
    if (n > chunk) n = chunk;
#pragma unroll
    for (int s = 0; s < kSlots; ++s) base[s] = ((U >> s) & 1u) ? d->ptr[s] + start : nullptr;
    return n;
}

// One block per chunk.
template <class Op>
__global__ void __launch_bounds__(kBlock) multi_tensor_kernel(const TensorDesc *__restrict__ descs,
                                                              const int32_t *__restrict__ chunk_tensor,
                                                              int64_t chunk, Op op) {
    if (!op.begin_block()) return;  // uniform across the block
    float *base[kSlots];
    const int64_t n = chunk_bases<Op::kLoad | Op::kStore>(descs, chunk_tensor, chunk, (int64_t)blockIdx.x, base);
    process_chunk(op, base, n);
    op.end_block();
}

#ifndef GOPTIM_EMULATE
// Launches op over the table on the context's stream.
template <class Op>
goptim_status launch_multi_tensor(goptim_context *ctx, const DeviceTable &t, const Op &op, const char *what) {
    if (t.nchunks == 0) return GOPTIM_OK;
    multi_tensor_kernel<Op><<<(unsigned)t.nchunks, kBlock, 0, ctx->stream>>>(t.descs, t.chunk_tensor, ctx->chunk, op);
    return check_launch(ctx, what);
}

#endif

// Base for ops with no per-block work.
struct NoBlockHooks {
    __device__ __forceinline__ bool begin_block() { return true; }
    __device__ __forceinline__ void end_block() {}
};

// Calls f(std::integral_constant<bool, b>).
template <class F>
inline goptim_status bool_dispatch(bool b, F &&f) {
    if (b) return f(std::true_type{});
    return f(std::false_type{});
}

}  // namespace goptim_cuda

#endif
