/*
 * lamb.c - LAMB on the CPU: lamb_math.h's arithmetic in one pass over the list that
 * advances the moments and sums each tensor's squares of param and update (or, without
 * a trust ratio, also steps the params), then a pass that recomputes the update from the
 * stored moments and applies each tensor's ratio. The sums are per piece of the parallel
 * loop (gi_piece_slots), so the ratios do not depend on the thread count.
 */
#include "lamb_math.h"

/* Elements per tile of the first pass: the updates of a tile are kept for its sum. */
#define LAMB_TILE 256

typedef struct {
    gm_lamb_k m;
    float scale, gmul, clip;
} lamb_k;

/* Pass 1. NORMS: sum p^2 and u^2 into sums[0..1] (the params stay); else p -= lr*u. */
GI_INLINE void lamb_body(int64_t n, float *restrict p, float *restrict g, float *restrict m, float *restrict v,
                         const lamb_k *k, double *restrict sums, const int WD, const int NORMS, const int DIV,
                         const int SC, const int HW) {
    const gm_lamb_k km = k->m;
    const float scale = k->scale, gmul = k->gmul, clip = k->clip, neg_lr = -km.lr;
    double ps = 0, us = 0;
    float u[LAMB_TILE];
    for (int64_t t0 = 0; t0 < n; t0 += LAMB_TILE) {
        const int64_t tn = n - t0 < LAMB_TILE ? n - t0 : LAMB_TILE;
        float *restrict pp = p + t0, *restrict gg = g + t0, *restrict mm = m + t0, *restrict vv = v + t0;
        for (int64_t i = 0; i < tn; i++) {
            const float grad = gm_unscale(gg[i], scale, SC);
            if (SC) gg[i] = grad;
            float s = gm_grad_use(grad, gmul);
            if (DIV) s = s / clip;
            const float param = pp[i];
            float exp_avg = mm[i], exp_avg_sq = vv[i];
            gm_lamb_moments(&km, param, s, &exp_avg, &exp_avg_sq, WD, HW);
            mm[i] = exp_avg;
            vv[i] = exp_avg_sq;
            const float upd = gm_lamb_update(&km, param, exp_avg, exp_avg_sq, WD, HW);
            if (NORMS) u[i] = upd;
            else pp[i] = gi_fma(neg_lr, upd, param, HW);
        }
        if (NORMS) {
            ps += gi_sumsq(tn, pp);
            us += gi_sumsq(tn, u);
        }
    }
    if (NORMS) {
        sums[0] = ps;
        sums[1] = us;
    }
}

/* Pass 2: p -= ratio * u, u recomputed from the moments pass 1 stored. */
GI_INLINE void lamb_apply_body(int64_t n, float *restrict p, const float *restrict m, const float *restrict v,
                               const gm_lamb_k *k, float ratio, const int WD, const int HW) {
    const gm_lamb_k km = *k;
    const float neg = -ratio;
    for (int64_t i = 0; i < n; i++) {
        const float param = p[i];
        p[i] = gi_fma(neg, gm_lamb_update(&km, param, m[i], v[i], WD, HW), param, HW);
    }
}

typedef void (*lamb_fn)(int64_t n, float *p, float *g, float *m, float *v, const lamb_k *k, double *sums);
typedef void (*lamb_apply_fn)(int64_t n, float *p, const float *m, const float *v, const gm_lamb_k *k, float ratio);

#define LAMB_SPEC(isa, attr, hw, WD, NORMS, DIV, SC)                                                           \
    attr static void lamb_##isa##_##WD##NORMS##DIV##SC(int64_t n, float *restrict p, float *restrict g,         \
                                                       float *restrict m, float *restrict v, const lamb_k *k,   \
                                                       double *sums) {                                          \
        lamb_body(n, p, g, m, v, k, sums, WD, NORMS, DIV, SC, hw);                                              \
    }
#define LAMB_SPEC_SC(isa, attr, hw, WD, NORMS, DIV) \
    LAMB_SPEC(isa, attr, hw, WD, NORMS, DIV, 0) LAMB_SPEC(isa, attr, hw, WD, NORMS, DIV, 1)
#define LAMB_SPEC_DIV(isa, attr, hw, WD, NORMS) \
    LAMB_SPEC_SC(isa, attr, hw, WD, NORMS, 0) LAMB_SPEC_SC(isa, attr, hw, WD, NORMS, 1)
#define LAMB_SPEC_NORMS(isa, attr, hw, WD) LAMB_SPEC_DIV(isa, attr, hw, WD, 0) LAMB_SPEC_DIV(isa, attr, hw, WD, 1)
#define LAMB_APPLY_SPEC(isa, attr, hw, WD)                                                                         \
    attr static void lamb_apply_##isa##_##WD(int64_t n, float *restrict p, const float *restrict m,                \
                                             const float *restrict v, const gm_lamb_k *k, float ratio) {            \
        lamb_apply_body(n, p, m, v, k, ratio, WD, hw);                                                             \
    }
#define LAMB_ISA(isa, attr, hw)                                                                    \
    LAMB_SPEC_NORMS(isa, attr, hw, 0) LAMB_SPEC_NORMS(isa, attr, hw, 1) LAMB_SPEC_NORMS(isa, attr, hw, 2) \
    LAMB_APPLY_SPEC(isa, attr, hw, 0) LAMB_APPLY_SPEC(isa, attr, hw, 1) LAMB_APPLY_SPEC(isa, attr, hw, 2)
GI_FOR_EACH_ISA(LAMB_ISA)

#define LAMB_SC(isa, WD, NORMS, DIV) {lamb_##isa##_##WD##NORMS##DIV##0, lamb_##isa##_##WD##NORMS##DIV##1}
#define LAMB_DIV(isa, WD, NORMS) {LAMB_SC(isa, WD, NORMS, 0), LAMB_SC(isa, WD, NORMS, 1)}
#define LAMB_NORMS(isa, WD) {LAMB_DIV(isa, WD, 0), LAMB_DIV(isa, WD, 1)}
#define LAMB_ROW(isa, attr, hw) {LAMB_NORMS(isa, 0), LAMB_NORMS(isa, 1), LAMB_NORMS(isa, 2)},
#define LAMB_APPLY_ROW(isa, attr, hw) {lamb_apply_##isa##_0, lamb_apply_##isa##_1, lamb_apply_##isa##_2},
/* [isa][weight decay mode][norms][divide by clip][grad_scale] */
static const lamb_fn lamb_table[GI_ISA_COUNT][3][2][2][2] = {GI_FOR_EACH_ISA(LAMB_ROW)};
/* [isa][weight decay mode] */
static const lamb_apply_fn lamb_apply_table[GI_ISA_COUNT][3] = {GI_FOR_EACH_ISA(LAMB_APPLY_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    lamb_fn fn;
    lamb_apply_fn apply;
    lamb_k k;
    double *slots;       /* pass 1: two per piece */
    const double *ratio; /* pass 2: one per tensor (in the fold's first slot of two) */
} lamb_job;

static void lamb_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    const lamb_job *j = (const lamb_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, l->state[1][t] + b, &j->k,
          j->slots ? j->slots + 2 * (chunk + t) : NULL);
}

static void lamb_apply_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const lamb_job *j = (const lamb_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->apply(n, l->param[t] + b, l->state[0][t] + b, l->state[1][t] + b, &j->k.m, (float)j->ratio[2 * t]);
}

goptim_status goptim_lamb_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_lamb_params *hp,
                               int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lamb_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lamb_step: step %lld < 1", (long long)step);
        goto out;
    }
    if (hp->max_grad_norm > 0 && !hp->global_grad_norm) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lamb_step: max_grad_norm %g > 0 needs global_grad_norm",
                     hp->max_grad_norm);
        goto out;
    }
    st = gi_check_list(ctx, "lamb_step", list, 1, 3u, &total);
    if (st || total == 0) goto out;
    lamb_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, 0, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */
    j.k.m = gm_lamb_scalars(hp, step);
    j.k.clip = hp->max_grad_norm > 0 ? gm_lamb_clip(*hp->global_grad_norm, (float)hp->max_grad_norm) : 1.0f;
    const int norms = j.k.m.trust;
    j.fn = lamb_table[ctx->isa][j.k.m.wd_mode][norms][j.k.clip != 1.0f][has_scale];
    j.apply = lamb_apply_table[ctx->isa][j.k.m.wd_mode];
    j.slots = NULL;
    double *buf = NULL;
    const int64_t pieces = gi_piece_slots(total, list->count);
    if (norms) {
        /* two sums per piece, then two per tensor */
        buf = gi_slots(ctx, 2 * (pieces + list->count));
        if (!buf) {
            st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "lamb_step: no memory for %lld partial sums",
                         (long long)(2 * (pieces + list->count)));
            goto out;
        }
        j.slots = buf;
    }
    gi_for_list(ctx, list, total, lamb_piece, &j);
    if (!norms) goto out;
    double *per = buf + 2 * pieces;
    gi_fold_tensors(ctx, list, total, buf, 2, 0u, per);
    for (int64_t t = 0; t < list->count; t++)
        per[2 * t] = gm_lamb_ratio(&j.k.m, (float)sqrt(per[2 * t]), (float)sqrt(per[2 * t + 1]));
    j.ratio = per;
    gi_for_list(ctx, list, total, lamb_apply_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
