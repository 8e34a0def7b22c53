/*
 * muon.c - Muon on the CPU (muon_math.h has the math and the order every product
 * rounds in), with AdamW (adam.c, through goptim_adam_step) for the list's tensors that
 * are not matrices.
 *
 * The products are this file's own sgemm: OpenBLAS accumulates in blocks and with fma,
 * which rounds otherwise than the reference BLAS torch's results come from. Each output
 * is still accumulated over k in order, so the kernel can block and vectorise across
 * outputs as any sgemm does: an MR x NR tile of C lives in registers (NR floats a row, two
 * vectors of the ISA) and takes one broadcast element of packed A times one row of packed
 * B per k, a multiply and an add, both rounded; k is cut into blocks of MUON_KC whose
 * partial sums pass through C in memory (exact: they are floats). Nothing depends on the
 * thread count or the ISA: a tile's arithmetic is the same wherever it runs.
 *
 * Same-shape matrices are batched: each stage (momentum and norm, the three products of
 * every Newton-Schulz iteration, the update) is one parallel job over all the batch's
 * matrices, which keeps every thread busy on small matrices. A matrix's arithmetic does
 * not depend on its batch.
 *
 * GOPTIM_MUON_FP32_BLAS trades the reference order for speed: the products are
 * OpenBLAS's cblas_sgemm, one matrix at a time on OpenBLAS's own threads (as
 * goptim_sgemm), with the adds in beta. sgemm's C is both input and output and may not
 * alias A or B, so B starts as a copy of A and X's next value as a copy of X (what
 * torch's addmm does too when out is not self). Momentum, norm and update are the same
 * jobs on the context's pool as in the reference mode.
 */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "muon_math.h"

#define MUON_MR 6
#define MUON_KC ((int64_t)256)
#define MUON_MC ((int64_t)96)  /* rows of a task: a multiple of MUON_MR */
#define MUON_NC ((int64_t)256) /* cols of a task: a multiple of every NR */
#define MUON_NRMAX 32
/* Batches hold at most this many floats of workspace (X, its next value, A and B). */
#define MUON_BATCH_FLOATS ((int64_t)48 << 20)

/* One product of a batch (see gm_muon_mm_ref): every matrix has the same m, n, k. */
typedef struct {
    int64_t m, n, k, count;
    const float *const *a;
    int64_t lda;
    const float *const *b;
    int64_t ldb;
    int btrans;
    const float *const *cin; /* NULL: none */
    float *const *c;
    float alpha, beta;
    int tn;
    int64_t mt, nt;  /* tasks per matrix: row blocks, col blocks */
    float *scratch;  /* per thread: MUON_MC*MUON_KC + MUON_KC*MUON_NC + tile */
    int64_t per_thread;
} mm_job;

typedef float mv4 __attribute__((vector_size(16)));
typedef float mv8 __attribute__((vector_size(32)));
typedef float mv16 __attribute__((vector_size(64)));

/* Packs rows [i0, i0+mr) x cols [l0, l0+kc) of A, times alpha unless tn, as kc groups of
 * MUON_MR (rows past mr are 0). */
GI_INLINE void mm_pack_a(const mm_job *j, const float *a, int64_t i0, int64_t mr, int64_t l0, int64_t kc, float *dst) {
    const float alpha = j->alpha;
    for (int64_t i = 0; i < MUON_MR; i++) {
        if (i >= mr) {
            for (int64_t l = 0; l < kc; l++) dst[l * MUON_MR + i] = 0.0f;
            continue;
        }
        const float *src = a + (i0 + i) * j->lda + l0;
        if (j->tn)
            for (int64_t l = 0; l < kc; l++) dst[l * MUON_MR + i] = src[l];
        else
            for (int64_t l = 0; l < kc; l++) dst[l * MUON_MR + i] = GM_MUL(alpha, src[l]);
    }
}

/* Packs B[l0, l0+kc) x [j0, j0+nr) as kc rows of NR (cols past nr are 0). */
GI_INLINE void mm_pack_b(const mm_job *j, const float *b, int64_t l0, int64_t kc, int64_t j0, int64_t nr, int64_t NR,
                         float *dst) {
    if (j->btrans) {
        for (int64_t jj = 0; jj < NR; jj++) {
            if (jj >= nr) {
                for (int64_t l = 0; l < kc; l++) dst[l * NR + jj] = 0.0f;
                continue;
            }
            const float *src = b + (j0 + jj) * j->ldb + l0;
            for (int64_t l = 0; l < kc; l++) dst[l * NR + jj] = src[l];
        }
        return;
    }
    for (int64_t l = 0; l < kc; l++) {
        const float *src = b + (l0 + l) * j->ldb + j0;
        float *d = dst + l * NR;
        int64_t jj = 0;
        for (; jj < nr; jj++) d[jj] = src[jj];
        for (; jj < NR; jj++) d[jj] = 0.0f;
    }
}

/* The register tile: acc[i][v] += a[l][i] * b[l][v] over kc, from and back to t (MR x NR).
 * V is the ISA's vector type, NV vectors a row. */
#define MUON_MICRO(V, W)                                                                        \
    GI_INLINE void mm_micro_##W(int64_t kc, const float *restrict pa, const float *restrict pb, \
                                float *restrict t) {                                            \
        V acc[MUON_MR][2];                                                                      \
        for (int i = 0; i < MUON_MR; i++) {                                                     \
            memcpy(&acc[i][0], t + i * 2 * W, sizeof(V));                                       \
            memcpy(&acc[i][1], t + i * 2 * W + W, sizeof(V));                                   \
        }                                                                                       \
        for (int64_t l = 0; l < kc; l++) {                                                      \
            V b0, b1;                                                                           \
            memcpy(&b0, pb + l * 2 * W, sizeof(V));                                             \
            memcpy(&b1, pb + l * 2 * W + W, sizeof(V));                                         \
            for (int i = 0; i < MUON_MR; i++) {                                                 \
                const V av = (V){0} + pa[l * MUON_MR + i];                                      \
                acc[i][0] = acc[i][0] + av * b0;                                                \
                acc[i][1] = acc[i][1] + av * b1;                                                \
            }                                                                                   \
        }                                                                                       \
        for (int i = 0; i < MUON_MR; i++) {                                                     \
            memcpy(t + i * 2 * W, &acc[i][0], sizeof(V));                                       \
            memcpy(t + i * 2 * W + W, &acc[i][1], sizeof(V));                                   \
        }                                                                                       \
    }
MUON_MICRO(mv4, 4)
MUON_MICRO(mv8, 8)
MUON_MICRO(mv16, 16)

/* Task (matrix, row block, col block) of a product. The tile t starts at beta*Cin (NN),
 * or 0 (TN), and passes through C between k blocks. */
GI_INLINE void mm_task(const mm_job *j, int64_t task, int tid, const int W) {
    const int64_t NR = 2 * W;
    const int64_t per = j->mt * j->nt;
    const int64_t mi = task / per, r = task % per;
    const int64_t i0 = (r / j->nt) * MUON_MC, j0 = (r % j->nt) * MUON_NC;
    const int64_t i1 = i0 + MUON_MC < j->m ? i0 + MUON_MC : j->m;
    const int64_t j1 = j0 + MUON_NC < j->n ? j0 + MUON_NC : j->n;
    const float *a = j->a[mi], *b = j->b[mi], *cin = j->cin ? j->cin[mi] : NULL;
    float *c = j->c[mi];
    const int64_t ldc = j->n;
    float *pa = j->scratch + (int64_t)tid * j->per_thread;
    float *pb = pa + MUON_MC * MUON_KC;
    float *t = pb + MUON_KC * MUON_NC;
    const float alpha = j->alpha, beta = j->beta;
    if (alpha == 0.0f || j->k == 0) { /* netlib: no product; TN's alpha*0 is 0 too */
        for (int64_t i = i0; i < i1; i++)
            for (int64_t jj = j0; jj < j1; jj++)
                c[i * ldc + jj] = beta == 0.0f ? 0.0f : GM_MUL(beta, cin[i * ldc + jj]);
        return;
    }
    for (int64_t l0 = 0; l0 < j->k; l0 += MUON_KC) {
        const int64_t kc = l0 + MUON_KC < j->k ? MUON_KC : j->k - l0;
        const int first = l0 == 0, last = l0 + kc == j->k;
        for (int64_t jr = j0; jr < j1; jr += NR)
            mm_pack_b(j, b, l0, kc, jr, (j1 - jr < NR ? j1 - jr : NR), NR, pb + (jr - j0) * kc);
        for (int64_t ir = i0; ir < i1; ir += MUON_MR) {
            const int64_t mr = i1 - ir < MUON_MR ? i1 - ir : MUON_MR;
            mm_pack_a(j, a, ir, mr, l0, kc, pa);
            for (int64_t jr = j0; jr < j1; jr += NR) {
                const int64_t nr = j1 - jr < NR ? j1 - jr : NR;
                for (int64_t i = 0; i < MUON_MR; i++)
                    for (int64_t jj = 0; jj < NR; jj++) {
                        float v = 0.0f;
                        if (i < mr && jj < nr) {
                            const int64_t at = (ir + i) * ldc + jr + jj;
                            if (!first) v = c[at];
                            else if (!j->tn && beta != 0.0f) v = GM_MUL(beta, cin[at]);
                        }
                        t[i * NR + jj] = v;
                    }
                const float *pbj = pb + (jr - j0) * kc;
                if (W == 4) mm_micro_4(kc, pa, pbj, t);
                else if (W == 8) mm_micro_8(kc, pa, pbj, t);
                else mm_micro_16(kc, pa, pbj, t);
                for (int64_t i = 0; i < mr; i++)
                    for (int64_t jj = 0; jj < nr; jj++) {
                        const int64_t at = (ir + i) * ldc + jr + jj;
                        float v = t[i * NR + jj];
                        if (last && j->tn) {
                            v = GM_MUL(alpha, v);
                            if (beta != 0.0f) v = GM_ADD(v, GM_MUL(beta, cin[at]));
                        }
                        c[at] = v;
                    }
            }
        }
    }
}

typedef struct {
    int64_t rows, cols, m, n, count; /* X is m x n (m <= n): the matrix, transposed when rows > cols */
    float *const *p;
    float *const *g;
    float *const *buf;
    float *const *x;
    const float *neg_lr; /* per matrix */
    gm_muon_k k;
    float scale, gmul;
    int sc;
} mu_job;

/* Momentum and the norm of matrix mi, serial in memory order (the sum is sequential),
 * then X = u / max(norm, eps). */
GI_INLINE void mu_prep(const mu_job *j, int64_t mi, const int HW) {
    const int64_t rows = j->rows, cols = j->cols, tr = rows > cols;
    float *restrict g = j->g[mi], *restrict buf = j->buf[mi], *restrict x = j->x[mi];
    const gm_muon_k k = j->k;
    float ss = 0.0f;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            const int64_t i = r * cols + c;
            if (j->sc) g[i] = gm_unscale(g[i], j->scale, 1);
            const float u = gm_muon_momentum(&k, gm_grad_use(g[i], j->gmul), &buf[i] GM_HW);
            ss = GM_ADD(ss, GM_MUL(u, u));
            x[tr ? c * rows + r : i] = u;
        }
    const float nrm = gm_muon_clamp(GM_SQRT(ss), k.eps);
    const int64_t n = rows * cols;
    for (int64_t i = 0; i < n; i++) x[i] = GM_DIV(x[i], nrm);
}

/* The update of rows [r0, r1) of matrix mi's param. */
GI_INLINE void mu_apply(const mu_job *j, int64_t mi, int64_t r0, int64_t r1, const int HW) {
    const int64_t rows = j->rows, cols = j->cols, tr = rows > cols;
    float *restrict p = j->p[mi];
    const float *restrict x = j->x[mi];
    const float nl = j->neg_lr[mi];
    for (int64_t r = r0; r < r1; r++)
        for (int64_t c = 0; c < cols; c++) {
            const int64_t i = r * cols + c;
            p[i] = gm_muon_apply(&j->k, p[i], x[tr ? c * rows + r : i], nl GM_HW);
        }
}

#define MU_APPLY_ROWS ((int64_t)64)

#define MUON_ISA(isa, attr, hw)                                                                 \
    attr static void mm_##isa(void *a, int64_t t, int tid) { mm_task((const mm_job *)a, t, tid, \
        GI_ISA_W_##isa); }                                                                      \
    attr static void mu_prep_##isa(void *a, int64_t m, int tid) {                               \
        (void)tid;                                                                              \
        mu_prep((const mu_job *)a, m, hw);                                                      \
    }                                                                                           \
    attr static void mu_apply_##isa(void *a, int64_t t, int tid) {                              \
        (void)tid;                                                                              \
        const mu_job *j = (const mu_job *)a;                                                    \
        const int64_t per = (j->rows + MU_APPLY_ROWS - 1) / MU_APPLY_ROWS;                      \
        const int64_t r0 = (t % per) * MU_APPLY_ROWS;                                           \
        mu_apply(j, t / per, r0, r0 + MU_APPLY_ROWS < j->rows ? r0 + MU_APPLY_ROWS : j->rows, hw); \
    }
/* Floats in a vector of each build. */
#define GI_ISA_W_portable 4
#define GI_ISA_W_avx2 8
#define GI_ISA_W_avx512 16
GI_FOR_EACH_ISA(MUON_ISA)

typedef struct {
    gi_chunk_fn mm, prep, apply;
} mu_fns;
#define MUON_ROW(isa, attr, hw) {mm_##isa, mu_prep_##isa, mu_apply_##isa},
static const mu_fns mu_table[GI_ISA_COUNT] = {GI_FOR_EACH_ISA(MUON_ROW)};

static void mu_run(goptim_context *ctx, int64_t n, gi_chunk_fn fn, void *arg) {
    if (ctx->pool.nthreads <= 1 || n == 1) {
        for (int64_t i = 0; i < n; i++) fn(arg, i, 0);
        return;
    }
    gi_pool_run(&ctx->pool, n, fn, arg);
}

/* One batched product over count matrices. */
static void mu_mm(goptim_context *ctx, const mu_fns *f, mm_job *j) {
    j->mt = (j->m + MUON_MC - 1) / MUON_MC;
    j->nt = (j->n + MUON_NC - 1) / MUON_NC;
    mu_run(ctx, j->count * j->mt * j->nt, f->mm, j);
}

/* The matrices idx[0..count) of the list, all rows x cols, through Muon. ws holds the
 * batch's workspace, pp its pointer arrays (8*count). */
static void mu_batch(goptim_context *ctx, const mu_fns *f, const goptim_tensor_list *list, const int64_t *idx,
                     int64_t count, int64_t rows, int64_t cols, const goptim_muon_params *hp, const gm_muon_k *k,
                     float scale, float gmul, int sc, float *ws, float *thr, int64_t per_thread, void **pp,
                     float *neg_lr) {
    const int64_t m = rows < cols ? rows : cols, n = rows < cols ? cols : rows;
    float **P = (float **)pp, **G = P + count, **BUF = G + count, **X = BUF + count, **XN = X + count,
          **A = XN + count, **B = A + count;
    for (int64_t i = 0; i < count; i++) {
        P[i] = list->param[idx[i]];
        G[i] = list->grad[idx[i]];
        BUF[i] = list->state[0][idx[i]];
        X[i] = ws + i * (2 * m * n + 2 * m * m);
        XN[i] = X[i] + m * n;
        A[i] = XN[i] + m * n;
        B[i] = A[i] + m * m;
        neg_lr[i] = gm_muon_neg_lr(hp, rows, cols);
    }
    mu_job u = {.rows = rows, .cols = cols, .m = m, .n = n, .count = count, .p = P, .g = G, .buf = BUF, .x = X,
                .neg_lr = neg_lr, .k = *k, .scale = scale, .gmul = gmul, .sc = sc};
    mu_run(ctx, count, f->prep, &u);
    if (hp->precision == GOPTIM_MUON_FP32_BLAS) {
        /* Matrix by matrix, every iteration while its X, A and B are still in cache. */
        for (int64_t i = 0; i < count; i++) {
            float *x = X[i], *xn = XN[i];
            for (int32_t s = 0; s < hp->ns_steps; s++) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)m, (blasint)n, 1.0f, x,
                            (blasint)n, x, (blasint)n, 0.0f, A[i], (blasint)m);
                if (k->b != 0.0f) memcpy(B[i], A[i], (size_t)(m * m) * sizeof(float));
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m, (blasint)m, (blasint)m, k->c, A[i],
                            (blasint)m, A[i], (blasint)m, k->b, B[i], (blasint)m);
                if (k->a != 0.0f) memcpy(xn, x, (size_t)(m * n) * sizeof(float));
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m, (blasint)n, (blasint)m, 1.0f, B[i],
                            (blasint)m, x, (blasint)n, k->a, xn, (blasint)n);
                float *t = x;
                x = xn;
                xn = t;
            }
            X[i] = x; /* the apply job reads u.x, which is X */
        }
        mu_run(ctx, count * ((rows + MU_APPLY_ROWS - 1) / MU_APPLY_ROWS), f->apply, &u);
        return;
    }
    for (int32_t s = 0; s < hp->ns_steps; s++) {
        /* A = X X^T */
        mm_job g = {.m = m, .n = m, .k = n, .count = count, .a = (const float *const *)X, .lda = n,
                    .b = (const float *const *)X, .ldb = n, .btrans = 1, .cin = NULL, .c = A, .alpha = 1.0f,
                    .beta = 0.0f, .tn = 0, .scratch = thr, .per_thread = per_thread};
        mu_mm(ctx, f, &g);
        /* B = addmm(A, A, A, beta=b, alpha=c) */
        mm_job h = {.m = m, .n = m, .k = m, .count = count, .a = (const float *const *)A, .lda = m,
                    .b = (const float *const *)A, .ldb = m, .btrans = 0, .cin = (const float *const *)A, .c = B,
                    .alpha = k->c, .beta = k->b, .tn = 0, .scratch = thr, .per_thread = per_thread};
        mu_mm(ctx, f, &h);
        /* X = addmm(X, B, X, beta=a): TN while X is still the transposed view */
        mm_job x = {.m = m, .n = n, .k = m, .count = count, .a = (const float *const *)B, .lda = m,
                    .b = (const float *const *)X, .ldb = n, .btrans = 0, .cin = (const float *const *)X, .c = XN,
                    .alpha = 1.0f, .beta = k->a, .tn = s == 0 && rows > cols, .scratch = thr,
                    .per_thread = per_thread};
        mu_mm(ctx, f, &x);
        for (int64_t i = 0; i < count; i++) {
            float *t = X[i];
            X[i] = XN[i];
            XN[i] = t;
        }
    }
    mu_run(ctx, count * ((rows + MU_APPLY_ROWS - 1) / MU_APPLY_ROWS), f->apply, &u);
}

static int64_t mu_ws(int64_t rows, int64_t cols) {
    const int64_t m = rows < cols ? rows : cols, n = rows < cols ? cols : rows;
    return 2 * m * n + 2 * m * m;
}


goptim_status goptim_muon_step(goptim_context *ctx, const goptim_tensor_list *list, const int64_t *rows,
                               const int64_t *cols, const goptim_muon_params *hp, int64_t step,
                               const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0, nmat = 0, nvec = 0;
    int64_t *idx = NULL;
    float *ws = NULL, *thr = NULL, *nl = NULL;
    void **pp = NULL;
    goptim_tensor_list sub;
    int64_t *snumel = NULL;
    float **sp = NULL;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: step %lld < 1", (long long)step);
        goto out;
    }
    if (hp->ns_steps < 0 || hp->adjust_lr_fn < 0 || hp->adjust_lr_fn > 1 || hp->precision < 0 || hp->precision > 2) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: ns_steps %d, adjust_lr_fn %d, precision %d",
                     (int)hp->ns_steps, (int)hp->adjust_lr_fn, (int)hp->precision);
        goto out;
    }
    if (hp->precision == GOPTIM_MUON_BF16) {
        st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, "muon_step: bfloat16 products are a GPU option");
        goto out;
    }
    if (hp->adam.amsgrad) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: the AdamW tensors have no room for amsgrad");
        goto out;
    }
    st = gi_check_list(ctx, "muon_step", list, 1, 0u, &total);
    if (st || total == 0) goto out;
    if (!rows || !cols) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "muon_step: NULL rows or cols");
        goto out;
    }
    int64_t need = 0;
    for (int64_t i = 0; i < list->count; i++) {
        const int64_t n = list->numel[i], r = rows[i];
        if (n == 0) continue;
        if (!gm_muon_shape_ok(n, r, cols[i])) {
            st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_MUON_SHAPE_MSG, (long long)i, (long long)n,
                         (long long)r, (long long)(r > 0 ? cols[i] : 0));
            goto out;
        }
        if (r > 0 && hp->precision == GOPTIM_MUON_FP32_BLAS && (r > INT_MAX || cols[i] > INT_MAX)) {
            st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, GM_MUON_BLAS_SIZE_MSG, (long long)i, (long long)r,
                         (long long)cols[i]);
            goto out;
        }
        const int ok = r > 0 ? (list->state[0] && list->state[0][i])
                             : (list->state[1] && list->state[2] && list->state[1][i] && list->state[2][i]);
        if (!ok) {
            st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, GM_MUON_STATE_MSG, (long long)i,
                         r > 0 ? GM_MUON_STATE_MATRIX : GM_MUON_STATE_VECTOR);
            goto out;
        }
        if (r > 0) {
            nmat++;
            if (mu_ws(r, cols[i]) > need) need = mu_ws(r, cols[i]);
        } else {
            nvec++;
        }
    }
    const int blas = hp->precision == GOPTIM_MUON_FP32_BLAS;
    const int nthreads = blas ? 1 : ctx->pool.nthreads > 0 ? ctx->pool.nthreads : 1; /* blas: no packing */
    const int64_t per_thread = blas ? 1 : MUON_MC * MUON_KC + MUON_KC * MUON_NC + MUON_MR * MUON_NRMAX;
    const int64_t bmax = need > 0 && MUON_BATCH_FLOATS / need > 1 ? MUON_BATCH_FLOATS / need : 1;
    const int64_t bcap = bmax < nmat ? bmax : nmat;
    idx = malloc((size_t)(nmat + 1) * sizeof *idx);
    pp = malloc((size_t)(7 * bcap + 1) * sizeof *pp);
    nl = malloc((size_t)(bcap + 1) * sizeof *nl);
    if (nmat > 0) {
        ws = aligned_alloc(64, (size_t)((need * bcap * 4 + 63) / 64 * 64));
        thr = aligned_alloc(64, (size_t)(per_thread * nthreads * 4));
    }
    if (!idx || !pp || !nl || (nmat > 0 && (!ws || !thr))) {
        st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "muon_step: %lld floats of workspace", (long long)(need * bcap));
        goto out;
    }
    int has_scale;
    float scale, gmul;
    if (gi_resolve_aux(aux, 0, &has_scale, &scale, &gmul)) goto out; /* found_inf: nothing changes */
    const gm_muon_k k = gm_muon_scalars(hp);
    const mu_fns *f = &mu_table[ctx->isa];
    /* Matrices by shape (then list order), each shape in batches. */
    int64_t q = 0;
    for (int64_t i = 0; i < list->count; i++)
        if (list->numel[i] > 0 && rows[i] > 0) idx[q++] = i;
    for (int64_t a = 1; a < nmat; a++) { /* insertion sort: stable, lists are short */
        const int64_t v = idx[a];
        int64_t b = a;
        while (b > 0 && (rows[idx[b - 1]] > rows[v] || (rows[idx[b - 1]] == rows[v] && cols[idx[b - 1]] > cols[v]))) {
            idx[b] = idx[b - 1];
            b--;
        }
        idx[b] = v;
    }
    for (int64_t a = 0; a < nmat;) {
        int64_t e = a + 1;
        while (e < nmat && e - a < bcap && rows[idx[e]] == rows[idx[a]] && cols[idx[e]] == cols[idx[a]]) e++;
        mu_batch(ctx, f, list, idx + a, e - a, rows[idx[a]], cols[idx[a]], hp, &k, scale, gmul, has_scale, ws, thr,
                 per_thread, pp, nl);
        a = e;
    }
out:
    free(ws);
    free(thr);
    free(pp);
    free(nl);
    free(idx);
    gi_leave(ctx);
    if (st || nvec == 0) return st;
    /* The AdamW tensors: a list of their own, stepped by adam.c (which takes the lock). */
    snumel = malloc((size_t)nvec * sizeof *snumel);
    sp = malloc((size_t)(4 * nvec) * sizeof *sp);
    if (!snumel || !sp) {
        free(snumel);
        free(sp);
        gi_enter(ctx);
        st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "muon_step: the AdamW list");
        gi_leave(ctx);
        return st;
    }
    int64_t v = 0;
    for (int64_t i = 0; i < list->count; i++) {
        if (list->numel[i] == 0 || rows[i] != 0) continue;
        snumel[v] = list->numel[i];
        sp[v] = list->param[i];
        sp[nvec + v] = list->grad[i];
        sp[2 * nvec + v] = list->state[1][i];
        sp[3 * nvec + v] = list->state[2][i];
        v++;
    }
    memset(&sub, 0, sizeof sub);
    sub.count = nvec;
    sub.numel = snumel;
    sub.param = sp;
    sub.grad = sp + nvec;
    sub.state[0] = sp + 2 * nvec;
    sub.state[1] = sp + 3 * nvec;
    goptim_adam_params ah = hp->adam;
    ah.decoupled_weight_decay = 1;
    st = goptim_adam_step(ctx, &sub, &ah, step, aux);
    free(snumel);
    free(sp);
    return st;
}
