/*
 * adam.c - Adam and AdamW on the CPU: the loop over elements of adam_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "adam_math.h"

typedef struct {
    gm_adam_k m;
    float scale, gmul;
} adam_k;

GI_INLINE void adam_body(int64_t n, float *restrict p, float *restrict g, float *restrict m, float *restrict v,
                         float *restrict vmax, const adam_k *k, const int WD, const int AMS, const int SC,
                         const int HW) {
    const gm_adam_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], exp_avg = m[i], exp_avg_sq = v[i], max_sq = AMS ? vmax[i] : 0.0f;
        gm_adam_update(&km, &param, gm_grad_use(grad, gmul), &exp_avg, &exp_avg_sq, &max_sq, WD, AMS, HW);
        p[i] = param;
        m[i] = exp_avg;
        v[i] = exp_avg_sq;
        if (AMS) vmax[i] = max_sq;
    }
}

typedef void (*adam_fn)(int64_t n, float *p, float *g, float *m, float *v, float *vmax, const adam_k *k);

#define ADAM_SPEC(isa, attr, hw, WD, AMS, SC)                                                                \
    attr static void adam_##isa##_##WD##AMS##SC(int64_t n, float *restrict p, float *restrict g,            \
                                                float *restrict m, float *restrict v, float *restrict vmax, \
                                                const adam_k *k) {                                          \
        adam_body(n, p, g, m, v, vmax, k, WD, AMS, SC, hw);                                                 \
    }
#define ADAM_ISA(isa, attr, hw)                                                                           \
    ADAM_SPEC(isa, attr, hw, 0, 0, 0) ADAM_SPEC(isa, attr, hw, 0, 0, 1) ADAM_SPEC(isa, attr, hw, 0, 1, 0) \
    ADAM_SPEC(isa, attr, hw, 0, 1, 1) ADAM_SPEC(isa, attr, hw, 1, 0, 0) ADAM_SPEC(isa, attr, hw, 1, 0, 1) \
    ADAM_SPEC(isa, attr, hw, 1, 1, 0) ADAM_SPEC(isa, attr, hw, 1, 1, 1) ADAM_SPEC(isa, attr, hw, 2, 0, 0) \
    ADAM_SPEC(isa, attr, hw, 2, 0, 1) ADAM_SPEC(isa, attr, hw, 2, 1, 0) ADAM_SPEC(isa, attr, hw, 2, 1, 1)
GI_FOR_EACH_ISA(ADAM_ISA)

#define ADAM_ROW(isa, attr, hw)                                                         \
    {{{adam_##isa##_000, adam_##isa##_001}, {adam_##isa##_010, adam_##isa##_011}},    \
     {{adam_##isa##_100, adam_##isa##_101}, {adam_##isa##_110, adam_##isa##_111}},    \
     {{adam_##isa##_200, adam_##isa##_201}, {adam_##isa##_210, adam_##isa##_211}}},
/* [isa][weight decay mode][amsgrad][grad_scale] */
static const adam_fn adam_table[GI_ISA_COUNT][3][2][2] = {GI_FOR_EACH_ISA(ADAM_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    adam_fn fn;
    adam_k k;
    int amsgrad;
} adam_job;

static void adam_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const adam_job *j = (const adam_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, l->state[1][t] + b,
          j->amsgrad ? l->state[2][t] + b : NULL, &j->k);
}

goptim_status goptim_adam_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_adam_params *hp,
                               int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adam_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adam_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "adam_step", list, 1, hp->amsgrad ? 7u : 3u, &total);
    if (st || total == 0) goto out;

    adam_job j;
    j.list = list;
    j.amsgrad = hp->amsgrad != 0;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_adam_scalars(hp, step);
    const int wd = j.k.m.wd_mode;
    j.fn = adam_table[ctx->isa][wd][j.amsgrad][has_scale];
    gi_for_list(ctx, list, total, adam_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
