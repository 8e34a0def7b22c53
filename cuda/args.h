// args.h - the argument checks of the memory entry points (alloc, copies, fill) and of
// sgemm, in the order goptim.h gives them. Plain C++ shared by the CUDA library (context.cu) and its
// emulation (emu/context.cpp): the two answer one input with one status and one detail
// because they run this code, not two copies of it.
#ifndef GOPTIM_CUDA_ARGS_H
#define GOPTIM_CUDA_ARGS_H

#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "goptim.h"

namespace goptim_cuda {

// The outcome of a check: GOPTIM_OK with bytes > 0 (work to do), GOPTIM_OK with
// bytes == 0 (nothing to do: the call succeeds at once), or an error whose detail is in
// the caller's buffer.
struct ArgCheck {
    goptim_status status;
    size_t bytes;
};

inline ArgCheck arg_error(char *err, size_t errlen, goptim_status s, const char *op, const char *what) {
    std::snprintf(err, errlen, "%s: %s", op, what);
    return ArgCheck{s, 0};
}

// goptim_alloc: a negative n is invalid; a size no allocation can satisfy (its byte count,
// rounded up to the 256-byte granule, overflows, or exceeds the device's total_mem) is
// out of memory, the CPU backend's answer too. n == 0 still allocates (a unique pointer),
// so bytes is at least 16.
inline ArgCheck alloc_args(int64_t n, size_t total_mem, char *err, size_t errlen) {
    if (n < 0) {
        std::snprintf(err, errlen, "alloc: negative length %lld", (long long)n);
        return ArgCheck{GOPTIM_ERR_INVALID_ARGUMENT, 0};
    }
    if ((uint64_t)n > (SIZE_MAX - 255) / sizeof(float)) {
        std::snprintf(err, errlen, "alloc: %lld floats is too many", (long long)n);
        return ArgCheck{GOPTIM_ERR_OUT_OF_MEMORY, 0};
    }
    const size_t bytes = (size_t)n * sizeof(float);
    if (bytes > total_mem) {
        std::snprintf(err, errlen, "alloc: %lld floats (%llu bytes) is more than the device's %zu bytes",
                      (long long)n, (unsigned long long)bytes, total_mem);
        return ArgCheck{GOPTIM_ERR_OUT_OF_MEMORY, 0};
    }
    return ArgCheck{GOPTIM_OK, bytes == 0 ? 16 : bytes};
}

// What a move reads: nothing (fill), host memory on one side (copy_from_host,
// copy_to_host), or device memory on both (copy).
enum class Move { Fill, HostCopy, DeviceCopy };

// Copies and fill: a negative n, or one whose byte count does not fit in size_t, is
// invalid; n == 0 does nothing (any pointers); then a NULL pointer is invalid; then a
// device-to-device copy onto itself does nothing.
inline ArgCheck move_args(const char *op, Move kind, const void *dst, const void *src, int64_t n, char *err,
                          size_t errlen) {
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(float))
        return arg_error(err, errlen, GOPTIM_ERR_INVALID_ARGUMENT, op, "negative or too large length");
    if (n == 0) return ArgCheck{GOPTIM_OK, 0};
    if (!dst || (kind != Move::Fill && !src))
        return arg_error(err, errlen, GOPTIM_ERR_INVALID_ARGUMENT, op, "NULL pointer");
    if (kind == Move::DeviceCopy && dst == src) return ArgCheck{GOPTIM_OK, 0};
    return ArgCheck{GOPTIM_OK, (size_t)n * sizeof(float)};
}

// goptim_sgemm, in the CPU backend's order (csrc/gemm.c): negative sizes are invalid;
// sizes or strides above INT32_MAX are unsupported (cuBLAS and OpenBLAS take int); a
// leading dimension below its row length (or 1) is invalid; m == 0 or n == 0 does
// nothing; then NULL matrices are invalid. Row-major: op(A) is m x k, op(B) k x n, C m x n.
// Returns GOPTIM_OK with work = false when there is nothing to do.
inline goptim_status sgemm_args(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, const void *a,
                                int64_t lda, const void *b, int64_t ldb, const void *c, int64_t ldc, bool *work,
                                char *err, size_t errlen) {
    *work = false;
    if (m < 0 || n < 0 || k < 0) {
        std::snprintf(err, errlen, "sgemm: negative size m=%lld n=%lld k=%lld", (long long)m, (long long)n,
                      (long long)k);
        return GOPTIM_ERR_INVALID_ARGUMENT;
    }
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX) {
        std::snprintf(err, errlen, "sgemm: sizes above 2^31-1 need a 64-bit-index BLAS");
        return GOPTIM_ERR_UNSUPPORTED;
    }
    const int64_t min_lda = trans_a ? m : k, min_ldb = trans_b ? k : n;
    if (lda < (min_lda > 1 ? min_lda : 1) || ldb < (min_ldb > 1 ? min_ldb : 1) || ldc < (n > 1 ? n : 1)) {
        std::snprintf(err, errlen, "sgemm: leading dimension too small (lda=%lld ldb=%lld ldc=%lld)", (long long)lda,
                      (long long)ldb, (long long)ldc);
        return GOPTIM_ERR_INVALID_ARGUMENT;
    }
    if (m == 0 || n == 0) return GOPTIM_OK;
    if (!c || (k > 0 && (!a || !b))) {
        std::snprintf(err, errlen, "sgemm: NULL matrix");
        return GOPTIM_ERR_INVALID_ARGUMENT;
    }
    *work = true;
    return GOPTIM_OK;
}

}  // namespace goptim_cuda

#endif
