/*
 * grad.c - gradient utilities: total norm (OpenBLAS reductions), clipping by norm and
 * by value, the AMP non-finite check with unscaling, and zeroing.
 */
#include "gm_ops.h" /* includes kernel.h first */

#include <cblas.h>
#include <float.h>
#include <string.h>

/* ---------------------------------------------------------------- element loops */

/* g *= coef (clip_grad_norm_'s g.mul_(clip_coef_clamped)); NaN*0 stays NaN, unlike
 * BLAS sscal, whose alpha == 0 case writes zeros. */
GI_INLINE void scale_body(int64_t n, float *restrict g, float coef) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] * coef;
}

/* torch.clamp_(min=lo, max=hi): NaN stays NaN; max(x, lo) first, then min(., hi), so an
 * empty interval (lo > hi, a negative clip_value) gives hi everywhere, as torch.clamp and
 * the GPU backend's fminf(fmaxf(x, lo), hi) do. For lo <= hi the same as one select. */
GI_INLINE void clamp_body(int64_t n, float *restrict g, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) {
        const float x = g[i];
        const float y = x < lo ? lo : x;
        g[i] = y > hi ? hi : y;
    }
}

/* Returns 1 if any element is NaN or Inf; with UNSCALE also g *= inv_scale (after
 * the check, on the value as read: torch's _amp_foreach_non_finite_check_and_unscale_). */
GI_INLINE int finite_body(int64_t n, float *restrict g, float inv_scale, const int UNSCALE) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const float x = g[i];
        uint32_t bits;
        memcpy(&bits, &x, sizeof bits);
        bad |= (uint32_t)((bits & 0x7f800000u) == 0x7f800000u); /* exponent all ones: Inf or NaN */
        if (UNSCALE) g[i] = x * inv_scale;
    }
    return bad != 0;
}

/* 1 if any element is NaN (the inf-norm's companion of isamax, which skips NaN). */
GI_INLINE int nan_body(int64_t n, const float *restrict g) {
    int nan = 0;
    for (int64_t i = 0; i < n; i++) nan |= g[i] != g[i];
    return nan;
}


/* One element of norms_body: its square into lane acc, the bits of |x| into lane mx.
 * For numbers (not NaN) the order of those bits as unsigned integers is the order of the
 * magnitudes, and an integer max vectorizes where a float compare-and-select does not
 * (it must keep NaN's rules). */
GI_INLINE void norms_lane(float x, double *acc, uint32_t *mx) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    b &= 0x7fffffffu;
    *acc += (double)x * (double)x;
    *mx = b > *mx ? b : *mx;
}

/* out[0] = the sum of squares of g[0..n) in double, in gi_sumsq's lanes and order (the
 * same bits); out[1] = max |g| (NaN when one is NaN), in the same read. A NaN in g is
 * exactly a NaN sum (squares are not negative and cannot overflow double: no Inf - Inf),
 * so the max need not know about NaN. */
GI_INLINE void norms_body(int64_t n, const float *restrict g, double *restrict out) {
    double acc[GI_SUMSQ_LANES] = {0};
    uint32_t mx[GI_SUMSQ_LANES] = {0};
    int64_t i = 0;
    for (; i + GI_SUMSQ_LANES <= n; i += GI_SUMSQ_LANES)
        for (int l = 0; l < GI_SUMSQ_LANES; l++) norms_lane(g[i + l], &acc[l], &mx[l]);
    for (int l = 0; i < n; i++, l++) norms_lane(g[i], &acc[l], &mx[l]);
    out[0] = gi_sumsq_fold(acc);
    uint32_t m = 0;
    for (int l = 0; l < GI_SUMSQ_LANES; l++) m = mx[l] > m ? mx[l] : m;
    float f;
    memcpy(&f, &m, sizeof f);
    out[1] = out[0] != out[0] ? (double)NAN : (double)f;
}

typedef void (*scale_fn)(int64_t n, float *g, float coef);
typedef void (*clamp_fn)(int64_t n, float *g, float lo, float hi);
typedef int (*finite_fn)(int64_t n, float *g, float inv_scale);
typedef int (*nan_fn)(int64_t n, const float *g);
typedef double (*sumsq_fn)(int64_t n, const float *g);
typedef void (*norms_fn)(int64_t n, const float *g, double *out);

#define GRAD_ISA(isa, attr, hw)                                                                                        \
    attr static void scale_##isa(int64_t n, float *restrict g, float coef) { scale_body(n, g, coef); }              \
    attr static void clamp_##isa(int64_t n, float *restrict g, float lo, float hi) { clamp_body(n, g, lo, hi); }    \
    attr static int finite_##isa##_0(int64_t n, float *restrict g, float s) { return finite_body(n, g, s, 0); }     \
    attr static int finite_##isa##_1(int64_t n, float *restrict g, float s) { return finite_body(n, g, s, 1); }     \
    attr static int nan_##isa(int64_t n, const float *restrict g) { return nan_body(n, g); }                         \
    attr static double sumsq_##isa(int64_t n, const float *restrict g) { return gi_sumsq(n, g); }             \
    attr static void norms_##isa(int64_t n, const float *restrict g, double *out) { norms_body(n, g, out); }
GI_FOR_EACH_ISA(GRAD_ISA)

#define SCALE_ROW(isa, attr, hw) scale_##isa,
#define CLAMP_ROW(isa, attr, hw) clamp_##isa,
#define FINITE_ROW(isa, attr, hw) {finite_##isa##_0, finite_##isa##_1},
#define NAN_ROW(isa, attr, hw) nan_##isa,
#define SUMSQ_ROW(isa, attr, hw) sumsq_##isa,
#define NORMS_ROW(isa, attr, hw) norms_##isa,
static const scale_fn scale_table[GI_ISA_COUNT] = {GI_FOR_EACH_ISA(SCALE_ROW)};
static const clamp_fn clamp_table[GI_ISA_COUNT] = {GI_FOR_EACH_ISA(CLAMP_ROW)};
static const finite_fn finite_table[GI_ISA_COUNT][2] = {GI_FOR_EACH_ISA(FINITE_ROW)};
static const nan_fn nan_table[GI_ISA_COUNT] = {GI_FOR_EACH_ISA(NAN_ROW)};
static const sumsq_fn sumsq_table[GI_ISA_COUNT] = {GI_FOR_EACH_ISA(SUMSQ_ROW)};
static const norms_fn norms_table[GI_ISA_COUNT] = {GI_FOR_EACH_ISA(NORMS_ROW)};

/* ---------------------------------------------------------------- norm */

/*
 * BLAS calls take at most this many elements: blasint is 32-bit, OpenBLAS does not
 * start threads of its own for level-1 calls this short (our pool already splits the
 * work), and for the inf-norm the chunk is still in cache when it is checked for NaN.
 */
#define NORM_CHUNK ((int64_t)8192)

typedef struct {
    const goptim_tensor_list *list;
    double *slots; /* one per chunk: the chunk's sum of squares or max |g| */
    nan_fn has_nan;
    sumsq_fn sumsq;
    int inf;
} norm_job;

static void norm_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    const norm_job *j = (const norm_job *)argp;
    const float *g = j->list->grad[t] + b;
    double *acc = &j->slots[chunk];
    if (!j->inf) {
        /* Sum of squares in double, exact per square and in a fixed order (gi_sumsq):
         * OpenBLAS's dsdot squares in float on some CPUs (0.3.21's SkylakeX kernel), so
         * its sums would change with the machine. NaN/Inf propagate. */
        *acc += j->sumsq(n, g);
        return;
    }
    double m = *acc;
    for (int64_t o = 0; o < n && m == m; o += NORM_CHUNK) {
        const int64_t c = n - o < NORM_CHUNK ? n - o : NORM_CHUNK;
        if (j->has_nan(c, g + o)) {
            m = NAN;
            break;
        }
        const double a = fabsf(g[o + (int64_t)cblas_isamax((blasint)c, g + o, 1)]);
        if (a > m) m = a;
    }
    *acc = m;
}

goptim_status goptim_grad_norm(goptim_context *ctx, const goptim_tensor_list *list, double norm_type,
                               float *out_norm) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!out_norm) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norm: NULL out_norm");
        goto out;
    }
    const int inf = isinf(norm_type) && norm_type > 0;
    if (!inf && norm_type != 2.0) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norm: norm_type %g is not supported (2 or +Inf)", norm_type);
        goto out;
    }
    st = gi_check_list(ctx, "grad_norm", list, 0, 0u, &total);
    if (st) goto out;
    /* per-chunk results combined in chunk order: the same norm whatever the thread count */
    const int64_t nchunks = gi_chunk_count(total);
    double *slots = gi_slots(ctx, nchunks);
    if (!slots) {
        st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "grad_norm: no memory for %lld partial sums", (long long)nchunks);
        goto out;
    }
    norm_job j = {list, slots, nan_table[ctx->isa], sumsq_table[ctx->isa], inf};
    gi_for_list(ctx, list, total, norm_piece, &j);
    double r = 0;
    for (int64_t i = 0; i < nchunks; i++) {
        const double v = slots[i];
        if (!inf) r += v;
        else if (v != v) { r = v; break; } /* NaN anywhere: the norm is NaN */
        else if (v > r) r = v;
    }
    *out_norm = inf ? (float)r : (float)sqrt(r);
out:
    gi_leave(ctx);
    return st;
}

typedef struct {
    const goptim_tensor_list *list;
    norms_fn fn;
    double *slots; /* two per piece (gi_piece_slots) */
} norms_job;

static void norms_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    const norms_job *j = (const norms_job *)argp;
    j->fn(n, j->list->grad[t] + b, j->slots + 2 * (chunk + t));
}

goptim_status goptim_grad_norms(goptim_context *ctx, const goptim_tensor_list *list, float *l2, float *inf) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!l2 && !inf) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "grad_norms: NULL l2 and inf");
        goto out;
    }
    st = gi_check_list(ctx, "grad_norms", list, 0, 0u, &total);
    if (st || list->count == 0) goto out;
    const int64_t pieces = gi_piece_slots(total, list->count);
    double *buf = gi_slots(ctx, 2 * (pieces + list->count));
    if (!buf) {
        st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "grad_norms: no memory for %lld partial sums",
                     (long long)(2 * (pieces + list->count)));
        goto out;
    }
    norms_job j = {list, norms_table[ctx->isa], buf};
    gi_for_list(ctx, list, total, norms_piece, &j);
    /* L2: the pieces' sums in chunk order; inf: their max, NaN winning */
    double *per = buf + 2 * pieces;
    gi_fold_tensors(ctx, list, total, buf, 2, 2u, per);
    for (int64_t t = 0; t < list->count; t++) {
        if (l2) l2[t] = (float)sqrt(per[2 * t]);
        if (inf) inf[t] = (float)per[2 * t + 1];
    }
out:
    gi_leave(ctx);
    return st;
}

/* ---------------------------------------------------------------- clipping, zeroing */

typedef struct {
    const goptim_tensor_list *list;
    int isa;
    float a, b;
    int unscale;
    double *bad; /* one per chunk */
} grad_job;

static void scale_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const grad_job *j = (const grad_job *)argp;
    scale_table[j->isa](n, j->list->grad[t] + b, j->a);
}

static void clamp_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const grad_job *j = (const grad_job *)argp;
    clamp_table[j->isa](n, j->list->grad[t] + b, j->a, j->b);
}

static void zero_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const grad_job *j = (const grad_job *)argp;
    memset(j->list->grad[t] + b, 0, (size_t)n * sizeof(float));
}

static void finite_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    const grad_job *j = (const grad_job *)argp;
    if (finite_table[j->isa][j->unscale](n, j->list->grad[t] + b, j->a)) j->bad[chunk] = 1;
}

goptim_status goptim_clip_grad_by_norm(goptim_context *ctx, const goptim_tensor_list *list, double max_norm,
                                       const float *norm) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!norm) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "clip_grad_by_norm: NULL norm");
        goto out;
    }
    st = gi_check_list(ctx, "clip_grad_by_norm", list, 0, 0u, &total);
    if (st) goto out;
    grad_job j = {list, ctx->isa, gm_clip_coef(*norm, (float)max_norm), 0, 0, NULL};
    if (j.a == 1.0f) goto out; /* g * 1 == g bit for bit: skip the pass */
    gi_for_list(ctx, list, total, scale_piece, &j);
out:
    gi_leave(ctx);
    return st;
}

goptim_status goptim_clip_grad_value(goptim_context *ctx, const goptim_tensor_list *list, double clip_value) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    st = gi_check_list(ctx, "clip_grad_value", list, 0, 0u, &total);
    if (st) goto out;
    grad_job j = {list, ctx->isa, (float)-clip_value, (float)clip_value, 0, NULL};
    gi_for_list(ctx, list, total, clamp_piece, &j);
out:
    gi_leave(ctx);
    return st;
}

goptim_status goptim_check_finite(goptim_context *ctx, const goptim_tensor_list *list, const float *inv_scale,
                                  float *found_inf) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!found_inf) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "check_finite: NULL found_inf");
        goto out;
    }
    st = gi_check_list(ctx, "check_finite", list, 0, 0u, &total);
    if (st) goto out;
    const int64_t nchunks = gi_chunk_count(total);
    double *bad = gi_slots(ctx, nchunks);
    if (!bad) {
        st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "check_finite: no memory for %lld flags", (long long)nchunks);
        goto out;
    }
    grad_job j = {list, ctx->isa, inv_scale ? *inv_scale : 1.0f, 0, inv_scale != NULL, bad};
    gi_for_list(ctx, list, total, finite_piece, &j);
    for (int64_t i = 0; i < nchunks; i++)
        if (bad[i] != 0) *found_inf = 1.0f;
out:
    gi_leave(ctx);
    return st;
}

goptim_status goptim_zero_grad(goptim_context *ctx, const goptim_tensor_list *list) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    st = gi_check_list(ctx, "zero_grad", list, 0, 0u, &total);
    if (st) goto out;
    grad_job j = {list, ctx->isa, 0, 0, 0, NULL};
    gi_for_list(ctx, list, total, zero_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
