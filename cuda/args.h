// args.h - the argument checks of the memory entry points (alloc, copies, fill), in the
// order goptim.h gives them. Plain C++ shared by the CUDA library (context.cu) and its
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

}  // namespace goptim_cuda

#endif
