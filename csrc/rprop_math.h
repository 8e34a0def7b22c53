/*
 * rprop_math.h - Rprop, written once for every backend.
 *
 * torch 2.x's single-tensor path, op by op (see gm_ops.h); the step count is kept but not
 * used:
 *   sign = grad.mul(prev).sign()            (the product rounded; sign(0)=sign(NaN)=0)
 *   sign[sign.gt(0)] = etaplus              (the three in this order, each on the result
 *   sign[sign.lt(0)] = etaminus              of the one before; etas compared and stored
 *   sign[sign.eq(0)] = 1                     as float)
 *   step_size.mul_(sign).clamp_(step_size_min, step_size_max)   (NaN stays NaN)
 *   grad = grad.clone(); grad[sign.eq(etaminus)] = 0            (+0.0)
 *   param.addcmul_(grad.sign(), step_size, value=-1)            (fma(-sign, step_size, param))
 *   prev.copy_(grad)                                            (the zeroed gradient)
 * State: prev starts at 0 and step_size at (float)lr, filled when the state is created (a
 * param's first step): lr enters only there, so a later change of lr does not change the
 * update. The kernel takes the state as it is; the caller fills it.
 */
#ifndef GOPTIM_RPROP_MATH_H
#define GOPTIM_RPROP_MATH_H

#include "gm_ops.h"

typedef struct {
    float etaminus, etaplus, step_size_min, step_size_max;
} gm_rprop_k;

GM_HOST gm_rprop_k gm_rprop_scalars(const goptim_rprop_params *hp, int64_t step) {
    (void)step;
    gm_rprop_k k;
    k.etaminus = (float)hp->etaminus;
    k.etaplus = (float)hp->etaplus;
    k.step_size_min = (float)hp->step_size_min;
    k.step_size_max = (float)hp->step_size_max;
    return k;
}


/* One element: p, prev and ss (step_size) in place, from the gradient g as the update
 * reads it. */
GM_FN void gm_rprop_update(const gm_rprop_k *k, float *p, float g, float *prev, float *ss GM_HW_PARAM) {
    float s = gm_sign(GM_MUL(g, *prev));
    if (s > 0.0f) s = k->etaplus;
    if (s < 0.0f) s = k->etaminus;
    if (s == 0.0f) s = 1.0f; /* also an etaminus that rounds to 0 in float */
    float step_size = GM_MUL(*ss, s);
    /* clamp_(min, max) = min(max(x, lo), hi), NaN propagating; hi wins when lo > hi */
    if (step_size < k->step_size_min) step_size = k->step_size_min;
    if (step_size > k->step_size_max) step_size = k->step_size_max;
    if (s == k->etaminus) g = 0.0f;
    *p = GM_FMA(-gm_sign(g), step_size, *p); /* addcmul_(sign, step_size, value=-1) */
    *ss = step_size;
    *prev = g;
}

#endif /* GOPTIM_RPROP_MATH_H */
