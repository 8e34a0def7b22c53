/*
 * test_fma.c - the exact FMA emulation of the portable kernels (kernel.h) against
 * the C library's fmaf, on random and edge-case inputs.
 */
#include "../kernel.h"
#include "testutil.h"

#include <float.h>

static void one(float a, float b, float c) {
    float want = fmaf(a, b, c), got = gi_fma_soft(a, b, c);
    uint32_t x, y;
    memcpy(&x, &want, 4);
    memcpy(&y, &got, 4);
    CHECK(x == y || (isnan(want) && isnan(got)), "fma(%a, %a, %a): soft %a, libm %a", a, b, c, got, want);
}

int main(void) {
    tu_rng r = {7};
    const float edge[] = {0.0f, -0.0f, 1.0f, -1.0f, FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX, 1e-45f, -1e-45f,
                          INFINITY, -INFINITY, NAN, 1.0f + FLT_EPSILON, 1.0f - FLT_EPSILON / 2, 3.0f, 1e-20f, 1e20f};
    const int ne = (int)(sizeof edge / sizeof edge[0]);
    for (int i = 0; i < ne; i++)
        for (int j = 0; j < ne; j++)
            for (int k = 0; k < ne; k++) one(edge[i], edge[j], edge[k]);
    for (int i = 0; i < 20000000; i++) {
        uint32_t ua = (uint32_t)tu_next(&r), ub = (uint32_t)tu_next(&r), uc = (uint32_t)tu_next(&r);
        float a, b, c;
        memcpy(&a, &ua, 4);
        memcpy(&b, &ub, 4);
        memcpy(&c, &uc, 4);
        one(a, b, c);
        /* near-cancellation and halfway cases: c close to -a*b */
        a = tu_uniform(&r, -2, 2);
        b = tu_uniform(&r, -2, 2);
        c = -(a * b) * (1.0f + tu_uniform(&r, -1e-6f, 1e-6f));
        one(a, b, c);
        c = ldexpf(tu_uniform(&r, -1, 1), (int)(tu_next(&r) % 60) - 30);
        one(a, b, c);
    }
    printf("ok   soft fma == fmaf on edge cases and 60M random inputs\nPASS\n");
    return 0;
}
