/*
 * kernel.h - included FIRST by every file holding element-wise kernels.
 *
 * Floating-point mode of the kernels, whatever flags the build passes (cgo passes
 * none of these):
 *  - no implicit FP contraction: the compiler never fuses a*b+c on its own. Fused
 *    multiply-adds appear only where written, with gi_fma, exactly where torch's CPU
 *    kernels fuse (measured on torch 1.13 and 2.6, AVX2 dispatch: add(x, alpha=a) is
 *    fma(a, x, self) through Vectorized::fmadd, addcmul(t1, t2, value=v) is
 *    fma(v*t1, t2, self) because GCC contracts its vector expression, and lerp is one
 *    fma (gm_ops.h); mul, div, sqrt and addcdiv are not fused). gi_fma is correctly rounded on every build
 *    (hardware FMA, or an exact emulation where the ISA has none), so every ISA and
 *    thread count gives bit-identical results, equal to torch's bit for bit.
 *  - sqrtf declared const: the kernels never look at errno, and a const sqrtf is what
 *    lets GCC vectorise it (vsqrtps, correctly rounded) without -fno-math-errno, which
 *    the cgo build does not pass. (The optimize pragma cannot do it: the builtin's
 *    attributes are fixed before the pragma is read.)
 * No -ffast-math: no reassociation, NaN and Inf behave as in IEEE arithmetic.
 */
#ifndef GOPTIM_KERNEL_H
#define GOPTIM_KERNEL_H

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <math.h>
#include <string.h>
#if defined(__GNUC__) && !defined(__clang__)
extern float sqrtf(float) __attribute__((const, nothrow, leaf));
extern float fmaf(float, float, float) __attribute__((const, nothrow, leaf));
#endif
#include "internal.h"

/*
 * fma(a, b, c) = a*b + c rounded once, without hardware FMA: a*b is exact in double,
 * the double sum is made round-to-odd from its exact error (TwoSum), and rounding a
 * round-to-odd double (53 >= 24+2 bits) to float is then correctly rounded. NaN and
 * Inf pass through (their error term is NaN, which adjusts nothing).
 */
GI_INLINE float gi_fma_soft(float a, float b, float c) {
    const double p = (double)a * (double)b;
    const double dc = (double)c;
    const double s = p + dc;
    const double bb = s - p;
    const double err = (p - (s - bb)) + (dc - bb);
    uint64_t bits, ebits;
    memcpy(&bits, &s, sizeof bits);
    memcpy(&ebits, &err, sizeof ebits);
    /* inexact (err != +-0), s finite (so err is not NaN) and s even: move s one ulp
     * toward the exact sum (up in magnitude if err has the sign of s, else down) */
    const uint64_t adjust = (err != 0 && fabs(s) <= 1.7976931348623157e308) ? (~bits & 1) : 0;
    const uint64_t opposite = (bits ^ ebits) >> 63;
    bits = bits + adjust - ((adjust & opposite) << 1);
    double r;
    memcpy(&r, &bits, sizeof r);
    return (float)r;
}

/* a*b + c rounded once; HW: the build has an FMA instruction (a compile-time constant). */
GI_INLINE float gi_fma(float a, float b, float c, const int HW) { return HW ? fmaf(a, b, c) : gi_fma_soft(a, b, c); }

#endif /* GOPTIM_KERNEL_H */
