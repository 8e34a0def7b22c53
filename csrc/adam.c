/*
 * adam.c - Adam and AdamW, as torch.optim's single-tensor path computes them.
 */
#include "kernel.h"

/* Scalars of one step, derived in double on the host and rounded to float once. */
typedef struct {
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float neg_step_size; /* -(lr / (1 - beta1^t)) */
    float bc2_sqrt;      /* sqrt(1 - beta2^t) */
    float eps, weight_decay, decay; /* decay = 1 - lr*weight_decay (AdamW) */
    float scale, gmul;
} adam_k;

enum { WD_NONE = 0, WD_L2 = 1, WD_DECOUPLED = 2 };

/*
 * torch 1.13 _single_tensor_adam(w), op by op (fused where torch fuses, see kernel.h):
 *   param.mul_(1 - lr*wd)                          (AdamW)
 *   grad = grad.add(param, alpha=wd)               (Adam with weight decay)
 *   exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)
 *   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
 *   torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)   (amsgrad)
 *   denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
 *   param.addcdiv_(exp_avg, denom, value=-step_size)
 * addcmul is self + value*t1*t2 and addcdiv is self + value*t1/t2 in ATen.
 * The square root and the two divisions stay as torch has them: eps is added after the
 * square root, so a reciprocal square root (rsqrt14 + Newton step) would change the
 * results, not only their rounding, and with AVX2/AVX-512 the step already moves its
 * bytes at the speed of a copy (bench/cpu-2026-11-29.md), so they cost nothing visible.
 */
GI_INLINE void adam_body(int64_t n, float *restrict p, float *restrict g, float *restrict m, float *restrict v,
                         float *restrict vmax, const adam_k *k, const int WD, const int AMS, const int SC,
                         const int HW) {
    const float beta1 = k->beta1, one_minus_beta1 = k->one_minus_beta1;
    const float beta2 = k->beta2, one_minus_beta2 = k->one_minus_beta2;
    const float neg_step_size = k->neg_step_size, bc2_sqrt = k->bc2_sqrt, eps = k->eps;
    const float weight_decay = k->weight_decay, decay = k->decay, scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        float grad = gi_grad(g, i, scale, gmul, SC);
        float param = p[i];
        if (WD == WD_DECOUPLED) param = param * decay;
        if (WD == WD_L2) grad = gi_fma(weight_decay, param, grad, HW);
        const float exp_avg = gi_fma(one_minus_beta1, grad, m[i] * beta1, HW);
        const float exp_avg_sq = gi_fma(one_minus_beta2 * grad, grad, v[i] * beta2, HW);
        m[i] = exp_avg;
        v[i] = exp_avg_sq;
        float vhat = exp_avg_sq;
        if (AMS) {
            vhat = gi_max_nan(vmax[i], exp_avg_sq);
            vmax[i] = vhat;
        }
        const float denom = sqrtf(vhat) / bc2_sqrt + eps;
        p[i] = param + neg_step_size * exp_avg / denom;
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

    /* As torch's Python computes them, in double. */
    const double t = (double)step;
    const double bias_correction1 = 1 - pow(hp->beta1, t);
    const double bias_correction2 = 1 - pow(hp->beta2, t);
    const double step_size = hp->lr / bias_correction1;
    j.k.beta1 = (float)hp->beta1;
    j.k.one_minus_beta1 = (float)(1 - hp->beta1);
    j.k.beta2 = (float)hp->beta2;
    j.k.one_minus_beta2 = (float)(1 - hp->beta2);
    j.k.neg_step_size = (float)(-step_size);
    j.k.bc2_sqrt = (float)sqrt(bias_correction2);
    j.k.eps = (float)hp->eps;
    j.k.weight_decay = (float)hp->weight_decay;
    j.k.decay = (float)(1 - hp->lr * hp->weight_decay);

    int wd = WD_NONE;
    if (hp->decoupled_weight_decay) wd = WD_DECOUPLED; /* torch's AdamW multiplies even by 1 - lr*0 */
    else if (hp->weight_decay != 0) wd = WD_L2;
    j.fn = adam_table[ctx->isa][wd][j.amsgrad][has_scale];
    gi_for_list(ctx, list, total, adam_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
