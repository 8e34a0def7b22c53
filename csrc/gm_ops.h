/*
 * gm_ops.h - the arithmetic the optimizer math (csrc/<optimizer>_math.h) is written in, so that
 * one text of each update serves every CPU ISA, the CUDA kernels, their host emulation
 * and the tests' exact references.
 *
 * Every operation is one correctly rounded float operation, never contracted:
 *  - C kernels (csrc/<optimizer>.c): plain operators under kernel.h's fp-contract(off); GM_FMA is
 *    gi_fma, correctly rounded with or without hardware FMA (HW: the ISA has it).
 *  - CUDA (cuda/): the _rn intrinsics on the device, which nvcc never contracts or
 *    reorders; the same operations on the host, for the CUDA tests' exact reference and
 *    the emulated kernels of cuda/emu.
 *  - Host references of the C tests (GM_HOST_REFERENCE): plain operators and fmaf,
 *    contraction turned off for the rest of the including file.
 * Where torch's CPU kernels fuse (add(x, alpha=a) is fma(a, x, self); addcmul(t1, t2,
 * value=v) is fma(v*t1, t2, self)) the math says GM_FMA; everything else is separate.
 *
 * An update function takes the ISA's FMA flag with GM_HW_PARAM and passes it on with GM_HW;
 * both are empty outside the C kernels.
 */
#ifndef GOPTIM_GM_OPS_H
#define GOPTIM_GM_OPS_H

#if !defined(__CUDACC__) && !defined(GOPTIM_EMULATE) && !defined(GM_HOST_REFERENCE)
#include "kernel.h" /* first: the kernels' floating-point mode */
#endif

#include <math.h>
#include <stdint.h>

#include "goptim.h"

#if defined(__CUDACC__) || defined(GOPTIM_EMULATE)
/* Host and device: on the device the _rn intrinsics; on the host (the tests' exact
 * reference, and the emulated kernels of cuda/emu) the same correctly rounded operations,
 * compiled without contraction (-ffp-contract=off). */
#define GM_FN __host__ __device__ __forceinline__
#if defined(__CUDA_ARCH__)
#define GM_MUL(a, b) __fmul_rn((a), (b))
#define GM_ADD(a, b) __fadd_rn((a), (b))
#define GM_DIV(a, b) __fdiv_rn((a), (b))
#define GM_FMA(a, b, c) __fmaf_rn((a), (b), (c))
#define GM_SQRT(a) __fsqrt_rn(a)
#define GM_RCP(a) __frcp_rn(a)
#define GM_ABS(a) fabsf(a)
#else
#define GM_MUL(a, b) ((a) * (b))
#define GM_ADD(a, b) ((a) + (b))
#define GM_DIV(a, b) ((a) / (b))
#define GM_FMA(a, b, c) fmaf((a), (b), (c))
#define GM_SQRT(a) sqrtf(a)
#define GM_RCP(a) (1.0f / (a))
#define GM_ABS(a) fabsf(a)
#endif
#define GM_HW_PARAM
#define GM_HW
#elif defined(GM_HOST_REFERENCE)
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#define GM_FN static inline
#define GM_MUL(a, b) ((a) * (b))
#define GM_ADD(a, b) ((a) + (b))
#define GM_DIV(a, b) ((a) / (b))
#define GM_FMA(a, b, c) fmaf((a), (b), (c))
#define GM_SQRT(a) sqrtf(a)
#define GM_RCP(a) (1.0f / (a))
#define GM_ABS(a) fabsf(a)
#define GM_HW_PARAM
#define GM_HW
#else
#define GM_FN GI_INLINE
#define GM_MUL(a, b) ((a) * (b))
#define GM_ADD(a, b) ((a) + (b))
#define GM_DIV(a, b) ((a) / (b))
#define GM_FMA(a, b, c) gi_fma((a), (b), (c), HW)
#define GM_SQRT(a) sqrtf(a)
#define GM_RCP(a) (1.0f / (a))
#define GM_ABS(a) fabsf(a)
#define GM_HW_PARAM , const int HW
#define GM_HW , HW
#endif

/* Host code (scalars of a step, computed in double and rounded to float once, as
 * torch's Python computes them). */
#define GM_HOST static inline

/* The step count as torch's Python reads it: a float32 tensor incremented by one each step
 * (its default scalar dtype), which stops at 2^24 (2^24 + 1 rounds back to 2^24); the
 * bias corrections and Adagrad's lr decay use that value. */
GM_HOST double gm_torch_step(int64_t step) { return step < 16777216 ? (double)step : 16777216.0; }

/* torch.sign on a float: (0 < x) - (x < 0), so NaN and -0 give 0. */
GM_FN float gm_sign(float x) { return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f; }

/* torch.maximum: NaN in either argument gives NaN. */
GM_FN float gm_max_nan(float a, float b) { return (a != a || a > b) ? a : b; }

/* torch.nn.utils.clip_grad_norm_'s coefficient in float, from the total norm:
 * clamp(reciprocal(norm + 1e-6) * max_norm, max=1); NaN propagates. */
GM_FN float gm_clip_coef(float norm, float max_norm) {
    const float c = GM_MUL(GM_RCP(GM_ADD(norm, 1e-6f)), max_norm);
    return c > 1.0f ? 1.0f : c;
}

/*
 * torch.lerp(self, end, weight) with a scalar weight, as torch's CPU kernel rounds it: one
 * fused multiply-add, fma(w, end - self, self) when |w| < 0.5 and fma(w - 1, end - self,
 * end) otherwise (the second keeps lerp exact at weight 1). The branch depends on the
 * weight only, so the host picks it once: gm_lerp_weight gives the multiplier and which
 * end the product is added to.
 */
typedef struct {
    float w;   /* weight, or weight - 1 (exact for weight in [0.5, 2]) */
    int small; /* |weight| < 0.5: add to self, else to end */
} gm_lerp_w;

GM_HOST gm_lerp_w gm_lerp_weight(double weight) {
    const float w = (float)weight;
    gm_lerp_w r;
    r.small = w > -0.5f && w < 0.5f;
    r.w = r.small ? w : w - 1.0f;
    return r;
}

GM_FN float gm_lerp(float self, float end, gm_lerp_w w GM_HW_PARAM) {
    return GM_FMA(w.w, GM_ADD(end, -self), w.small ? self : end);
}

/*
 * The gradient as every update reads it (goptim_step_aux): divided by the AMP loss scale
 * when SC (torch's fused kernels divide; the caller writes the result back to the
 * gradient), then multiplied by gmul: the clip coefficient, negated for maximize
 * (negation is exact, so this is torch's clip-then-negate).
 */
GM_FN float gm_unscale(float g, float scale, const int SC) { return SC ? GM_DIV(g, scale) : g; }
GM_FN float gm_grad_use(float unscaled, float gmul) { return GM_MUL(unscaled, gmul); }

#endif /* GOPTIM_GM_OPS_H */
