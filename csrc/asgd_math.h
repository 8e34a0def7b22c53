/*
 * asgd_math.h - ASGD (averaged SGD), written once for every backend.
 *
 * torch 2.x's single-tensor path, op by op (fused where torch fuses, see gm_ops.h), with
 * eta and mu the param's float32 values before the step:
 *   grad = grad.add(param, alpha=wd)                                  (wd != 0)
 *   param.mul_(1 - lambd*eta)                         (the factor in double, then float)
 *   param.add_(grad, alpha=-eta)
 *   mu != 1: ax.add_(param.sub(ax).mul_(mu))          else: ax.copy_(param)
 *   eta = float(lr / (1 + lambd*lr*step)**alpha)                               (double)
 *   mu  = float(1 / max(1, step - t0))                                         (double)
 * The new eta and mu are host arithmetic (gm_asgd_next), the same numbers on every
 * backend.
 */
#ifndef GOPTIM_ASGD_MATH_H
#define GOPTIM_ASGD_MATH_H

#include "gm_ops.h"

typedef struct {
    float decay;   /* 1 - lambd*eta */
    float neg_eta; /* -eta */
    float mu, weight_decay;
    int wd;        /* weight_decay != 0 */
    int avg;       /* mu != 1: average into ax, else copy */
} gm_asgd_k;

GM_HOST gm_asgd_k gm_asgd_scalars(const goptim_asgd_params *hp) {
    const float eta = (float)hp->eta;
    gm_asgd_k k;
    k.decay = (float)(1 - hp->lambd * (double)eta);
    k.neg_eta = -eta;
    k.mu = (float)hp->mu;
    k.weight_decay = (float)hp->weight_decay;
    k.wd = hp->weight_decay != 0;
    k.avg = k.mu != 1.0f;
    return k;
}

/* eta and mu after step `step`. */
GM_HOST void gm_asgd_next(const goptim_asgd_params *hp, int64_t step, float *eta, float *mu) {
    const double t = gm_torch_step(step);
    *eta = (float)(hp->lr / pow(1 + hp->lambd * hp->lr * t, hp->alpha));
    const double since = t - hp->t0;
    *mu = (float)(1 / (since > 1 ? since : 1));
}

/* One element: p and ax in place, from the gradient g as the update reads it. AVG is
 * k->avg (constant over a call). */
GM_FN void gm_asgd_update(const gm_asgd_k *k, float *p, float g, float *ax, const int WD,
                          const int AVG GM_HW_PARAM) {
    float param = *p;
    if (WD) g = GM_FMA(k->weight_decay, param, g);
    param = GM_MUL(param, k->decay);
    param = GM_FMA(k->neg_eta, g, param);
    *p = param;
    *ax = AVG ? GM_ADD(*ax, GM_MUL(GM_ADD(param, -*ax), k->mu)) : param;
}

#endif /* GOPTIM_ASGD_MATH_H */
