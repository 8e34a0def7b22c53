/*
 * context.c - status strings, backend name, the context (thread pool, ISA selection,
 * last error), argument checks, the parallel loop over tensor lists, and memory.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "internal.h"

/* ---------------------------------------------------------------- status, backend */

const char *goptim_status_string(goptim_status s) {
    switch (s) {
    case GOPTIM_OK: return "ok";
    case GOPTIM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case GOPTIM_ERR_OUT_OF_MEMORY: return "out of memory";
    case GOPTIM_ERR_NONFINITE: return "non-finite value";
    case GOPTIM_ERR_BACKEND: return "backend failure";
    case GOPTIM_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

const char *goptim_backend_name(void) { return "cpu"; }
int goptim_backend_is_device(void) { return 0; }

/* ---------------------------------------------------------------- errors, locking */

goptim_status gi_fail(goptim_context *ctx, goptim_status st, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->last_error, sizeof ctx->last_error, fmt, ap);
        va_end(ap);
    }
    return st;
}

goptim_status gi_enter(goptim_context *ctx) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&ctx->mu);
    /* A detail describes the call that failed, never an earlier one (the GPU backend's
     * rule too). */
    ctx->last_error[0] = '\0';
    return GOPTIM_OK;
}

void gi_leave(goptim_context *ctx) { pthread_mutex_unlock(&ctx->mu); }

const char *goptim_context_last_error(const goptim_context *ctx) {
    if (!ctx) return "";
    return ctx->last_error;
}

/* ---------------------------------------------------------------- ISA */

static int gi_cpu_has(int isa) {
    switch (isa) {
    case GI_ISA_PORTABLE: return 1;
#if defined(__x86_64__)
    case GI_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case GI_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq");
#endif
    default: return 0;
    }
}

/* Public enum -> kernel build index, or -1 if this build has no such kernels. */
static int gi_isa_index(goptim_isa isa) {
    switch (isa) {
#if defined(__x86_64__)
    case GOPTIM_ISA_PORTABLE: return GI_ISA_PORTABLE;
    case GOPTIM_ISA_AVX2: return GI_ISA_AVX2;
    case GOPTIM_ISA_AVX512: return GI_ISA_AVX512;
#elif defined(__aarch64__)
    case GOPTIM_ISA_PORTABLE: return GI_ISA_PORTABLE;
    case GOPTIM_ISA_NEON: return GI_ISA_PORTABLE;
#else
    case GOPTIM_ISA_PORTABLE: return GI_ISA_PORTABLE;
#endif
    default: return -1;
    }
}

static goptim_isa gi_best_isa(void) {
#if defined(__x86_64__)
    if (gi_cpu_has(GI_ISA_AVX512)) return GOPTIM_ISA_AVX512;
    if (gi_cpu_has(GI_ISA_AVX2)) return GOPTIM_ISA_AVX2;
    return GOPTIM_ISA_PORTABLE;
#elif defined(__aarch64__)
    return GOPTIM_ISA_NEON;
#else
    return GOPTIM_ISA_PORTABLE;
#endif
}

/* ---------------------------------------------------------------- context */

static int gi_online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 1024) n = 1024;
    return (int)n;
}

static goptim_status gi_set_threads_locked(goptim_context *ctx, int32_t n) {
    if (n <= 0) n = gi_online_cpus();
    if (n > 1024) n = 1024;
    if (ctx->pool.nthreads == n) return GOPTIM_OK;
    gi_pool_destroy(&ctx->pool);
    int rc = gi_pool_init(&ctx->pool, n);
    if (rc) {
        /* Keep a working context: fall back to the caller alone. */
        gi_pool_destroy(&ctx->pool);
        gi_pool_init(&ctx->pool, 1);
        return gi_fail(ctx, rc == ENOMEM ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND,
                       "set_threads: starting %d threads failed: %s (running on 1 thread)", (int)n, strerror(rc));
    }
    return GOPTIM_OK;
}

goptim_status goptim_context_create(int32_t threads, goptim_context **out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    goptim_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return GOPTIM_ERR_OUT_OF_MEMORY;
    if (pthread_mutex_init(&ctx->mu, NULL)) {
        free(ctx);
        return GOPTIM_ERR_BACKEND;
    }
    ctx->isa_public = gi_best_isa();
    ctx->isa = gi_isa_index(ctx->isa_public);
    ctx->pool.nthreads = 0; /* nothing to destroy yet */
    int n = threads <= 0 ? gi_online_cpus() : threads;
    if (n > 1024) n = 1024;
    int rc = gi_pool_init(&ctx->pool, n);
    if (rc) {
        gi_pool_destroy(&ctx->pool);
        pthread_mutex_destroy(&ctx->mu);
        free(ctx);
        return rc == ENOMEM ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND;
    }
    *out = ctx;
    return GOPTIM_OK;
}

goptim_status goptim_context_create_on(int32_t device, int32_t threads, goptim_context **out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (device != 0) return GOPTIM_ERR_INVALID_ARGUMENT; /* the host is the one device */
    return goptim_context_create(threads, out);
}

goptim_status goptim_device_count(int32_t *out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = 1;
    return GOPTIM_OK;
}

goptim_status goptim_context_device(const goptim_context *ctx, int32_t *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = 0;
    return GOPTIM_OK;
}

/* Every call runs to completion on the calling thread: there is no stream to order. */
goptim_status goptim_context_stream(const goptim_context *ctx, void **out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    return GOPTIM_OK;
}

goptim_status goptim_context_set_stream(goptim_context *ctx, void *stream) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (stream) st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, "set_stream: the CPU backend has no streams");
    gi_leave(ctx);
    return st;
}

goptim_status goptim_context_destroy(goptim_context *ctx) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    gi_pool_destroy(&ctx->pool);
    free(ctx->prefix);
    free(ctx->slots);
    pthread_mutex_destroy(&ctx->mu);
    free(ctx);
    return GOPTIM_OK;
}

goptim_status goptim_context_set_threads(goptim_context *ctx, int32_t n) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    st = gi_set_threads_locked(ctx, n);
    gi_leave(ctx);
    return st;
}

goptim_status goptim_context_threads(const goptim_context *ctx, int32_t *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_context *c = (goptim_context *)ctx;
    pthread_mutex_lock(&c->mu);
    *out = c->pool.nthreads;
    pthread_mutex_unlock(&c->mu);
    return GOPTIM_OK;
}

goptim_status goptim_context_set_isa(goptim_context *ctx, goptim_isa isa) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (isa == GOPTIM_ISA_AUTO) isa = gi_best_isa();
    int idx = gi_isa_index(isa);
    if ((int)isa < GOPTIM_ISA_AUTO || (int)isa > GOPTIM_ISA_NEON) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "set_isa: unknown instruction set %d", (int)isa);
    } else if (idx < 0) {
        st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, "set_isa: instruction set %d is not built for this architecture",
                     (int)isa);
    } else if (!gi_cpu_has(idx)) {
        st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, "set_isa: this CPU lacks instruction set %d", (int)isa);
    } else {
        ctx->isa = idx;
        ctx->isa_public = isa;
    }
    gi_leave(ctx);
    return st;
}

goptim_status goptim_context_isa(const goptim_context *ctx, goptim_isa *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_context *c = (goptim_context *)ctx;
    pthread_mutex_lock(&c->mu);
    *out = c->isa_public;
    pthread_mutex_unlock(&c->mu);
    return GOPTIM_OK;
}

goptim_status goptim_context_synchronize(goptim_context *ctx) {
    return ctx ? GOPTIM_OK : GOPTIM_ERR_INVALID_ARGUMENT;
}

/* ---------------------------------------------------------------- lists */

goptim_status gi_check_list(goptim_context *ctx, const char *op, const goptim_tensor_list *list, int need_param,
                            unsigned state_mask, int64_t *total) {
    *total = 0;
    if (!list) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL tensor list", op);
    int64_t count = list->count;
    if (count < 0) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: negative tensor count %lld", op, (long long)count);
    if (count == 0) return GOPTIM_OK;
    if (!list->numel) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL numel array", op);
    if (!list->grad) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL grad array", op);
    if (need_param && !list->param) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL param array", op);
    for (int k = 0; k < GOPTIM_MAX_STATE; k++)
        if ((state_mask >> k & 1u) && !list->state[k])
            return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL state[%d] array (the options need it)", op, k);

    if (count + 1 > ctx->prefix_cap) {
        int64_t cap = count + 1 < 64 ? 64 : count + 1;
        if ((uint64_t)cap > SIZE_MAX / sizeof(int64_t))
            return gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "%s: %lld tensors", op, (long long)count);
        int64_t *pre = malloc((size_t)cap * sizeof(int64_t));
        if (!pre) return gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "%s: no memory for %lld tensors", op, (long long)count);
        free(ctx->prefix);
        ctx->prefix = pre;
        ctx->prefix_cap = cap;
    }
    int64_t sum = 0;
    for (int64_t i = 0; i < count; i++) {
        int64_t n = list->numel[i];
        ctx->prefix[i] = sum;
        if (n < 0)
            return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: tensor %lld has negative numel %lld", op, (long long)i,
                           (long long)n);
        if (n == 0) continue;
        if (!list->grad[i]) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: tensor %lld: NULL grad", op, (long long)i);
        if (need_param && !list->param[i])
            return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: tensor %lld: NULL param", op, (long long)i);
        for (int k = 0; k < GOPTIM_MAX_STATE; k++)
            if ((state_mask >> k & 1u) && !list->state[k][i])
                return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: tensor %lld: NULL state[%d] (the options need it)",
                               op, (long long)i, k);
        if (n > INT64_MAX - sum)
            return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: total element count overflows int64", op);
        sum += n;
    }
    ctx->prefix[count] = sum;
    *total = sum;
    return GOPTIM_OK;
}

int64_t gi_chunk_count(int64_t total) {
    if (total <= 0) return 0;
    int64_t size = (total + GI_MAX_CHUNKS - 1) / GI_MAX_CHUNKS;
    size = size < GI_CHUNK_MIN ? GI_CHUNK_MIN : (size + 15) / 16 * 16;
    return (total + size - 1) / size;
}

static int64_t gi_chunk_size(int64_t total, int64_t nchunks) {
    int64_t size = (total + nchunks - 1) / nchunks;
    size = size < GI_CHUNK_MIN ? GI_CHUNK_MIN : (size + 15) / 16 * 16;
    return size;
}

double *gi_slots(goptim_context *ctx, int64_t n) {
    if (n > ctx->slots_cap || !ctx->slots) {
        int64_t cap = n < 64 ? 64 : n;
        double *s = malloc((size_t)cap * sizeof(double));
        if (!s) return NULL;
        free(ctx->slots);
        ctx->slots = s;
        ctx->slots_cap = cap;
    }
    if (n > 0) memset(ctx->slots, 0, (size_t)n * sizeof(double));
    return ctx->slots;
}

typedef struct {
    const goptim_tensor_list *list; /* NULL: a flat range */
    const int64_t *prefix;
    int64_t total, size;
    gi_piece_fn fn;
    void *arg;
} gi_job;

/* Runs chunk c: [c*size, (c+1)*size) of the list's elements, tensor by tensor. */
static void gi_chunk(void *argp, int64_t c, int tid) {
    (void)tid;
    const gi_job *j = (const gi_job *)argp;
    const int64_t lo = c * j->size, hi = lo + j->size < j->total ? lo + j->size : j->total;
    if (!j->list) {
        j->fn(j->arg, c, 0, lo, hi - lo);
        return;
    }
    /* the tensor holding element lo: largest a with prefix[a] <= lo */
    int64_t a = 0, b = j->list->count; /* prefix[a] <= lo < prefix[b] */
    while (b - a > 1) {
        const int64_t m = a + (b - a) / 2;
        if (j->prefix[m] <= lo) a = m;
        else b = m;
    }
    for (int64_t i = a; i < j->list->count && j->prefix[i] < hi; i++) {
        const int64_t t0 = j->prefix[i], t1 = j->prefix[i + 1];
        const int64_t s = lo > t0 ? lo : t0, e = hi < t1 ? hi : t1;
        if (e > s) j->fn(j->arg, c, i, s - t0, e - s);
    }
}

static void gi_run(goptim_context *ctx, gi_job *j) {
    int64_t n;
    if (j->size > 0) { /* caller's chunk size */
        n = (j->total + j->size - 1) / j->size;
    } else {
        n = gi_chunk_count(j->total);
        j->size = gi_chunk_size(j->total, n);
    }
    if (j->total < GI_PARALLEL_MIN || ctx->pool.nthreads <= 1) {
        for (int64_t c = 0; c < n; c++) gi_chunk(j, c, 0);
        return;
    }
    gi_pool_run(&ctx->pool, n, gi_chunk, j);
}

void gi_for_list(goptim_context *ctx, const goptim_tensor_list *list, int64_t total, gi_piece_fn fn, void *arg) {
    if (total <= 0) return;
    gi_job j = {list, ctx->prefix, total, 0, fn, arg};
    gi_run(ctx, &j);
}

void gi_for_range(goptim_context *ctx, int64_t total, gi_piece_fn fn, void *arg) {
    if (total <= 0) return;
    /* Few, large pieces: memcpy/memset switch to non-temporal stores for large sizes,
     * which a copy needs to reach full bandwidth; four chunks per thread still let
     * a late worker's share be picked up. */
    const int64_t parts = (int64_t)ctx->pool.nthreads * 4;
    int64_t size = (total + parts - 1) / parts;
    size = size < GI_CHUNK_MIN ? GI_CHUNK_MIN : (size + 15) / 16 * 16;
    gi_job j = {NULL, NULL, total, size, fn, arg};
    gi_run(ctx, &j);
}

/* ---------------------------------------------------------------- AMP, clipping */

int gi_resolve_aux(const goptim_step_aux *aux, int maximize, int *has_scale, float *scale, float *gmul) {
    *has_scale = 0;
    *scale = 1.0f;
    float coef = 1.0f;
    if (aux) {
        if (aux->found_inf && *aux->found_inf != 0.0f) return 1;
        if (aux->grad_scale) {
            *has_scale = 1;
            *scale = *aux->grad_scale;
        }
        if (aux->clip_norm && aux->max_norm > 0) coef = gi_clip_coef(*aux->clip_norm, aux->max_norm);
    }
    *gmul = maximize ? -coef : coef;
    return 0;
}

/* ---------------------------------------------------------------- memory */

typedef struct {
    float *dst;
    const float *src;
    float v;
    int isa;
} gi_mem_job;

/*
 * Large copies and fills use non-temporal (streaming) stores: the destination is not
 * read first (no read-for-ownership) and does not evict the cache. glibc's memcpy
 * only streams above its non-temporal threshold (3/4 of the L3 size, 190 MB on the
 * development machine), which each thread's piece of a parallel copy rarely reaches;
 * with regular stores a 2-thread copy ran at 27 GB/s against 44 GB/s streamed.
 * SSE streaming stores are baseline x86-64; elsewhere memcpy/memset.
 */
#define GI_STREAM_MIN ((int64_t)(1 << 18)) /* elements (1 MiB) */

#if defined(__x86_64__)
#include <immintrin.h>

/* dst[i] = src ? src[i] : v with 64-byte streaming stores (whole cache lines). */
#define GI_STREAM_BODY(VEC, LOADU, SET1, STREAM, W)                                     \
    int64_t i = 0;                                                                       \
    for (; i < n && ((uintptr_t)(dst + i) & 63u) != 0; i++) dst[i] = src ? src[i] : v; \
    if (src) {                                                                           \
        for (; i + 64 <= n; i += 64)                                                     \
            for (int k = 0; k < 64; k += W) STREAM(dst + i + k, LOADU(src + i + k));     \
    } else {                                                                             \
        const VEC vv = SET1(v);                                                          \
        for (; i + 64 <= n; i += 64)                                                     \
            for (int k = 0; k < 64; k += W) STREAM(dst + i + k, vv);                     \
    }                                                                                    \
    _mm_sfence();                                                                        \
    for (; i < n; i++) dst[i] = src ? src[i] : v;

static void gi_stream_sse(float *dst, const float *src, float v, int64_t n) {
    GI_STREAM_BODY(__m128, _mm_loadu_ps, _mm_set1_ps, _mm_stream_ps, 4)
}
GI_ATTR_AVX2 static void gi_stream_avx2(float *dst, const float *src, float v, int64_t n) {
    GI_STREAM_BODY(__m256, _mm256_loadu_ps, _mm256_set1_ps, _mm256_stream_ps, 8)
}
GI_ATTR_AVX512 static void gi_stream_avx512(float *dst, const float *src, float v, int64_t n) {
    GI_STREAM_BODY(__m512, _mm512_loadu_ps, _mm512_set1_ps, _mm512_stream_ps, 16)
}

static void gi_stream(int isa, float *dst, const float *src, float v, int64_t n) {
    if (isa == GI_ISA_AVX512) gi_stream_avx512(dst, src, v, n);
    else if (isa == GI_ISA_AVX2) gi_stream_avx2(dst, src, v, n);
    else gi_stream_sse(dst, src, v, n);
}
#endif

static void gi_copy_piece(void *argp, int64_t chunk, int64_t t, int64_t begin, int64_t len) {
    (void)chunk;
    (void)t;
    const gi_mem_job *j = (const gi_mem_job *)argp;
#if defined(__x86_64__)
    if (len >= GI_STREAM_MIN) {
        gi_stream(j->isa, j->dst + begin, j->src + begin, 0.0f, len);
        return;
    }
#endif
    memcpy(j->dst + begin, j->src + begin, (size_t)len * sizeof(float));
}

static void gi_fill_piece(void *argp, int64_t chunk, int64_t t, int64_t begin, int64_t len) {
    (void)chunk;
    (void)t;
    const gi_mem_job *j = (const gi_mem_job *)argp;
    float *d = j->dst + begin;
#if defined(__x86_64__)
    if (len >= GI_STREAM_MIN) {
        gi_stream(j->isa, d, NULL, j->v, len);
        return;
    }
#endif
    if (j->v == 0.0f && !signbit(j->v)) {
        memset(d, 0, (size_t)len * sizeof(float));
        return;
    }
    const float v = j->v;
    for (int64_t i = 0; i < len; i++) d[i] = v;
}

static void gi_fill_range(goptim_context *ctx, float *dst, float v, int64_t n) {
    gi_mem_job j = {dst, NULL, v, ctx->isa};
    gi_for_range(ctx, n, gi_fill_piece, &j);
}

#define GI_HUGE_PAGE ((size_t)2 << 20)
#define GI_HUGE_MIN ((size_t)4 << 20)

/* n == 0 gives a unique, freeable 64-byte block. */
goptim_status goptim_alloc(goptim_context *ctx, int64_t n, float **out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (n < 0) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "alloc: negative length %lld", (long long)n);
    if ((uint64_t)n > (SIZE_MAX - GI_HUGE_PAGE) / sizeof(float))
        return gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "alloc: %lld floats is too many", (long long)n);
    size_t bytes = (size_t)n * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes == 0) bytes = 64;
    /* Large buffers on 2 MiB boundaries, asking for transparent huge pages (Linux's
     * default THP mode is "madvise"): a step streams 4 to 7 arrays at once, each
     * crossing a 4 KiB page every 1024 floats. Measured with `go run ./cmd/bench
     * -layout gpt2-medium`, alternating builds: one thread's Adam step went from
     * 0.84-0.95 to 0.93-1.00 of a same-run memcpy. Where THP is off or unsupported
     * the advice is ignored. */
    const size_t align = bytes >= GI_HUGE_MIN ? GI_HUGE_PAGE : 64;
    const size_t reserved = (bytes + align - 1) & ~(align - 1);
    void *p = NULL;
    int rc = posix_memalign(&p, align, reserved);
    if (rc || !p) return gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "alloc: %lld floats (%zu bytes) failed", (long long)n, bytes);
#if defined(MADV_HUGEPAGE)
    if (align == GI_HUGE_PAGE) (void)madvise(p, reserved, MADV_HUGEPAGE);
#endif
    /* Zero it; large buffers in parallel (this also spreads first-touch pages). */
    goptim_status st = gi_enter(ctx);
    if (st) {
        free(p);
        return st;
    }
    gi_fill_range(ctx, (float *)p, 0.0f, (int64_t)(bytes / sizeof(float)));
    gi_leave(ctx);
    *out = (float *)p;
    return GOPTIM_OK;
}

goptim_status goptim_free(goptim_context *ctx, float *p) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    free(p);
    return GOPTIM_OK;
}

static goptim_status gi_copy_common(goptim_context *ctx, const char *op, float *dst, const float *src, int64_t n) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(float))
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: negative or too large length", op);
    else if (n > 0 && (!dst || !src)) st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL pointer", op);
    else if (n > 0 && dst != src) {
        /* overlapping buffers: one memmove keeps the semantics exact */
        const char *d = (const char *)dst, *s = (const char *)src;
        size_t bytes = (size_t)n * sizeof(float);
        if ((d < s + bytes && s < d + bytes) || n < GI_PARALLEL_MIN) {
            memmove(dst, src, bytes);
        } else {
            gi_mem_job j = {dst, src, 0.0f, ctx->isa};
            gi_for_range(ctx, n, gi_copy_piece, &j);
        }
    }
    gi_leave(ctx);
    return st;
}

goptim_status goptim_copy_from_host(goptim_context *ctx, float *dst, const float *host_src, int64_t n) {
    return gi_copy_common(ctx, "copy_from_host", dst, host_src, n);
}

goptim_status goptim_copy_to_host(goptim_context *ctx, float *host_dst, const float *src, int64_t n) {
    return gi_copy_common(ctx, "copy_to_host", host_dst, src, n);
}

goptim_status goptim_copy(goptim_context *ctx, float *dst, const float *src, int64_t n) {
    return gi_copy_common(ctx, "copy", dst, src, n);
}

goptim_status goptim_fill(goptim_context *ctx, float *dst, float value, int64_t n) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(float))
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "fill: negative or too large length");
    else if (n > 0 && !dst) st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "fill: NULL pointer");
    else gi_fill_range(ctx, dst, value, n);
    gi_leave(ctx);
    return st;
}
