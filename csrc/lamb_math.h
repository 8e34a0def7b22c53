/*
 * lamb_math.h - LAMB (You et al. 2019), written once for every backend, as apex's
 * FusedLAMB computes it (multi_tensor_lamb.cu), in torch's ops (fused where torch fuses,
 * see gm_ops.h):
 *   s = g / clip                                    (clip from the global gradient norm)
 *   s = s.add(p, alpha=weight_decay)                (adam_w_mode 0, weight_decay != 0)
 *   m.mul_(beta1).add_(s, alpha=beta3)
 *   v.mul_(beta2).addcmul_(s, s, value=1-beta2)
 *   u = (m / bc1) / ((v / bc2).sqrt() + eps)
 *   u = u.add(p, alpha=weight_decay)                (adam_w_mode 1, weight_decay != 0)
 *   p.add_(u, alpha=-ratio)                         (ratio = lr * trust, per tensor)
 * apex's kernel takes lr, the betas, eps and weight_decay as float and derives beta3,
 * 1-beta2 and the bias corrections from those floats (bc = 1 - pow(beta, step) in
 * double, rounded once); so do these scalars.
 */
#ifndef GOPTIM_LAMB_MATH_H
#define GOPTIM_LAMB_MATH_H

#include "gm_ops.h"

/* Weight decay: none, added to the gradient (adam_w_mode 0), added to the update (1). */
enum { GM_LAMB_WD_NONE = 0, GM_LAMB_WD_L2 = 1, GM_LAMB_WD_DECOUPLED = 2 };

typedef struct {
    float beta1, beta3, beta2, one_minus_beta2;
    float bc1, bc2, eps, weight_decay, lr;
    int wd_mode; /* GM_LAMB_WD_*: how weight_decay != 0 enters */
    int trust;   /* the trust ratio applies (use_nvlamb or weight_decay != 0) */
    int trust_clip;
} gm_lamb_k;

GM_HOST gm_lamb_k gm_lamb_scalars(const goptim_lamb_params *hp, int64_t step) {
    gm_lamb_k k;
    k.beta1 = (float)hp->beta1;
    k.beta2 = (float)hp->beta2;
    k.beta3 = hp->grad_averaging ? 1.0f - k.beta1 : 1.0f;
    k.one_minus_beta2 = 1.0f - k.beta2;
    k.bc1 = hp->bias_correction ? (float)(1.0 - pow((double)k.beta1, (double)step)) : 1.0f;
    k.bc2 = hp->bias_correction ? (float)(1.0 - pow((double)k.beta2, (double)step)) : 1.0f;
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.lr = (float)hp->lr;
    k.wd_mode = k.weight_decay == 0.0f ? GM_LAMB_WD_NONE : hp->adam_w_mode ? GM_LAMB_WD_DECOUPLED : GM_LAMB_WD_L2;
    k.trust = hp->use_nvlamb || k.weight_decay != 0.0f;
    k.trust_clip = hp->trust_clip != 0;
    return k;
}

/* apex's divisor of the gradients from the global norm gn: gn / max_grad_norm when gn
 * exceeds it (NaN does not), else 1; max_grad_norm <= 0 turns it off. */
GM_FN float gm_lamb_clip(float gn, float max_grad_norm) {
    return (max_grad_norm > 0.0f && gn > max_grad_norm) ? GM_DIV(gn, max_grad_norm) : 1.0f;
}

/* The moments advanced in place from the gradient g as the update reads it (already
 * divided by the clip); p is read for L2 decay. WD is k->wd_mode. */
GM_FN void gm_lamb_moments(const gm_lamb_k *k, float p, float g, float *m, float *v, const int WD GM_HW_PARAM) {
    if (WD == GM_LAMB_WD_L2) g = GM_FMA(k->weight_decay, p, g);
    *m = GM_FMA(k->beta3, g, GM_MUL(*m, k->beta1));
    *v = GM_FMA(GM_MUL(k->one_minus_beta2, g), g, GM_MUL(*v, k->beta2));
}

/* The update from the advanced moments (and p for decoupled decay). */
GM_FN float gm_lamb_update(const gm_lamb_k *k, float p, float m, float v, const int WD GM_HW_PARAM) {
    const float denom = GM_ADD(GM_SQRT(GM_DIV(v, k->bc2)), k->eps);
    const float u = GM_DIV(GM_DIV(m, k->bc1), denom);
    return WD == GM_LAMB_WD_DECOUPLED ? GM_FMA(k->weight_decay, p, u) : u;
}

/* The tensor's step size from the norms of its param and update (float, as apex): lr
 * times ||p||/||u|| where both are non-zero (capped at 1 with trust_clip), else lr. */
GM_FN float gm_lamb_ratio(const gm_lamb_k *k, float pnorm, float unorm) {
    if (!k->trust || pnorm == 0.0f || unorm == 0.0f) return k->lr;
    float t = GM_DIV(pnorm, unorm);
    if (k->trust_clip && !(t < 1.0f) && t == t) t = 1.0f; /* torch.minimum(t, 1): NaN stays */
    return GM_MUL(k->lr, t);
}

#endif /* GOPTIM_LAMB_MATH_H */
