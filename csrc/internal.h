/*
 * internal.h - what the CPU backend's translation units share: the context, ISA
 * detection, the parallel loop over a tensor list, argument checks, the parallel fill
 * and the per-ISA kernel macros.
 *
 * Every .c file of csrc is compiled on its own (by cgo and by CMake), so everything here is
 * either a declaration of a function defined in exactly one .c file (prefixed
 * goptim_internal_ / gi_) or static inline.
 */
#ifndef GOPTIM_INTERNAL_H
#define GOPTIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "goptim.h"
#include "pool.h"

/* ---------------------------------------------------------------- ISA */

/* Index of a kernel build; the tables of every kernel file are indexed by it. */
enum {
    GI_ISA_PORTABLE = 0,
#if defined(__x86_64__)
    GI_ISA_AVX2 = 1,
    GI_ISA_AVX512 = 2,
    GI_ISA_COUNT = 3,
#else
    GI_ISA_COUNT = 1,
#endif
};

/* Whether this CPU runs kernel build isa (GI_ISA_*). */
int gi_cpu_has(int isa);
/* Public enum -> kernel build index, or -1 if this build has no such kernels. */
int gi_isa_index(goptim_isa isa);
/* The fastest instruction set this CPU and this build have (a context's default). */
goptim_isa gi_best_isa(void);

#define GI_INLINE static inline __attribute__((always_inline))

/*
 * GI_FOR_EACH_ISA(X) expands X(suffix, attribute, hwfma) once per kernel build. The
 * same always_inline body is instantiated inside a function carrying each target
 * attribute, so the compiler vectorises one source for each instruction set. hwfma
 * says whether the build has a fused multiply-add instruction (see gi_fma in
 * kernel.h). On arm64 the portable build is the NEON build (Advanced SIMD and FMA are
 * baseline there).
 */
#if defined(__x86_64__)
#define GI_ATTR_PORTABLE
#define GI_ATTR_AVX2 __attribute__((target("avx2,fma")))
#if defined(__clang__)
#define GI_ATTR_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq"), min_vector_width(512)))
#else
#define GI_ATTR_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,prefer-vector-width=512")))
#endif
#define GI_FOR_EACH_ISA(X) X(portable, GI_ATTR_PORTABLE, 0) X(avx2, GI_ATTR_AVX2, 1) X(avx512, GI_ATTR_AVX512, 1)
#else
#define GI_FOR_EACH_ISA(X) X(portable, , 1)
#endif

/* ---------------------------------------------------------------- context */

#define GI_ERRBUF 512

struct goptim_context {
    pthread_mutex_t mu;  /* serialises calls on the context */
    gi_pool pool;        /* nthreads-1 workers; the caller is worker 0 */
    int isa;             /* GI_ISA_* in use */
    goptim_isa isa_public;
    /* grow-only scratch, reused across calls (no allocation per step) */
    int64_t *prefix;     /* prefix[i] = elements before tensor i, prefix[count] = total */
    int64_t prefix_cap;
    double *slots;       /* one reduction slot per chunk */
    int64_t slots_cap;
    char last_error[GI_ERRBUF];
};

/* Below this many elements in total a call runs on the calling thread alone. */
#ifndef GI_PARALLEL_MIN
#define GI_PARALLEL_MIN ((int64_t)65536)
#endif
/* Chunks (the unit a thread claims) hold at least this many elements, and a call has
 * at most about GI_MAX_CHUNKS of them; their size depends on the total only (not on
 * the thread count), is a multiple of 16 elements (64 bytes), and chunk c covers
 * [c*size, (c+1)*size) of the list's elements in order, across tensor boundaries. */
#define GI_CHUNK_MIN ((int64_t)16384)
#define GI_MAX_CHUNKS ((int64_t)512)

/* Records a formatted message in ctx->last_error and returns st. */
goptim_status gi_fail(goptim_context *ctx, goptim_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Locks the context (returns INVALID_ARGUMENT for NULL ctx without locking). */
goptim_status gi_enter(goptim_context *ctx);
void gi_leave(goptim_context *ctx);

/*
 * Checks a tensor list for one call and fills ctx->prefix: list non-NULL, count >= 0,
 * numel/param/grad arrays non-NULL when count > 0, numel[i] >= 0, and for tensors with
 * numel > 0: grad non-NULL, param non-NULL if need_param, state[k] (array and
 * pointer) non-NULL for each bit k of state_mask. On success *total is the element
 * count of the whole list. The caller holds the context lock.
 */
goptim_status gi_check_list(goptim_context *ctx, const char *op, const goptim_tensor_list *list, int need_param,
                            unsigned state_mask, int64_t *total);

/*
 * The parallel loop over a list (after gi_check_list): calls
 * fn(arg, chunk, tensor, begin, len) for pieces covering every element exactly once;
 * a piece lies in one tensor and one chunk. Chunks are shared out among the pool's
 * threads (the caller included) as they come free; below GI_PARALLEL_MIN elements,
 * or with one thread, the caller runs them all in order.
 */
typedef void (*gi_piece_fn)(void *arg, int64_t chunk, int64_t tensor, int64_t begin, int64_t len);
void gi_for_list(goptim_context *ctx, const goptim_tensor_list *list, int64_t total, gi_piece_fn fn, void *arg);

/* The same over one flat range [0, n): fn(arg, chunk, 0, begin, len), in chunks of
 * about n / (4 * threads) elements (copies and fills, no reductions). */
void gi_for_range(goptim_context *ctx, int64_t n, gi_piece_fn fn, void *arg);

/* Number of chunks gi_for_list/gi_for_range use for total elements. */
int64_t gi_chunk_count(int64_t total);

/* ctx->slots with room for n doubles, zeroed (grow-only); NULL if out of memory. */
double *gi_slots(goptim_context *ctx, int64_t n);

/*
 * Per-tensor sums over a list that do not depend on the thread count (LAMB's and LARS's
 * norms): in gi_for_list the piece of chunk c and tensor t owns the w doubles at
 * slots[w*(c + t)] (c + t grows along the pieces, so no two share them), of
 * gi_piece_slots(total, count) * w in all; gi_fold_tensors then combines each tensor's
 * pieces in chunk order into out[w*t .. w*t + w): value k summed, or, for bit k of
 * max_mask, its maximum (NaN once met; pieces' values >= 0). The caller holds the
 * context lock and ctx->prefix is the list's (gi_check_list).
 */
int64_t gi_piece_slots(int64_t total, int64_t count);
void gi_fold_tensors(const goptim_context *ctx, const goptim_tensor_list *list, int64_t total, const double *slots,
                     int w, unsigned max_mask, double *out);

/* Sum of the squares of x[0..n) in double, in GI_SUMSQ_LANES lanes (x[i] goes to lane
 * i % GI_SUMSQ_LANES) combined pairwise: the same bits for every ISA and vector width.
 * Squares of floats are exact in double. 32 lanes are four independent chains of adds
 * even for AVX-512's eight doubles, so the sum runs at the loads' pace, not at the
 * latency of one chain. gi_sumsq_lanes adds x's squares to the lanes acc[0..LANES), so a
 * long array can be summed in pieces whose lengths are multiples of LANES with the same
 * bits. */
#define GI_SUMSQ_LANES 32

GI_INLINE void gi_sumsq_lanes(int64_t n, const float *restrict x, double *restrict acc) {
    int64_t i = 0;
    for (; i + GI_SUMSQ_LANES <= n; i += GI_SUMSQ_LANES)
        for (int l = 0; l < GI_SUMSQ_LANES; l++) acc[l] += (double)x[i + l] * (double)x[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += (double)x[i] * (double)x[i];
}

/* The lanes' total: lane l + lane l + w for w = 16, 8, 4, 2, 1. Overwrites acc. */
GI_INLINE double gi_sumsq_fold(double *acc) {
    for (int w = GI_SUMSQ_LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) acc[l] += acc[l + w];
    return acc[0];
}

GI_INLINE double gi_sumsq(int64_t n, const float *restrict x) {
    double acc[GI_SUMSQ_LANES] = {0};
    gi_sumsq_lanes(n, x, acc);
    return gi_sumsq_fold(acc);
}

/* ---------------------------------------------------------------- memory */

/* dst[0..n) = v through gi_for_range, streamed when large (goptim_alloc zeroes with
 * it). The caller holds the context lock. */
void gi_fill_range(goptim_context *ctx, float *dst, float v, int64_t n);

/* ---------------------------------------------------------------- AMP and clipping */

/*
 * Resolves goptim_step_aux for a step call. Returns 1 if the step must do nothing
 * (found_inf set), else 0 and fills: *scale (the grad_scale value; has_scale says
 * whether the kernel divides by it and writes the gradient back) and *gmul, the
 * factor every gradient is multiplied by after unscaling: the clip coefficient
 * (1 without clipping) with the sign of maximize. Multiplying by +-1 and by the
 * coefficient in one step is exact-equivalent to torch's separate clip and negation
 * (negation commutes with rounding).
 */
int gi_resolve_aux(const goptim_step_aux *aux, int maximize, int *has_scale, float *scale, float *gmul);

#endif /* GOPTIM_INTERNAL_H */
