/*
 * optim_common.h - optimizer configurations, the exact float reference of each update
 * (the optimizers' math of csrc/<optimizer>_math.h in a plain scalar loop) and helpers to
 * run the C kernels on one tensor or on a list.
 */
#ifndef GOPTIM_OPTIM_COMMON_H
#define GOPTIM_OPTIM_COMMON_H

#include "testutil.h"

#define GM_HOST_REFERENCE 1
#include "adagrad_math.h"
#include "adam_math.h"
#include "adadelta_math.h"
#include "adamax_math.h"
#include "ademamix_math.h"
#include "lamb_math.h"
#include "lars_math.h"
#include "lion_math.h"
#include "asgd_math.h"
#include "nadam_math.h"
#include "radam_math.h"
#include "rprop_math.h"
#include "rmsprop_math.h"
#include "sgd_math.h"

typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADAMAX, OPT_RADAM, OPT_ADADELTA, OPT_RPROP, OPT_NADAM, OPT_ASGD, OPT_LION, OPT_ADEMAMIX, OPT_LAMB, OPT_LARS } opt_kind;

typedef struct {
    const char *name;
    opt_kind kind;
    goptim_sgd_params sgd;
    goptim_adam_params adam;
    goptim_adagrad_params adagrad;
    goptim_rmsprop_params rms;
    goptim_adamax_params adamax;
    goptim_radam_params radam;
    goptim_adadelta_params adadelta;
    goptim_rprop_params rprop;
    goptim_nadam_params nadam; /* mu_product: opt_host_values fills it per step */
    goptim_asgd_params asgd;   /* eta, mu: opt_host_values fills them per step */
    goptim_lion_params lion;
    goptim_ademamix_params ademamix;
    goptim_lamb_params lamb; /* global_grad_norm: tu_global_norm */
    goptim_lars_params lars;
    double init_acc; /* Adagrad's initial_accumulator_value */
} opt_config;

/* The global gradient norm the LAMB configs read (a fixed value: the per-tensor
 * arithmetic is under test, not the norm). */
static const float tu_global_norm = 3.0f;

static const opt_config tu_configs[] = {
    {.name = "sgd", .kind = OPT_SGD, .sgd = {.lr = 0.1}},
    {.name = "sgd_wd", .kind = OPT_SGD, .sgd = {.lr = 0.1, .weight_decay = 0.01}},
    {.name = "sgd_momentum", .kind = OPT_SGD, .sgd = {.lr = 0.05, .momentum = 0.9}},
    {.name = "sgd_momentum_dampening_wd", .kind = OPT_SGD, .sgd = {.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.001}},
    {.name = "sgd_nesterov_wd", .kind = OPT_SGD, .sgd = {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = 1}},
    {.name = "sgd_momentum_maximize", .kind = OPT_SGD, .sgd = {.lr = 0.05, .momentum = 0.8, .maximize = 1}},
    {.name = "adam", .kind = OPT_ADAM, .adam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}},
    {.name = "adam_wd", .kind = OPT_ADAM, .adam = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01}},
    {.name = "adam_amsgrad_maximize", .kind = OPT_ADAM, .adam = {.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .amsgrad = 1, .maximize = 1}},
    {.name = "adamw", .kind = OPT_ADAM, .adam = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .decoupled_weight_decay = 1}},
    {.name = "adamw_amsgrad", .kind = OPT_ADAM, .adam = {.lr = 3e-3, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1, .amsgrad = 1, .decoupled_weight_decay = 1}},
    {.name = "adagrad", .kind = OPT_ADAGRAD, .adagrad = {.lr = 1e-2, .eps = 1e-10}},
    {.name = "adagrad_decay_wd_init", .kind = OPT_ADAGRAD, .adagrad = {.lr = 5e-2, .lr_decay = 0.01, .weight_decay = 0.01, .eps = 1e-10}, .init_acc = 0.1},
    {.name = "adagrad_maximize", .kind = OPT_ADAGRAD, .adagrad = {.lr = 1e-2, .eps = 1e-10, .maximize = 1}},
    {.name = "rmsprop", .kind = OPT_RMSPROP, .rms = {.lr = 1e-2, .alpha = 0.99, .eps = 1e-8}},
    {.name = "rmsprop_centered", .kind = OPT_RMSPROP, .rms = {.lr = 1e-2, .alpha = 0.9, .eps = 1e-8, .centered = 1}},
    {.name = "rmsprop_momentum_wd", .kind = OPT_RMSPROP, .rms = {.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .momentum = 0.9, .weight_decay = 0.01}},
    {.name = "adamax", .kind = OPT_ADAMAX, .adamax = {.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}},
    {.name = "adamax_wd_maximize_smallbeta", .kind = OPT_ADAMAX, .adamax = {.lr = 1e-2, .beta1 = 0.3, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.01, .maximize = 1}},
    {.name = "radam", .kind = OPT_RADAM, .radam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}},
    {.name = "radam_decoupled_wd_maximize", .kind = OPT_RADAM, .radam = {.lr = 1e-2, .beta1 = 0.3, .beta2 = 0.7, .eps = 1e-6, .weight_decay = 0.05, .decoupled_weight_decay = 1, .maximize = 1}},
    {.name = "radam_l2", .kind = OPT_RADAM, .radam = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.01}},
    {.name = "adadelta", .kind = OPT_ADADELTA, .adadelta = {.lr = 1.0, .rho = 0.9, .eps = 1e-6}},
    {.name = "adadelta_wd_maximize", .kind = OPT_ADADELTA, .adadelta = {.lr = 0.5, .rho = 0.95, .eps = 1e-5, .weight_decay = 0.01, .maximize = 1}},
    {.name = "rprop", .kind = OPT_RPROP, .rprop = {.lr = 1e-2, .etaminus = 0.5, .etaplus = 1.2, .step_size_min = 1e-6, .step_size_max = 50}},
    {.name = "rprop_narrow_maximize", .kind = OPT_RPROP, .rprop = {.lr = 5e-2, .etaminus = 0.4, .etaplus = 1.3, .step_size_min = 1e-4, .step_size_max = 0.06, .maximize = 1}},
    {.name = "nadam", .kind = OPT_NADAM, .nadam = {.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .momentum_decay = 4e-3}},
    {.name = "nadam_l2", .kind = OPT_NADAM, .nadam = {.lr = 1e-2, .beta1 = 0.3, .beta2 = 0.9, .eps = 1e-6, .weight_decay = 0.05, .momentum_decay = 0.05}},
    {.name = "nadamw_maximize", .kind = OPT_NADAM, .nadam = {.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.05, .momentum_decay = 4e-3, .decoupled_weight_decay = 1, .maximize = 1}},
    {.name = "asgd", .kind = OPT_ASGD, .asgd = {.lr = 1e-2, .lambd = 1e-4, .alpha = 0.75, .t0 = 1e6}},
    {.name = "asgd_averaging_wd_maximize", .kind = OPT_ASGD, .asgd = {.lr = 5e-2, .lambd = 1e-2, .alpha = 0.6, .t0 = 1, .weight_decay = 0.01, .maximize = 1}},
    {.name = "lion", .kind = OPT_LION, .lion = {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.99}},
    {.name = "lion_wd", .kind = OPT_LION, .lion = {.lr = 3e-3, .beta1 = 0.5, .beta2 = 0.9, .weight_decay = 0.2}},
    {.name = "ademamix", .kind = OPT_ADEMAMIX, .ademamix = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .beta3 = 0.9999, .alpha = 2, .eps = 1e-8}},
    {.name = "ademamix_nofast_warmups_wd", .kind = OPT_ADEMAMIX, .ademamix = {.lr = 5e-3, .beta2 = 0.99, .beta3 = 0.999, .alpha = 5, .eps = 1e-6, .weight_decay = 0.05, .alpha_warmup = 3, .beta3_warmup = 4}},
    {.name = "lamb", .kind = OPT_LAMB, .lamb = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6, .weight_decay = 0.01, .max_grad_norm = 1, .bias_correction = 1, .grad_averaging = 1, .adam_w_mode = 1, .global_grad_norm = &tu_global_norm}},
    {.name = "lamb_l2_nvlamb_trustclip", .kind = OPT_LAMB, .lamb = {.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.05, .max_grad_norm = 10, .bias_correction = 0, .grad_averaging = 0, .adam_w_mode = 0, .use_nvlamb = 1, .trust_clip = 1, .global_grad_norm = &tu_global_norm}},
    {.name = "lamb_no_trust_no_clip", .kind = OPT_LAMB, .lamb = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6, .bias_correction = 1, .grad_averaging = 1, .adam_w_mode = 1}},
    {.name = "lars", .kind = OPT_LARS, .lars = {.lr = 0.1, .trust_coefficient = 0.02, .eps = 1e-8, .clip = 1}},
    {.name = "lars_momentum_nesterov_wd_maximize", .kind = OPT_LARS, .lars = {.lr = 0.5, .momentum = 0.9, .weight_decay = 1e-3, .trust_coefficient = 0.01, .eps = 1e-8, .nesterov = 1, .maximize = 1}},
    {.name = "rmsprop_centered_momentum_maximize", .kind = OPT_RMSPROP, .rms = {.lr = 1e-3, .alpha = 0.95, .eps = 1e-6, .momentum = 0.5, .centered = 1, .maximize = 1}},
};
#define TU_NCONFIGS ((int)(sizeof tu_configs / sizeof tu_configs[0]))

static inline int opt_maximize(const opt_config *c) {
    switch (c->kind) {
    case OPT_SGD: return c->sgd.maximize;
    case OPT_ADAM: return c->adam.maximize;
    case OPT_ADAGRAD: return c->adagrad.maximize;
    case OPT_RMSPROP: return c->rms.maximize;
    case OPT_ADAMAX: return c->adamax.maximize;
    case OPT_RADAM: return c->radam.maximize;
    case OPT_ADADELTA: return c->adadelta.maximize;
    case OPT_RPROP: return c->rprop.maximize;
    case OPT_NADAM: return c->nadam.maximize;
    case OPT_ASGD: return c->asgd.maximize;
    case OPT_LION: return 0;
    case OPT_ADEMAMIX: return 0;
    case OPT_LAMB: return 0;
    case OPT_LARS: return 0; /* negated after LARC's scaling, in gm_lars_grad */
    }
    return 0;
}

/* State buffers the options need (bit k: state[k]). */
static inline unsigned opt_state_mask(const opt_config *c) {
    switch (c->kind) {
    case OPT_SGD: return c->sgd.momentum != 0 ? 1u : 0u;
    case OPT_ADAM: return c->adam.amsgrad ? 7u : 3u;
    case OPT_ADAGRAD: return 1u;
    case OPT_RMSPROP: return 1u | (c->rms.momentum > 0 ? 2u : 0u) | (c->rms.centered ? 4u : 0u);
    case OPT_ADAMAX: return 3u;
    case OPT_RADAM: return 3u;
    case OPT_ADADELTA: return 3u;
    case OPT_RPROP: return 3u;
    case OPT_NADAM: return 3u;
    case OPT_ASGD: return 1u;
    case OPT_LION: return 1u;
    case OPT_ADEMAMIX: return c->ademamix.beta1 != 0 ? 7u : 6u;
    case OPT_LAMB: return 3u;
    case OPT_LARS: return c->lars.momentum != 0 ? 1u : 0u;
    }
    return 0;
}

static inline double opt_state_init(const opt_config *c, int k) {
    if (c->kind == OPT_RPROP && k == 1) return c->rprop.lr; /* step_size starts at lr */
    return (c->kind == OPT_ADAGRAD && k == 0) ? c->init_acc : 0.0;
}

/* c with the host values NAdam and ASGD take (torch's per-param 0-dim state) as they
 * are before step t of a run under c, advanced by the shared math's host arithmetic. */
static inline opt_config opt_host_values(const opt_config *c, int64_t t) {
    opt_config h = *c;
    if (c->kind == OPT_NADAM) {
        h.nadam.mu_product = 1.0;
        for (int64_t s = 1; s < t; s++) h.nadam.mu_product = gm_nadam_scalars(&h.nadam, s).mu_product;
    }
    if (c->kind == OPT_ASGD) {
        h.asgd.eta = (float)c->asgd.lr;
        h.asgd.mu = 1.0;
        for (int64_t s = 1; s < t; s++) {
            float eta, mu;
            gm_asgd_next(&h.asgd, s, &eta, &mu);
            h.asgd.eta = eta;
            h.asgd.mu = mu;
        }
    }
    return h;
}

static inline goptim_status opt_step(goptim_context *ctx, const opt_config *cfg, const goptim_tensor_list *l,
                                     int64_t t, const goptim_step_aux *aux) {
    const opt_config hv = opt_host_values(cfg, t);
    const opt_config *c = &hv;
    switch (c->kind) {
    case OPT_SGD: return goptim_sgd_step(ctx, l, &c->sgd, t, aux);
    case OPT_ADAM: return goptim_adam_step(ctx, l, &c->adam, t, aux);
    case OPT_ADAGRAD: return goptim_adagrad_step(ctx, l, &c->adagrad, t, aux);
    case OPT_RMSPROP: return goptim_rmsprop_step(ctx, l, &c->rms, t, aux);
    case OPT_ADAMAX: return goptim_adamax_step(ctx, l, &c->adamax, t, aux);
    case OPT_RADAM: return goptim_radam_step(ctx, l, &c->radam, t, aux);
    case OPT_ADADELTA: return goptim_adadelta_step(ctx, l, &c->adadelta, t, aux);
    case OPT_RPROP: return goptim_rprop_step(ctx, l, &c->rprop, t, aux);
    case OPT_NADAM: return goptim_nadam_step(ctx, l, &c->nadam, t, aux);
    case OPT_ASGD: return goptim_asgd_step(ctx, l, &c->asgd, t, aux);
    case OPT_LION: return goptim_lion_step(ctx, l, &c->lion, t, aux);
    case OPT_ADEMAMIX: return goptim_ademamix_step(ctx, l, &c->ademamix, t, aux);
    case OPT_LAMB: return goptim_lamb_step(ctx, l, &c->lamb, t, aux);
    case OPT_LARS: return goptim_lars_step(ctx, l, &c->lars, t, aux);
    }
    return GOPTIM_ERR_INVALID_ARGUMENT;
}

/* LAMB's and LARS's step of one tensor: its norms summed in double in order (the
 * kernels' partial sums round to the same float), then the shared math. */
static inline void ref_step_tensor(const opt_config *c, int64_t n, float *p, const float *gin, float *s0, float *s1,
                                   int64_t t) {
    double ps = 0, us = 0;
    for (int64_t i = 0; i < n; i++) ps += (double)p[i] * (double)p[i];
    if (c->kind == OPT_LAMB) {
        const gm_lamb_k k = gm_lamb_scalars(&c->lamb, t);
        const float clip = c->lamb.max_grad_norm > 0 ? gm_lamb_clip(*c->lamb.global_grad_norm, (float)c->lamb.max_grad_norm)
                                                     : 1.0f;
        for (int64_t i = 0; i < n; i++) {
            gm_lamb_moments(&k, p[i], gin[i] / clip, &s0[i], &s1[i], k.wd_mode);
            const float u = gm_lamb_update(&k, p[i], s0[i], s1[i], k.wd_mode);
            us += (double)u * (double)u;
        }
        const float ratio = gm_lamb_ratio(&k, (float)sqrt(ps), (float)sqrt(us));
        for (int64_t i = 0; i < n; i++) p[i] = fmaf(-ratio, gm_lamb_update(&k, p[i], s0[i], s1[i], k.wd_mode), p[i]);
        return;
    }
    const gm_lars_k k = gm_lars_scalars(&c->lars, t);
    for (int64_t i = 0; i < n; i++) us += (double)gin[i] * (double)gin[i];
    const float alr = gm_lars_alr(&k, (float)sqrt(ps), (float)sqrt(us));
    for (int64_t i = 0; i < n; i++)
        gm_sgd_update(&k.sgd, &p[i], gm_lars_grad(&k, p[i], gin[i], alr), &s0[i], 0, k.sgd.mom_mode, k.sgd.nesterov);
}

/* One step of the exact float reference: the shared math, element by element, with no
 * ISA, vector width, threading or chunking, so the kernels must give its bits. */
static inline void ref_step(const opt_config *cfg, int64_t n, float *p, const float *gin, float *s0, float *s1,
                            float *s2, int64_t t) {
    const opt_config hv = opt_host_values(cfg, t);
    const opt_config *c = &hv;
    const float gmul = opt_maximize(c) ? -1.0f : 1.0f;
    if (c->kind == OPT_LAMB || c->kind == OPT_LARS) {
        ref_step_tensor(c, n, p, gin, s0, s1, t);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const float g = gm_grad_use(gin[i], gmul);
        switch (c->kind) {
        case OPT_SGD: {
            const gm_sgd_k k = gm_sgd_scalars(&c->sgd, t);
            gm_sgd_update(&k, &p[i], g, &s0[i], k.wd, k.mom_mode, k.nesterov);
            break;
        }
        case OPT_ADAM: {
            const gm_adam_k k = gm_adam_scalars(&c->adam, t);
            gm_adam_update(&k, &p[i], g, &s0[i], &s1[i], &s2[i], k.wd_mode, c->adam.amsgrad != 0);
            break;
        }
        case OPT_ADAGRAD: {
            const gm_adagrad_k k = gm_adagrad_scalars(&c->adagrad, t);
            gm_adagrad_update(&k, &p[i], g, &s0[i], k.wd);
            break;
        }
        case OPT_RADAM: {
            const gm_radam_k k = gm_radam_scalars(&c->radam, t);
            gm_radam_update(&k, &p[i], g, &s0[i], &s1[i], k.wd_mode, k.rectified);
            break;
        }
        case OPT_NADAM: {
            const gm_nadam_k k = gm_nadam_scalars(&c->nadam, t);
            gm_nadam_update(&k, &p[i], g, &s0[i], &s1[i], k.wd_mode);
            break;
        }
        case OPT_LION: {
            const gm_lion_k k = gm_lion_scalars(&c->lion);
            gm_lion_update(&k, &p[i], g, &s0[i]);
            break;
        }
        case OPT_ADEMAMIX: {
            const gm_ademamix_k k = gm_ademamix_scalars(&c->ademamix, t);
            gm_ademamix_update(&k, &p[i], g, &s0[i], &s1[i], &s2[i], k.fast);
            break;
        }
        case OPT_LAMB:
        case OPT_LARS:
            break; /* ref_step_tensor */
        case OPT_ASGD: {
            const gm_asgd_k k = gm_asgd_scalars(&c->asgd);
            gm_asgd_update(&k, &p[i], g, &s0[i], k.wd, k.avg);
            break;
        }
        case OPT_RPROP: {
            const gm_rprop_k k = gm_rprop_scalars(&c->rprop, t);
            gm_rprop_update(&k, &p[i], g, &s0[i], &s1[i]);
            break;
        }
        case OPT_ADADELTA: {
            const gm_adadelta_k k = gm_adadelta_scalars(&c->adadelta, t);
            gm_adadelta_update(&k, &p[i], g, &s0[i], &s1[i], k.wd);
            break;
        }
        case OPT_ADAMAX: {
            const gm_adamax_k k = gm_adamax_scalars(&c->adamax, t);
            gm_adamax_update(&k, &p[i], g, &s0[i], &s1[i], k.wd);
            break;
        }
        case OPT_RMSPROP: {
            const gm_rmsprop_k k = gm_rmsprop_scalars(&c->rms, t);
            gm_rmsprop_update(&k, &p[i], g, &s0[i], &s1[i], &s2[i], k.wd, k.centered, k.mom);
            break;
        }
        }
    }
}

/* One tensor: parameters, gradient, three state buffers. */
typedef struct {
    int64_t n;
    float *p, *g, *s[3];
} tu_tensor;

static inline tu_tensor tu_tensor_new(int64_t n) {
    tu_tensor t = {n, tu_alloc(n), tu_alloc(n), {tu_alloc(n), tu_alloc(n), tu_alloc(n)}};
    return t;
}

static inline void tu_tensor_free(tu_tensor *t) {
    free(t->p);
    free(t->g);
    for (int k = 0; k < 3; k++) free(t->s[k]);
}

/* A list over an array of tensors; the pointer arrays are owned by the list. */
typedef struct {
    goptim_tensor_list l;
    int64_t *numel;
    float **param, **grad, **state[3];
} tu_list;

static inline tu_list tu_list_new(tu_tensor *ts, int64_t count) {
    tu_list r;
    size_t c = (size_t)(count > 0 ? count : 1);
    r.numel = malloc(c * sizeof(int64_t));
    r.param = malloc(c * sizeof(float *));
    r.grad = malloc(c * sizeof(float *));
    for (int k = 0; k < 3; k++) r.state[k] = malloc(c * sizeof(float *));
    for (int64_t i = 0; i < count; i++) {
        r.numel[i] = ts[i].n;
        r.param[i] = ts[i].p;
        r.grad[i] = ts[i].g;
        for (int k = 0; k < 3; k++) r.state[k][i] = ts[i].s[k];
    }
    r.l.count = count;
    r.l.numel = r.numel;
    r.l.param = r.param;
    r.l.grad = r.grad;
    for (int k = 0; k < 3; k++) r.l.state[k] = r.state[k];
    return r;
}

static inline void tu_list_free(tu_list *r) {
    free(r->numel);
    free(r->param);
    free(r->grad);
    for (int k = 0; k < 3; k++) free(r->state[k]);
}

#endif
