// trust.cuh - per-tensor norms inside a multi-tensor pass, for the steps whose size
// depends on each tensor as a whole (LAMB's trust ratio, LARS's adaptive lr); GPU build.
//
// The pass's op keeps two sums of squares per thread (SumSq2), reduces them over its
// block in a fixed order at end_block and writes them as the partials of its chunk; one
// thread per tensor then adds its chunks' partials in order (trust_fold_kernel) and
// turns the two norms into the tensor's factor, which the next pass reads per chunk. The
// sums are in double, so the norms, rounded to float once, are the CPU's but for a
// rounding tie.
#ifndef GOPTIM_CUDA_TRUST_CUH
#define GOPTIM_CUDA_TRUST_CUH

#include "multi_tensor.cuh"

namespace goptim_cuda {

// Sum over the block in a fixed tree order; valid in thread 0. Every thread calls it.
__device__ __forceinline__ double block_sum_double(double x) {
    __shared__ double part[kBlock / 32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = __dadd_rn(x, __shfl_down_sync(0xffffffffu, x, o));
    if (lane == 0) part[warp] = x;
    __syncthreads();
    if (warp == 0) {
        x = lane < kBlock / 32 ? part[lane] : 0.0;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) x = __dadd_rn(x, __shfl_down_sync(0xffffffffu, x, o));
    }
    __syncthreads();  // part is reused by the next call
    return x;
}

// Two per-thread sums of squares; end() writes the block's to partial[2*blockIdx.x].
struct SumSq2 {
    double a, b;
    double *partial;
    __device__ __forceinline__ void add(float x, float y) {
        a = __dadd_rn(a, __dmul_rn((double)x, (double)x));
        b = __dadd_rn(b, __dmul_rn((double)y, (double)y));
    }
    __device__ __forceinline__ void end() {
        const double sa = block_sum_double(a), sb = block_sum_double(b);
        if (threadIdx.x == 0) {
            partial[2 * blockIdx.x] = sa;
            partial[2 * blockIdx.x + 1] = sb;
        }
    }
};

// factor[d] = f(norm a, norm b) of tensor d, from its chunks' partials in order.
template <class F>
__global__ void trust_fold_kernel(const TensorDesc *__restrict__ descs, int64_t count, int64_t chunk,
                                  const double *__restrict__ partial, float *__restrict__ factor,
                                  const float *found_inf, F f) {
    const int64_t d = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (d >= count || (found_inf && *found_inf != 0.f)) return;
    const int64_t c0 = descs[d].first_chunk, n = descs[d].numel;
    const int64_t nc = n / chunk + (n % chunk != 0);
    double a = 0.0, b = 0.0;
    for (int64_t c = c0; c < c0 + nc; ++c) {
        a = __dadd_rn(a, partial[2 * c]);
        b = __dadd_rn(b, partial[2 * c + 1]);
    }
    factor[d] = f((float)sqrt(a), (float)sqrt(b));
}

// The scratch of a two-pass step: 2 partials per chunk, then one factor per tensor.
inline size_t trust_scratch_bytes(int64_t nchunks, int64_t count) {
    return sizeof(double) * (size_t)(2 * nchunks) + sizeof(float) * (size_t)count;
}

template <class F>
goptim_status launch_trust_fold(goptim_context *ctx, const DeviceTable &t, int64_t count, const double *partial,
                                float *factor, const float *found_inf, F f) {
    const unsigned grid = (unsigned)((count + kBlock - 1) / kBlock);
    trust_fold_kernel<<<grid, kBlock, 0, ctx->stream>>>(t.descs, count, ctx->chunk, partial, factor, found_inf, f);
    return check_launch(ctx, "trust_fold_kernel");
}

}  // namespace goptim_cuda

#endif
