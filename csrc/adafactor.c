/*
 * adafactor.c - Adafactor on the CPU: per tensor, three passes over fixed blocks (their
 * size depends on the tensor only, so results do not depend on the thread count), with
 * the reductions between them summed in double in block order:
 *   1. the param's sum of squares; the gradient unscaled (written back) and, for a
 *      matrix, the sums of squares of its rows and (per block) of its columns;
 *   2. row_var/col_var (or variance) advanced, the update's sum of squares;
 *   3. the update again, applied to the param.
 * The update is recomputed in pass 3 rather than stored: Adafactor is chosen to save
 * memory, and an update buffer would be as large as the param.
 */
#include <string.h>

#include "adafactor_math.h"

/* Elements per block (matrices: whole rows, at least one). */
#define AF_BLOCK ((int64_t)65536)

struct af_fns;

typedef struct {
    float *p, *g, *rv, *cv, *var;
    int64_t numel, rows, cols, batch; /* rows == 0: a vector */
    int64_t rpb, bpm, nblocks;        /* rows per block, blocks per matrix, blocks */
    gm_adafactor_k k;
    float scale, gmul, coef;
    int sc;
    double *psum, *usum; /* [nblocks]: the param's and the update's sums of squares */
    double *rsum;        /* [batch*rows]: each row's sum of squares of the gradient */
    double *csum;        /* [nblocks*cols]: each block's column sums of squares */
    double *rmean;       /* [batch]: row_var's mean per matrix, clamped (a float value) */
    const struct af_fns *fns;
} af_job;

/* The block's element range [lo, hi) and, for a matrix, its matrix and first row. */
static void af_range(const af_job *j, int64_t b, int64_t *lo, int64_t *hi, int64_t *m, int64_t *r0, int64_t *r1) {
    if (j->rows == 0) {
        *lo = b * AF_BLOCK;
        *hi = *lo + AF_BLOCK < j->numel ? *lo + AF_BLOCK : j->numel;
        *m = *r0 = *r1 = 0;
        return;
    }
    *m = b / j->bpm;
    *r0 = (b % j->bpm) * j->rpb;
    *r1 = *r0 + j->rpb < j->rows ? *r0 + j->rpb : j->rows;
    *lo = (*m * j->rows + *r0) * j->cols;
    *hi = (*m * j->rows + *r1) * j->cols;
}

GI_INLINE void af_pass1(const af_job *j, int64_t b, const int HW) {
    (void)HW;
    int64_t lo, hi, m, r0, r1;
    af_range(j, b, &lo, &hi, &m, &r0, &r1);
    const float *restrict p = j->p;
    float *restrict g = j->g;
    double ps = 0;
    for (int64_t i = lo; i < hi; i++) ps += (double)p[i] * (double)p[i];
    j->psum[b] = ps;
    if (j->sc)
        for (int64_t i = lo; i < hi; i++) g[i] = gm_unscale(g[i], j->scale, 1);
    if (j->rows == 0) return;
    const int64_t cols = j->cols;
    double *restrict cs = j->csum + b * cols;
    memset(cs, 0, (size_t)cols * sizeof *cs);
    const float gmul = j->gmul;
    for (int64_t r = r0; r < r1; r++) {
        const float *restrict row = g + (m * j->rows + r) * cols;
        double rs = 0;
        for (int64_t c = 0; c < cols; c++) {
            const double x = (double)gm_grad_use(row[c], gmul);
            rs += x * x;
            cs[c] += x * x;
        }
        j->rsum[m * j->rows + r] = rs;
    }
}

GI_INLINE void af_pass2(const af_job *j, int64_t b, const int HW) {
    int64_t lo, hi, m, r0, r1;
    af_range(j, b, &lo, &hi, &m, &r0, &r1);
    const gm_adafactor_k k = j->k;
    const float gmul = j->gmul;
    const float *restrict g = j->g;
    double us = 0;
    if (j->rows == 0) {
        float *restrict var = j->var;
        for (int64_t i = lo; i < hi; i++) {
            const float gu = gm_grad_use(g[i], gmul);
            const float v = gm_lerp(var[i], GM_MUL(gu, gu), k.w GM_HW);
            var[i] = v;
            const float u = gm_adafactor_update(&k, v, gu);
            us += (double)u * (double)u;
        }
    } else {
        const int64_t cols = j->cols;
        const float mean = (float)j->rmean[m];
        const float *restrict cv = j->cv + m * cols;
        for (int64_t r = r0; r < r1; r++) {
            const int64_t row = m * j->rows + r;
            const float rv = j->rv[row];
            const float *restrict gr = g + row * cols;
            for (int64_t c = 0; c < cols; c++) {
                const float u = gm_adafactor_update(&k, gm_adafactor_var(rv, cv[c], mean), gm_grad_use(gr[c], gmul));
                us += (double)u * (double)u;
            }
        }
    }
    j->usum[b] = us;
}

GI_INLINE void af_pass3(const af_job *j, int64_t b, const int WD, const int HW) {
    int64_t lo, hi, m, r0, r1;
    af_range(j, b, &lo, &hi, &m, &r0, &r1);
    const gm_adafactor_k k = j->k;
    const float gmul = j->gmul, coef = j->coef;
    const float *restrict g = j->g;
    float *restrict p = j->p;
    if (j->rows == 0) {
        const float *restrict var = j->var;
        for (int64_t i = lo; i < hi; i++) {
            const float u = gm_adafactor_update(&k, var[i], gm_grad_use(g[i], gmul));
            p[i] = gm_adafactor_apply(&k, p[i], u, coef, WD GM_HW);
        }
        return;
    }
    const int64_t cols = j->cols;
    const float mean = (float)j->rmean[m];
    const float *restrict cv = j->cv + m * cols;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t row = m * j->rows + r;
        const float rv = j->rv[row];
        const float *restrict gr = g + row * cols;
        float *restrict pr = p + row * cols;
        for (int64_t c = 0; c < cols; c++) {
            const float u = gm_adafactor_update(&k, gm_adafactor_var(rv, cv[c], mean), gm_grad_use(gr[c], gmul));
            pr[c] = gm_adafactor_apply(&k, pr[c], u, coef, WD GM_HW);
        }
    }
}

typedef void (*af_block_fn)(void *arg, int64_t b, int tid);
struct af_fns {
    af_block_fn pass1, pass2, pass3[2];
};

#define AF_ISA(isa, attr, hw)                                                                                  \
    attr static void af_##isa##_1(void *a, int64_t b, int tid) { (void)tid; af_pass1((const af_job *)a, b, hw); } \
    attr static void af_##isa##_2(void *a, int64_t b, int tid) { (void)tid; af_pass2((const af_job *)a, b, hw); } \
    attr static void af_##isa##_30(void *a, int64_t b, int tid) {                                              \
        (void)tid;                                                                                             \
        af_pass3((const af_job *)a, b, 0, hw);                                                                 \
    }                                                                                                          \
    attr static void af_##isa##_31(void *a, int64_t b, int tid) {                                              \
        (void)tid;                                                                                             \
        af_pass3((const af_job *)a, b, 1, hw);                                                                 \
    }
GI_FOR_EACH_ISA(AF_ISA)
#define AF_ROW(isa, attr, hw) {af_##isa##_1, af_##isa##_2, {af_##isa##_30, af_##isa##_31}},
static const struct af_fns af_table[GI_ISA_COUNT] = {GI_FOR_EACH_ISA(AF_ROW)};

/* Runs fn on every block, on the pool when the tensor is large. Each block writes its
 * own slots, so the order does not matter. */
static void af_blocks(goptim_context *ctx, af_job *j, af_block_fn fn) {
    if (j->numel < GI_PARALLEL_MIN || ctx->pool.nthreads <= 1 || j->nblocks == 1) {
        for (int64_t b = 0; b < j->nblocks; b++) fn(j, b, 0);
        return;
    }
    gi_pool_run(&ctx->pool, j->nblocks, fn, j);
}

/* The blocks of a tensor: a matrix's of whole rows, a vector's of AF_BLOCK elements. */
static void af_shape(af_job *j, int64_t numel, int64_t rows, int64_t cols) {
    j->numel = numel;
    j->rows = rows;
    j->cols = rows > 0 ? cols : 0;
    if (rows > 0) {
        j->batch = numel / (rows * cols);
        j->rpb = AF_BLOCK / cols > 0 ? AF_BLOCK / cols : 1;
        if (j->rpb > rows) j->rpb = rows;
        j->bpm = (rows + j->rpb - 1) / j->rpb;
        j->nblocks = j->batch * j->bpm;
    } else {
        j->batch = 0;
        j->rpb = j->bpm = 0;
        j->nblocks = (numel + AF_BLOCK - 1) / AF_BLOCK;
    }
}

/* Doubles of scratch a tensor needs. */
static int64_t af_scratch(const af_job *j) {
    return 2 * j->nblocks + (j->rows > 0 ? j->batch * j->rows + j->nblocks * j->cols + j->batch : 0);
}

/* One tensor, every pass. */
static void af_tensor(goptim_context *ctx, af_job *j, double *scratch) {
    j->psum = scratch;
    j->usum = j->psum + j->nblocks;
    j->rsum = j->usum + j->nblocks;
    j->csum = j->rsum + (j->rows > 0 ? j->batch * j->rows : 0);
    j->rmean = j->csum + j->nblocks * j->cols;
    af_blocks(ctx, j, j->fns->pass1);
    double ps = 0;
    for (int64_t b = 0; b < j->nblocks; b++) ps += j->psum[b];
    const double alpha = gm_adafactor_alpha(j->k.eps2, j->k.rho, ps, j->numel);
    if (j->rows > 0) {
        const int HW = 0; /* host code: the exact fma emulation */
        for (int64_t m = 0; m < j->batch; m++) {
            double rvs = 0;
            for (int64_t r = 0; r < j->rows; r++) {
                float *rv = &j->rv[m * j->rows + r];
                *rv = gm_lerp(*rv, gm_adafactor_mean_sq(j->rsum[m * j->rows + r], (float)j->cols), j->k.w GM_HW);
                rvs += *rv;
            }
            const float mean = GM_DIV((float)rvs, (float)j->rows);
            j->rmean[m] = gm_clamp_min(mean, j->k.eps1);
            for (int64_t c = 0; c < j->cols; c++) {
                double cs = 0;
                for (int64_t b = m * j->bpm; b < (m + 1) * j->bpm; b++) cs += j->csum[b * j->cols + c];
                float *cv = &j->cv[m * j->cols + c];
                *cv = gm_lerp(*cv, gm_adafactor_mean_sq(cs, (float)j->rows), j->k.w GM_HW);
            }
        }
    }
    af_blocks(ctx, j, j->fns->pass2);
    double us = 0;
    for (int64_t b = 0; b < j->nblocks; b++) us += j->usum[b];
    j->coef = gm_adafactor_coef(j->k.d, alpha, us, j->numel);
    af_blocks(ctx, j, j->fns->pass3[j->k.wd]);
}

goptim_status goptim_adafactor_step(goptim_context *ctx, const goptim_tensor_list *list, const int64_t *rows,
                                    const int64_t *cols, const goptim_adafactor_params *hp, int64_t step,
                                    const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adafactor_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adafactor_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "adafactor_step", list, 1, 0u, &total);
    if (st || total == 0) goto out;
    if (!rows || !cols) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adafactor_step: NULL rows or cols");
        goto out;
    }
    /* Shapes and state checked, and the scratch sized, before anything changes. */
    int64_t need = 0;
    for (int64_t i = 0; i < list->count; i++) {
        const int64_t n = list->numel[i], r = rows[i];
        if (n == 0) continue;
        if (!gm_adafactor_shape_ok(n, r, cols[i])) {
            st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_ADAFACTOR_SHAPE_MSG, (long long)i, (long long)n,
                         (long long)r, (long long)(r > 0 ? cols[i] : 0));
            goto out;
        }
        const int k0 = r > 0 ? 0 : 2, k1 = r > 0 ? 1 : 2;
        if (!list->state[k0] || !list->state[k1] || !list->state[k0][i] || !list->state[k1][i]) {
            st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_ADAFACTOR_STATE_MSG, (long long)i,
                         r > 0 ? GM_ADAFACTOR_STATE_MATRIX : GM_ADAFACTOR_STATE_VECTOR);
            goto out;
        }
        af_job j;
        af_shape(&j, n, r, cols[i]);
        if (af_scratch(&j) > need) need = af_scratch(&j);
    }
    double *scratch = gi_slots(ctx, need);
    if (!scratch) {
        st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "adafactor_step: %lld doubles of scratch", (long long)need);
        goto out;
    }
    af_job j;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.scale, &j.gmul)) goto out; /* found_inf */
    j.sc = has_scale;
    j.k = gm_adafactor_scalars(hp, step);
    j.fns = &af_table[ctx->isa];
    for (int64_t i = 0; i < list->count; i++) {
        if (list->numel[i] == 0) continue;
        af_shape(&j, list->numel[i], rows[i], cols[i]);
        j.p = list->param[i];
        j.g = list->grad[i];
        j.rv = rows[i] > 0 ? list->state[0][i] : NULL;
        j.cv = rows[i] > 0 ? list->state[1][i] : NULL;
        j.var = rows[i] > 0 ? NULL : list->state[2][i];
        af_tensor(ctx, &j, scratch);
    }
out:
    gi_leave(ctx);
    return st;
}
