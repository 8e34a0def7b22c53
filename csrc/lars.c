/*
 * lars.c - LARS/LARC on the CPU: a pass that sums each tensor's squares of param and
 * gradient (per piece of the parallel loop, gi_piece_slots, so the result does not
 * depend on the thread count), then lars_math.h's adaptive lr per tensor and a pass of
 * SGD's update over the scaled gradients.
 */
#include "lars_math.h"

typedef struct {
    gm_lars_k m;
    float scale, gmul;
} lars_k;

/* Pass 1: sums[0] = sum p^2, sums[1] = sum g^2 of the gradient as read (unscaled in
 * memory when SC). */
GI_INLINE void lars_norm_body(int64_t n, const float *restrict p, float *restrict g, const lars_k *k,
                              double *restrict sums, const int SC, const int MUL) {
    const float scale = k->scale, gmul = k->gmul;
    sums[0] = gi_sumsq(n, p);
    if (!SC && !MUL) {
        sums[1] = gi_sumsq(n, g);
        return;
    }
    float tile[256];
    double s = 0;
    for (int64_t t0 = 0; t0 < n; t0 += 256) {
        const int64_t tn = n - t0 < 256 ? n - t0 : 256;
        for (int64_t i = 0; i < tn; i++) {
            const float grad = gm_unscale(g[t0 + i], scale, SC);
            if (SC) g[t0 + i] = grad;
            tile[i] = MUL ? gm_grad_use(grad, gmul) : grad;
        }
        s += gi_sumsq(tn, tile);
    }
    sums[1] = s;
}

/* Pass 2: SGD over the scaled gradients. */
GI_INLINE void lars_body(int64_t n, float *restrict p, const float *restrict g, float *restrict mbuf, const lars_k *k,
                         float alr, const int MOM, const int NEST, const int HW) {
    const gm_lars_k km = k->m;
    const float gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        float param = p[i], buf = MOM == GM_MOM_RUN ? mbuf[i] : 0.0f;
        const float d_p = gm_lars_grad(&km, param, gm_grad_use(g[i], gmul), alr);
        gm_sgd_update(&km.sgd, &param, d_p, &buf, 0, MOM, NEST, HW);
        p[i] = param;
        if (MOM != GM_MOM_NONE) mbuf[i] = buf;
    }
}

typedef void (*lars_norm_fn)(int64_t n, const float *p, float *g, const lars_k *k, double *sums);
typedef void (*lars_fn)(int64_t n, float *p, const float *g, float *buf, const lars_k *k, float alr);

#define LARS_NORM_SPEC(isa, attr, hw, SC, MUL)                                                                     \
    attr static void lars_norm_##isa##_##SC##MUL(int64_t n, const float *restrict p, float *restrict g,            \
                                                 const lars_k *k, double *sums) {                                   \
        lars_norm_body(n, p, g, k, sums, SC, MUL);                                                                 \
    }
#define LARS_SPEC(isa, attr, hw, MOM, NEST)                                                                       \
    attr static void lars_##isa##_##MOM##NEST(int64_t n, float *restrict p, const float *restrict g,              \
                                              float *restrict buf, const lars_k *k, float alr) {                   \
        lars_body(n, p, g, buf, k, alr, MOM, NEST, hw);                                                            \
    }
#define LARS_SPEC_NEST(isa, attr, hw, MOM) LARS_SPEC(isa, attr, hw, MOM, 0) LARS_SPEC(isa, attr, hw, MOM, 1)
#define LARS_ISA(isa, attr, hw)                                                                                 \
    LARS_NORM_SPEC(isa, attr, hw, 0, 0) LARS_NORM_SPEC(isa, attr, hw, 0, 1) LARS_NORM_SPEC(isa, attr, hw, 1, 0) \
    LARS_NORM_SPEC(isa, attr, hw, 1, 1) LARS_SPEC_NEST(isa, attr, hw, 0) LARS_SPEC_NEST(isa, attr, hw, 1)       \
    LARS_SPEC_NEST(isa, attr, hw, 2)
GI_FOR_EACH_ISA(LARS_ISA)

#define LARS_NORM_ROW(isa, attr, hw) {{lars_norm_##isa##_00, lars_norm_##isa##_01}, {lars_norm_##isa##_10, lars_norm_##isa##_11}},
#define LARS_NEST(isa, MOM) {lars_##isa##_##MOM##0, lars_##isa##_##MOM##1}
#define LARS_ROW(isa, attr, hw) {LARS_NEST(isa, 0), LARS_NEST(isa, 1), LARS_NEST(isa, 2)},
/* [isa][grad_scale][clip coefficient] */
static const lars_norm_fn lars_norm_table[GI_ISA_COUNT][2][2] = {GI_FOR_EACH_ISA(LARS_NORM_ROW)};
/* [isa][momentum mode][nesterov] */
static const lars_fn lars_table[GI_ISA_COUNT][3][2] = {GI_FOR_EACH_ISA(LARS_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    lars_norm_fn norm;
    lars_fn fn;
    lars_k k;
    double *slots;     /* pass 1: two per piece */
    const double *alr; /* pass 2: one per tensor (in the fold's first slot of two) */
    int momentum;
} lars_job;

static void lars_norm_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    const lars_job *j = (const lars_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->norm(n, l->param[t] + b, l->grad[t] + b, &j->k, j->slots + 2 * (chunk + t));
}

static void lars_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const lars_job *j = (const lars_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, j->momentum ? l->state[0][t] + b : NULL, &j->k,
          (float)j->alr[2 * t]);
}

goptim_status goptim_lars_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_lars_params *hp,
                               int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lars_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lars_step: step %lld < 1", (long long)step);
        goto out;
    }
    lars_job j;
    j.list = list;
    j.momentum = hp->momentum != 0;
    st = gi_check_list(ctx, "lars_step", list, 1, j.momentum ? 1u : 0u, &total);
    if (st || total == 0) goto out;
    int has_scale;
    /* maximize negates the gradient after LARC's scaling (gm_lars_grad), not as it is read */
    if (gi_resolve_aux(aux, 0, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */
    j.k.m = gm_lars_scalars(hp, step);
    const int64_t pieces = gi_piece_slots(total, list->count);
    double *buf = gi_slots(ctx, 2 * (pieces + list->count));
    if (!buf) {
        st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "lars_step: no memory for %lld partial sums",
                     (long long)(2 * (pieces + list->count)));
        goto out;
    }
    j.slots = buf;
    j.norm = lars_norm_table[ctx->isa][has_scale][j.k.gmul != 1.0f];
    gi_for_list(ctx, list, total, lars_norm_piece, &j);
    double *per = buf + 2 * pieces;
    gi_fold_tensors(ctx, list, total, buf, 2, 0u, per);
    for (int64_t t = 0; t < list->count; t++)
        per[2 * t] = gm_lars_alr(&j.k.m, (float)sqrt(per[2 * t]), (float)sqrt(per[2 * t + 1]));
    j.alr = per;
    j.fn = lars_table[ctx->isa][j.k.m.sgd.mom_mode][j.k.m.sgd.nesterov];
    gi_for_list(ctx, list, total, lars_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
