// vector.cpp - goptim_dot, goptim_axpy and goptim_scal of the emulated CUDA backend
// (cuda/emu/): the argument checks of cuda/vector.cu in its order with its details, then
// the device-memory rule (x and y must lie, whole, in live blocks of goptim_alloc, as on
// a GPU, where anything else is an illegal address for cuBLAS's kernels; dot's out is host
// memory, written by cuBLAS in host pointer mode), then the arithmetic on the host.
//
// The arithmetic is OpenBLAS's, as on the CPU backend, not cuBLAS's: the sums of dot are
// added in another order than cuBLAS adds them, so a dot may differ from the GPU's in the
// last bits. axpy and scal are element-wise and give the same values wherever both
// contract y + alpha*x alike. alpha == 0 is the plain IEEE loop of vector.cu's kernels.
#include <cblas.h>

#include <climits>
#include <string>

#include "emu_internal.h"

using namespace goptim_cuda;
using namespace goptim_cuda_emu;

namespace {

constexpr int64_t kPiece = INT_MAX;

goptim_status vector_args(goptim_context *ctx, const char *op, int64_t n, const void *x, const void *y, bool need_y,
                          bool *work) {
    *work = false;
    if (n < 0) return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: negative length %lld", op, (long long)n);
    if (n == 0) return GOPTIM_OK;
    if (!x || (need_y && !y)) return failf(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL vector", op);
    *work = true;
    return GOPTIM_OK;
}

std::string not_device(const char *arg, int64_t n) {
    return std::string(arg) + " is not " + std::to_string(n) + (n == 1 ? " float" : " floats") + " of device memory";
}

}  // namespace

extern "C" goptim_status goptim_dot(goptim_context *ctx, int64_t n, const float *x, const float *y, float *out) {
    return enter(ctx, "dot", [&] {
        bool work;
        goptim_status st = vector_args(ctx, "dot", n, x, y, true, &work);
        if (st != GOPTIM_OK) return st;
        if (!work) {
            if (out) *out = 0.0f;
            return GOPTIM_OK;
        }
        if (!out) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "dot: NULL out");
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        if (!heap_contains(x, n)) return cuda_fail(ctx, "cublasSdot", CudaErr::IllegalAddress, not_device("x", n));
        if (!heap_contains(y, n)) return cuda_fail(ctx, "cublasSdot", CudaErr::IllegalAddress, not_device("y", n));
        if (heap_contains(out, 1))
            return cuda_fail(ctx, "cublasSdot", CudaErr::InvalidValue, "out is device memory (dot writes host memory)");
        if (n <= kPiece) {
            *out = cblas_sdot((blasint)n, x, 1, y, 1);
            return GOPTIM_OK;
        }
        double sum = 0;
        for (int64_t i = 0; i < n; i += kPiece) {
            const int64_t len = n - i < kPiece ? n - i : kPiece;
            sum += (double)cblas_sdot((blasint)len, x + i, 1, y + i, 1);
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
        const char *fn = alpha == 0.0f ? "axpy_zero_kernel" : "cublasSaxpy";
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        if (!heap_contains(x, n)) return cuda_fail(ctx, fn, CudaErr::IllegalAddress, not_device("x", n));
        if (!heap_contains(y, n)) return cuda_fail(ctx, fn, CudaErr::IllegalAddress, not_device("y", n));
        if (alpha == 0.0f) {
            for (int64_t i = 0; i < n; ++i) y[i] = y[i] + 0.0f * x[i];
            return GOPTIM_OK;
        }
        for (int64_t i = 0; i < n; i += kPiece) {
            const int64_t len = n - i < kPiece ? n - i : kPiece;
            cblas_saxpy((blasint)len, alpha, x + i, 1, y + i, 1);
        }
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_scal(goptim_context *ctx, int64_t n, float alpha, float *x) {
    return enter(ctx, "scal", [&] {
        bool work;
        goptim_status st = vector_args(ctx, "scal", n, x, x, false, &work);
        if (st != GOPTIM_OK || !work) return st;
        const char *fn = alpha == 0.0f ? "scal_zero_kernel" : "cublasSscal";
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        if (!heap_contains(x, n)) return cuda_fail(ctx, fn, CudaErr::IllegalAddress, not_device("x", n));
        if (alpha == 0.0f) {
            for (int64_t i = 0; i < n; ++i) x[i] = x[i] * 0.0f;
            return GOPTIM_OK;
        }
        for (int64_t i = 0; i < n; i += kPiece) {
            const int64_t len = n - i < kPiece ? n - i : kPiece;
            cblas_sscal((blasint)len, alpha, x + i, 1);
        }
        return GOPTIM_OK;
    });
}
