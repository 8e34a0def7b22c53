/*
 * lion_math.h - Lion (Chen et al. 2023), written once for every backend.
 *
 * The reference, google/automl lion/lion_pytorch.py, op by op in torch (fused where
 * torch fuses, see gm_ops.h):
 *   p.mul_(1 - lr*weight_decay)
 *   update = exp_avg*beta1 + grad*(1-beta1)          (two products and a sum, each rounded)
 *   p.add_(torch.sign(update), alpha=-lr)           (sign(0) = sign(NaN) = 0: no step)
 *   exp_avg.mul_(beta2).add_(grad, alpha=1-beta2)
 */
#ifndef GOPTIM_LION_MATH_H
#define GOPTIM_LION_MATH_H

#include "gm_ops.h"

typedef struct {
    float decay; /* 1 - lr*weight_decay */
    float beta1, one_minus_beta1, neg_lr, beta2, one_minus_beta2;
} gm_lion_k;

GM_HOST gm_lion_k gm_lion_scalars(const goptim_lion_params *hp) {
    gm_lion_k k;
    k.decay = (float)(1 - hp->lr * hp->weight_decay);
    k.beta1 = (float)hp->beta1;
    k.one_minus_beta1 = (float)(1 - hp->beta1);
    k.neg_lr = (float)(-hp->lr);
    k.beta2 = (float)hp->beta2;
    k.one_minus_beta2 = (float)(1 - hp->beta2);
    return k;
}

/* One element: p and m (exp_avg) in place, from the gradient g as the update reads it. */
GM_FN void gm_lion_update(const gm_lion_k *k, float *p, float g, float *m GM_HW_PARAM) {
    const float param = GM_MUL(*p, k->decay);
    const float update = GM_ADD(GM_MUL(*m, k->beta1), GM_MUL(g, k->one_minus_beta1));
    *p = GM_FMA(k->neg_lr, gm_sign(update), param);
    *m = GM_FMA(k->one_minus_beta2, g, GM_MUL(*m, k->beta2));
}

#endif /* GOPTIM_LION_MATH_H */
