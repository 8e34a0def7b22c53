/*
 * schedulefree.c - Schedule-Free AdamW on the CPU: the loop over elements of
 * schedulefree_math.h's update, instantiated per ISA and option set, its entry point and
 * host values, and goptim_lerp_state (train/eval).
 */
#include "schedulefree_math.h"

typedef struct {
    gm_sf_adamw_k m;
    float scale, gmul;
} sf_k;

GI_INLINE void sf_body(int64_t n, float *restrict p, float *restrict g, float *restrict z, float *restrict v,
                       const sf_k *k, const int WD, const int FIRST, const int SC, const int HW) {
    const gm_sf_adamw_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], zz = FIRST ? 0.0f : z[i], exp_avg_sq = v[i];
        gm_sf_adamw_update(&km, &param, gm_grad_use(grad, gmul), &zz, &exp_avg_sq, WD, FIRST, HW);
        p[i] = param;
        z[i] = zz;
        v[i] = exp_avg_sq;
    }
}

typedef void (*sf_fn)(int64_t n, float *p, float *g, float *z, float *v, const sf_k *k);

#define SF_SPEC(isa, attr, hw, WD, FIRST, SC)                                                                \
    attr static void sf_##isa##_##WD##FIRST##SC(int64_t n, float *restrict p, float *restrict g,            \
                                                float *restrict z, float *restrict v, const sf_k *k) {      \
        sf_body(n, p, g, z, v, k, WD, FIRST, SC, hw);                                                       \
    }
#define SF_ISA(isa, attr, hw)                                                                           \
    SF_SPEC(isa, attr, hw, 0, 0, 0) SF_SPEC(isa, attr, hw, 0, 0, 1) SF_SPEC(isa, attr, hw, 0, 1, 0)     \
    SF_SPEC(isa, attr, hw, 0, 1, 1) SF_SPEC(isa, attr, hw, 1, 0, 0) SF_SPEC(isa, attr, hw, 1, 0, 1)     \
    SF_SPEC(isa, attr, hw, 1, 1, 0) SF_SPEC(isa, attr, hw, 1, 1, 1)
GI_FOR_EACH_ISA(SF_ISA)

#define SF_ROW(isa, attr, hw)                                                     \
    {{{sf_##isa##_000, sf_##isa##_001}, {sf_##isa##_010, sf_##isa##_011}},      \
     {{sf_##isa##_100, sf_##isa##_101}, {sf_##isa##_110, sf_##isa##_111}}},
/* [isa][weight decay][first step][grad_scale] */
static const sf_fn sf_table[GI_ISA_COUNT][2][2][2] = {GI_FOR_EACH_ISA(SF_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    sf_fn fn;
    sf_k k;
} sf_job;

static void sf_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const sf_job *j = (const sf_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, l->state[1][t] + b, &j->k);
}

goptim_status goptim_schedulefree_adamw_step(goptim_context *ctx, const goptim_tensor_list *list,
                                             const goptim_schedulefree_adamw_params *hp, int64_t step,
                                             const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "schedulefree_adamw_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "schedulefree_adamw_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "schedulefree_adamw_step", list, 1, 3u, &total);
    if (st || total == 0) goto out;
    sf_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, 0, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */
    j.k.m = gm_sf_adamw_scalars(hp, step);
    j.fn = sf_table[ctx->isa][j.k.m.wd][step == 1][has_scale];
    gi_for_list(ctx, list, total, sf_piece, &j);
out:
    gi_leave(ctx);
    return st;
}

goptim_status goptim_schedulefree_adamw_next(const goptim_schedulefree_adamw_params *hp, int64_t step,
                                             double *weight_sum, double *lr_max) {
    if (!hp || !weight_sum || !lr_max || step < 1) return GOPTIM_ERR_INVALID_ARGUMENT;
    const gm_sf_adamw_h h = gm_sf_adamw_host(hp, step);
    *weight_sum = h.weight_sum;
    *lr_max = h.lr_max;
    return GOPTIM_OK;
}

/* ---------------------------------------------------------------- lerp_state */

GI_INLINE void lerp_body(int64_t n, float *restrict p, const float *restrict s, gm_lerp_w w, const int HW) {
    for (int64_t i = 0; i < n; i++) p[i] = gm_lerp(p[i], s[i], w, HW);
}

typedef void (*lerp_fn)(int64_t n, float *p, const float *s, gm_lerp_w w);

#define LERP_ISA(isa, attr, hw)                                                                     \
    attr static void lerp_##isa(int64_t n, float *restrict p, const float *restrict s, gm_lerp_w w) { \
        lerp_body(n, p, s, w, hw);                                                                  \
    }
GI_FOR_EACH_ISA(LERP_ISA)

#define LERP_ROW(isa, attr, hw) lerp_##isa,
static const lerp_fn lerp_table[GI_ISA_COUNT] = {GI_FOR_EACH_ISA(LERP_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    lerp_fn fn;
    int slot;
    gm_lerp_w w;
} lerp_job;

static void lerp_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const lerp_job *j = (const lerp_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->state[j->slot][t] + b, j->w);
}

/* The checks of gi_check_list without the gradients, which the lerp does not read. */
static goptim_status lerp_check(goptim_context *ctx, const goptim_tensor_list *list, int slot) {
    static const char op[] = "lerp_state";
    if (!list) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL tensor list", op);
    if (list->count < 0)
        return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: negative tensor count %lld", op, (long long)list->count);
    if (list->count == 0) return GOPTIM_OK;
    if (!list->numel) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL numel array", op);
    if (!list->param) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL param array", op);
    if (!list->state[slot]) return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL state[%d] array", op, slot);
    for (int64_t i = 0; i < list->count; i++) {
        const int64_t n = list->numel[i];
        if (n < 0)
            return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: tensor %lld has negative numel %lld", op,
                           (long long)i, (long long)n);
        if (n == 0) continue;
        if (!list->param[i])
            return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: tensor %lld: NULL param", op, (long long)i);
        if (!list->state[slot][i])
            return gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: tensor %lld: NULL state[%d]", op, (long long)i, slot);
    }
    return GOPTIM_OK;
}

goptim_status goptim_lerp_state(goptim_context *ctx, const goptim_tensor_list *list, int32_t slot, double weight) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (slot < 0 || slot >= GOPTIM_MAX_STATE) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lerp_state: slot %d outside [0, %d)", (int)slot,
                     GOPTIM_MAX_STATE);
        goto out;
    }
    st = lerp_check(ctx, list, slot);
    if (st || list->count == 0) goto out;
    /* Every pointer checked: the shared check fills the prefix the parallel loop reads
     * (and the element count), reading the params where it reads gradients. */
    goptim_tensor_list shadow = *list;
    shadow.grad = list->param;
    st = gi_check_list(ctx, "lerp_state", &shadow, 1, 1u << slot, &total);
    if (st || total == 0) goto out;
    lerp_job j;
    j.list = list;
    j.fn = lerp_table[ctx->isa];
    j.slot = slot;
    j.w = gm_lerp_weight(weight);
    gi_for_list(ctx, list, total, lerp_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
