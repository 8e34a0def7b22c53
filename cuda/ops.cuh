// ops.cuh - what every step op of goptim's CUDA kernels shares (the AMP extras, clipping
// and maximize applied to the gradient as it is read; the option dispatch), and the
// gradient ops (clip by norm or value, zero). See multi_tensor.cuh for the Op interface;
// each optimizer's op is in its cuda/optim_<optimizer>.cu, over the math of
// csrc/<optimizer>_math.h that the CPU kernels share. gm_ops.h maps the math's operations
// to _rn intrinsics (the files are also compiled with -fmad=false), so nvcc contracts
// nothing and the GPU gives the bits of the CPU kernels.
#ifndef GOPTIM_CUDA_OPS_CUH
#define GOPTIM_CUDA_OPS_CUH

#include <cmath>
#include <type_traits>

#include "multi_tensor.cuh"

#include "gm_ops.h"

namespace goptim_cuda {

__device__ __forceinline__ float fmul(float a, float b) { return __fmul_rn(a, b); }

// AMP extras and maximize, shared by every step op.
template <bool Unscale, bool Clip, bool Maximize>
struct GradPrep {
    const float *grad_scale;
    const float *found_inf;
    const float *clip_norm;
    float max_norm;
    float scale;
    float coef;

    __device__ __forceinline__ bool begin_block() {
        if (found_inf != nullptr && *found_inf != 0.f) return false;
        if (Unscale) scale = *grad_scale;
        if (Clip) coef = gm_clip_coef(*clip_norm, max_norm);
        return true;
    }
    __device__ __forceinline__ void end_block() {}
    // The gradient as the update uses it; the unscaled gradient goes back to v[1].
    __device__ __forceinline__ float grad(float (&v)[kSlots]) const {
        float g = v[1];
        if (Unscale) {
            g = gm_unscale(g, scale, 1);
            v[1] = g;
        }
        if (Clip) g = fmul(g, coef);
        if (Maximize) g = -g;
        return g;
    }
};

template <bool U, bool C, bool M>
inline GradPrep<U, C, M> make_prep(const goptim_step_aux *aux) {
    GradPrep<U, C, M> p{};
    if (aux) {
        p.grad_scale = aux->grad_scale;
        p.found_inf = aux->found_inf;
        p.clip_norm = aux->clip_norm;
        p.max_norm = (float)aux->max_norm;
    }
    p.scale = 1.f;
    p.coef = 1.f;
    return p;
}

// ---------------------------------------------------------------- gradient ops

struct ClipByNormOp {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = kG;
    const float *norm;
    float max_norm;
    float coef;
    __device__ __forceinline__ bool begin_block() {
        coef = gm_clip_coef(*norm, max_norm);
        return true;
    }
    __device__ __forceinline__ void end_block() {}
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const { v[1] = __fmul_rn(v[1], coef); }
};

struct ClipValueOp : NoBlockHooks {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = kG;
    float lo, hi;
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        const float x = v[1];
        v[1] = (x != x) ? x : fminf(fmaxf(x, lo), hi);
    }
};

struct ZeroOp : NoBlockHooks {
    static constexpr unsigned kLoad = 0u;
    static constexpr unsigned kStore = kG;
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const { v[1] = 0.f; }
};

// ---------------------------------------------------------------- dispatch
//
// Host code: derive the float scalars (in double, rounded once) and pick the kernel
// instantiation for an option set; launch(op) runs it (on the GPU, or in the host
// emulation of tests/test_emulated.cpp).

#define GOPTIM_B(x) decltype(x)::value

// goptim.h: clipping applies when clip_norm is set and max_norm > 0.
inline void aux_flags(const goptim_step_aux *aux, bool *unscale, bool *clip) {
    *unscale = aux != nullptr && aux->grad_scale != nullptr;
    *clip = aux != nullptr && aux->clip_norm != nullptr && aux->max_norm > 0;
}

template <class Op, bool U, bool C, bool M>
inline void set_prep(Op &op, const goptim_step_aux *aux) {
    static_cast<GradPrep<U, C, M> &>(op) = make_prep<U, C, M>(aux);
}

// The option dispatch every step shares: unscale, clip and maximize as template
// parameters of the op (the kernel for each combination), then body(U, C, M) picks the
// optimizer's own options.
template <class Body>
inline goptim_status dispatch_prep(const goptim_step_aux *aux, bool maximize, Body &&body) {
    bool unscale, clip;
    aux_flags(aux, &unscale, &clip);
    return bool_dispatch(unscale, [&](auto U) {
        return bool_dispatch(clip, [&](auto C) { return bool_dispatch(maximize, [&](auto M) { return body(U, C, M); }); });
    });
}

}  // namespace goptim_cuda

#endif
