// emu_shim.h - just enough of CUDA to run goptim's elementwise kernels on the host, one
// thread at a time: tests/test_emulated.cpp and the emulated device backend (cuda/emu/).
// Valid for kernels without barriers or shuffles: every multi-tensor op except
// CheckFinite and the norm reductions, which cuda/emu/ runs with an explicit per-block
// epilogue instead. The thread and block indices are thread_local, so that emulated
// launches of different contexts may run on different host threads at once.
#ifndef GOPTIM_EMU_SHIM_H
#define GOPTIM_EMU_SHIM_H

#include <cmath>
#include <cstdint>

#define __device__
#define __host__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)

struct float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

struct emu_dim3 {
    unsigned x = 0, y = 0, z = 0;
};
extern thread_local emu_dim3 threadIdx, blockIdx, gridDim, blockDim;

// Correctly rounded float operations (the host compiles with -ffp-contract=off).
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
using std::isfinite;

#endif
