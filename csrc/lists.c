/* lists.c - tensor-list checks and the parallel loop over a list or a flat range. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

int64_t gi_piece_slots(int64_t total, int64_t count) { return gi_chunk_count(total) + count; }

void gi_fold_tensors(const goptim_context *ctx, const goptim_tensor_list *list, int64_t total, const double *slots,
                     int w, unsigned max_mask, double *out) {
    const int64_t nchunks = gi_chunk_count(total);
    const int64_t size = nchunks > 0 ? gi_chunk_size(total, nchunks) : 1;
    for (int64_t t = 0; t < list->count; t++) {
        for (int k = 0; k < w; k++) out[w * t + k] = 0;
        const int64_t lo = ctx->prefix[t], hi = ctx->prefix[t + 1];
        if (hi <= lo) continue;
        for (int64_t c = lo / size; c <= (hi - 1) / size; c++)
            for (int k = 0; k < w; k++) {
                const double v = slots[w * (c + t) + k];
                double *o = &out[w * t + k];
                if (!(max_mask >> k & 1u)) *o += v;
                else if (v != v || v > *o) *o = *o != *o ? *o : v; /* NaN stays once met */
            }
    }
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
