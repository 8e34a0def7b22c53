/* step_aux.c - resolving a step's goptim_step_aux: skip on found_inf, unscaling, clipping, maximize. */
#include "gm_ops.h" /* gm_clip_coef; includes kernel.h and internal.h */

int gi_resolve_aux(const goptim_step_aux *aux, int maximize, int *has_scale, float *scale, float *gmul) {
    *has_scale = 0;
    *scale = 1.0f;
    float coef = 1.0f;
    if (aux) {
        if (aux->found_inf && *aux->found_inf != 0.0f) return 1;
        if (aux->grad_scale) {
            *has_scale = 1;
            *scale = *aux->grad_scale;
        }
        if (aux->clip_norm && aux->max_norm > 0) coef = gm_clip_coef(*aux->clip_norm, (float)aux->max_norm);
    }
    *gmul = maximize ? -coef : coef;
    return 0;
}
