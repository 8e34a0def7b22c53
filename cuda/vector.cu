// vector.cu - goptim_dot, goptim_axpy and goptim_scal of the CUDA backend: cuBLAS's
// level-1 BLAS on the context's handle, whose stream is the context's (context.cu keeps
// the two in step at create and at every set_stream).
//
// cuBLAS takes int lengths, so a vector longer than INT32_MAX is done in pieces; dot adds
// the pieces' sums in double on the host and rounds once, as the CPU backend does.
//
// alpha == 0 runs a kernel of its own instead of cuBLAS, computing y + 0*x and x*0 as
// IEEE operations (a NaN or an infinity gives NaN), the answer of the CPU backend, which
// keeps OpenBLAS's early return and zero fill out of it, and of torch's add and mul.
#include <climits>
#include <cstdio>

#include "internal.cuh"

using namespace goptim_cuda;

namespace {

// The checks of goptim.h, in its order: n < 0, n == 0 (nothing to do), NULL pointers.
// The CPU backend (csrc/vector.c) words its details the same way.
goptim_status vector_args(goptim_context *ctx, const char *op, int64_t n, const void *x, const void *y, bool need_y,
                          bool *work) {
    *work = false;
    if (n < 0) return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: negative length %lld", op, (long long)n);
    if (n == 0) return GOPTIM_OK;
    if (!x || (need_y && !y)) return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL vector", op);
    *work = true;
    return GOPTIM_OK;
}

constexpr int kVecBlock = 256;
constexpr int64_t kVecMaxBlocks = 4096;
constexpr int64_t kPiece = INT_MAX;

__global__ void axpy_zero_kernel(int64_t n, const float *__restrict__ x, float *__restrict__ y) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = __fadd_rn(y[i], __fmul_rn(0.0f, x[i]));
}

__global__ void scal_zero_kernel(int64_t n, float *__restrict__ x) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] = __fmul_rn(x[i], 0.0f);
}

unsigned vec_blocks(int64_t n) {
    const int64_t b = (n + kVecBlock - 1) / kVecBlock;
    return (unsigned)(b < kVecMaxBlocks ? b : kVecMaxBlocks);
}

}  // namespace

extern "C" goptim_status goptim_dot(goptim_context *ctx, int64_t n, const float *x, const float *y, float *out) {
    return enter(ctx, "dot", [&] {
        bool work;
        goptim_status st = vector_args(ctx, "dot", n, x, y, true, &work);
        if (st != GOPTIM_OK) return st;
        if (!work) {
            if (out) *out = 0.0f;  // the empty sum
            return GOPTIM_OK;
        }
        if (!out) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "dot: NULL out");
        // The result goes to host memory: cuBLAS waits for the stream and the dot.
        cublasStatus_t s = cublasSetPointerMode(ctx->blas, CUBLAS_POINTER_MODE_HOST);
        if (s != CUBLAS_STATUS_SUCCESS) return cublas_fail(ctx, "cublasSetPointerMode", s);
        double sum = 0;
        float piece = 0;
        for (int64_t i = 0; i < n; i += kPiece) {
            const int64_t len = n - i < kPiece ? n - i : kPiece;
            s = cublasSdot(ctx->blas, (int)len, x + i, 1, y + i, 1, &piece);
            if (s != CUBLAS_STATUS_SUCCESS) return cublas_fail(ctx, "cublasSdot", s);
            if (n <= kPiece) {
                *out = piece;  // one piece: cuBLAS's result unchanged
                return GOPTIM_OK;
            }
            sum += (double)piece;
        }
        *out = (float)sum;
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_axpy(goptim_context *ctx, int64_t n, float alpha, const float *x, float *y) {
    return enter(ctx, "axpy", [&] {
        bool work;
        goptim_status st = vector_args(ctx, "axpy", n, x, y, true, &work);
        if (st != GOPTIM_OK || !work) return st;
        if (alpha == 0.0f) {
            axpy_zero_kernel<<<vec_blocks(n), kVecBlock, 0, ctx->stream>>>(n, x, y);
            return check_launch(ctx, "axpy_zero_kernel");
        }
        for (int64_t i = 0; i < n; i += kPiece) {
            const int64_t len = n - i < kPiece ? n - i : kPiece;
            cublasStatus_t s = cublasSaxpy(ctx->blas, (int)len, &alpha, x + i, 1, y + i, 1);
            if (s != CUBLAS_STATUS_SUCCESS) return cublas_fail(ctx, "cublasSaxpy", s);
        }
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_scal(goptim_context *ctx, int64_t n, float alpha, float *x) {
    return enter(ctx, "scal", [&] {
        bool work;
        goptim_status st = vector_args(ctx, "scal", n, x, x, false, &work);
        if (st != GOPTIM_OK || !work) return st;
        if (alpha == 0.0f) {
            scal_zero_kernel<<<vec_blocks(n), kVecBlock, 0, ctx->stream>>>(n, x);
            return check_launch(ctx, "scal_zero_kernel");
        }
        for (int64_t i = 0; i < n; i += kPiece) {
            const int64_t len = n - i < kPiece ? n - i : kPiece;
            cublasStatus_t s = cublasSscal(ctx->blas, (int)len, &alpha, x + i, 1);
            if (s != CUBLAS_STATUS_SUCCESS) return cublas_fail(ctx, "cublasSscal", s);
        }
        return GOPTIM_OK;
    });
}
