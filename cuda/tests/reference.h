// reference.h - the host reference of goptim's optimizer steps, shared by test_cuda.cu
// (GPU) and test_emulated.cpp (host emulation of the kernels): the optimizers' math of
// csrc/ run on the host (compile with -ffp-contract=off), and the test configurations.
#ifndef GOPTIM_TEST_REFERENCE_H
#define GOPTIM_TEST_REFERENCE_H

#include <cmath>
#include <cstdint>
#include <vector>

#include "goptim.h"

#include "adagrad_math.h"
#include "adam_math.h"
#include "adadelta_math.h"
#include "adamax_math.h"
#include "ademamix_math.h"
#include "lion_math.h"
#include "asgd_math.h"
#include "nadam_math.h"
#include "radam_math.h"
#include "rprop_math.h"
#include "rmsprop_math.h"
#include "sgd_math.h"

struct AuxCfg {
    bool unscale = false;
    float scale = 1.f;
    bool found_set = false;
    float found = 0.f;
    bool clip = false;
    double max_norm = 0;
};

enum Opt { SGD, ADAM, ADAGRAD, RMSPROP, ADAMAX, RADAM, ADADELTA, RPROP, NADAM, ASGD, LION, ADEMAMIX };

struct OptCfg {
    Opt opt;
    const char *name;
    goptim_sgd_params sgd;
    goptim_adam_params adam;
    goptim_adagrad_params adagrad;
    goptim_rmsprop_params rms;
    goptim_adamax_params adamax;
    goptim_radam_params radam;
    goptim_adadelta_params adadelta;
    goptim_rprop_params rprop;
    goptim_nadam_params nadam; // with a fixed mu_product, as a param mid-run has
    goptim_asgd_params asgd;   // with fixed eta and mu
    goptim_lion_params lion;
    goptim_ademamix_params ademamix;
    int nstate() const {
        switch (opt) {
        case SGD: return sgd.momentum != 0 ? 1 : 0;
        case ADAM: return adam.amsgrad ? 3 : 2;
        case ADAGRAD: return 1;
        case ADAMAX: return 2;
        case RADAM: return 2;
        case ADADELTA: return 2;
        case RPROP: return 2;
        case NADAM: return 2;
        case ASGD: return 1;
        case LION: return 1;
        case ADEMAMIX: return 3;
        default: return 3;
        }
    }
};

// Exact float reference of one element, v = {param, grad, s0, s1, s2}: the optimizers'
// own math (csrc/<optimizer>_math.h) run on the host, with the gradient prepared as
// goptim_step_aux says (unscale and write back, clip, maximize). The kernels must give
// these bits; what the math means is checked elsewhere (the Go suite's float64 reference
// and torch golden trajectories, which it also runs on the GPU).
inline void ref_float(const OptCfg &c, const AuxCfg &a, float norm, int64_t step, float v[5]) {
    const float g = gm_unscale(v[1], a.scale, a.unscale ? 1 : 0);
    v[1] = g;
    const float coef = a.clip ? gm_clip_coef(norm, (float)a.max_norm) : 1.f;
    bool maximize;
    switch (c.opt) {
    case SGD: maximize = c.sgd.maximize != 0; break;
    case ADAM: maximize = c.adam.maximize != 0; break;
    case ADAGRAD: maximize = c.adagrad.maximize != 0; break;
    case ADAMAX: maximize = c.adamax.maximize != 0; break;
    case RADAM: maximize = c.radam.maximize != 0; break;
    case ADADELTA: maximize = c.adadelta.maximize != 0; break;
    case RPROP: maximize = c.rprop.maximize != 0; break;
    case NADAM: maximize = c.nadam.maximize != 0; break;
    case ASGD: maximize = c.asgd.maximize != 0; break;
    case LION: maximize = false; break;
    case ADEMAMIX: maximize = false; break;
    default: maximize = c.rms.maximize != 0; break;
    }
    const float gu = gm_grad_use(g, maximize ? -coef : coef);
    if (c.opt == SGD) {
        const gm_sgd_k k = gm_sgd_scalars(&c.sgd, step);
        gm_sgd_update(&k, &v[0], gu, &v[2], k.wd, k.mom_mode, k.nesterov);
    } else if (c.opt == ADAM) {
        const gm_adam_k k = gm_adam_scalars(&c.adam, step);
        gm_adam_update(&k, &v[0], gu, &v[2], &v[3], &v[4], k.wd_mode, c.adam.amsgrad != 0);
    } else if (c.opt == RADAM) {
        const gm_radam_k k = gm_radam_scalars(&c.radam, step);
        gm_radam_update(&k, &v[0], gu, &v[2], &v[3], k.wd_mode, k.rectified);
    } else if (c.opt == NADAM) {
        const gm_nadam_k k = gm_nadam_scalars(&c.nadam, step);
        gm_nadam_update(&k, &v[0], gu, &v[2], &v[3], k.wd_mode);
    } else if (c.opt == LION) {
        const gm_lion_k k = gm_lion_scalars(&c.lion);
        gm_lion_update(&k, &v[0], gu, &v[2]);
    } else if (c.opt == ADEMAMIX) {
        const gm_ademamix_k k = gm_ademamix_scalars(&c.ademamix, step);
        gm_ademamix_update(&k, &v[0], gu, &v[2], &v[3], &v[4], k.fast);
    } else if (c.opt == ASGD) {
        const gm_asgd_k k = gm_asgd_scalars(&c.asgd);
        gm_asgd_update(&k, &v[0], gu, &v[2], k.wd, k.avg);
    } else if (c.opt == RPROP) {
        const gm_rprop_k k = gm_rprop_scalars(&c.rprop, step);
        gm_rprop_update(&k, &v[0], gu, &v[2], &v[3]);
    } else if (c.opt == ADADELTA) {
        const gm_adadelta_k k = gm_adadelta_scalars(&c.adadelta, step);
        gm_adadelta_update(&k, &v[0], gu, &v[2], &v[3], k.wd);
    } else if (c.opt == ADAMAX) {
        const gm_adamax_k k = gm_adamax_scalars(&c.adamax, step);
        gm_adamax_update(&k, &v[0], gu, &v[2], &v[3], k.wd);
    } else if (c.opt == ADAGRAD) {
        const gm_adagrad_k k = gm_adagrad_scalars(&c.adagrad, step);
        gm_adagrad_update(&k, &v[0], gu, &v[2], k.wd);
    } else {
        const gm_rmsprop_k k = gm_rmsprop_scalars(&c.rms, step);
        gm_rmsprop_update(&k, &v[0], gu, &v[2], &v[3], &v[4], k.wd, k.centered, k.mom);
    }
}

inline std::vector<OptCfg> all_configs() {
    std::vector<OptCfg> v;
    auto sgd = [&](const char *n, double mom, double damp, double wd, int nest, int mx) {
        OptCfg c{};
        c.opt = SGD;
        c.name = n;
        c.sgd = goptim_sgd_params{0.05, mom, damp, wd, nest, mx};
        v.push_back(c);
    };
    sgd("sgd", 0, 0, 0, 0, 0);
    sgd("sgd wd maximize", 0, 0, 0.01, 0, 1);
    sgd("sgd momentum", 0.9, 0, 0, 0, 0);
    sgd("sgd momentum dampening wd", 0.9, 0.1, 0.02, 0, 0);
    sgd("sgd nesterov maximize", 0.9, 0, 0.01, 1, 1);
    auto adam = [&](const char *n, double wd, int ams, int mx, int dec) {
        OptCfg c{};
        c.opt = ADAM;
        c.name = n;
        c.adam = goptim_adam_params{1e-2, 0.9, 0.999, 1e-8, wd, ams, mx, dec};
        v.push_back(c);
    };
    adam("adam", 0, 0, 0, 0);
    adam("adam amsgrad", 0, 1, 0, 0);
    adam("adam l2 maximize", 0.01, 0, 1, 0);
    adam("adamw", 0.01, 0, 0, 1);
    adam("adamw amsgrad maximize", 0.1, 1, 1, 1);
    auto adagrad = [&](const char *n, double lr_decay, double wd, int mx) {
        OptCfg c{};
        c.opt = ADAGRAD;
        c.name = n;
        c.adagrad = goptim_adagrad_params{1e-2, lr_decay, wd, 1e-10, mx};
        v.push_back(c);
    };
    adagrad("adagrad", 0, 0, 0);
    adagrad("adagrad lr_decay wd maximize", 0.01, 0.01, 1);
    auto rms = [&](const char *n, double wd, double mom, int cen, int mx) {
        OptCfg c{};
        c.opt = RMSPROP;
        c.name = n;
        c.rms = goptim_rmsprop_params{1e-2, 0.99, 1e-8, wd, mom, cen, mx};
        v.push_back(c);
    };
    auto adamax = [&](const char *n, double b1, double wd, int mx) {
        OptCfg c{};
        c.opt = ADAMAX;
        c.name = n;
        c.adamax = goptim_adamax_params{1e-2, b1, 0.999, 1e-8, wd, mx};
        v.push_back(c);
    };
    adamax("adamax", 0.9, 0, 0);
    adamax("adamax small beta1 wd maximize", 0.3, 0.01, 1);
    auto radam = [&](const char *n, double b2, double wd, int dec, int mx) {
        OptCfg c{};
        c.opt = RADAM;
        c.name = n;
        c.radam = goptim_radam_params{1e-2, 0.9, b2, 1e-8, wd, dec, mx};
        v.push_back(c);
    };
    radam("radam", 0.999, 0, 0, 0);
    radam("radam rectified early l2", 0.5, 0.01, 0, 0);
    radam("radam decoupled maximize", 0.7, 0.05, 1, 1);
    auto adadelta = [&](const char *n, double wd, int mx) {
        OptCfg c{};
        c.opt = ADADELTA;
        c.name = n;
        c.adadelta = goptim_adadelta_params{1.0, 0.9, 1e-6, wd, mx};
        v.push_back(c);
    };
    adadelta("adadelta", 0, 0);
    adadelta("adadelta wd maximize", 0.01, 1);
    auto rprop = [&](const char *n, double lo, double hi, int mx) {
        OptCfg c{};
        c.opt = RPROP;
        c.name = n;
        c.rprop = goptim_rprop_params{1e-2, 0.5, 1.2, lo, hi, mx};
        v.push_back(c);
    };
    rprop("rprop", 1e-6, 50, 0);
    rprop("rprop narrow maximize", 1e-3, 0.02, 1);
    auto nadam = [&](const char *n, double b1, double wd, int dec, int mx, double mu_product) {
        OptCfg c{};
        c.opt = NADAM;
        c.name = n;
        c.nadam = goptim_nadam_params{1e-2, b1, 0.999, 1e-8, wd, 4e-3, mu_product, dec, mx};
        v.push_back(c);
    };
    nadam("nadam", 0.9, 0, 0, 0, 1.0);
    nadam("nadam l2 small beta1 mid-run", 0.3, 0.01, 0, 0, 0.0625);
    nadam("nadamw maximize mid-run", 0.9, 0.05, 1, 1, 0.375);
    auto asgd = [&](const char *n, double wd, int mx, double eta, double mu) {
        OptCfg c{};
        c.opt = ASGD;
        c.name = n;
        c.asgd = goptim_asgd_params{1e-2, 1e-2, 0.75, 1, wd, eta, mu, mx};
        v.push_back(c);
    };
    asgd("asgd copy", 0, 0, 0.01, 1.0);
    asgd("asgd averaging wd maximize", 0.01, 1, 0.0075, 0.25);
    auto lion = [&](const char *n, double b1, double wd) {
        OptCfg c{};
        c.opt = LION;
        c.name = n;
        c.lion = goptim_lion_params{1e-3, b1, 0.99, wd};
        v.push_back(c);
    };
    lion("lion", 0.9, 0);
    lion("lion small beta1 wd", 0.3, 0.1);
    auto ademamix = [&](const char *n, double b1, int64_t aw, int64_t bw, double wd) {
        OptCfg c{};
        c.opt = ADEMAMIX;
        c.name = n;
        c.ademamix = goptim_ademamix_params{1e-3, b1, 0.999, 0.9999, 2.0, 1e-8, wd, aw, bw};
        v.push_back(c);
    };
    ademamix("ademamix", 0.9, 0, 0, 0);
    ademamix("ademamix no fast warmups wd", 0, 3, 5, 0.05);
    rms("rmsprop", 0, 0, 0, 0);
    rms("rmsprop centered", 0, 0, 1, 0);
    rms("rmsprop momentum", 0, 0.9, 0, 0);
    rms("rmsprop centered momentum wd maximize", 0.01, 0.9, 1, 1);
    return v;
}

#endif
