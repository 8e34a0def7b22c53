/*
 * adadelta_math.h - Adadelta, written once for every backend.
 *
 * torch 2.x's single-tensor path, op by op (fused where torch fuses, see gm_ops.h); the
 * step count is kept but not used:
 *   grad = grad.add(param, alpha=weight_decay)                  (weight_decay != 0)
 *   square_avg.mul_(rho).addcmul_(grad, grad, value=1-rho)
 *   std = square_avg.add(eps).sqrt_()
 *   delta = acc_delta.add(eps).sqrt_()
 *   delta.div_(std).mul_(grad)
 *   acc_delta.mul_(rho).addcmul_(delta, delta, value=1-rho)
 *   param.add_(delta, alpha=-lr)
 */
#ifndef GOPTIM_ADADELTA_MATH_H
#define GOPTIM_ADADELTA_MATH_H

#include "gm_ops.h"

typedef struct {
    float rho, one_minus_rho, eps, weight_decay, neg_lr;
    int wd;
} gm_adadelta_k;

GM_HOST gm_adadelta_k gm_adadelta_scalars(const goptim_adadelta_params *hp, int64_t step) {
    (void)step;
    gm_adadelta_k k;
    k.rho = (float)hp->rho;
    k.one_minus_rho = (float)(1 - hp->rho);
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.neg_lr = (float)(-hp->lr);
    k.wd = hp->weight_decay != 0;
    return k;
}

/* One element: p, sq (square_avg) and acc (acc_delta) in place, from the gradient g as the
 * update reads it. */
GM_FN void gm_adadelta_update(const gm_adadelta_k *k, float *p, float g, float *sq, float *acc,
                              const int WD GM_HW_PARAM) {
    const float param = *p;
    if (WD) g = GM_FMA(k->weight_decay, param, g);
    const float square_avg = GM_FMA(GM_MUL(k->one_minus_rho, g), g, GM_MUL(*sq, k->rho));
    const float std_ = GM_SQRT(GM_ADD(square_avg, k->eps));
    const float delta = GM_MUL(GM_DIV(GM_SQRT(GM_ADD(*acc, k->eps)), std_), g);
    *acc = GM_FMA(GM_MUL(k->one_minus_rho, delta), delta, GM_MUL(*acc, k->rho));
    *sq = square_avg;
    *p = GM_FMA(k->neg_lr, delta, param);
}

#endif /* GOPTIM_ADADELTA_MATH_H */
