/*
 * conformance.c - the contract of csrc/include/goptim.h, checked through the ABI alone.
 *
 * One file, compiled unchanged against every library that implements goptim.h:
 *   libgoptim_cpu.a      (CMakeLists.txt:           ctest -R conformance)
 *   libgoptim_cudaemu.a  (cuda/emu/CMakeLists.txt:  ctest -R conformance_cudaemu)
 *   libgoptim_cuda.a     (cuda/CMakeLists.txt:      ctest -R conformance_cuda, on a GPU)
 * so that the backends cannot drift apart again. Backend memory is only ever reached
 * through goptim_alloc / goptim_copy_from_host / goptim_copy_to_host (it is device memory
 * when goptim_backend_is_device() says so). Where goptim.h lets the backends differ
 * (thread counts, CPU instruction sets), the device's documented answer is asserted on a
 * device backend and the CPU's on the CPU.
 *
 * Covered: status strings; backend name; every entry point with a NULL context; context
 * create/destroy/threads/ISA/synchronize; alloc (zero fill, alignment, n == 0, negative,
 * sizes no allocation can satisfy); copies (NULL pointers, negative and zero lengths,
 * overlapping goptim_copy as memmove in both directions); fill; the validation of tensor
 * lists by every list-taking call (NULL list/arrays/pointers, count < 0, numel < 0, the
 * state arrays each option set needs and only those, empty tensors and lists); step,
 * hyperparameter and norm_type checks; grad_norm, clip_grad_by_norm, clip_grad_value,
 * check_finite, zero_grad semantics; found_inf (skips a step entirely), grad_scale
 * (unscales and writes back), clip_norm (scales as read, memory untouched); SGD, Adam,
 * AdamW, Adagrad and RMSprop steps against a double-precision transcription of the
 * formulas; sgemm's checks in their documented order and its product; dot, axpy and
 * scal (their checks in order, values, alpha == 0 as IEEE arithmetic); last_error.
 *
 * Exit status: 0 when every check passed (a divergence found while a fix is under way
 * may be listed with CF_KNOWN, which does not fail), 1 otherwise, 77 when a device backend finds no device.
 */
#include "conformance.h"

#include <float.h>
#include <limits.h>

/* Under AddressSanitizer (make test-c), an allocation no allocator can satisfy must
 * come back as NULL (GOPTIM_ERR_OUT_OF_MEMORY), not end the process. */
#if defined(__SANITIZE_ADDRESS__)
#define CF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CF_ASAN 1
#endif
#endif
#ifdef CF_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#endif

static goptim_context *ctx;
static int dev; /* goptim_backend_is_device() */

/* ================================================================ backend, status */

static void test_backend(void) {
    cf_section = "backend";
    CF_CHECK(dev == 0 || dev == 1, "is_device %d", dev);
    const char *name = goptim_backend_name();
    CF_CHECK(name != NULL, "backend name is NULL");
    if (name) {
        if (dev) CF_CHECK(strncmp(name, "cuda", 4) == 0, "device backend named \"%s\"", name);
        else CF_CHECK(strcmp(name, "cpu") == 0, "host backend named \"%s\"", name);
    }
    const goptim_status all[] = {GOPTIM_OK, GOPTIM_ERR_INVALID_ARGUMENT, GOPTIM_ERR_OUT_OF_MEMORY,
                                 GOPTIM_ERR_NONFINITE, GOPTIM_ERR_BACKEND, GOPTIM_ERR_UNSUPPORTED};
    for (int i = 0; i < 6; i++) {
        const char *s = goptim_status_string(all[i]);
        CF_CHECK(s != NULL && s[0] != 0, "status_string(%d) is NULL or empty", (int)all[i]);
        for (int j = 0; j < i && s; j++) {
            const char *t = goptim_status_string(all[j]);
            CF_CHECK(t && strcmp(s, t) != 0, "status %d and %d share the text \"%s\"", (int)all[i], (int)all[j], s);
        }
    }
    const int unknown[] = {6, 99, -1, INT_MAX};
    for (int i = 0; i < 4; i++)
        CF_CHECK(goptim_status_string((goptim_status)unknown[i]) != NULL, "status_string(%d) is NULL", unknown[i]);
    const char *e = goptim_context_last_error(NULL);
    CF_CHECK(e != NULL && e[0] == 0, "last_error(NULL) is not \"\"");
}

/* ================================================================ NULL context */

static void test_null_context(void) {
    cf_section = "NULL context";
    float *p = (float *)(uintptr_t)0x40, *d = cf_dev(ctx, 8);
    float host[8] = {0};
    int32_t n = 0;
    goptim_isa isa;
    int64_t numel = 8;
    float *ptrs[1] = {d};
    goptim_tensor_list l = {1, &numel, ptrs, ptrs, {ptrs, ptrs, ptrs}};
    goptim_sgd_params sgd = {.lr = 0.1};
    goptim_adam_params adam = {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    goptim_adagrad_params ada = {.lr = 0.1, .eps = 1e-10};
    goptim_rmsprop_params rms = {.lr = 0.1, .alpha = 0.99, .eps = 1e-8};

    CF_INVALID(NULL, goptim_context_create(0, NULL), NULL);
    CF_INVALID(NULL, goptim_context_destroy(NULL), NULL);
    CF_INVALID(NULL, goptim_context_set_threads(NULL, 1), NULL);
    CF_INVALID(NULL, goptim_context_threads(NULL, &n), NULL);
    CF_INVALID(NULL, goptim_context_threads(ctx, NULL), NULL);
    CF_INVALID(NULL, goptim_context_set_isa(NULL, GOPTIM_ISA_AUTO), NULL);
    CF_INVALID(NULL, goptim_context_isa(NULL, &isa), NULL);
    CF_INVALID(NULL, goptim_context_isa(ctx, NULL), NULL);
    CF_INVALID(NULL, goptim_context_synchronize(NULL), NULL);
    CF_INVALID(NULL, goptim_alloc(NULL, 4, &p), NULL);
    CF_INVALID(NULL, goptim_alloc(ctx, 4, NULL), NULL);
    CF_INVALID(NULL, goptim_free(NULL, NULL), NULL);
    CF_INVALID(NULL, goptim_copy_from_host(NULL, d, host, 8), NULL);
    CF_INVALID(NULL, goptim_copy_from_host(NULL, NULL, NULL, 0), NULL);
    CF_INVALID(NULL, goptim_copy_to_host(NULL, host, d, 8), NULL);
    CF_INVALID(NULL, goptim_copy_to_host(NULL, NULL, NULL, 0), NULL);
    CF_INVALID(NULL, goptim_copy(NULL, d, d + 4, 4), NULL);
    CF_INVALID(NULL, goptim_copy(NULL, NULL, NULL, 0), NULL);
    CF_INVALID(NULL, goptim_fill(NULL, d, 1.0f, 8), NULL);
    CF_INVALID(NULL, goptim_fill(NULL, NULL, 1.0f, 0), NULL);
    CF_INVALID(NULL, goptim_sgd_step(NULL, &l, &sgd, 1, NULL), NULL);
    CF_INVALID(NULL, goptim_adam_step(NULL, &l, &adam, 1, NULL), NULL);
    CF_INVALID(NULL, goptim_adagrad_step(NULL, &l, &ada, 1, NULL), NULL);
    CF_INVALID(NULL, goptim_rmsprop_step(NULL, &l, &rms, 1, NULL), NULL);
    CF_INVALID(NULL, goptim_grad_norm(NULL, &l, 2.0, d), NULL);
    CF_INVALID(NULL, goptim_clip_grad_by_norm(NULL, &l, 1.0, d), NULL);
    CF_INVALID(NULL, goptim_clip_grad_value(NULL, &l, 1.0), NULL);
    CF_INVALID(NULL, goptim_check_finite(NULL, &l, NULL, d), NULL);
    CF_INVALID(NULL, goptim_zero_grad(NULL, &l), NULL);
    CF_INVALID(NULL, goptim_sgemm(NULL, 0, 0, 2, 2, 2, 1.0f, d, 2, d, 2, 0.0f, d + 4, 2), NULL);
    CF_INVALID(NULL, goptim_sgemm(NULL, 0, 0, 0, 0, 0, 1.0f, NULL, 1, NULL, 1, 0.0f, NULL, 1), NULL);
    /* nothing was touched */
    float back[8];
    cf_get(ctx, back, d, 8);
    int zero = 1;
    for (int i = 0; i < 8; i++) zero &= cf_bits(back[i]) == 0;
    CF_CHECK(zero, "a call with a NULL context changed memory");
    CF_OK(ctx, goptim_free(ctx, d));
}

/* ================================================================ context */

static void test_context(void) {
    cf_section = "context";
    goptim_context *c = NULL;
    CF_OK(NULL, goptim_context_create(2, &c));
    if (!c) return;
    CF_CHECK(strcmp(goptim_context_last_error(c), "") == 0, "fresh context: last error \"%s\"",
             goptim_context_last_error(c));
    int32_t t = -1, t0 = -1, t1 = -1;
    CF_OK(c, goptim_context_threads(c, &t));
    /* The CPU's pool has exactly the threads asked for; the GPU backend ignores them. */
    if (dev) CF_CHECK(t >= 1, "threads %d", t);
    else CF_CHECK(t == 2, "created with 2 threads, threads() says %d", t);
    CF_OK(c, goptim_context_set_threads(c, 3));
    CF_OK(c, goptim_context_threads(c, &t));
    if (dev) CF_CHECK(t >= 1, "threads %d", t);
    else CF_CHECK(t == 3, "set_threads(3), threads() says %d", t);
    /* n <= 0: one per online CPU, whatever the sign */
    CF_OK(c, goptim_context_set_threads(c, 0));
    CF_OK(c, goptim_context_threads(c, &t0));
    CF_OK(c, goptim_context_set_threads(c, -7));
    CF_OK(c, goptim_context_threads(c, &t1));
    CF_CHECK(t0 >= 1 && t0 == t1, "set_threads(0) gives %d, set_threads(-7) gives %d", t0, t1);
    CF_OK(c, goptim_context_set_threads(c, 1));

    /* Instruction sets. */
    static const goptim_isa real[] = {GOPTIM_ISA_PORTABLE, GOPTIM_ISA_AVX2, GOPTIM_ISA_AVX512, GOPTIM_ISA_NEON};
    goptim_isa isa = (goptim_isa)-1, best = (goptim_isa)-1;
    CF_OK(c, goptim_context_isa(c, &best));
    if (dev) {
        /* The GPU backend has no CPU kernels: AUTO is all it has; every other ISA is
         * GOPTIM_ERR_UNSUPPORTED, and the context keeps reporting AUTO. */
        CF_CHECK(best == GOPTIM_ISA_AUTO, "device isa() is %d, want AUTO", (int)best);
        for (int i = 0; i < 4; i++) {
            CF_STATUS(c, goptim_context_set_isa(c, real[i]), GOPTIM_ERR_UNSUPPORTED, "set_isa");
            CF_OK(c, goptim_context_isa(c, &isa));
            CF_CHECK(isa == GOPTIM_ISA_AUTO, "device isa() is %d after set_isa(%d)", (int)isa, (int)real[i]);
        }
        CF_OK(c, goptim_context_set_isa(c, GOPTIM_ISA_AUTO));
    } else {
        /* AUTO is resolved to the best the CPU has; PORTABLE always exists; the others are
         * OK or UNSUPPORTED, and a refused one leaves the context's ISA alone. */
        CF_CHECK(best >= GOPTIM_ISA_PORTABLE && best <= GOPTIM_ISA_NEON, "cpu isa() is %d", (int)best);
        CF_OK(c, goptim_context_set_isa(c, GOPTIM_ISA_PORTABLE));
        for (int i = 0; i < 4; i++) {
            goptim_isa before;
            CF_OK(c, goptim_context_isa(c, &before));
            goptim_status st = goptim_context_set_isa(c, real[i]);
            CF_CHECK(st == GOPTIM_OK || st == GOPTIM_ERR_UNSUPPORTED, "set_isa(%d): %d", (int)real[i], (int)st);
            CF_OK(c, goptim_context_isa(c, &isa));
            if (st == GOPTIM_OK) CF_CHECK(isa == real[i], "set_isa(%d) then isa() %d", (int)real[i], (int)isa);
            else {
                CF_CHECK(isa == before, "refused set_isa(%d) changed isa() to %d", (int)real[i], (int)isa);
                CF_CHECK(goptim_context_last_error(c)[0] != 0, "refused set_isa(%d) left no detail", (int)real[i]);
            }
        }
        CF_CHECK(goptim_context_set_isa(c, GOPTIM_ISA_PORTABLE) == GOPTIM_OK, "PORTABLE refused");
        CF_OK(c, goptim_context_set_isa(c, GOPTIM_ISA_AUTO));
        CF_OK(c, goptim_context_isa(c, &isa));
        CF_CHECK(isa == best, "set_isa(AUTO) gives %d, creation gave %d", (int)isa, (int)best);
    }
    /* Unknown values are bad enum values on both backends; the ISA is unchanged. */
    const int unknown[] = {-1, 5, 99, INT_MIN, INT_MAX};
    goptim_isa before;
    CF_OK(c, goptim_context_isa(c, &before));
    for (int i = 0; i < 5; i++) {
        CF_INVALID(c, goptim_context_set_isa(c, (goptim_isa)unknown[i]), "set_isa");
        CF_OK(c, goptim_context_isa(c, &isa));
        CF_CHECK(isa == before, "set_isa(%d) changed the ISA to %d", unknown[i], (int)isa);
    }
    CF_OK(c, goptim_context_synchronize(c));
    CF_OK(NULL, goptim_context_destroy(c));

    /* threads <= 0 at creation; churn */
    for (int i = 0; i < 4; i++) {
        c = NULL;
        CF_OK(NULL, goptim_context_create(i == 0 ? -1 : i, &c));
        if (!c) continue;
        CF_OK(c, goptim_context_threads(c, &t));
        CF_CHECK(t >= 1, "threads %d", t);
        CF_OK(c, goptim_context_synchronize(c));
        CF_OK(NULL, goptim_context_destroy(c));
    }

    /* Memory of one context used by another after goptim_context_synchronize. */
    goptim_context *a = NULL, *b = NULL;
    CF_OK(NULL, goptim_context_create(1, &a));
    CF_OK(NULL, goptim_context_create(1, &b));
    if (a && b) {
        float *p = cf_dev(a, 1000), host[1000];
        CF_OK(a, goptim_fill(a, p, 0.75f, 1000));
        CF_OK(a, goptim_context_synchronize(a));
        cf_get(b, host, p, 1000);
        int ok = 1;
        for (int i = 0; i < 1000; i++) ok &= host[i] == 0.75f;
        CF_CHECK(ok, "context b does not see context a's fill after synchronize");
        CF_OK(b, goptim_context_synchronize(b));
        CF_OK(a, goptim_free(a, p));
    }
    if (a) CF_OK(NULL, goptim_context_destroy(a));
    if (b) CF_OK(NULL, goptim_context_destroy(b));
}

/* ================================================================ memory */

static void test_alloc(void) {
    cf_section = "alloc";
    const int64_t sizes[] = {0, 1, 17, 1000, ((int64_t)1 << 20) + 3};
    for (int i = 0; i < 5; i++) {
        const int64_t n = sizes[i];
        float *p = cf_dev(ctx, n);
        CF_CHECK(((uintptr_t)p & 63u) == 0, "alloc(%lld) = %p is not 64-byte aligned", (long long)n, (void *)p);
        if (n > 0) {
            float *h = cf_host(n);
            for (int64_t j = 0; j < n; j++) h[j] = 1.0f;
            cf_get(ctx, h, p, n);
            int64_t bad = -1;
            for (int64_t j = 0; j < n && bad < 0; j++)
                if (cf_bits(h[j]) != 0) bad = j;
            CF_CHECK(bad < 0, "alloc(%lld) not zero-filled at %lld", (long long)n, (long long)bad);
            free(h);
        }
        CF_OK(ctx, goptim_free(ctx, p));
    }

    /* n == 0: a valid, unique pointer that must still be freed */
    float *z0 = NULL, *z1 = NULL, *z2 = NULL;
    CF_OK(ctx, goptim_alloc(ctx, 0, &z0));
    CF_OK(ctx, goptim_alloc(ctx, 0, &z1));
    CF_OK(ctx, goptim_alloc(ctx, 0, &z2));
    CF_CHECK(z0 && z1 && z2 && z0 != z1 && z1 != z2 && z0 != z2, "zero-length allocations %p %p %p", (void *)z0,
             (void *)z1, (void *)z2);
    float h = 3.0f;
    CF_OK(ctx, goptim_copy_from_host(ctx, z0, &h, 0));
    CF_OK(ctx, goptim_copy_to_host(ctx, &h, z0, 0));
    CF_OK(ctx, goptim_copy(ctx, z0, z1, 0));
    CF_OK(ctx, goptim_fill(ctx, z0, 1.0f, 0));
    CF_OK(ctx, goptim_free(ctx, z0));
    CF_OK(ctx, goptim_free(ctx, z1));
    CF_OK(ctx, goptim_free(ctx, z2));
    CF_OK(ctx, goptim_free(ctx, NULL));

    /* n < 0: invalid; *out is NULL after any failure */
    const int64_t negative[] = {-1, -16, INT64_MIN};
    for (int i = 0; i < 3; i++) {
        float *p = (float *)(uintptr_t)0x40;
        CF_INVALID(ctx, goptim_alloc(ctx, negative[i], &p), "negative");
        CF_CHECK(p == NULL, "alloc(%lld) failed but left *out = %p", (long long)negative[i], (void *)p);
    }
    /* Sizes no allocation can satisfy: out of memory on every backend, whether the byte
     * count overflows (2^62 floats, INT64_MAX) or is merely beyond any memory (2^60). */
    const int64_t huge[] = {(int64_t)1 << 62, INT64_MAX, ((int64_t)1 << 62) + 12345, (int64_t)1 << 60};
    for (int i = 0; i < 4; i++) {
        float *p = (float *)(uintptr_t)0x40;
        CF_STATUS(ctx, goptim_alloc(ctx, huge[i], &p), GOPTIM_ERR_OUT_OF_MEMORY, "alloc");
        CF_CHECK(p == NULL, "alloc(%lld) failed but left *out = %p", (long long)huge[i], (void *)p);
    }
    /* the context is still usable */
    float *p = cf_dev(ctx, 4);
    CF_OK(ctx, goptim_fill(ctx, p, 2.0f, 4));
    CF_CHECK(cf_get1(ctx, p + 3) == 2.0f, "context unusable after failed allocations");
    CF_OK(ctx, goptim_free(ctx, p));
}

/* memmove on the host model, goptim_copy on the backend; whole buffers compared */
static void overlap_case(int64_t len, int64_t dst_off, int64_t src_off) {
    const int64_t total = len + (dst_off > src_off ? dst_off : src_off);
    float *h = cf_host(total), *back = cf_host(total);
    for (int64_t i = 0; i < total; i++) h[i] = (float)i + 0.5f;
    float *d = cf_dev(ctx, total);
    cf_put(ctx, d, h, total);
    CF_OK(ctx, goptim_copy(ctx, d + dst_off, d + src_off, len));
    memmove(h + dst_off, h + src_off, (size_t)len * sizeof(float));
    cf_get(ctx, back, d, total);
    int64_t where = 0;
    CF_CHECK(cf_same_bits(h, back, total, &where),
             "copy of %lld floats from offset %lld to %lld is not memmove's: element %lld is %.9g, want %.9g",
             (long long)len, (long long)src_off, (long long)dst_off, (long long)where, back[where], h[where]);
    CF_OK(ctx, goptim_free(ctx, d));
    free(h);
    free(back);
}

static void test_copy_fill(void) {
    cf_section = "copy, fill";
    const int64_t n = 1000;
    float *a = cf_dev(ctx, n), *b = cf_dev(ctx, n), *h = cf_host(n), *back = cf_host(n);
    cf_rng r = {1};
    cf_fill_random(&r, h, n, -10, 10);
    h[7] = -0.0f;
    h[8] = INFINITY;
    h[9] = NAN;
    cf_put(ctx, a, h, n);
    cf_get(ctx, back, a, n);
    int64_t where = 0;
    CF_CHECK(cf_same_bits(h, back, n, &where), "round trip differs at %lld", (long long)where);
    CF_OK(ctx, goptim_copy(ctx, b, a, n));
    cf_get(ctx, back, b, n);
    CF_CHECK(cf_same_bits(h, back, n, &where), "goptim_copy differs at %lld", (long long)where);
    CF_OK(ctx, goptim_copy(ctx, b, b, n)); /* dst == src: nothing to do */
    cf_get(ctx, back, b, n);
    CF_CHECK(cf_same_bits(h, back, n, &where), "copy onto itself changed element %lld", (long long)where);
    /* partial ranges at unaligned offsets */
    CF_OK(ctx, goptim_copy_from_host(ctx, b + 3, h + 500, 101));
    CF_OK(ctx, goptim_copy_to_host(ctx, back, b + 3, 101));
    CF_CHECK(cf_same_bits(h + 500, back, 101, &where), "offset round trip differs at %lld", (long long)where);

    /* zero lengths do nothing, NULL pointers included */
    CF_OK(ctx, goptim_copy_from_host(ctx, NULL, NULL, 0));
    CF_OK(ctx, goptim_copy_to_host(ctx, NULL, NULL, 0));
    CF_OK(ctx, goptim_copy(ctx, NULL, NULL, 0));
    CF_OK(ctx, goptim_fill(ctx, NULL, 1.0f, 0));
    /* negative lengths */
    const int64_t neg[] = {-1, INT64_MIN};
    for (int i = 0; i < 2; i++) {
        CF_INVALID(ctx, goptim_copy_from_host(ctx, a, h, neg[i]), "copy_from_host");
        CF_INVALID(ctx, goptim_copy_to_host(ctx, back, a, neg[i]), "copy_to_host");
        CF_INVALID(ctx, goptim_copy(ctx, b, a, neg[i]), "copy");
        CF_INVALID(ctx, goptim_fill(ctx, a, 1.0f, neg[i]), "fill");
    }
    /* NULL pointers with n > 0 */
    CF_INVALID(ctx, goptim_copy_from_host(ctx, NULL, h, 4), "copy_from_host");
    CF_INVALID(ctx, goptim_copy_from_host(ctx, a, NULL, 4), "copy_from_host");
    CF_INVALID(ctx, goptim_copy_to_host(ctx, NULL, a, 4), "copy_to_host");
    CF_INVALID(ctx, goptim_copy_to_host(ctx, back, NULL, 4), "copy_to_host");
    CF_INVALID(ctx, goptim_copy(ctx, NULL, a, 4), "copy");
    CF_INVALID(ctx, goptim_copy(ctx, b, NULL, 4), "copy");
    CF_INVALID(ctx, goptim_fill(ctx, NULL, 1.0f, 4), "fill");
    CF_INVALID(ctx, goptim_copy(ctx, NULL, NULL, 4), "copy");
    /* lengths whose byte count overflows: refused before any pointer is looked at */
    const int64_t too_long[] = {(int64_t)1 << 62, INT64_MAX, ((int64_t)1 << 62) + 3};
    for (int i = 0; i < 3; i++) {
        CF_INVALID(ctx, goptim_copy(ctx, b, a, too_long[i]), "copy");
        CF_INVALID(ctx, goptim_copy(ctx, a, a, too_long[i]), "copy");
        CF_INVALID(ctx, goptim_fill(ctx, a, 1.0f, too_long[i]), "fill");
        CF_INVALID(ctx, goptim_fill(ctx, a, 0.0f, too_long[i]), "fill");
        CF_INVALID(ctx, goptim_copy_from_host(ctx, a, h, too_long[i]), "copy_from_host");
        CF_INVALID(ctx, goptim_copy_to_host(ctx, back, a, too_long[i]), "copy_to_host");
    }
    /* nothing above changed a or b */
    cf_get(ctx, back, a, n);
    CF_CHECK(cf_same_bits(h, back, n, &where), "a failed call changed a at %lld", (long long)where);

    /* overlapping goptim_copy is memmove, in both directions, near and far */
    const int64_t shifts[] = {1, 3, 4, 250, 999};
    for (int i = 0; i < 5; i++) {
        overlap_case(1000, shifts[i], 0); /* dst above src: back to front */
        overlap_case(1000, 0, shifts[i]); /* dst below src: front to back */
    }
    /* long ranges close together (more than 16 MiB, a few floats apart) */
    overlap_case(((int64_t)5 << 20) + 3, 5, 0);
    overlap_case(((int64_t)5 << 20) + 3, 0, 5);
    overlap_case(((int64_t)1 << 20), (int64_t)1 << 18, 0);

    /* fill: every element of the range, nothing outside it, the value's exact bits */
    CF_OK(ctx, goptim_fill(ctx, a, 2.5f, n));
    CF_OK(ctx, goptim_fill(ctx, a + 3, -0.0f, 10));
    CF_OK(ctx, goptim_fill(ctx, a + 20, NAN, 5));
    CF_OK(ctx, goptim_fill(ctx, a + 30, -INFINITY, 7));
    CF_OK(ctx, goptim_fill(ctx, a + 40, 0.0f, 9));
    CF_OK(ctx, goptim_fill(ctx, a + 60, FLT_MIN / 4, 3)); /* subnormal */
    cf_get(ctx, back, a, n);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        float want = 2.5f;
        if (i >= 3 && i < 13) want = -0.0f;
        else if (i >= 30 && i < 37) want = -INFINITY;
        else if (i >= 40 && i < 49) want = 0.0f;
        else if (i >= 60 && i < 63) want = FLT_MIN / 4;
        if (i >= 20 && i < 25) ok &= isnan(back[i]);
        else ok &= cf_bits(back[i]) == cf_bits(want);
        if (!ok) {
            CF_CHECK(ok, "fill: element %lld is %.9g (bits %08x), want %.9g", (long long)i, back[i],
                     (unsigned)cf_bits(back[i]), want);
            break;
        }
    }
    const int64_t big = ((int64_t)1 << 20) + 5;
    float *c = cf_dev(ctx, big + 2), *hb = cf_host(big + 2);
    CF_OK(ctx, goptim_fill(ctx, c + 1, 1.5f, big));
    cf_get(ctx, hb, c, big + 2);
    ok = hb[0] == 0.0f && hb[big + 1] == 0.0f;
    for (int64_t i = 1; i <= big; i++) ok &= hb[i] == 1.5f;
    CF_CHECK(ok, "fill of %lld floats at an unaligned start", (long long)big);
    CF_OK(ctx, goptim_free(ctx, c));
    free(hb);

    CF_OK(ctx, goptim_free(ctx, a));
    CF_OK(ctx, goptim_free(ctx, b));
    free(h);
    free(back);
}

/* ================================================================ tensor list validation */

/* backend scalars shared by the list ops below */
static float *s_out, *s_norm, *s_found, *s_inv, *s_norms;

typedef struct {
    const char *name; /* also the word both backends' details contain */
    int need_param;
    unsigned state_mask; /* bit k: state[k] array needed */
    int kind;            /* 0 step, 1 grad op */
    goptim_status (*call)(const goptim_tensor_list *l, int64_t step, int variant);
} list_op;

static const goptim_sgd_params v_sgd = {.lr = 0.01};
static const goptim_sgd_params v_sgd_mom = {.lr = 0.01, .momentum = 0.9};
static const goptim_adam_params v_adam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
static const goptim_adam_params v_adam_ams = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .amsgrad = 1};
static const goptim_adagrad_params v_ada = {.lr = 1e-2, .eps = 1e-10};
static const goptim_rmsprop_params v_rms = {.lr = 1e-2, .alpha = 0.99, .eps = 1e-8};
static const goptim_rmsprop_params v_rms_mom = {.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .momentum = 0.5};
static const goptim_rmsprop_params v_rms_cent = {.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .centered = 1};
static const goptim_rmsprop_params v_rms_all = {.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .momentum = 0.5, .centered = 1};
/* momentum <= 0 means no momentum buffer for RMSprop (momentum > 0 in goptim.h) */
static const goptim_rmsprop_params v_rms_negmom = {.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .momentum = -0.5};

static const goptim_adamax_params v_adamax = {.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
static const goptim_radam_params v_radam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
static const goptim_adadelta_params v_adadelta = {.lr = 1.0, .rho = 0.9, .eps = 1e-6};
static const goptim_rprop_params v_rprop = {.lr = 1e-2, .etaminus = 0.5, .etaplus = 1.2, .step_size_min = 1e-6,
                                            .step_size_max = 50};
static const goptim_nadam_params v_nadam = {.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                            .momentum_decay = 4e-3, .mu_product = 1};
static const goptim_asgd_params v_asgd = {.lr = 1e-2, .lambd = 1e-4, .alpha = 0.75, .t0 = 1e6, .eta = 1e-2, .mu = 1};
static const goptim_lion_params v_lion = {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.99};
static const goptim_ademamix_params v_ademamix = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .beta3 = 0.9999,
                                                  .alpha = 2, .eps = 1e-8};
static const goptim_ademamix_params v_ademamix_nofast = {.lr = 1e-3, .beta2 = 0.999, .beta3 = 0.9999, .alpha = 2,
                                                         .eps = 1e-8};

static const goptim_lamb_params v_lamb_noclip = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6,
                                                 .weight_decay = 0.01, .bias_correction = 1, .grad_averaging = 1,
                                                 .adam_w_mode = 1};
static const goptim_schedulefree_adamw_params v_sf = {.lr = 2.5e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                                       .weight_decay = 0.01, .weight_lr_power = 2, .warmup_steps = 3,
                                                       .lr_max = -1};
static const goptim_lars_params v_lars = {.lr = 0.1, .trust_coefficient = 0.02, .eps = 1e-8, .clip = 1};
static const goptim_lars_params v_lars_mom = {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4,
                                              .trust_coefficient = 0.02, .eps = 1e-8, .nesterov = 1};

/* hp: NULL hyperparameters when variant == 1 */
#define STEP_CALL(fn, hp) fn(ctx, l, variant == 1 ? NULL : &(hp), step, NULL)
static goptim_status c_sgd(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_sgd_step, v_sgd); }
static goptim_status c_sgd_mom(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_sgd_step, v_sgd_mom); }
static goptim_status c_adam(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_adam_step, v_adam); }
static goptim_status c_adam_ams(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_adam_step, v_adam_ams); }
static goptim_status c_ada(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_adagrad_step, v_ada); }
static goptim_status c_rms(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_rmsprop_step, v_rms); }
static goptim_status c_rms_mom(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_rmsprop_step, v_rms_mom); }
static goptim_status c_rms_cent(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_rmsprop_step, v_rms_cent); }
static goptim_status c_rms_all(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_rmsprop_step, v_rms_all); }
static goptim_status c_rms_negmom(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_rmsprop_step, v_rms_negmom); }
static goptim_status c_adamax(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_adamax_step, v_adamax); }
static goptim_status c_radam(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_radam_step, v_radam); }
static goptim_status c_adadelta(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_adadelta_step, v_adadelta); }
static goptim_status c_rprop(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_rprop_step, v_rprop); }
static goptim_status c_nadam(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_nadam_step, v_nadam); }
static goptim_status c_asgd(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_asgd_step, v_asgd); }
static goptim_status c_lion(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_lion_step, v_lion); }
static goptim_status c_ademamix(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_ademamix_step, v_ademamix); }
static goptim_status c_ademamix_nofast(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_ademamix_step, v_ademamix_nofast); }
/* LAMB clipping by the global norm s_norm (backend memory, set at run time) */
static goptim_status c_lamb(const goptim_tensor_list *l, int64_t step, int variant) {
    goptim_lamb_params hp = v_lamb_noclip;
    hp.max_grad_norm = 1.0;
    hp.global_grad_norm = s_norm;
    return STEP_CALL(goptim_lamb_step, hp);
}
static goptim_status c_lamb_noclip(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_lamb_step, v_lamb_noclip); }
static goptim_status c_sf(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_schedulefree_adamw_step, v_sf); }
/* per-tensor norms of the two-tensor fixture: s_norms holds l2[2] then inf[2] */
static goptim_status c_gradnorms(const goptim_tensor_list *l, int64_t step, int variant) {
    (void)step;
    return goptim_grad_norms(ctx, l, variant == 1 ? NULL : s_norms, variant == 1 ? NULL : s_norms + 2);
}
static goptim_status c_lars(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_lars_step, v_lars); }
static goptim_status c_lars_mom(const goptim_tensor_list *l, int64_t step, int variant) { return STEP_CALL(goptim_lars_step, v_lars_mom); }
/* variant 1: the op's own output/input scalar is NULL */
static goptim_status c_norm2(const goptim_tensor_list *l, int64_t step, int variant) {
    (void)step;
    return goptim_grad_norm(ctx, l, 2.0, variant == 1 ? NULL : s_out);
}
static goptim_status c_norminf(const goptim_tensor_list *l, int64_t step, int variant) {
    (void)step;
    return goptim_grad_norm(ctx, l, INFINITY, variant == 1 ? NULL : s_out);
}
static goptim_status c_clipnorm(const goptim_tensor_list *l, int64_t step, int variant) {
    (void)step;
    return goptim_clip_grad_by_norm(ctx, l, 1.0, variant == 1 ? NULL : s_norm);
}
static goptim_status c_clipvalue(const goptim_tensor_list *l, int64_t step, int variant) {
    (void)step;
    (void)variant;
    return goptim_clip_grad_value(ctx, l, 1.0);
}
static goptim_status c_finite(const goptim_tensor_list *l, int64_t step, int variant) {
    (void)step;
    return goptim_check_finite(ctx, l, NULL, variant == 1 ? NULL : s_found);
}
static goptim_status c_finite_unscale(const goptim_tensor_list *l, int64_t step, int variant) {
    (void)step;
    return goptim_check_finite(ctx, l, s_inv, variant == 1 ? NULL : s_found);
}
static goptim_status c_zero(const goptim_tensor_list *l, int64_t step, int variant) {
    (void)step;
    (void)variant;
    return goptim_zero_grad(ctx, l);
}

static const list_op list_ops[] = {
    {"sgd_step", 1, 0u, 0, c_sgd},
    {"sgd_step", 1, 1u, 0, c_sgd_mom},
    {"adam_step", 1, 3u, 0, c_adam},
    {"adam_step", 1, 7u, 0, c_adam_ams},
    {"adagrad_step", 1, 1u, 0, c_ada},
    {"rmsprop_step", 1, 1u, 0, c_rms},
    {"rmsprop_step", 1, 3u, 0, c_rms_mom},
    {"rmsprop_step", 1, 5u, 0, c_rms_cent},
    {"rmsprop_step", 1, 7u, 0, c_rms_all},
    {"rmsprop_step", 1, 1u, 0, c_rms_negmom},
    {"adamax_step", 1, 3u, 0, c_adamax},
    {"radam_step", 1, 3u, 0, c_radam},
    {"adadelta_step", 1, 3u, 0, c_adadelta},
    {"rprop_step", 1, 3u, 0, c_rprop},
    {"nadam_step", 1, 3u, 0, c_nadam},
    {"asgd_step", 1, 1u, 0, c_asgd},
    {"lion_step", 1, 1u, 0, c_lion},
    {"ademamix_step", 1, 7u, 0, c_ademamix},
    {"ademamix_step", 1, 6u, 0, c_ademamix_nofast},
    {"lamb_step", 1, 3u, 0, c_lamb},
    {"lamb_step", 1, 3u, 0, c_lamb_noclip},
    {"lars_step", 1, 0u, 0, c_lars},
    {"schedulefree_adamw_step", 1, 3u, 0, c_sf},
    {"grad_norms", 0, 0u, 1, c_gradnorms},
    {"lars_step", 1, 1u, 0, c_lars_mom},
    {"grad_norm", 0, 0u, 1, c_norm2},
    {"grad_norm", 0, 0u, 1, c_norminf},
    {"clip_grad_by_norm", 0, 0u, 1, c_clipnorm},
    {"clip_grad_value", 0, 0u, 2, c_clipvalue},
    {"check_finite", 0, 0u, 1, c_finite},
    {"check_finite", 0, 0u, 1, c_finite_unscale},
    {"zero_grad", 0, 0u, 2, c_zero},
};
#define NLISTOPS ((int)(sizeof list_ops / sizeof list_ops[0]))

/* Two tensors (5 and 3 elements) with every slot in backend memory, and a mutable copy
 * of the arrays for each variant. */
typedef struct {
    int64_t numel[2];
    float *param[2], *grad[2], *state[3][2];
} lfix;

static void lfix_reset(lfix *f, const lfix *base) { *f = *base; }

static goptim_tensor_list lfix_list(lfix *f) {
    goptim_tensor_list l = {2, f->numel, f->param, f->grad, {f->state[0], f->state[1], f->state[2]}};
    return l;
}

static const char *const state_word[3] = {"state[0]", "state[1]", "state[2]"};

static void check_list_op(const list_op *op, const lfix *base, int oi) {
    char sect[96];
    snprintf(sect, sizeof sect, "list validation: %s (op %d)", op->name, oi);
    cf_section = sect;
    const char *w = op->name;
    const int64_t step = 2;
    lfix f;
    goptim_tensor_list l;
#define FRESH() (lfix_reset(&f, base), l = lfix_list(&f))

    FRESH();
    CF_OK(ctx, op->call(&l, step, 0));
    CF_INVALID(ctx, op->call(NULL, step, 0), w);
    FRESH();
    l.count = -1;
    CF_INVALID(ctx, op->call(&l, step, 0), "count");
    l.count = INT64_MIN;
    CF_INVALID(ctx, op->call(&l, step, 0), "count");
    FRESH();
    l.numel = NULL;
    CF_INVALID(ctx, op->call(&l, step, 0), "numel");
    FRESH();
    l.grad = NULL;
    CF_INVALID(ctx, op->call(&l, step, 0), "grad");
    FRESH();
    l.param = NULL;
    CF_STATUS(ctx, op->call(&l, step, 0), op->need_param ? GOPTIM_ERR_INVALID_ARGUMENT : GOPTIM_OK, "param");
    for (int k = 0; k < 3; k++) {
        FRESH();
        l.state[k] = NULL;
        CF_STATUS(ctx, op->call(&l, step, 0), (op->state_mask >> k & 1u) ? GOPTIM_ERR_INVALID_ARGUMENT : GOPTIM_OK,
                  state_word[k]);
    }
    /* everything NULL but what the op needs */
    FRESH();
    if (!op->need_param) l.param = NULL;
    for (int k = 0; k < 3; k++)
        if (!(op->state_mask >> k & 1u)) l.state[k] = NULL;
    CF_OK(ctx, op->call(&l, step, 0));
    /* per-tensor entries */
    FRESH();
    f.numel[1] = -1;
    CF_INVALID(ctx, op->call(&l, step, 0), "numel");
    FRESH();
    f.numel[0] = INT64_MIN;
    CF_INVALID(ctx, op->call(&l, step, 0), "numel");
    FRESH();
    f.grad[1] = NULL;
    CF_INVALID(ctx, op->call(&l, step, 0), "grad");
    FRESH();
    f.param[1] = NULL;
    CF_STATUS(ctx, op->call(&l, step, 0), op->need_param ? GOPTIM_ERR_INVALID_ARGUMENT : GOPTIM_OK, "param");
    for (int k = 0; k < 3; k++) {
        FRESH();
        f.state[k][1] = NULL;
        CF_STATUS(ctx, op->call(&l, step, 0), (op->state_mask >> k & 1u) ? GOPTIM_ERR_INVALID_ARGUMENT : GOPTIM_OK,
                  state_word[k]);
    }
    /* an empty tensor needs no pointers at all */
    FRESH();
    f.numel[1] = 0;
    f.param[1] = f.grad[1] = NULL;
    for (int k = 0; k < 3; k++) f.state[k][1] = NULL;
    CF_OK(ctx, op->call(&l, step, 0));
    FRESH();
    f.numel[0] = f.numel[1] = 0;
    f.param[0] = f.grad[0] = f.param[1] = f.grad[1] = NULL;
    for (int k = 0; k < 3; k++) f.state[k][0] = f.state[k][1] = NULL;
    CF_OK(ctx, op->call(&l, step, 0));
    /* an empty list needs no arrays at all */
    goptim_tensor_list empty;
    memset(&empty, 0, sizeof empty);
    CF_OK(ctx, op->call(&empty, step, 0));
    FRESH();
    l.count = 1;
    CF_OK(ctx, op->call(&l, step, 0));

    /* the op's own arguments */
    FRESH();
    if (op->kind == 0) {
        CF_INVALID(ctx, op->call(&l, step, 1), w); /* NULL hyperparameters */
        const int64_t bad_steps[] = {0, -1, INT64_MIN};
        for (int i = 0; i < 3; i++) CF_INVALID(ctx, op->call(&l, bad_steps[i], 0), "step");
        CF_OK(ctx, op->call(&l, 1, 0));
        CF_OK(ctx, op->call(&l, INT32_MAX + (int64_t)7, 0));
    } else if (op->kind == 1) {
        CF_INVALID(ctx, op->call(&l, step, 1), w); /* NULL out_norm / norm / found_inf */
        CF_INVALID(ctx, op->call(NULL, step, 1), w);
    }
#undef FRESH
}

static void test_list_validation(void) {
    lfix base;
    cf_rng r = {7};
    float h[8];
    base.numel[0] = 5;
    base.numel[1] = 3;
    for (int t = 0; t < 2; t++) {
        base.param[t] = cf_dev(ctx, 8);
        base.grad[t] = cf_dev(ctx, 8);
        cf_fill_random(&r, h, 8, -1, 1);
        cf_put(ctx, base.param[t], h, 8);
        cf_fill_random(&r, h, 8, -1, 1);
        cf_put(ctx, base.grad[t], h, 8);
        for (int k = 0; k < 3; k++) {
            base.state[k][t] = cf_dev(ctx, 8);
            CF_OK(ctx, goptim_fill(ctx, base.state[k][t], 0.25f, 8));
        }
    }
    s_out = cf_dev(ctx, 1);
    s_norm = cf_dev(ctx, 1);
    s_found = cf_dev(ctx, 1);
    s_inv = cf_dev(ctx, 1);
    s_norms = cf_dev(ctx, 4);
    cf_put1(ctx, s_norm, 10.0f);
    cf_put1(ctx, s_inv, 1.0f);
    for (int i = 0; i < NLISTOPS; i++) check_list_op(&list_ops[i], &base, i);

    /* element counts no list can have: the total overflows int64 (refused before any
     * element is touched) */
    cf_section = "list validation: total element count";
    for (int i = 0; i < NLISTOPS; i++) {
        int64_t numel[3] = {(int64_t)1 << 62, (int64_t)1 << 62, (int64_t)1 << 62};
        float *ptr[3] = {base.param[0], base.param[0], base.param[0]};
        goptim_tensor_list l = {3, numel, ptr, ptr, {ptr, ptr, ptr}};
        CF_STATUS(ctx, list_ops[i].call(&l, 2, 0), GOPTIM_ERR_INVALID_ARGUMENT, (const char *)NULL);
    }
    {
        int64_t numel[2] = {INT64_MAX, 1};
        float *ptr[2] = {base.grad[0], base.grad[1]};
        goptim_tensor_list l = {2, numel, NULL, ptr, {NULL, NULL, NULL}};
        /* the first numel's chunk count is taken before the sum overflows: it must not
         * overflow itself */
        CF_STATUS(ctx, goptim_zero_grad(ctx, &l), GOPTIM_ERR_INVALID_ARGUMENT, (const char *)NULL);
    }

    cf_section = "lamb_step: global_grad_norm";
    {
        lfix f = base;
        goptim_tensor_list l = lfix_list(&f);
        goptim_lamb_params hp = v_lamb_noclip;
        hp.max_grad_norm = 1.0; /* clipping on, no norm to clip by */
        CF_INVALID(ctx, goptim_lamb_step(ctx, &l, &hp, 2, NULL), "global_grad_norm");
        hp.global_grad_norm = s_norm;
        CF_OK(ctx, goptim_lamb_step(ctx, &l, &hp, 2, NULL));
    }

    cf_section = "lerp_state: arguments";
    {
        /* it reads param and state[slot] only: grad and the other states may be NULL */
        for (int slot = 0; slot < 3; slot++) {
            lfix f = base;
            goptim_tensor_list l = lfix_list(&f);
            l.grad = NULL;
            for (int k = 0; k < 3; k++)
                if (k != slot) l.state[k] = NULL;
            CF_OK(ctx, goptim_lerp_state(ctx, &l, slot, 0.1));
            CF_OK(ctx, goptim_lerp_state(ctx, &l, slot, -0.25));
            f.state[slot][1] = NULL;
            CF_INVALID(ctx, goptim_lerp_state(ctx, &l, slot, 0.1), "state");
            f = base;
            l = lfix_list(&f);
            f.param[0] = NULL;
            CF_INVALID(ctx, goptim_lerp_state(ctx, &l, slot, 0.1), "param");
        }
        lfix f = base;
        goptim_tensor_list l = lfix_list(&f);
        const int32_t bad_slots[] = {-1, 3, INT32_MIN, INT32_MAX};
        for (int i = 0; i < 4; i++) CF_INVALID(ctx, goptim_lerp_state(ctx, &l, bad_slots[i], 0.1), "slot");
        CF_INVALID(ctx, goptim_lerp_state(ctx, NULL, 0, 0.1), "lerp_state");
        goptim_tensor_list empty;
        memset(&empty, 0, sizeof empty);
        CF_OK(ctx, goptim_lerp_state(ctx, &empty, 0, 0.1));
    }

    cf_section = "grad_norm: norm_type";
    lfix f = base;
    goptim_tensor_list l = lfix_list(&f);
    const double bad_types[] = {0.0, 1.0, 3.0, 2.5, -2.0, nextafter(2.0, 3.0), nextafter(2.0, 1.0), -INFINITY, NAN, DBL_MAX, -0.0};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++)
        CF_INVALID(ctx, goptim_grad_norm(ctx, &l, bad_types[i], s_out), "norm_type");
    CF_OK(ctx, goptim_grad_norm(ctx, &l, 2.0, s_out));
    CF_OK(ctx, goptim_grad_norm(ctx, &l, INFINITY, s_out));
    /* a bad norm_type is refused whatever the list */
    goptim_tensor_list empty;
    memset(&empty, 0, sizeof empty);
    CF_INVALID(ctx, goptim_grad_norm(ctx, &empty, 1.0, s_out), "norm_type");

    for (int t = 0; t < 2; t++) {
        CF_OK(ctx, goptim_free(ctx, base.param[t]));
        CF_OK(ctx, goptim_free(ctx, base.grad[t]));
        for (int k = 0; k < 3; k++) CF_OK(ctx, goptim_free(ctx, base.state[k][t]));
    }
    CF_OK(ctx, goptim_free(ctx, s_out));
    CF_OK(ctx, goptim_free(ctx, s_norm));
    CF_OK(ctx, goptim_free(ctx, s_found));
    CF_OK(ctx, goptim_free(ctx, s_inv));
    CF_OK(ctx, goptim_free(ctx, s_norms));
}

/* ================================================================ gradient utilities */

/* A list of tensors carved out of one arena at unaligned offsets; host mirrors. */
#define GL_MAX 4
typedef struct {
    int count;
    int64_t numel[GL_MAX], off[GL_MAX], total, arena_len;
    float *arena;             /* grad arena (backend) */
    float *ptr[GL_MAX];       /* grad pointers into it */
    goptim_tensor_list l;
} glist;

static void glist_init(glist *g, int count, const int64_t *numel) {
    memset(g, 0, sizeof *g);
    g->count = count;
    int64_t at = 0;
    for (int i = 0; i < count; i++) {
        at += 1 + i; /* gaps, so starts are unaligned and tensors are apart */
        g->numel[i] = numel[i];
        g->off[i] = at;
        at += numel[i];
        g->total += numel[i];
    }
    g->arena_len = at + 3;
    g->arena = cf_dev(ctx, g->arena_len);
    for (int i = 0; i < count; i++) g->ptr[i] = g->arena + g->off[i];
    g->l.count = count;
    g->l.numel = g->numel;
    g->l.param = NULL; /* gradient utilities read grads only */
    g->l.grad = g->ptr;
}

static void glist_free(glist *g) { CF_OK(ctx, goptim_free(ctx, g->arena)); }

/* the arena's contents, sentinel gaps included */
static void glist_put(glist *g, const float *h) { cf_put(ctx, g->arena, h, g->arena_len); }
static void glist_get(glist *g, float *h) { cf_get(ctx, h, g->arena, g->arena_len); }

/* arena index of element j of the list (concatenated order) */
static int64_t glist_at(const glist *g, int64_t j) {
    for (int i = 0; i < g->count; i++) {
        if (j < g->numel[i]) return g->off[i] + j;
        j -= g->numel[i];
    }
    return -1;
}

static void test_grad_norm(void) {
    cf_section = "grad_norm";
    const int64_t numel[] = {1, 1000, 0, 40000};
    glist g;
    glist_init(&g, 4, numel);
    float *h = cf_host(g.arena_len);
    cf_rng r = {11};
    for (int64_t i = 0; i < g.arena_len; i++) h[i] = 1e6f; /* gaps: must not be read */
    double sq = 0, mx = 0;
    for (int64_t j = 0; j < g.total; j++) {
        float x = cf_uniform(&r, -4, 4);
        h[glist_at(&g, j)] = x;
        sq += (double)x * x;
        if (fabs((double)x) > mx) mx = fabs((double)x);
    }
    glist_put(&g, h);
    float *out = cf_dev(ctx, 1);
    CF_OK(ctx, goptim_grad_norm(ctx, &g.l, 2.0, out));
    float got = cf_get1(ctx, out);
    CF_CHECK(fabs(got - sqrt(sq)) <= 1e-6 * sqrt(sq), "L2 norm %.9g, want %.9g", got, sqrt(sq));
    CF_OK(ctx, goptim_grad_norm(ctx, &g.l, INFINITY, out));
    got = cf_get1(ctx, out);
    CF_CHECK(got == (float)mx, "inf norm %.9g, want %.9g", got, mx);
    /* grads are not changed by a norm */
    float *back = cf_host(g.arena_len);
    glist_get(&g, back);
    int64_t where = 0;
    CF_CHECK(cf_same_bits(h, back, g.arena_len, &where), "grad_norm changed element %lld", (long long)where);

    /* all ones: exact whatever the order */
    float *ones = cf_dev(ctx, 50000);
    CF_OK(ctx, goptim_fill(ctx, ones, 1.0f, 50000));
    int64_t n1 = 50000;
    float *p1[1] = {ones};
    goptim_tensor_list l1 = {1, &n1, NULL, p1, {NULL, NULL, NULL}};
    CF_OK(ctx, goptim_grad_norm(ctx, &l1, 2.0, out));
    CF_CHECK(cf_get1(ctx, out) == (float)sqrt(50000.0), "L2 of 50000 ones: %.9g", cf_get1(ctx, out));
    CF_OK(ctx, goptim_grad_norm(ctx, &l1, INFINITY, out));
    CF_CHECK(cf_get1(ctx, out) == 1.0f, "inf norm of ones: %.9g", cf_get1(ctx, out));
    /* Inf and NaN propagate */
    cf_put1(ctx, ones + 40000, -INFINITY);
    CF_OK(ctx, goptim_grad_norm(ctx, &l1, 2.0, out));
    got = cf_get1(ctx, out);
    CF_CHECK(isinf(got) && got > 0, "L2 with -Inf: %.9g", got);
    CF_OK(ctx, goptim_grad_norm(ctx, &l1, INFINITY, out));
    got = cf_get1(ctx, out);
    CF_CHECK(isinf(got) && got > 0, "inf norm with -Inf: %.9g", got);
    cf_put1(ctx, ones + 3, NAN);
    CF_OK(ctx, goptim_grad_norm(ctx, &l1, 2.0, out));
    CF_CHECK(isnan(cf_get1(ctx, out)), "L2 with NaN and Inf: %.9g", cf_get1(ctx, out));
    CF_OK(ctx, goptim_grad_norm(ctx, &l1, INFINITY, out));
    CF_CHECK(isnan(cf_get1(ctx, out)), "inf norm with NaN and Inf: %.9g", cf_get1(ctx, out));
    cf_put1(ctx, ones + 40000, 1.0f);
    CF_OK(ctx, goptim_grad_norm(ctx, &l1, INFINITY, out));
    CF_CHECK(isnan(cf_get1(ctx, out)), "inf norm with NaN: %.9g", cf_get1(ctx, out));
    /* an empty list, or one of empty tensors, gives 0 */
    goptim_tensor_list empty;
    memset(&empty, 0, sizeof empty);
    cf_put1(ctx, out, 5.0f);
    CF_OK(ctx, goptim_grad_norm(ctx, &empty, 2.0, out));
    CF_CHECK(cf_bits(cf_get1(ctx, out)) == 0, "empty list L2: %.9g", cf_get1(ctx, out));
    cf_put1(ctx, out, 5.0f);
    CF_OK(ctx, goptim_grad_norm(ctx, &empty, INFINITY, out));
    CF_CHECK(cf_bits(cf_get1(ctx, out)) == 0, "empty list inf: %.9g", cf_get1(ctx, out));
    int64_t zn[2] = {0, 0};
    float *zp[2] = {NULL, NULL};
    goptim_tensor_list zl = {2, zn, NULL, zp, {NULL, NULL, NULL}};
    cf_put1(ctx, out, 5.0f);
    CF_OK(ctx, goptim_grad_norm(ctx, &zl, 2.0, out));
    CF_CHECK(cf_bits(cf_get1(ctx, out)) == 0, "list of empty tensors: %.9g", cf_get1(ctx, out));

    CF_OK(ctx, goptim_free(ctx, ones));
    CF_OK(ctx, goptim_free(ctx, out));
    glist_free(&g);
    free(h);
    free(back);
}

static void test_clip_value(void) {
    cf_section = "clip_grad_value";
    const float special[] = {-3.0f, -0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 2.0f, INFINITY, -INFINITY, NAN, 0.4999f, -1e30f};
    const int ns = (int)(sizeof special / sizeof special[0]);
    const int64_t numel[] = {ns, 7, 20000};
    glist g;
    glist_init(&g, 3, numel);
    float *h = cf_host(g.arena_len), *back = cf_host(g.arena_len);
    cf_rng r = {13};
    const double clips[] = {0.5, 0.0, 1e10, -0.5};
    for (int ci = 0; ci < 4; ci++) {
        const double clip = clips[ci];
        for (int64_t i = 0; i < g.arena_len; i++) h[i] = 77.0f; /* gaps stay */
        for (int64_t j = 0; j < g.total; j++) h[glist_at(&g, j)] = j < ns ? special[j] : cf_uniform(&r, -2, 2);
        h[glist_at(&g, ns + 7 + 19999)] = NAN; /* NaN in the last element */
        glist_put(&g, h);
        CF_OK(ctx, goptim_clip_grad_value(ctx, &g.l, clip));
        glist_get(&g, back);
        const float hi = (float)clip, lo = -hi;
        int64_t bad = -1;
        for (int64_t j = 0; j < g.total && bad < 0; j++) {
            const int64_t a = glist_at(&g, j);
            const float x = h[a];
            if (isnan(x)) {
                if (!isnan(back[a])) bad = a; /* NaN stays NaN */
                continue;
            }
            /* [lo, hi] clamp; an empty interval (clip_value < 0) gives hi everywhere, as
             * torch.clamp(min > max) does */
            float want = x < lo ? lo : x;
            want = want > hi ? hi : want;
            if (!(back[a] == want)) bad = a;
        }
        CF_CHECK(bad < 0, "clip_value %g: element at %lld: %.9g -> %.9g", clip, (long long)bad, bad >= 0 ? h[bad] : 0,
                 bad >= 0 ? back[bad] : 0);
        int gaps = 1;
        for (int64_t i = 0; i < g.arena_len; i++) {
            int in = 0;
            for (int t = 0; t < g.count; t++) in |= i >= g.off[t] && i < g.off[t] + g.numel[t];
            if (!in) gaps &= back[i] == 77.0f;
        }
        CF_CHECK(gaps, "clip_value %g wrote outside the tensors", clip);
    }
    glist_free(&g);
    free(h);
    free(back);
}

static void test_clip_norm(void) {
    cf_section = "clip_grad_by_norm";
    const int64_t numel[] = {3, 17000, 5};
    glist g;
    glist_init(&g, 3, numel);
    float *h = cf_host(g.arena_len), *back = cf_host(g.arena_len), *norm = cf_dev(ctx, 1);
    cf_rng r = {17};
    for (int64_t i = 0; i < g.arena_len; i++) h[i] = cf_uniform(&r, -3, 3);
    h[glist_at(&g, 1)] = INFINITY;
    h[glist_at(&g, 2)] = -0.0f;
    struct {
        float norm;
        double max_norm;
    } cases[] = {{10.0f, 1.0}, {0.5f, 1.0}, {1.0f, 1.0}, {3.0f, 2.5}, {1e-30f, 1e-3}};
    for (int ci = 0; ci < 5; ci++) {
        glist_put(&g, h);
        cf_put1(ctx, norm, cases[ci].norm);
        CF_OK(ctx, goptim_clip_grad_by_norm(ctx, &g.l, cases[ci].max_norm, norm));
        glist_get(&g, back);
        const double coef = fmin(cases[ci].max_norm / ((double)cases[ci].norm + 1e-6), 1.0);
        double worst = 0;
        int64_t bad = -1;
        for (int64_t j = 0; j < g.total; j++) {
            const int64_t a = glist_at(&g, j);
            const double want = (double)h[a] * coef;
            if (isinf(want)) {
                if (!(back[a] == (float)want)) bad = a;
                continue;
            }
            if (coef == 1.0 && cf_bits(back[a]) != cf_bits(h[a])) bad = a; /* coefficient 1: bits kept */
            const double e = fabs(back[a] - want) / (fabs(want) + 1e-30);
            if (e > worst) worst = e;
        }
        CF_CHECK(bad < 0, "norm %g max_norm %g: element %lld %.9g -> %.9g", cases[ci].norm, cases[ci].max_norm,
                 (long long)bad, bad >= 0 ? h[bad] : 0, bad >= 0 ? back[bad] : 0);
        CF_CHECK(worst <= 4e-7, "norm %g max_norm %g: relative error %.3g", cases[ci].norm, cases[ci].max_norm, worst);
        /* the norm itself is left alone */
        CF_CHECK(cf_get1(ctx, norm) == cases[ci].norm, "clip_grad_by_norm changed *norm");
    }
    /* a NaN norm makes every gradient NaN (torch's clamp propagates NaN) */
    glist_put(&g, h);
    cf_put1(ctx, norm, NAN);
    CF_OK(ctx, goptim_clip_grad_by_norm(ctx, &g.l, 1.0, norm));
    glist_get(&g, back);
    int allnan = 1;
    for (int64_t j = 0; j < g.total; j++) allnan &= isnan(back[glist_at(&g, j)]);
    CF_CHECK(allnan, "NaN norm does not make the gradients NaN");
    CF_OK(ctx, goptim_free(ctx, norm));
    glist_free(&g);
    free(h);
    free(back);
}

static void test_check_finite_zero(void) {
    cf_section = "check_finite";
    const int64_t numel[] = {5, 40000, 1};
    glist g;
    glist_init(&g, 3, numel);
    float *h = cf_host(g.arena_len), *back = cf_host(g.arena_len);
    float *found = cf_dev(ctx, 1), *inv = cf_dev(ctx, 1);
    cf_rng r = {19};
    for (int64_t i = 0; i < g.arena_len; i++) h[i] = cf_uniform(&r, -100, 100);
    glist_put(&g, h);
    /* finite: the flag is left as it is, whatever it holds */
    const float flags[] = {0.0f, 0.5f, 1.0f, -3.0f};
    for (int i = 0; i < 4; i++) {
        cf_put1(ctx, found, flags[i]);
        CF_OK(ctx, goptim_check_finite(ctx, &g.l, NULL, found));
        CF_CHECK(cf_bits(cf_get1(ctx, found)) == cf_bits(flags[i]), "finite grads changed found_inf %g to %g",
                 flags[i], cf_get1(ctx, found));
    }
    glist_get(&g, back);
    int64_t where = 0;
    CF_CHECK(cf_same_bits(h, back, g.arena_len, &where), "check_finite without inv_scale changed %lld",
             (long long)where);
    /* unscale in place: g * inv_scale, every element, bits of the float product */
    cf_put1(ctx, inv, 0.125f);
    cf_put1(ctx, found, 0.0f);
    CF_OK(ctx, goptim_check_finite(ctx, &g.l, inv, found));
    CF_CHECK(cf_get1(ctx, found) == 0.0f, "finite grads set found_inf");
    glist_get(&g, back);
    int ok = 1;
    for (int64_t j = 0; j < g.total; j++) {
        const int64_t a = glist_at(&g, j);
        volatile float want = h[a] * 0.125f;
        ok &= cf_bits(back[a]) == cf_bits(want);
    }
    CF_CHECK(ok, "unscale by 0.125 is not g * inv_scale");
    cf_put1(ctx, inv, 1.0f / 3.0f);
    glist_put(&g, h);
    CF_OK(ctx, goptim_check_finite(ctx, &g.l, inv, found));
    glist_get(&g, back);
    ok = 1;
    for (int64_t j = 0; j < g.total; j++) {
        const int64_t a = glist_at(&g, j);
        volatile float want = h[a] * (1.0f / 3.0f);
        ok &= cf_bits(back[a]) == cf_bits(want);
    }
    CF_CHECK(ok, "unscale by 1/3 is not the float product g * inv_scale");

    /* a NaN or an Inf anywhere sets 1; the others are still unscaled */
    const float bad_values[] = {NAN, INFINITY, -INFINITY};
    const int64_t where_bad[] = {0, 4, 5 + 39999, 5 + 16384, 5 + 40000};
    for (int bi = 0; bi < 3; bi++)
        for (int wi = 0; wi < 5; wi++) {
            glist_put(&g, h);
            const int64_t a = glist_at(&g, where_bad[wi]);
            cf_put1(ctx, g.arena + a, bad_values[bi]);
            cf_put1(ctx, found, 0.0f);
            CF_OK(ctx, goptim_check_finite(ctx, &g.l, NULL, found));
            CF_CHECK(cf_get1(ctx, found) == 1.0f, "%g at element %lld: found_inf %g", bad_values[bi],
                     (long long)where_bad[wi], cf_get1(ctx, found));
        }
    glist_put(&g, h);
    cf_put1(ctx, g.arena + glist_at(&g, 40000), INFINITY);
    cf_put1(ctx, inv, 0.5f);
    cf_put1(ctx, found, 0.0f);
    CF_OK(ctx, goptim_check_finite(ctx, &g.l, inv, found));
    CF_CHECK(cf_get1(ctx, found) == 1.0f, "Inf with unscaling: found_inf %g", cf_get1(ctx, found));
    glist_get(&g, back);
    ok = 1;
    for (int64_t j = 0; j < g.total; j++) {
        const int64_t a = glist_at(&g, j);
        if (j == 40000) ok &= isinf(back[a]);
        else ok &= back[a] == h[a] * 0.5f;
    }
    CF_CHECK(ok, "with an Inf present, the grads are not all unscaled");
    /* accumulates: a clean list after a dirty one leaves the flag at 1 */
    glist_put(&g, h);
    CF_OK(ctx, goptim_check_finite(ctx, &g.l, NULL, found));
    CF_CHECK(cf_get1(ctx, found) == 1.0f, "a clean list reset found_inf to %g", cf_get1(ctx, found));
    /* an empty list leaves the flag */
    goptim_tensor_list empty;
    memset(&empty, 0, sizeof empty);
    cf_put1(ctx, found, 0.25f);
    CF_OK(ctx, goptim_check_finite(ctx, &empty, inv, found));
    CF_CHECK(cf_get1(ctx, found) == 0.25f, "empty list changed found_inf");

    cf_section = "zero_grad";
    for (int64_t i = 0; i < g.arena_len; i++) h[i] = cf_uniform(&r, -1, 1);
    h[glist_at(&g, 2)] = NAN;
    h[glist_at(&g, 3)] = -INFINITY;
    glist_put(&g, h);
    CF_OK(ctx, goptim_zero_grad(ctx, &g.l));
    glist_get(&g, back);
    ok = 1;
    for (int64_t i = 0; i < g.arena_len; i++) {
        int in = 0;
        for (int t = 0; t < g.count; t++) in |= i >= g.off[t] && i < g.off[t] + g.numel[t];
        ok &= in ? cf_bits(back[i]) == 0 : cf_bits(back[i]) == cf_bits(h[i]);
    }
    CF_CHECK(ok, "zero_grad: tensors not +0 everywhere, or memory between them touched");

    CF_OK(ctx, goptim_free(ctx, found));
    CF_OK(ctx, goptim_free(ctx, inv));
    glist_free(&g);
    free(h);
    free(back);
}

/* ================================================================ optimizer steps */

typedef enum { K_SGD, K_ADAM, K_ADAGRAD, K_RMSPROP } opt_kind;

typedef struct {
    const char *name;
    opt_kind kind;
    goptim_sgd_params sgd;
    goptim_adam_params adam;
    goptim_adagrad_params ada;
    goptim_rmsprop_params rms;
    float init0; /* initial state[0] (Adagrad's initial_accumulator_value; SGD: garbage) */
} opt_cfg;

static const opt_cfg cfgs[] = {
    {.name = "sgd", .kind = K_SGD, .sgd = {.lr = 0.1}},
    {.name = "sgd momentum dampening wd", .kind = K_SGD,
     .sgd = {.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01}, .init0 = 123.0f},
    {.name = "sgd nesterov wd maximize", .kind = K_SGD,
     .sgd = {.lr = 0.05, .momentum = 0.8, .weight_decay = 0.01, .nesterov = 1, .maximize = 1}, .init0 = -7.0f},
    {.name = "adam wd", .kind = K_ADAM, .adam = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01}},
    {.name = "adam amsgrad maximize", .kind = K_ADAM,
     .adam = {.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .amsgrad = 1, .maximize = 1}},
    {.name = "adamw", .kind = K_ADAM,
     .adam = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1, .decoupled_weight_decay = 1}},
    {.name = "adagrad decay wd", .kind = K_ADAGRAD, .ada = {.lr = 5e-2, .lr_decay = 0.01, .weight_decay = 0.01, .eps = 1e-10},
     .init0 = 0.1f},
    {.name = "adagrad maximize", .kind = K_ADAGRAD, .ada = {.lr = 1e-2, .eps = 1e-10, .maximize = 1}, .init0 = 0.0f},
    {.name = "rmsprop", .kind = K_RMSPROP, .rms = {.lr = 1e-2, .alpha = 0.99, .eps = 1e-8}},
    {.name = "rmsprop centered momentum wd maximize", .kind = K_RMSPROP,
     .rms = {.lr = 1e-3, .alpha = 0.9, .eps = 1e-6, .weight_decay = 0.01, .momentum = 0.5, .centered = 1, .maximize = 1}},
    {.name = "rmsprop momentum", .kind = K_RMSPROP, .rms = {.lr = 1e-2, .alpha = 0.95, .eps = 1e-8, .momentum = 0.9}},
};
#define NCFGS ((int)(sizeof cfgs / sizeof cfgs[0]))

static unsigned cfg_mask(const opt_cfg *c) {
    switch (c->kind) {
    case K_SGD: return c->sgd.momentum != 0 ? 1u : 0u;
    case K_ADAM: return c->adam.amsgrad ? 7u : 3u;
    case K_ADAGRAD: return 1u;
    case K_RMSPROP: return 1u | (c->rms.momentum > 0 ? 2u : 0u) | (c->rms.centered ? 4u : 0u);
    }
    return 0;
}

static goptim_status cfg_step(const opt_cfg *c, const goptim_tensor_list *l, int64_t step, const goptim_step_aux *aux) {
    switch (c->kind) {
    case K_SGD: return goptim_sgd_step(ctx, l, &c->sgd, step, aux);
    case K_ADAM: return goptim_adam_step(ctx, l, &c->adam, step, aux);
    case K_ADAGRAD: return goptim_adagrad_step(ctx, l, &c->ada, step, aux);
    case K_RMSPROP: return goptim_rmsprop_step(ctx, l, &c->rms, step, aux);
    }
    return GOPTIM_ERR_INVALID_ARGUMENT;
}

/* goptim.h: hyperparameters and the scalars derived from them are computed in double and
 * rounded to float once; the reference uses the same scalars, then works in double. */
static double F(double x) { return (double)(float)x; }

/* One step of torch.optim's update in double, element i, from the float values before
 * the step; g is the gradient as the update reads it (after unscale and clip). */
static void cfg_reference(const opt_cfg *c, int64_t t, double p, double g, double s0, double s1, double s2, double *wp,
                          double *w0, double *w1, double *w2) {
    *w0 = s0;
    *w1 = s1;
    *w2 = s2;
    switch (c->kind) {
    case K_SGD: {
        const goptim_sgd_params *h = &c->sgd;
        const double lr = F(h->lr), mom = F(h->momentum), damp1 = F(1 - h->dampening), wd = F(h->weight_decay);
        double d = h->maximize ? -g : g;
        if (h->weight_decay != 0) d += wd * p;
        if (h->momentum != 0) {
            const double buf = t == 1 ? d : mom * s0 + damp1 * d;
            *w0 = buf;
            d = h->nesterov ? d + mom * buf : buf;
        }
        *wp = p - lr * d;
        break;
    }
    case K_ADAM: {
        const goptim_adam_params *h = &c->adam;
        const double bc1 = 1 - pow(h->beta1, (double)t), bc2 = 1 - pow(h->beta2, (double)t);
        const double b1 = F(h->beta1), b1c = F(1 - h->beta1), b2 = F(h->beta2), b2c = F(1 - h->beta2);
        const double step_size = F(h->lr / bc1), bc2_sqrt = F(sqrt(bc2)), eps = F(h->eps), wd = F(h->weight_decay);
        const double decay = F(1 - h->lr * h->weight_decay);
        double gg = h->maximize ? -g : g, pp = p;
        if (h->weight_decay != 0) {
            if (h->decoupled_weight_decay) pp = p * decay;
            else gg += wd * p;
        }
        const double m = b1 * s0 + b1c * gg;
        const double v = b2 * s1 + b2c * gg * gg;
        double vh = v;
        if (h->amsgrad) {
            vh = s2 > v ? s2 : v;
            *w2 = vh;
        }
        const double denom = sqrt(vh) / bc2_sqrt + eps;
        *wp = pp - step_size * m / denom;
        *w0 = m;
        *w1 = v;
        break;
    }
    case K_ADAGRAD: {
        const goptim_adagrad_params *h = &c->ada;
        const double clr = F(h->lr / (1 + (double)(t - 1) * h->lr_decay)), eps = F(h->eps), wd = F(h->weight_decay);
        double gg = h->maximize ? -g : g;
        if (h->weight_decay != 0) gg += wd * p;
        const double sum = s0 + gg * gg;
        *wp = p - clr * gg / (sqrt(sum) + eps);
        *w0 = sum;
        break;
    }
    case K_RMSPROP: {
        const goptim_rmsprop_params *h = &c->rms;
        const double alpha = F(h->alpha), alpha1 = F(1 - h->alpha), eps = F(h->eps), wd = F(h->weight_decay);
        const double mom = F(h->momentum), lr = F(h->lr);
        double gg = h->maximize ? -g : g;
        if (h->weight_decay != 0) gg += wd * p;
        const double sq = alpha * s0 + alpha1 * gg * gg;
        *w0 = sq;
        double avg;
        if (h->centered) {
            const double ga = alpha * s2 + alpha1 * gg;
            *w2 = ga;
            avg = sqrt(sq - ga * ga) + eps;
        } else {
            avg = sqrt(sq) + eps;
        }
        if (h->momentum > 0) {
            const double buf = mom * s1 + gg / avg;
            *w1 = buf;
            *wp = p - lr * buf;
        } else {
            *wp = p - lr * gg / avg;
        }
        break;
    }
    }
}

/* A list of three tensors (one of them longer than a GPU chunk and than the CPU's
 * parallel threshold) in five arenas (param, grad, state 0..2), at unaligned offsets. */
#define SL_N 3
typedef struct {
    int64_t numel[SL_N], off[SL_N], len, total;
    float *arena[5];           /* param, grad, state0, state1, state2 (backend) */
    float *ptr[5][SL_N];
    goptim_tensor_list l;
    float *h[5];               /* host: values before the step */
    float *b[5];               /* host: values after */
    float *sign;               /* per element: +1 or -1 (see slist_random) */
} slist;

static void slist_init(slist *s) {
    static const int64_t numel[SL_N] = {1, 37, 70001};
    memset(s, 0, sizeof *s);
    int64_t at = 0;
    for (int i = 0; i < SL_N; i++) {
        at += 1 + 2 * i;
        s->numel[i] = numel[i];
        s->off[i] = at;
        at += numel[i];
        s->total += numel[i];
    }
    s->len = at + 1;
    s->sign = cf_host(s->len);
    for (int k = 0; k < 5; k++) {
        s->arena[k] = cf_dev(ctx, s->len);
        s->h[k] = cf_host(s->len);
        s->b[k] = cf_host(s->len);
        for (int i = 0; i < SL_N; i++) s->ptr[k][i] = s->arena[k] + s->off[i];
    }
    s->l.count = SL_N;
    s->l.numel = s->numel;
    s->l.param = s->ptr[0];
    s->l.grad = s->ptr[1];
    for (int k = 0; k < 3; k++) s->l.state[k] = s->ptr[2 + k];
}

static void slist_free(slist *s) {
    free(s->sign);
    for (int k = 0; k < 5; k++) {
        CF_OK(ctx, goptim_free(ctx, s->arena[k]));
        free(s->h[k]);
        free(s->b[k]);
    }
}

static void slist_put(slist *s) {
    for (int k = 0; k < 5; k++) cf_put(ctx, s->arena[k], s->h[k], s->len);
}
static void slist_get(slist *s) {
    for (int k = 0; k < 5; k++) cf_get(ctx, s->b[k], s->arena[k], s->len);
}

/*
 * Well-conditioned data, so that a tight relative tolerance holds for every element:
 * each element has a sign (kept across steps) that its gradient, its parameter and its
 * signed states share, as seen by the update (maximize flips it), so that no sum in the
 * update cancels (gradient + weight_decay * param, the momentum buffers, the running
 * averages); magnitudes in [0.5, 1) for params and grads. States are a fresh
 * optimizer's (fresh) or arbitrary values of the right sign; a centered RMSprop's
 * square_avg stays well above grad_avg^2.
 */
static int cfg_maximize(const opt_cfg *c) {
    switch (c->kind) {
    case K_SGD: return c->sgd.maximize;
    case K_ADAM: return c->adam.maximize;
    case K_ADAGRAD: return c->ada.maximize;
    case K_RMSPROP: return c->rms.maximize;
    }
    return 0;
}

static void slist_grads(slist *s, cf_rng *r) {
    for (int64_t i = 0; i < s->len; i++) s->h[1][i] = s->sign[i] * cf_uniform(r, 0.5f, 1.0f);
}

static void slist_random(slist *s, const opt_cfg *c, cf_rng *r, int fresh) {
    const float flip = cfg_maximize(c) ? -1.0f : 1.0f;
    for (int64_t i = 0; i < s->len; i++) s->sign[i] = (cf_next(r) >> 63) ? -1.0f : 1.0f;
    slist_grads(s, r);
    for (int64_t i = 0; i < s->len; i++) {
        const float e = s->sign[i] * flip; /* the sign of the gradient as the update sees it */
        s->h[0][i] = e * cf_uniform(r, 0.5f, 1.0f);
        if (fresh) {
            s->h[2][i] = c->init0;
            s->h[3][i] = s->h[4][i] = 0.0f;
            continue;
        }
        /* signed: SGD's buffer, Adam's exp_avg, RMSprop's momentum buffer and grad_avg;
         * non-negative: squares and sums */
        const int signed0 = c->kind == K_SGD || c->kind == K_ADAM;
        const int signed12 = c->kind == K_RMSPROP;
        s->h[2][i] = (signed0 ? e : 1.0f) * cf_uniform(r, 0.3f, 0.5f);
        /* Adam: exp_avg_sq not far below exp_avg^2, as any history gives */
        s->h[3][i] = (signed12 ? e : 1.0f) * cf_uniform(r, c->kind == K_ADAM ? 0.3f : 0.0f, 0.5f);
        s->h[4][i] = (signed12 ? e : 1.0f) * cf_uniform(r, 0.0f, 0.3f);
    }
}

static const char *const slot_name[5] = {"param", "grad", "state[0]", "state[1]", "state[2]"};

/* after vs before, slot k, bit for bit */
static int slot_same(const slist *s, int k, const float *want, int64_t *where) {
    return cf_same_bits(s->b[k], want, s->len, where);
}

/* The largest relative error |got - want| / |want| (the data keep every value away
 * from 0, see slist_random) and where it is. */
static double slot_error(const float *got, const double *want, int64_t n, int64_t *where) {
    const double floor = 1e-30;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        const double e = fabs((double)got[i] - want[i]) / (fabs(want[i]) + floor);
        if (!(e <= worst)) {
            worst = e;
            *where = i;
        }
    }
    return worst;
}

static double worst_step_error = 0;

/* Runs `steps` steps of c, each against the reference computed from the backend's own
 * values before the step. gmul: the factor the update reads the gradient with relative
 * to the gradient in memory (1/scale times the clip coefficient, with aux); wmul: 0 when
 * the gradient in memory must not change, else the (power of two) factor it is
 * written back with (1/scale). */
static void check_steps(const opt_cfg *c, slist *s, int64_t first_step, int steps, const goptim_step_aux *aux,
                        double gmul, double wmul) {
    cf_rng r = {1000 + (uint64_t)(c - cfgs)};
    const unsigned mask = cfg_mask(c);
    double *want[5];
    for (int k = 0; k < 5; k++) want[k] = (double *)calloc((size_t)s->total, sizeof(double));
    for (int it = 0; it < steps; it++) {
        const int64_t t = first_step + it;
        /* new gradients every step; the rest carries over */
        if (it == 0) {
            slist_random(s, c, &r, first_step == 1);
        } else {
            for (int k = 0; k < 5; k++) memcpy(s->h[k], s->b[k], (size_t)s->len * sizeof(float));
            slist_grads(s, &r);
        }
        slist_put(s);
        int64_t j = 0;
        for (int i = 0; i < SL_N; i++)
            for (int64_t e = 0; e < s->numel[i]; e++, j++) {
                const int64_t a = s->off[i] + e;
                double w[5];
                cfg_reference(c, t, s->h[0][a], (double)s->h[1][a] * gmul, s->h[2][a], s->h[3][a], s->h[4][a], &w[0],
                              &w[2], &w[3], &w[4]);
                for (int k = 0; k < 5; k++)
                    if (k != 1) want[k][j] = w[k];
            }
        CF_OK(ctx, cfg_step(c, &s->l, t, aux));
        slist_get(s);
        float *got = cf_host(s->total);
        /* the gradient: untouched, or unscaled exactly */
        if (wmul != 0) {
            int64_t bad = -1;
            for (int i = 0; i < SL_N && bad < 0; i++)
                for (int64_t e = 0; e < s->numel[i]; e++) {
                    const int64_t a = s->off[i] + e;
                    if (cf_bits(s->b[1][a]) != cf_bits((float)((double)s->h[1][a] * wmul))) {
                        bad = a;
                        break;
                    }
                }
            CF_CHECK(bad < 0, "%s step %lld: the gradient written back is not g * %g at %lld", c->name, (long long)t,
                     wmul, (long long)bad);
        }
        for (int k = 0; k < 5; k++) {
            const int used = k == 0 || (k >= 2 && ((mask >> (k - 2)) & 1u));
            if (k == 1 && wmul != 0) continue;
            if (!used) {
                /* the gradient and the states these options do not use: untouched */
                int64_t where = 0;
                CF_CHECK(slot_same(s, k, s->h[k], &where), "%s step %lld: %s %s at %lld", c->name, (long long)t,
                         slot_name[k], k == 1 ? "changed" : "(not used by these options) changed", (long long)where);
                continue;
            }
            j = 0;
            for (int i = 0; i < SL_N; i++)
                for (int64_t e = 0; e < s->numel[i]; e++, j++) got[j] = s->b[k][s->off[i] + e];
            int64_t where = 0;
            const double err = slot_error(got, want[k], s->total, &where);
            if (err > worst_step_error) worst_step_error = err;
            CF_CHECK(err <= 1e-6, "%s step %lld: %s element %lld is %.9g, want %.9g (relative error %.3g)", c->name,
                     (long long)t, slot_name[k], (long long)where, got[where], want[k][where], err);
        }
        /* the gaps between tensors are never touched */
        int gaps = 1;
        for (int k = 0; k < 5; k++)
            for (int64_t a = 0; a < s->len; a++) {
                int in = 0;
                for (int i = 0; i < SL_N; i++) in |= a >= s->off[i] && a < s->off[i] + s->numel[i];
                if (!in) gaps &= cf_bits(s->b[k][a]) == cf_bits(s->h[k][a]);
            }
        CF_CHECK(gaps, "%s step %lld wrote outside its tensors", c->name, (long long)t);
        free(got);
    }
    for (int k = 0; k < 5; k++) free(want[k]);
}

static void test_steps(void) {
    slist s;
    slist_init(&s);
    for (int ci = 0; ci < NCFGS; ci++) {
        char sect[96];
        snprintf(sect, sizeof sect, "step: %s", cfgs[ci].name);
        cf_section = sect;
        check_steps(&cfgs[ci], &s, 1, 3, NULL, 1.0, 0.0);
        check_steps(&cfgs[ci], &s, 1000, 1, NULL, 1.0, 0.0); /* a late step, from arbitrary state */
    }
    slist_free(&s);
}

/* ================================================================ goptim_step_aux */

static void test_aux(void) {
    slist s;
    slist_init(&s);
    float *scale = cf_dev(ctx, 1), *found = cf_dev(ctx, 1), *cnorm = cf_dev(ctx, 1);
    for (int ci = 0; ci < NCFGS; ci++) {
        const opt_cfg *c = &cfgs[ci];
        char sect[96];
        snprintf(sect, sizeof sect, "aux: %s", c->name);
        cf_section = sect;
        cf_rng r = {77 + (uint64_t)ci};

        /* found_inf != 0: nothing changes, with unscaling and clipping asked for too */
        const float skip_flags[] = {1.0f, -2.0f, NAN, FLT_MIN / 2};
        for (int fi = 0; fi < 4; fi++) {
            slist_random(&s, c, &r, 0);
            slist_put(&s);
            cf_put1(ctx, scale, 3.0f);
            cf_put1(ctx, found, skip_flags[fi]);
            cf_put1(ctx, cnorm, 7.5f);
            goptim_step_aux aux = {scale, found, cnorm, 1.0};
            for (int64_t t = 1; t <= 2; t++) CF_OK(ctx, cfg_step(c, &s.l, t, &aux));
            slist_get(&s);
            for (int k = 0; k < 5; k++) {
                int64_t where = 0;
                CF_CHECK(slot_same(&s, k, s.h[k], &where), "found_inf=%g: %s changed at %lld", skip_flags[fi],
                         slot_name[k], (long long)where);
            }
            CF_CHECK(cf_bits(cf_get1(ctx, found)) == cf_bits(skip_flags[fi]), "the step changed found_inf");
        }
        /* a bad list is refused even when found_inf says skip */
        {
            goptim_step_aux aux = {NULL, found, NULL, 0};
            cf_put1(ctx, found, 1.0f);
            goptim_tensor_list bad = s.l;
            bad.grad = NULL;
            CF_INVALID(ctx, cfg_step(c, &bad, 1, &aux), "grad");
            bad = s.l;
            bad.count = -1;
            CF_INVALID(ctx, cfg_step(c, &bad, 1, &aux), "count");
            CF_INVALID(ctx, cfg_step(c, &s.l, 0, &aux), "step");
        }
        /* found_inf == 0 (either zero): a step like any other */
        cf_put1(ctx, found, -0.0f);
        {
            goptim_step_aux aux = {NULL, found, NULL, 0};
            check_steps(c, &s, 1, 2, &aux, 1.0, 0);
        }
        /* clip_norm with max_norm <= 0: off */
        cf_put1(ctx, cnorm, 1e6f);
        {
            goptim_step_aux aux = {NULL, NULL, cnorm, 0.0};
            check_steps(c, &s, 2, 1, &aux, 1.0, 0);
            aux.max_norm = -1.0;
            check_steps(c, &s, 2, 1, &aux, 1.0, 0);
        }
        /* grad_scale: the update reads g / scale and the gradient in memory becomes g / scale */
        cf_put1(ctx, scale, 4.0f);
        cf_put1(ctx, found, 0.0f);
        {
            goptim_step_aux aux = {scale, found, NULL, 0};
            check_steps(c, &s, 1, 2, &aux, 0.25, 0.25);
            aux.found_inf = NULL;
            check_steps(c, &s, 3, 1, &aux, 0.25, 0.25);
        }
        /* a scale that is not a power of two: written back as the float quotient */
        cf_put1(ctx, scale, 3.0f);
        {
            goptim_step_aux aux = {scale, NULL, NULL, 0};
            slist_random(&s, c, &r, 0);
            slist_put(&s);
            CF_OK(ctx, cfg_step(c, &s.l, 2, &aux));
            slist_get(&s);
            int ok = 1;
            for (int i = 0; i < SL_N; i++)
                for (int64_t e = 0; e < s.numel[i]; e++) {
                    const int64_t a = s.off[i] + e;
                    volatile float q = s.h[1][a] / 3.0f;
                    ok &= cf_bits(s.b[1][a]) == cf_bits(q);
                }
            CF_CHECK(ok, "grad_scale 3: the gradient written back is not the float g / 3");
        }
        /* clip_norm: gradients read times min(max_norm / (norm + 1e-6), 1), memory untouched */
        cf_put1(ctx, cnorm, 7.5f);
        {
            goptim_step_aux aux = {NULL, NULL, cnorm, 2.0};
            check_steps(c, &s, 1, 2, &aux, 2.0 / (7.5 + 1e-6), 0);
            cf_put1(ctx, cnorm, 0.5f); /* coefficient above 1: no clipping */
            check_steps(c, &s, 2, 1, &aux, 1.0, 0);
        }
        /* unscale, then clip (the norm is of the unscaled gradients) */
        cf_put1(ctx, scale, 8.0f);
        cf_put1(ctx, cnorm, 5.0f);
        {
            goptim_step_aux aux = {scale, NULL, cnorm, 1.0};
            check_steps(c, &s, 2, 1, &aux, 0.125 * (1.0 / (5.0 + 1e-6)), 0.125);
        }
        /* the written-back gradient is unscaled only, not clipped */
        {
            goptim_step_aux aux = {scale, NULL, cnorm, 1.0};
            slist_put(&s);
            CF_OK(ctx, cfg_step(c, &s.l, 2, &aux));
            slist_get(&s);
            int ok = 1;
            for (int i = 0; i < SL_N; i++)
                for (int64_t e = 0; e < s.numel[i]; e++) {
                    const int64_t a = s.off[i] + e;
                    ok &= s.b[1][a] == s.h[1][a] / 8.0f;
                }
            CF_CHECK(ok, "scale and clip: the gradient written back is not g / scale");
        }
    }
    CF_OK(ctx, goptim_free(ctx, scale));
    CF_OK(ctx, goptim_free(ctx, found));
    CF_OK(ctx, goptim_free(ctx, cnorm));
    slist_free(&s);
}

/* ================================================================ sgemm */

static void test_sgemm(void) {
    cf_section = "sgemm";
    const int64_t big = (int64_t)INT32_MAX + 1;
    float *a = cf_dev(ctx, 64), *b = cf_dev(ctx, 64), *c = cf_dev(ctx, 64);
    /* the documented order: negative sizes, then > INT32_MAX, then leading dimensions,
     * then m == 0 || n == 0, then NULL matrices */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, -1, 2, 2, 1, a, 2, b, 2, 0, c, 2), "sgemm");
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 2, -1, 2, 1, a, 2, b, 2, 0, c, 2), "sgemm");
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 2, 2, -1, 1, a, 2, b, 2, 0, c, 2), "sgemm");
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, -1, big, big, 1, NULL, big, NULL, big, 0, NULL, big), "sgemm");
    CF_STATUS(ctx, goptim_sgemm(ctx, 0, 0, big, 2, 2, 1, a, 2, b, 2, 0, c, 2), GOPTIM_ERR_UNSUPPORTED, "sgemm");
    CF_STATUS(ctx, goptim_sgemm(ctx, 0, 0, 2, big, 2, 1, a, 2, b, big, 0, c, big), GOPTIM_ERR_UNSUPPORTED, "sgemm");
    CF_STATUS(ctx, goptim_sgemm(ctx, 0, 0, 2, 2, big, 1, a, big, b, 2, 0, c, 2), GOPTIM_ERR_UNSUPPORTED, "sgemm");
    CF_STATUS(ctx, goptim_sgemm(ctx, 0, 0, 2, 2, 2, 1, a, big, b, 2, 0, c, 2), GOPTIM_ERR_UNSUPPORTED, "sgemm");
    CF_STATUS(ctx, goptim_sgemm(ctx, 0, 0, 2, 2, 2, 1, a, 2, b, big, 0, c, 2), GOPTIM_ERR_UNSUPPORTED, "sgemm");
    CF_STATUS(ctx, goptim_sgemm(ctx, 0, 0, 2, 2, 2, 1, a, 2, b, 2, 0, c, INT64_MAX), GOPTIM_ERR_UNSUPPORTED, "sgemm");
    /* > INT32_MAX before leading dimensions and NULL matrices */
    CF_STATUS(ctx, goptim_sgemm(ctx, 0, 0, big, 2, 2, 1, NULL, 0, NULL, 0, 0, NULL, 0), GOPTIM_ERR_UNSUPPORTED, "sgemm");
    CF_STATUS(ctx, goptim_sgemm(ctx, 1, 1, 0, 0, big, 1, NULL, 1, NULL, 1, 0, NULL, 1), GOPTIM_ERR_UNSUPPORTED, "sgemm");
    /* leading dimension below its row length (or below 1), per transposition */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 3, 4, 5, 1, a, 4, b, 4, 0, c, 4), "sgemm");  /* lda < k */
    CF_INVALID(ctx, goptim_sgemm(ctx, 1, 0, 3, 4, 5, 1, a, 2, b, 4, 0, c, 4), "sgemm");  /* lda < m (A^T) */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 3, 4, 5, 1, a, 5, b, 3, 0, c, 4), "sgemm");  /* ldb < n */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 1, 3, 4, 5, 1, a, 5, b, 4, 0, c, 4), "sgemm");  /* ldb < k (B^T) */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 3, 4, 5, 1, a, 5, b, 4, 0, c, 3), "sgemm");  /* ldc < n */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 0, 0, 0, 1, NULL, 0, NULL, 1, 0, NULL, 1), "sgemm"); /* lda < 1 */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 0, 0, 0, 1, NULL, 1, NULL, 1, 0, NULL, 0), "sgemm"); /* ldc < 1 */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 3, 4, 5, 1, NULL, 4, NULL, 4, 0, NULL, 4), "sgemm"); /* before NULL */
    /* m == 0 or n == 0: nothing to do, before the NULL check */
    CF_OK(ctx, goptim_sgemm(ctx, 0, 0, 0, 4, 5, 1, NULL, 5, NULL, 4, 0, NULL, 4));
    CF_OK(ctx, goptim_sgemm(ctx, 0, 0, 3, 0, 5, 1, NULL, 5, NULL, 1, 0, NULL, 1));
    CF_OK(ctx, goptim_sgemm(ctx, 1, 1, 0, 0, 0, 1, NULL, 1, NULL, 1, 0, NULL, 1));
    /* NULL matrices */
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 3, 4, 5, 1, NULL, 5, b, 4, 0, c, 4), "sgemm");
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 3, 4, 5, 1, a, 5, NULL, 4, 0, c, 4), "sgemm");
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 3, 4, 5, 1, a, 5, b, 4, 0, NULL, 4), "sgemm");
    CF_INVALID(ctx, goptim_sgemm(ctx, 0, 0, 3, 4, 0, 1, a, 1, b, 4, 0, NULL, 4), "sgemm");
    CF_OK(ctx, goptim_free(ctx, a));
    CF_OK(ctx, goptim_free(ctx, b));
    CF_OK(ctx, goptim_free(ctx, c));

    /* the product, row-major, every transposition, padded leading dimensions */
    const int64_t m = 5, n = 7, k = 3;
    cf_rng r = {23};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
            const int64_t lda = ac + 2, ldb = bc + 1, ldc = n + 3;
            float *ha = cf_host(ar * lda), *hb = cf_host(br * ldb), *hc = cf_host(m * ldc), *back = cf_host(m * ldc);
            cf_fill_random(&r, ha, ar * lda, -1, 1);
            cf_fill_random(&r, hb, br * ldb, -1, 1);
            cf_fill_random(&r, hc, m * ldc, -1, 1);
            float *da = cf_dev(ctx, ar * lda), *db = cf_dev(ctx, br * ldb), *dc = cf_dev(ctx, m * ldc);
            cf_put(ctx, da, ha, ar * lda);
            cf_put(ctx, db, hb, br * ldb);
            cf_put(ctx, dc, hc, m * ldc);
            const float alpha = 0.5f, beta = 0.25f;
            CF_OK(ctx, goptim_sgemm(ctx, ta, tb, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc));
            cf_get(ctx, back, dc, m * ldc);
            double worst = 0;
            int pad = 1;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < ldc; j++) {
                    if (j >= n) {
                        pad &= cf_bits(back[i * ldc + j]) == cf_bits(hc[i * ldc + j]);
                        continue;
                    }
                    double want = beta * (double)hc[i * ldc + j];
                    for (int64_t q = 0; q < k; q++) {
                        const double x = ta ? ha[q * lda + i] : ha[i * lda + q];
                        const double y = tb ? hb[j * ldb + q] : hb[q * ldb + j];
                        want += alpha * x * y;
                    }
                    const double e = fabs(back[i * ldc + j] - want);
                    if (e > worst) worst = e;
                }
            CF_CHECK(worst <= 1e-6, "sgemm ta=%d tb=%d: error %.3g", ta, tb, worst);
            CF_CHECK(pad, "sgemm ta=%d tb=%d wrote into C's padding", ta, tb);
            /* k == 0: C = beta * C, and beta == 0 writes zeros (NaN in C included) */
            CF_OK(ctx, goptim_sgemm(ctx, ta, tb, m, n, 0, alpha, da, ta ? m : 1, db, tb ? 1 : n, 2.0f, dc, ldc));
            cf_get(ctx, hc, dc, m * ldc);
            int ok = 1;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) ok &= hc[i * ldc + j] == 2.0f * back[i * ldc + j];
            CF_CHECK(ok, "sgemm k=0 beta=2 ta=%d tb=%d is not 2*C", ta, tb);
            cf_put1(ctx, dc + 1, NAN);
            CF_OK(ctx, goptim_sgemm(ctx, ta, tb, m, n, 0, alpha, da, ta ? m : 1, db, tb ? 1 : n, 0.0f, dc, ldc));
            cf_get(ctx, hc, dc, m * ldc);
            ok = 1;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) ok &= cf_bits(hc[i * ldc + j]) == 0;
            CF_CHECK(ok, "sgemm k=0 beta=0 ta=%d tb=%d does not write zeros", ta, tb);
            CF_OK(ctx, goptim_free(ctx, da));
            CF_OK(ctx, goptim_free(ctx, db));
            CF_OK(ctx, goptim_free(ctx, dc));
            free(ha);
            free(hb);
            free(hc);
            free(back);
        }
}

/* ================================================================ devices, streams */

static void test_devices_streams(void) {
    cf_section = "devices";
    int32_t ndev = -1;
    CF_OK(NULL, goptim_device_count(&ndev));
    CF_CHECK(ndev >= 1, "device_count %d", (int)ndev);
    if (!dev) CF_CHECK(ndev == 1, "the CPU backend counts %d devices, not 1 (the host)", (int)ndev);
    CF_INVALID(NULL, goptim_device_count(NULL), NULL);
    int32_t d = -1;
    CF_OK(ctx, goptim_context_device(ctx, &d));
    CF_CHECK(d == 0, "goptim_context_create made a context on device %d, not 0", (int)d);
    CF_INVALID(NULL, goptim_context_device(NULL, &d), NULL);
    CF_INVALID(ctx, goptim_context_device(ctx, NULL), NULL);
    goptim_context *c = (goptim_context *)&d;
    CF_INVALID(NULL, goptim_context_create_on(-1, 1, &c), NULL);
    CF_CHECK(c == NULL, "a refused create_on left *out %p", (void *)c);
    CF_INVALID(NULL, goptim_context_create_on(ndev, 1, &c), NULL);
    CF_INVALID(NULL, goptim_context_create_on(INT32_MIN, 1, &c), NULL);
    CF_INVALID(NULL, goptim_context_create_on(0, 1, NULL), NULL);
    /* every device works, and a context keeps to its own */
    for (int32_t i = 0; i < ndev && i < 8; i++) {
        c = NULL;
        CF_OK(NULL, goptim_context_create_on(i, 1, &c));
        if (!c) continue;
        d = -1;
        CF_OK(c, goptim_context_device(c, &d));
        CF_CHECK(d == i, "create_on(%d) made a context on device %d", (int)i, (int)d);
        float *p = cf_dev(c, 33), h[33];
        CF_OK(c, goptim_fill(c, p, 2.5f, 33));
        cf_get(c, h, p, 33);
        CF_CHECK(h[0] == 2.5f && h[32] == 2.5f, "device %d: fill read back %g, %g", (int)i, h[0], h[32]);
        CF_OK(c, goptim_free(c, p));
        CF_OK(NULL, goptim_context_destroy(c));
    }

    cf_section = "streams";
    void *s = (void *)&d;
    CF_INVALID(NULL, goptim_context_stream(NULL, &s), NULL);
    CF_INVALID(ctx, goptim_context_stream(ctx, NULL), NULL);
    CF_INVALID(NULL, goptim_context_set_stream(NULL, NULL), NULL);
    CF_OK(ctx, goptim_context_stream(ctx, &s));
    if (!dev) {
        CF_CHECK(s == NULL, "the CPU backend's stream is %p, not NULL", s);
        CF_OK(ctx, goptim_context_set_stream(ctx, NULL));
        CF_STATUS(ctx, goptim_context_set_stream(ctx, (void *)&d), GOPTIM_ERR_UNSUPPORTED, "set_stream");
        return;
    }
    CF_CHECK(s != NULL, "a device context has no stream");
    void *own = s, *now = NULL;
    /* NULL and the context's own stream both mean the own stream; nothing moves */
    CF_OK(ctx, goptim_context_set_stream(ctx, NULL));
    CF_OK(ctx, goptim_context_stream(ctx, &now));
    CF_CHECK(now == own, "after set_stream(NULL) the stream is %p, not the own %p", now, own);
    CF_OK(ctx, goptim_context_set_stream(ctx, own));
    CF_OK(ctx, goptim_context_stream(ctx, &now));
    CF_CHECK(now == own, "after set_stream(own) the stream is %p, not %p", now, own);
    /* work queued before and after a round trip keeps its order */
    float *p = cf_dev(ctx, 1000), h[1000];
    CF_OK(ctx, goptim_fill(ctx, p, 1.0f, 1000));
    CF_OK(ctx, goptim_context_set_stream(ctx, NULL));
    CF_OK(ctx, goptim_fill(ctx, p + 500, 3.0f, 500));
    cf_get(ctx, h, p, 1000);
    CF_CHECK(h[0] == 1.0f && h[499] == 1.0f && h[500] == 3.0f && h[999] == 3.0f, "fills out of order: %g %g %g %g",
             h[0], h[499], h[500], h[999]);
    CF_OK(ctx, goptim_free(ctx, p));
    /* each context has a stream of its own */
    c = NULL;
    CF_OK(NULL, goptim_context_create(1, &c));
    if (c) {
        void *other = NULL;
        CF_OK(c, goptim_context_stream(c, &other));
        CF_CHECK(other != NULL && other != own, "two contexts share stream %p", other);
        CF_OK(NULL, goptim_context_destroy(c));
    }
}

/* ================================================================ last_error */

static void test_last_error(void) {
    cf_section = "last_error";
    goptim_context *c = NULL;
    CF_OK(NULL, goptim_context_create(1, &c));
    if (!c) return;
    const char *e0 = goptim_context_last_error(c);
    CF_CHECK(e0 != NULL && e0[0] == 0, "fresh context: \"%s\"", e0 ? e0 : "(null)");
    float *p = NULL;
    CF_INVALID(c, goptim_alloc(c, -5, &p), "alloc");
    const char *e1 = goptim_context_last_error(c);
    CF_CHECK(e1 != NULL && e1[0] != 0, "a failed alloc left no detail");
    char keep[600];
    snprintf(keep, sizeof keep, "%s", e1);
    /* the pointer stays valid across later calls, and a successful call clears the text:
     * a detail always describes the latest call */
    float *q = cf_dev(c, 4);
    CF_OK(c, goptim_fill(c, q, 1.0f, 4));
    CF_CHECK(strlen(e1) < 4096, "last_error pointer unreadable after a later call");
    CF_CHECK(goptim_context_last_error(c) == e1, "last_error pointer moved");
    CF_CHECK(goptim_context_last_error(c)[0] == 0, "after a successful call: \"%s\" (was \"%s\")",
             goptim_context_last_error(c), keep);
    /* a later failure describes itself, not the earlier one */
    CF_STATUS(c, goptim_sgemm(c, 0, 0, (int64_t)1 << 40, 1, 1, 1, q, 1, q, 1, 0, q, 1), GOPTIM_ERR_UNSUPPORTED,
              "sgemm");
    const char *e2 = goptim_context_last_error(c);
    CF_CHECK(e2 != NULL && strstr(e2, "sgemm") != NULL && strcmp(e2, keep) != 0, "after the sgemm failure: \"%s\"",
             e2 ? e2 : "(null)");
    CF_INVALID(c, goptim_grad_norm(c, NULL, 2.0, q), "grad_norm");
    CF_INVALID(c, goptim_context_set_isa(c, (goptim_isa)42), "set_isa");
    /* a failure on one context says nothing on another */
    goptim_context *other = NULL;
    CF_OK(NULL, goptim_context_create(1, &other));
    if (other) {
        CF_CHECK(goptim_context_last_error(other)[0] == 0, "a new context inherited \"%s\"",
                 goptim_context_last_error(other));
        CF_OK(NULL, goptim_context_destroy(other));
    }
    /* the library never writes past its detail buffer: a long failing sequence */
    for (int i = 0; i < 100; i++) {
        CF_STATUS(c, goptim_alloc(c, INT64_MAX - i, &p), GOPTIM_ERR_OUT_OF_MEMORY, "alloc");
        CF_CHECK(strlen(goptim_context_last_error(c)) < 4096, "detail too long");
    }
    CF_OK(c, goptim_free(c, q));
    CF_OK(NULL, goptim_context_destroy(c));
}

/* ================================================================ dot, axpy, scal */

/* y + alpha*x rounded once (fused) or twice: BLAS kernels contract it or not, both are
 * BLAS's axpy. */
static int cf_axpy_ok(float got, float alpha, float x, float y) {
    const float fused = fmaf(alpha, x, y);
    volatile float prod = alpha * x;
    const float twice = y + prod;
    return cf_bits(got) == cf_bits(fused) || cf_bits(got) == cf_bits(twice);
}

static void test_vector(void) {
    cf_section = "dot/axpy/scal";
    float *x = cf_dev(ctx, 64), *y = cf_dev(ctx, 64);
    float out = 42.0f;
    /* NULL context */
    CF_INVALID(NULL, goptim_dot(NULL, 4, x, y, &out), NULL);
    CF_INVALID(NULL, goptim_axpy(NULL, 4, 1.0f, x, y), NULL);
    CF_INVALID(NULL, goptim_scal(NULL, 4, 1.0f, x), NULL);
    /* the documented order: n < 0, then n == 0 (nothing to do), then NULL pointers */
    CF_INVALID(ctx, goptim_dot(ctx, -1, x, y, &out), "dot");
    CF_INVALID(ctx, goptim_dot(ctx, INT64_MIN, NULL, NULL, NULL), "dot");
    CF_INVALID(ctx, goptim_axpy(ctx, -1, 1.0f, x, y), "axpy");
    CF_INVALID(ctx, goptim_axpy(ctx, -5, 1.0f, NULL, NULL), "axpy");
    CF_INVALID(ctx, goptim_scal(ctx, -1, 1.0f, x), "scal");
    CF_INVALID(ctx, goptim_scal(ctx, -1, 1.0f, NULL), "scal");
    out = 42.0f;
    CF_OK(ctx, goptim_dot(ctx, 0, NULL, NULL, &out));
    CF_CHECK(cf_bits(out) == cf_bits(0.0f), "dot of length 0 wrote %g, want +0", (double)out);
    CF_OK(ctx, goptim_dot(ctx, 0, NULL, NULL, NULL));
    CF_OK(ctx, goptim_axpy(ctx, 0, 1.0f, NULL, NULL));
    CF_OK(ctx, goptim_scal(ctx, 0, 1.0f, NULL));
    CF_INVALID(ctx, goptim_dot(ctx, 4, NULL, y, &out), "dot");
    CF_INVALID(ctx, goptim_dot(ctx, 4, x, NULL, &out), "dot");
    CF_INVALID(ctx, goptim_dot(ctx, 4, x, y, NULL), "dot");
    CF_INVALID(ctx, goptim_axpy(ctx, 4, 1.0f, NULL, y), "axpy");
    CF_INVALID(ctx, goptim_axpy(ctx, 4, 1.0f, x, NULL), "axpy");
    CF_INVALID(ctx, goptim_scal(ctx, 4, 2.0f, NULL), "scal");
    /* alpha == 0 takes no shortcut past the NULL check */
    CF_INVALID(ctx, goptim_axpy(ctx, 4, 0.0f, NULL, y), "axpy");
    CF_INVALID(ctx, goptim_scal(ctx, 4, 0.0f, NULL), "scal");
    CF_OK(ctx, goptim_free(ctx, x));
    CF_OK(ctx, goptim_free(ctx, y));

    /* values: lengths around the BLAS kernels' blocks and a long one */
    const int64_t lens[] = {1, 5, 31, 32, 33, 1000, 100003};
    cf_rng r = {77};
    for (int li = 0; li < 7; li++) {
        const int64_t n = lens[li];
        float *hx = cf_host(n), *hy = cf_host(n), *back = cf_host(n);
        cf_fill_random(&r, hx, n, -1, 1);
        cf_fill_random(&r, hy, n, -1, 1);
        float *dx = cf_dev(ctx, n), *dy = cf_dev(ctx, n);
        cf_put(ctx, dx, hx, n);
        cf_put(ctx, dy, hy, n);
        /* dot: any summation order; the bound is n * 2^-24 times the sum of |x_i y_i| */
        double want = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) {
            want += (double)hx[i] * hy[i];
            mag += fabs((double)hx[i] * hy[i]);
        }
        out = NAN;
        CF_OK(ctx, goptim_dot(ctx, n, dx, dy, &out));
        CF_CHECK(fabs(out - want) <= (double)n * 0x1p-24 * mag + 1e-30, "dot n=%lld: %.9g, want %.9g", (long long)n,
                 (double)out, want);
        /* x . x: the same vector twice is allowed (nothing is written) */
        double want2 = 0;
        for (int64_t i = 0; i < n; i++) want2 += (double)hx[i] * hx[i];
        CF_OK(ctx, goptim_dot(ctx, n, dx, dx, &out));
        CF_CHECK(fabs(out - want2) <= (double)n * 0x1p-24 * want2, "dot(x, x) n=%lld: %.9g, want %.9g", (long long)n,
                 (double)out, want2);
        /* axpy: element-wise, one or two roundings */
        const float alpha = -0.3125f;
        CF_OK(ctx, goptim_axpy(ctx, n, alpha, dx, dy));
        cf_get(ctx, back, dy, n);
        int64_t bad = -1;
        for (int64_t i = 0; i < n && bad < 0; i++)
            if (!cf_axpy_ok(back[i], alpha, hx[i], hy[i])) bad = i;
        CF_CHECK(bad < 0, "axpy n=%lld: element %lld is %.9g, want %.9g", (long long)n, (long long)bad,
                 bad < 0 ? 0.0 : (double)back[bad], bad < 0 ? 0.0 : (double)fmaf(alpha, hx[bad], hy[bad]));
        /* scal: one rounding per element, exact */
        const float beta = 1.7f;
        CF_OK(ctx, goptim_scal(ctx, n, beta, dx));
        cf_get(ctx, back, dx, n);
        bad = -1;
        for (int64_t i = 0; i < n && bad < 0; i++) {
            volatile float w = hx[i] * beta;
            if (cf_bits(back[i]) != cf_bits(w)) bad = i;
        }
        CF_CHECK(bad < 0, "scal n=%lld: element %lld differs", (long long)n, (long long)bad);
        CF_OK(ctx, goptim_free(ctx, dx));
        CF_OK(ctx, goptim_free(ctx, dy));
        free(hx);
        free(hy);
        free(back);
    }

    /* alpha == 0 is IEEE arithmetic on every backend: y + 0*x and x*0 keep NaN and turn
     * an infinity into NaN (BLAS's early return and zero fill would not) */
    {
        const float hx[4] = {INFINITY, NAN, 2.0f, -3.0f}, hy[4] = {1.0f, 1.0f, 5.0f, -0.0f};
        float back[4];
        float *dx = cf_dev(ctx, 4), *dy = cf_dev(ctx, 4);
        cf_put(ctx, dx, hx, 4);
        cf_put(ctx, dy, hy, 4);
        CF_OK(ctx, goptim_axpy(ctx, 4, 0.0f, dx, dy));
        cf_get(ctx, back, dy, 4);
        CF_CHECK(isnan(back[0]) && isnan(back[1]) && back[2] == 5.0f && cf_bits(back[3]) == cf_bits(-0.0f),
                 "axpy alpha=0: %g %g %g %g, want nan nan 5 -0", (double)back[0], (double)back[1], (double)back[2],
                 (double)back[3]);
        CF_OK(ctx, goptim_scal(ctx, 4, 0.0f, dx));
        cf_get(ctx, back, dx, 4);
        CF_CHECK(isnan(back[0]) && isnan(back[1]) && cf_bits(back[2]) == cf_bits(0.0f) &&
                     cf_bits(back[3]) == cf_bits(-0.0f),
                 "scal alpha=0: %g %g %g %g, want nan nan 0 -0", (double)back[0], (double)back[1], (double)back[2],
                 (double)back[3]);
        CF_OK(ctx, goptim_free(ctx, dx));
        CF_OK(ctx, goptim_free(ctx, dy));
    }
}

/* ================================================================ main */

/* ================================================================ adafactor */

/* Adafactor's first step in double: every state starts at 0 and 1-beta2_1 = 1, so the
 * second moment is the gradient's (a matrix's factored). */
static void adafactor_ref(const float *p0, const float *g, int64_t n, int64_t rows, int64_t cols, double lr,
                          double eps1, double eps2, double *out) {
    double ss = 0, us = 0, *v = calloc((size_t)n, sizeof *v), *u = calloc((size_t)n, sizeof *u);
    for (int64_t i = 0; i < n; i++) ss += (double)p0[i] * p0[i];
    if (rows > 0) {
        double mean = 0, *r = calloc((size_t)rows, sizeof *r), *c = calloc((size_t)cols, sizeof *c);
        for (int64_t a = 0; a < rows; a++)
            for (int64_t b = 0; b < cols; b++) {
                const double x = g[a * cols + b];
                r[a] += x * x / (double)cols;
                c[b] += x * x / (double)rows;
            }
        for (int64_t a = 0; a < rows; a++) mean += r[a] / (double)rows;
        if (mean < eps1) mean = eps1;
        for (int64_t a = 0; a < rows; a++)
            for (int64_t b = 0; b < cols; b++) v[a * cols + b] = r[a] * c[b] / mean;
        free(r);
        free(c);
    } else {
        for (int64_t i = 0; i < n; i++) v[i] = (double)g[i] * g[i];
    }
    for (int64_t i = 0; i < n; i++) {
        u[i] = g[i] / sqrt(v[i] > eps1 * eps1 ? v[i] : eps1 * eps1);
        us += u[i] * u[i];
    }
    const double rms = sqrt(ss / (double)n), alpha = (rms > eps2 ? rms : eps2) * (lr < 1 ? lr : 1);
    const double urms = sqrt(us / (double)n), denom = urms > 1 ? urms : 1;
    for (int64_t i = 0; i < n; i++) out[i] = p0[i] - alpha * u[i] / denom;
    free(v);
    free(u);
}

static void test_adafactor(void) {
    cf_section = "adafactor";
    enum { R = 3, C = 4, V = 5, N = R * C + V };
    float *p = cf_dev(ctx, N), *g = cf_dev(ctx, N), *rv = cf_dev(ctx, R), *cv = cf_dev(ctx, C), *var = cf_dev(ctx, V);
    float hp0[N], hg[N], got[N], zero[N] = {0};
    cf_rng rng = {2024};
    cf_fill_random(&rng, hp0, N, -1.0f, 1.0f);
    cf_fill_random(&rng, hg, N, -0.5f, 0.5f);
    cf_put(ctx, p, hp0, N);
    cf_put(ctx, g, hg, N);
    cf_put(ctx, rv, zero, R);
    cf_put(ctx, cv, zero, C);
    cf_put(ctx, var, zero, V);
    int64_t numel[2] = {R * C, V}, rows[2] = {R, 0}, cols[2] = {C, 0};
    float *params[2] = {p, p + R * C}, *grads[2] = {g, g + R * C};
    float *s0[2] = {rv, NULL}, *s1[2] = {cv, NULL}, *s2[2] = {NULL, var};
    goptim_tensor_list l = {2, numel, params, grads, {s0, s1, s2}};
    const goptim_adafactor_params hp = {1e-2, -0.8, 0x1p-23, 1e-3, 1.0, 0.0, 0};

    /* refused, and nothing changes: the same status on every backend */
    CF_INVALID(NULL, goptim_adafactor_step(NULL, &l, rows, cols, &hp, 1, NULL), NULL);
    CF_INVALID(ctx, goptim_adafactor_step(ctx, NULL, rows, cols, &hp, 1, NULL), "adafactor");
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, rows, cols, NULL, 1, NULL), "adafactor");
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, rows, cols, &hp, 0, NULL), "adafactor");
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, NULL, cols, &hp, 1, NULL), "rows or cols");
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, rows, NULL, &hp, 1, NULL), "rows or cols");
    int64_t bad_rows[2] = {5, 0}, neg_rows[2] = {-1, 0}, bad_cols[2] = {3, 0};
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, bad_rows, cols, &hp, 1, NULL), "no stack");
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, neg_rows, cols, &hp, 1, NULL), "no stack");
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, rows, bad_cols, &hp, 1, NULL), "no stack");
    s0[0] = NULL;
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, rows, cols, &hp, 1, NULL), "row_var");
    s0[0] = rv;
    s2[1] = NULL;
    CF_INVALID(ctx, goptim_adafactor_step(ctx, &l, rows, cols, &hp, 1, NULL), "variance");
    s2[1] = var;
    cf_get(ctx, got, p, N);
    CF_CHECK(cf_same_bits(got, hp0, N, NULL), "a refused step changed the params\n");

    /* an empty list does nothing, NULL shapes included */
    goptim_tensor_list empty = {0, numel, params, grads, {s0, s1, s2}};
    CF_OK(ctx, goptim_adafactor_step(ctx, &empty, NULL, NULL, &hp, 1, NULL));

    /* the first step against the double reference */
    CF_OK(ctx, goptim_adafactor_step(ctx, &l, rows, cols, &hp, 1, NULL));
    cf_get(ctx, got, p, N);
    double want[N];
    adafactor_ref(hp0, hg, R * C, R, C, 1e-2, 0x1p-23, 1e-3, want);
    adafactor_ref(hp0 + R * C, hg + R * C, V, 0, 0, 1e-2, 0x1p-23, 1e-3, want + R * C);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        const double e = fabs(got[i] - want[i]) / (fabs(want[i]) > 1 ? fabs(want[i]) : 1);
        if (e > worst) worst = e;
    }
    CF_CHECK(worst < 1e-6, "adafactor's first step is %g from the double reference\n", worst);
    CF_OK(ctx, goptim_context_synchronize(ctx));
    CF_OK(ctx, goptim_free(ctx, p));
    CF_OK(ctx, goptim_free(ctx, g));
    CF_OK(ctx, goptim_free(ctx, rv));
    CF_OK(ctx, goptim_free(ctx, cv));
    CF_OK(ctx, goptim_free(ctx, var));
}

int main(void) {
    dev = goptim_backend_is_device();
    printf("conformance: backend \"%s\" (%s memory)\n", goptim_backend_name(), dev ? "device" : "host");
    goptim_status st = goptim_context_create(0, &ctx);
    if (st == GOPTIM_ERR_UNSUPPORTED && dev) {
        printf("skipped: no device (goptim_context_create: %s)\n", goptim_status_string(st));
        return 77;
    }
    if (st != GOPTIM_OK || !ctx) {
        fprintf(stderr, "goptim_context_create: %s\n", goptim_status_string(st));
        return 1;
    }
    test_backend();
    test_null_context();
    test_context();
    test_alloc();
    test_copy_fill();
    test_list_validation();
    test_grad_norm();
    test_clip_value();
    test_clip_norm();
    test_check_finite_zero();
    test_steps();
    test_aux();
    test_sgemm();
    test_vector();
    test_adafactor();
    test_devices_streams();
    test_last_error();
    cf_section = "end";
    CF_OK(ctx, goptim_context_synchronize(ctx));
    CF_OK(NULL, goptim_context_destroy(ctx));
    printf("conformance (%s): %d checks, %d failures, %d known divergences; worst step error %.3g\n",
           goptim_backend_name(), cf_checks, cf_failures, cf_known, worst_step_error);
    return cf_failures ? 1 : 0;
}
