/*
 * rmsprop_math.h - RMSprop (centered, momentum, weight decay), written once for every
 * backend.
 *
 * torch 2.x's single-tensor path, op by op (fused where torch fuses, see gm_ops.h):
 *   grad = grad.add(param, alpha=weight_decay)                 (weight_decay != 0)
 *   square_avg.mul_(alpha).addcmul_(grad, grad, value=1-alpha)
 *   grad_avg.lerp_(grad, 1-alpha)                              (centered)
 *   avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()   (centered)
 *   avg = square_avg.sqrt()                                    (not centered)
 *   avg = avg.add_(eps)
 *   buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)   (momentum > 0)
 *   param.addcdiv_(grad, avg, value=-lr)                       (no momentum)
 */
#ifndef GOPTIM_RMSPROP_MATH_H
#define GOPTIM_RMSPROP_MATH_H

#include "gm_ops.h"

typedef struct {
    float alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr;
    gm_lerp_w avg_weight; /* lerp weight 1 - alpha (centered) */
    int wd, centered, mom;
} gm_rmsprop_k;

GM_HOST gm_rmsprop_k gm_rmsprop_scalars(const goptim_rmsprop_params *hp, int64_t step) {
    (void)step;
    gm_rmsprop_k k;
    k.alpha = (float)hp->alpha;
    k.one_minus_alpha = (float)(1 - hp->alpha);
    k.avg_weight = gm_lerp_weight(1 - hp->alpha);
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.momentum = (float)hp->momentum;
    k.neg_lr = (float)(-hp->lr);
    k.wd = hp->weight_decay != 0;
    k.centered = hp->centered != 0;
    k.mom = hp->momentum > 0;
    return k;
}

/* One element: p, sq (square_avg), buf (momentum_buffer, when MOM) and gavg (grad_avg,
 * when CENT) in place, from the gradient g as the update reads it. */
GM_FN void gm_rmsprop_update(const gm_rmsprop_k *k, float *p, float g, float *sq, float *buf, float *gavg,
                             const int WD, const int CENT, const int MOM GM_HW_PARAM) {
    const float param = *p;
    if (WD) g = GM_FMA(k->weight_decay, param, g);
    const float square_avg = GM_FMA(GM_MUL(k->one_minus_alpha, g), g, GM_MUL(*sq, k->alpha));
    *sq = square_avg;
    float avg;
    if (CENT) {
        const float grad_avg = gm_lerp(*gavg, g, k->avg_weight GM_HW);
        *gavg = grad_avg;
        avg = GM_SQRT(GM_FMA(-grad_avg, grad_avg, square_avg)); /* fma(-1*ga, ga, sq) */
    } else {
        avg = GM_SQRT(square_avg);
    }
    avg = GM_ADD(avg, k->eps);
    if (MOM) {
        const float b = GM_ADD(GM_MUL(*buf, k->momentum), GM_DIV(g, avg)); /* addcdiv_(g, avg): (1*g)/avg */
        *buf = b;
        *p = GM_FMA(k->neg_lr, b, param);
    } else {
        *p = GM_ADD(param, GM_DIV(GM_MUL(k->neg_lr, g), avg));
    }
}

#endif /* GOPTIM_RMSPROP_MATH_H */
