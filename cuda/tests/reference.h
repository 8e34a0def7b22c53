// reference.h - host references of goptim's optimizer steps, shared by test_cuda.cu (GPU)
// and test_emulated.cpp (host emulation of the kernels):
//  - ref_float: an exact-order float emulation of torch's single-tensor path (the
//    roundings the kernels claim; compile with -ffp-contract=off);
//  - ref_double: the equations of DESIGN.md in double.
#ifndef GOPTIM_TEST_REFERENCE_H
#define GOPTIM_TEST_REFERENCE_H

#include <cmath>
#include <cstdint>
#include <vector>

#include "goptim.h"

struct AuxCfg {
    bool unscale = false;
    float scale = 1.f;
    bool found_set = false;
    float found = 0.f;
    bool clip = false;
    double max_norm = 0;
};

inline float clip_coef_f(float norm, float max_norm) {
    const float c = (1.0f / (norm + 1e-6f)) * max_norm;
    return c > 1.f ? 1.f : c;
}

enum Opt { SGD, ADAM, ADAGRAD, RMSPROP };

struct OptCfg {
    Opt opt;
    const char *name;
    goptim_sgd_params sgd;
    goptim_adam_params adam;
    goptim_adagrad_params adagrad;
    goptim_rmsprop_params rms;
    int nstate() const {
        switch (opt) {
        case SGD: return sgd.momentum != 0 ? 1 : 0;
        case ADAM: return adam.amsgrad ? 3 : 2;
        case ADAGRAD: return 1;
        default: return 3;
        }
    }
};

// Exact-order float reference of one element. v: param, grad, s0, s1, s2.
inline void ref_float(const OptCfg &c, const AuxCfg &a, float norm, int64_t step, float v[5]) {
    float g = v[1];
    if (a.unscale) {
        g = g / a.scale;
        v[1] = g;
    }
    if (a.clip) g = g * clip_coef_f(norm, (float)a.max_norm);
    const double t = (double)step;
    if (c.opt == SGD) {
        const goptim_sgd_params &h = c.sgd;
        if (h.maximize) g = -g;
        float p = v[0];
        if (h.weight_decay != 0) g = std::fma((float)h.weight_decay, p, g);
        if (h.momentum != 0) {
            float buf = step == 1 ? g : std::fma((float)(1.0 - h.dampening), g, v[2] * (float)h.momentum);
            v[2] = buf;
            g = h.nesterov ? std::fma((float)h.momentum, buf, g) : buf;
        }
        v[0] = std::fma((float)(-h.lr), g, p);
    } else if (c.opt == ADAM) {
        const goptim_adam_params &h = c.adam;
        if (h.maximize) g = -g;
        float p = v[0];
        if (h.weight_decay != 0 && h.decoupled_weight_decay) p = p * (float)(1.0 - h.lr * h.weight_decay);
        if (h.weight_decay != 0 && !h.decoupled_weight_decay) g = std::fma((float)h.weight_decay, p, g);
        const float m = std::fma((float)(1.0 - h.beta1), g, v[2] * (float)h.beta1);
        const float s = std::fma((float)(1.0 - h.beta2) * g, g, v[3] * (float)h.beta2);
        float vh = s;
        if (h.amsgrad) {
            vh = (std::isnan(v[4]) || v[4] > s) ? v[4] : s;
            v[4] = vh;
        }
        const double bc1 = 1.0 - std::pow(h.beta1, t), bc2 = 1.0 - std::pow(h.beta2, t);
        const float denom = std::sqrt(vh) / (float)std::sqrt(bc2) + (float)h.eps;
        v[0] = p + ((float)(-(h.lr / bc1)) * m) / denom;
        v[2] = m;
        v[3] = s;
    } else if (c.opt == ADAGRAD) {
        const goptim_adagrad_params &h = c.adagrad;
        if (h.maximize) g = -g;
        const float p = v[0];
        if (h.weight_decay != 0) g = std::fma((float)h.weight_decay, p, g);
        const float sum = std::fma(g, g, v[2]);
        const float sd = std::sqrt(sum) + (float)h.eps;
        v[0] = p + ((float)(-(h.lr / (1.0 + (t - 1) * h.lr_decay))) * g) / sd;
        v[2] = sum;
    } else {
        const goptim_rmsprop_params &h = c.rms;
        if (h.maximize) g = -g;
        const float p = v[0];
        if (h.weight_decay != 0) g = std::fma((float)h.weight_decay, p, g);
        const float oma = (float)(1.0 - h.alpha);
        const float sq = std::fma(oma * g, g, v[2] * (float)h.alpha);
        v[2] = sq;
        float avg;
        if (h.centered) {
            const float ga = std::fma(oma, g, v[4] * (float)h.alpha);
            v[4] = ga;
            avg = std::sqrt(std::fma(-ga, ga, sq));
        } else {
            avg = std::sqrt(sq);
        }
        avg = avg + (float)h.eps;
        if (h.momentum > 0) {
            const float buf = v[3] * (float)h.momentum + g / avg;
            v[3] = buf;
            v[0] = std::fma((float)(-h.lr), buf, p);
        } else {
            v[0] = p + ((float)(-h.lr) * g) / avg;
        }
    }
}

// The equations of DESIGN.md in double. v: param, grad(in), s0, s1, s2.
inline void ref_double(const OptCfg &c, const AuxCfg &a, double norm, int64_t step, double v[5]) {
    double g = v[1];
    if (a.unscale) g = g / a.scale;
    if (a.clip) g *= std::fmin(a.max_norm / (norm + 1e-6), 1.0);
    const double t = (double)step;
    if (c.opt == SGD) {
        const goptim_sgd_params &h = c.sgd;
        if (h.maximize) g = -g;
        if (h.weight_decay != 0) g += h.weight_decay * v[0];
        if (h.momentum != 0) {
            v[2] = step == 1 ? g : h.momentum * v[2] + (1 - h.dampening) * g;
            g = h.nesterov ? g + h.momentum * v[2] : v[2];
        }
        v[0] -= h.lr * g;
    } else if (c.opt == ADAM) {
        const goptim_adam_params &h = c.adam;
        if (h.maximize) g = -g;
        if (h.decoupled_weight_decay) v[0] *= 1 - h.lr * h.weight_decay;
        else g += h.weight_decay * v[0];
        v[2] = h.beta1 * v[2] + (1 - h.beta1) * g;
        v[3] = h.beta2 * v[3] + (1 - h.beta2) * g * g;
        double vh = v[3];
        if (h.amsgrad) vh = v[4] = std::fmax(v[4], v[3]);
        const double bc1 = 1 - std::pow(h.beta1, t), bc2 = 1 - std::pow(h.beta2, t);
        v[0] -= (h.lr / bc1) * v[2] / (std::sqrt(vh) / std::sqrt(bc2) + h.eps);
    } else if (c.opt == ADAGRAD) {
        const goptim_adagrad_params &h = c.adagrad;
        if (h.maximize) g = -g;
        g += h.weight_decay * v[0];
        const double clr = h.lr / (1 + (t - 1) * h.lr_decay);
        v[2] += g * g;
        v[0] -= clr * g / (std::sqrt(v[2]) + h.eps);
    } else {
        const goptim_rmsprop_params &h = c.rms;
        if (h.maximize) g = -g;
        g += h.weight_decay * v[0];
        v[2] = h.alpha * v[2] + (1 - h.alpha) * g * g;
        double avg;
        if (h.centered) {
            v[4] = h.alpha * v[4] + (1 - h.alpha) * g;
            avg = std::sqrt(v[2] - v[4] * v[4]) + h.eps;
        } else {
            avg = std::sqrt(v[2]) + h.eps;
        }
        if (h.momentum > 0) {
            v[3] = h.momentum * v[3] + g / avg;
            v[0] -= h.lr * v[3];
        } else {
            v[0] -= h.lr * g / avg;
        }
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
    rms("rmsprop", 0, 0, 0, 0);
    rms("rmsprop centered", 0, 0, 1, 0);
    rms("rmsprop momentum", 0, 0.9, 0, 0);
    rms("rmsprop centered momentum wd maximize", 0.01, 0.9, 1, 1);
    return v;
}

#endif
