/*
 * lars_math.h - LARS/LARC, written once for every backend, as apex's LARC wraps
 * torch.optim.SGD (apex/parallel/LARC.py), in torch's ops on float tensors:
 *   a = trust_coefficient * pn / (gn + pn * weight_decay + eps)     (0-dim float tensors)
 *   a = min(a / lr, 1)                                              (clip)
 *   g += weight_decay * p;  g *= a                                  (pn != 0 and gn != 0)
 * then SGD's update without weight decay (sgd_math.h), maximize negating the scaled
 * gradient. pn and gn are the tensor's param and gradient norms.
 */
#ifndef GOPTIM_LARS_MATH_H
#define GOPTIM_LARS_MATH_H

#include "sgd_math.h"

typedef struct {
    gm_sgd_k sgd; /* weight_decay 0: LARC hands SGD the decayed gradient */
    float tc, weight_decay, eps, lr;
    int clip, maximize;
} gm_lars_k;

GM_HOST gm_lars_k gm_lars_scalars(const goptim_lars_params *hp, int64_t step) {
    goptim_sgd_params s;
    s.lr = hp->lr;
    s.momentum = hp->momentum;
    s.dampening = hp->dampening;
    s.weight_decay = 0;
    s.nesterov = hp->nesterov;
    s.maximize = 0;
    gm_lars_k k;
    k.sgd = gm_sgd_scalars(&s, step);
    k.tc = (float)hp->trust_coefficient;
    k.weight_decay = (float)hp->weight_decay;
    k.eps = (float)hp->eps;
    k.lr = (float)hp->lr;
    k.clip = hp->clip != 0;
    k.maximize = hp->maximize != 0;
    return k;
}

/* GM_LARS_KEEP: a zero norm, LARC then neither decays nor scales the gradient (the
 * options are non-negative, so a real adaptive lr is never negative). */
#define GM_LARS_KEEP (-1.0f)

/* The tensor's adaptive lr from its norms, or GM_LARS_KEEP. Python's min(a/lr, 1) keeps
 * a NaN quotient. */
GM_FN float gm_lars_alr(const gm_lars_k *k, float pnorm, float gnorm) {
    if (pnorm == 0.0f || gnorm == 0.0f) return GM_LARS_KEEP;
    float a = GM_DIV(GM_MUL(k->tc, pnorm), GM_ADD(GM_ADD(gnorm, GM_MUL(pnorm, k->weight_decay)), k->eps));
    if (k->clip) {
        a = GM_DIV(a, k->lr);
        if (1.0f < a) a = 1.0f;
    }
    return a;
}

/* The gradient SGD is handed: decayed and scaled by alr (GM_LARS_KEEP: unchanged),
 * then negated for maximize. */
GM_FN float gm_lars_grad(const gm_lars_k *k, float p, float g, float alr) {
    if (alr != GM_LARS_KEEP) g = GM_MUL(GM_ADD(g, GM_MUL(k->weight_decay, p)), alr);
    return k->maximize ? -g : g;
}

#endif /* GOPTIM_LARS_MATH_H */
