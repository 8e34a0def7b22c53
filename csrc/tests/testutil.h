/*
 * testutil.h - tiny helpers shared by the C tests: checks with messages, a
 * deterministic random source, buffers and tensor lists.
 */
#ifndef GOPTIM_TESTUTIL_H
#define GOPTIM_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goptim.h"

/* CHECK(cond, fmt, ...): prints the message and aborts the test on failure. */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#define CHECK_OK(call)                                                                     \
    do {                                                                                   \
        goptim_status st_ = (call);                                                        \
        CHECK(st_ == GOPTIM_OK, "%s returned %d (%s)", #call, (int)st_, goptim_status_string(st_)); \
    } while (0)

/* splitmix64 */
typedef struct {
    uint64_t s;
} tu_rng;

static inline uint64_t tu_next(tu_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi) */
static inline float tu_uniform(tu_rng *r, float lo, float hi) {
    return lo + (hi - lo) * (float)((double)(tu_next(r) >> 40) / (double)(1ull << 24));
}

static inline float *tu_alloc(int64_t n) {
    float *p = NULL;
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    CHECK(posix_memalign((void **)&p, 64, bytes) == 0, "out of memory for %lld floats", (long long)n);
    memset(p, 0, bytes);
    return p;
}

static inline void tu_fill(tu_rng *r, float *p, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) p[i] = tu_uniform(r, lo, hi);
}

static inline int tu_bits_equal(const float *a, const float *b, int64_t n, int64_t *where) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t x, y;
        memcpy(&x, &a[i], 4);
        memcpy(&y, &b[i], 4);
        if (x != y) {
            if (where) *where = i;
            return 0;
        }
    }
    return 1;
}

/* max over i of |got - want| / (|want| + atol) */
static inline double tu_max_rel(const float *got, const double *want, int64_t n, double atol, int64_t *where) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]) / (fabs(want[i]) + atol);
        if (!(e <= worst)) {
            worst = e;
            if (where) *where = i;
        }
    }
    return worst;
}

/* ISAs this machine can run, as goptim_context_set_isa accepts them. */
static inline int tu_isas(goptim_context *ctx, goptim_isa *out) {
    static const goptim_isa all[] = {GOPTIM_ISA_PORTABLE, GOPTIM_ISA_AVX2, GOPTIM_ISA_AVX512, GOPTIM_ISA_NEON};
    goptim_isa keep;
    CHECK_OK(goptim_context_isa(ctx, &keep));
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (goptim_context_set_isa(ctx, all[i]) == GOPTIM_OK) out[n++] = all[i];
    CHECK_OK(goptim_context_set_isa(ctx, keep));
    return n;
}

static inline const char *tu_isa_name(goptim_isa isa) {
    switch (isa) {
    case GOPTIM_ISA_AUTO: return "auto";
    case GOPTIM_ISA_PORTABLE: return "portable";
    case GOPTIM_ISA_AVX2: return "avx2";
    case GOPTIM_ISA_AVX512: return "avx512";
    case GOPTIM_ISA_NEON: return "neon";
    }
    return "?";
}

#endif
