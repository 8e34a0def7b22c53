/*
 * sgd_math.h - SGD (momentum, dampening, Nesterov, weight decay), written once for every
 * backend.
 *
 * torch.optim's single-tensor path, op by op (fused where torch fuses, see gm_ops.h):
 *   d_p = d_p.add(param, alpha=weight_decay)               (weight_decay != 0)
 *   buf = clone(d_p)                                       (momentum, first step)
 *   buf.mul_(momentum).add_(d_p, alpha=1-dampening)        (momentum, later steps)
 *   d_p = nesterov ? d_p.add(buf, alpha=momentum) : buf
 *   param.add_(d_p, alpha=-lr)
 */
#ifndef GOPTIM_SGD_MATH_H
#define GOPTIM_SGD_MATH_H

#include "gm_ops.h"

/* Momentum buffer: none, the first step (buf = d_p, as torch does when it is None), later. */
enum { GM_MOM_NONE = 0, GM_MOM_FIRST = 1, GM_MOM_RUN = 2 };

typedef struct {
    float neg_lr, momentum, one_minus_dampening, weight_decay;
    int wd, mom_mode, nesterov; /* the options as the update branches on them */
} gm_sgd_k;

GM_HOST gm_sgd_k gm_sgd_scalars(const goptim_sgd_params *hp, int64_t step) {
    gm_sgd_k k;
    k.neg_lr = (float)(-hp->lr);
    k.momentum = (float)hp->momentum;
    k.one_minus_dampening = (float)(1 - hp->dampening);
    k.weight_decay = (float)hp->weight_decay;
    k.wd = hp->weight_decay != 0;
    k.mom_mode = hp->momentum == 0 ? GM_MOM_NONE : step == 1 ? GM_MOM_FIRST : GM_MOM_RUN;
    k.nesterov = hp->momentum != 0 && hp->nesterov != 0;
    return k;
}

/* One element: p and buf (the momentum buffer, read only in GM_MOM_RUN, written unless
 * GM_MOM_NONE) in place, from the gradient d_p as the update reads it. */
GM_FN void gm_sgd_update(const gm_sgd_k *k, float *p, float d_p, float *buf, const int WD, const int MOM,
                         const int NEST GM_HW_PARAM) {
    const float param = *p;
    if (WD) d_p = GM_FMA(k->weight_decay, param, d_p);
    if (MOM != GM_MOM_NONE) {
        const float b = MOM == GM_MOM_FIRST ? d_p : GM_FMA(k->one_minus_dampening, d_p, GM_MUL(*buf, k->momentum));
        *buf = b;
        d_p = NEST ? GM_FMA(k->momentum, b, d_p) : b;
    }
    *p = GM_FMA(k->neg_lr, d_p, param);
}

#endif /* GOPTIM_SGD_MATH_H */
