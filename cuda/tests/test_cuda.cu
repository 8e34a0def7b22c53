// test_cuda.cu - tests of the CUDA backend of goptim through the public C ABI.
//
// Every optimizer and option set runs a few steps on single tensors of awkward lengths,
// on multi-tensor lists (odd lengths, empty tensors, thousands of tiny tensors), with
// shared and mixed pointer misalignment, under the default chunk size and a small one,
// and is compared with two host references:
//  - an exact-order float emulation of torch's single-tensor path (the same roundings the
//    kernels claim): relative 1e-6 (bitwise equality is expected and counted);
//  - the equations of DESIGN.md in double: a loose 1e-4 check of the semantics.
// Guard elements around every tensor must stay untouched. Also the AMP extras, norms,
// clipping, check_finite, zero_grad, memory functions, sgemm and error paths; the
// library's hygiene at the C boundary (no CUDA error left pending, no C++ exception let
// through, the caller's current device kept, stream-ordered free) and the contract
// cases both backends must answer alike (goptim.h).
// Exit status 0 when everything passed. `--quick`: a smaller run for compute-sanitizer.
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "goptim.h"
#include "reference.h"

// The program's operator new, so a test can make the next allocation fail with
// std::bad_alloc, as if the host were out of memory, inside a library call. Host code
// only: nvcc treats the global operators as device functions too.
static std::atomic<int> g_fail_next_new{0};

#ifndef __CUDA_ARCH__
// None of them inlined: GCC would otherwise see malloc paired with operator delete, or
// operator new with free, and warn that they do not match.
__attribute__((noinline)) void *operator new(std::size_t n) {
    if (g_fail_next_new.exchange(0) != 0) throw std::bad_alloc();
    void *p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    return p;
}
__attribute__((noinline)) void operator delete(void *p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void *p, std::size_t) noexcept { std::free(p); }
#endif

static int g_failures = 0;
static int g_checks = 0;
static long long g_inexact = 0;  // elements equal within tolerance but not bitwise
static bool g_quick = false;

static void failf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    ++g_failures;
}

#define CHECK_OK(ctx, call)                                                                              \
    do {                                                                                                 \
        goptim_status st_ = (call);                                                                      \
        if (st_ != GOPTIM_OK) {                                                                          \
            failf("%s:%d: %s -> %s (%s)", __FILE__, __LINE__, #call, goptim_status_string(st_),          \
                  goptim_context_last_error(ctx));                                                       \
            return;                                                                                      \
        }                                                                                                \
    } while (0)

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    double uniform() { return (double)(next() >> 11) * (1.0 / 9007199254740992.0); }
    float normal() {
        double u = uniform() + 1e-12, v = uniform();
        return (float)(std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v));
    }
};

static bool close_rel(float a, float b, double rel, double abs_tol) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (std::isinf(a) || std::isinf(b)) return a == b;
    const double d = std::fabs((double)a - (double)b);
    return d <= abs_tol + rel * std::fmax(std::fabs((double)a), std::fabs((double)b));
}

// ------------------------------------------------------------------ device layout

// A list of tensors in 5 device arenas (param, grad, state0..2) with guard gaps between
// tensors; per-slot misalignment shifts.
struct Layout {
    std::vector<int64_t> numel;
    std::vector<int64_t> off[5];  // element offset of each tensor in each arena
    int64_t arena_len = 0;
};

static const float kGuard = -12345.0f;

static Layout make_layout(const std::vector<int64_t> &numel, const int shift[5], uint64_t seed) {
    Layout L;
    L.numel = numel;
    Rng r(seed);
    int64_t pos = 8;
    for (size_t i = 0; i < numel.size(); ++i) {
        for (int s = 0; s < 5; ++s) L.off[s].push_back(pos + (shift[s] >= 0 ? shift[s] : (int)(r.next() % 4)));
        pos += numel[i] + 4 + 8 + (int64_t)(r.next() % 3) * 4;
    }
    L.arena_len = pos + 16;
    return L;
}

struct DevArrays {
    goptim_context *ctx;
    float *arena[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
    std::vector<float> host[5];  // host mirror (reference state)
    std::vector<float *> ptr[5];
    goptim_tensor_list list{};
    const Layout *L;
    DevArrays(goptim_context *c, const Layout &layout) : ctx(c), L(&layout) {
        for (int s = 0; s < 5; ++s) {
            host[s].assign((size_t)layout.arena_len, kGuard);
            goptim_alloc(ctx, layout.arena_len, &arena[s]);
            for (size_t i = 0; i < layout.numel.size(); ++i) ptr[s].push_back(arena[s] + layout.off[s][i]);
        }
        list.count = (int64_t)layout.numel.size();
        list.numel = layout.numel.data();
        list.param = ptr[0].data();
        list.grad = ptr[1].data();
        for (int k = 0; k < 3; ++k) list.state[k] = ptr[2 + k].data();
    }
    ~DevArrays() {
        for (int s = 0; s < 5; ++s) goptim_free(ctx, arena[s]);
    }
    float *h(int s, size_t i) { return host[s].data() + L->off[s][i]; }
    void upload(int s) { goptim_copy_from_host(ctx, arena[s], host[s].data(), L->arena_len); }
    void upload_all() {
        for (int s = 0; s < 5; ++s) upload(s);
    }
    std::vector<float> download(int s) {
        std::vector<float> v((size_t)L->arena_len);
        goptim_copy_to_host(ctx, v.data(), arena[s], L->arena_len);
        return v;
    }
};

// Compares device arena s with the host mirror (tensors within tolerance, guards exact).
static bool compare_slot(DevArrays &d, int s, const char *what) {
    std::vector<float> got = d.download(s);
    ++g_checks;
    int64_t bad = 0, first_bad = -1;
    for (int64_t j = 0; j < d.L->arena_len; ++j) {
        const float a = got[(size_t)j], b = d.host[s][(size_t)j];
        bool ok;
        if (b == kGuard) ok = (a == kGuard);
        else {
            ok = close_rel(a, b, 1e-6, 1e-30);
            if (ok && std::memcmp(&a, &b, 4) != 0) ++g_inexact;
        }
        if (!ok) {
            if (first_bad < 0) first_bad = j;
            ++bad;
        }
    }
    if (bad) {
        failf("%s slot %d: %lld elements differ (first at arena index %lld: got %.9g want %.9g)", what, s,
              (long long)bad, (long long)first_bad, got[(size_t)first_bad], d.host[s][(size_t)first_bad]);
        return false;
    }
    return true;
}


// Initial state values valid for the optimizer (non-negative second moments).
static void init_state(const OptCfg &c, Rng &r, float v[5]) {
    v[0] = r.normal();
    v[2] = 0.1f * r.normal();
    v[3] = 0.1f * r.normal();
    v[4] = 0.1f * r.normal();
    if (c.opt == ADAM) {
        v[3] = std::fabs(v[3]) * 0.01f;
        v[4] = std::fabs(v[4]) * 0.01f;
    }
    if (c.opt == ADAGRAD) v[2] = std::fabs(v[2]);
    if (c.opt == ADAMAX) v[3] = std::fabs(v[3]);
    if (c.opt == RADAM) v[3] = std::fabs(v[3]) * 0.01f;
    if (c.opt == RPROP) v[3] = std::fabs(v[3]) * 0.1f;
    if (c.opt == ADADELTA) {
        v[2] = std::fabs(v[2]);
        v[3] = std::fabs(v[3]);
    }
    if (c.opt == RMSPROP) {
        v[2] = std::fabs(v[2]) + 0.05f;
        v[4] = 0.01f * r.normal();
    }
}

static void set_state_ptrs(DevArrays &d, const OptCfg &c, goptim_tensor_list &l) {
    l = d.list;
    // Leave unused state arrays NULL: the library must not read them.
    for (int k = 0; k < 3; ++k) l.state[k] = k < c.nstate() ? d.ptr[2 + k].data() : nullptr;
    if (c.opt == RMSPROP) {
        l.state[0] = d.ptr[2].data();
        l.state[1] = c.rms.momentum > 0 ? d.ptr[3].data() : nullptr;
        l.state[2] = c.rms.centered ? d.ptr[4].data() : nullptr;
    }
}

// Runs `steps` steps of config c with aux a on layout L and compares.
static void run_opt_case(goptim_context *ctx, const Layout &L, const OptCfg &c, const AuxCfg &a, const char *tag,
                         uint64_t seed) {
    DevArrays d(ctx, L);
    Rng r(seed);
    const size_t nt = L.numel.size();
    for (size_t i = 0; i < nt; ++i) {
        for (int64_t j = 0; j < L.numel[i]; ++j) {
            float v[5];
            init_state(c, r, v);
            for (int s = 0; s < 5; ++s) {
                if (s == 1) continue;
                d.h(s, i)[j] = v[s];
            }
        }
    }
    d.upload_all();
    goptim_tensor_list l;
    set_state_ptrs(d, c, l);
    float *dscale = nullptr, *dfound = nullptr, *dnorm = nullptr;
    CHECK_OK(ctx, goptim_alloc(ctx, 1, &dscale));
    CHECK_OK(ctx, goptim_alloc(ctx, 1, &dfound));
    CHECK_OK(ctx, goptim_alloc(ctx, 1, &dnorm));
    CHECK_OK(ctx, goptim_copy_from_host(ctx, dscale, &a.scale, 1));
    CHECK_OK(ctx, goptim_copy_from_host(ctx, dfound, &a.found, 1));
    goptim_step_aux aux{};
    aux.grad_scale = a.unscale ? dscale : nullptr;
    aux.found_inf = a.found_set ? dfound : nullptr;
    aux.clip_norm = a.clip ? dnorm : nullptr;
    aux.max_norm = a.max_norm;
    const bool use_aux = a.unscale || a.found_set || a.clip;
    const int steps = 3;
    std::string what;
    for (int step = 1; step <= steps; ++step) {
        // fresh gradients (scaled when unscaling)
        double sumsq = 0;
        for (size_t i = 0; i < nt; ++i)
            for (int64_t j = 0; j < L.numel[i]; ++j) {
                float g = r.normal() * (a.unscale ? a.scale : 1.f);
                if ((j & 7) == 3) g *= 20.f;
                d.h(1, i)[j] = g;
                sumsq += (double)g * g;
            }
        d.upload(1);
        float norm = 0.f;
        if (a.clip) {
            goptim_tensor_list gl = d.list;
            CHECK_OK(ctx, goptim_grad_norm(ctx, &gl, 2.0, dnorm));
            CHECK_OK(ctx, goptim_copy_to_host(ctx, &norm, dnorm, 1));
            const float want = (float)std::sqrt(sumsq);
            if (!close_rel(norm, want, 1e-6, 1e-30)) failf("%s %s: grad norm %.9g want %.9g", tag, c.name, norm, want);
        }
        goptim_status st;
        const goptim_step_aux *ap = use_aux ? &aux : nullptr;
        switch (c.opt) {
        case SGD: st = goptim_sgd_step(ctx, &l, &c.sgd, step, ap); break;
        case ADAM: st = goptim_adam_step(ctx, &l, &c.adam, step, ap); break;
        case ADAGRAD: st = goptim_adagrad_step(ctx, &l, &c.adagrad, step, ap); break;
        case ADAMAX: st = goptim_adamax_step(ctx, &l, &c.adamax, step, ap); break;
        case RADAM: st = goptim_radam_step(ctx, &l, &c.radam, step, ap); break;
        case ADADELTA: st = goptim_adadelta_step(ctx, &l, &c.adadelta, step, ap); break;
        case RPROP: st = goptim_rprop_step(ctx, &l, &c.rprop, step, ap); break;
        case NADAM: st = goptim_nadam_step(ctx, &l, &c.nadam, step, ap); break;
        case ASGD: st = goptim_asgd_step(ctx, &l, &c.asgd, step, ap); break;
        case LION: st = goptim_lion_step(ctx, &l, &c.lion, step, ap); break;
        case ADEMAMIX: st = goptim_ademamix_step(ctx, &l, &c.ademamix, step, ap); break;
        default: st = goptim_rmsprop_step(ctx, &l, &c.rms, step, ap); break;
        }
        if (st != GOPTIM_OK) {
            failf("%s %s: step -> %s (%s)", tag, c.name, goptim_status_string(st), goptim_context_last_error(ctx));
            break;
        }
        const bool skip = a.found_set && a.found != 0.f;
        if (!skip) {
            for (size_t i = 0; i < nt; ++i)
                for (int64_t j = 0; j < L.numel[i]; ++j) {
                    float v[5];
                    for (int s = 0; s < 5; ++s) v[s] = d.h(s, i)[j];
                    ref_float(c, a, norm, step, v);
                    for (int s = 0; s < 5; ++s) d.h(s, i)[j] = v[s];
                }
        }
        what = std::string(tag) + " " + c.name + " step " + std::to_string(step);
        for (int s = 0; s < 5; ++s) {
            if (s >= 2 && s - 2 >= c.nstate()) continue;
            if (!compare_slot(d, s, what.c_str())) {
                step = steps + 1;
                break;
            }
        }
    }
    goptim_free(ctx, dscale);
    goptim_free(ctx, dfound);
    goptim_free(ctx, dnorm);
}

// ------------------------------------------------------------------ layouts

struct NamedLayout {
    std::string name;
    Layout L;
};

static std::vector<NamedLayout> layouts(int64_t chunk) {
    std::vector<NamedLayout> v;
    const int aligned[5] = {0, 0, 0, 0, 0};
    const int shifted[5] = {1, 1, 1, 1, 1};
    const int mixed[5] = {0, 1, 2, 3, 1};
    const int random_shift[5] = {-1, -1, -1, -1, -1};
    std::vector<int64_t> singles = {1, 3, 4, 5, 17, 1000, chunk - 1, chunk, chunk + 1, 3 * chunk + 7};
    if (g_quick) singles = {1, 5, 1000, chunk + 5};
    for (int64_t n : singles) v.push_back({"single n=" + std::to_string(n), make_layout({n}, aligned, n)});
    v.push_back({"single shifted n=" + std::to_string(2 * chunk + 3), make_layout({2 * chunk + 3}, shifted, 7)});
    v.push_back({"single mixed n=1029", make_layout({1029}, mixed, 8)});
    v.push_back({"list odd lengths", make_layout({1, 7, 33, 1025, chunk + 3, 0, 5, 4096, 3}, aligned, 9)});
    if (!g_quick) v.push_back({"list odd lengths shifted", make_layout({7, 33, 0, 1025, chunk + 3, 5}, shifted, 10)});
    v.push_back({"list mixed alignment", make_layout({9, 1030, chunk + 1, 2}, random_shift, 11)});
    std::vector<int64_t> tiny;
    Rng r(12);
    for (int i = 0; i < (g_quick ? 300 : 3000); ++i) tiny.push_back((int64_t)(r.next() % 41));
    v.push_back({"list of tiny tensors", make_layout(tiny, random_shift, 13)});
    v.push_back({"empty list", make_layout({}, aligned, 14)});
    v.push_back({"list of empty tensors", make_layout({0, 0, 0}, aligned, 15)});
    return v;
}

// ------------------------------------------------------------------ tests

static void test_optimizers(goptim_context *ctx, int64_t chunk, const char *ctxname) {
    std::vector<OptCfg> cfgs = all_configs();
    std::vector<NamedLayout> ls = layouts(chunk);
    uint64_t seed = 100;
    for (const NamedLayout &nl : ls) {
        const std::string tag = std::string(ctxname) + " / " + nl.name;
        for (const OptCfg &c : cfgs) run_opt_case(ctx, nl.L, c, AuxCfg{}, tag.c_str(), ++seed);
    }
    // AMP and clipping extras, on a list and a single tensor.
    std::vector<AuxCfg> auxes;
    AuxCfg a;
    a.unscale = true;
    a.scale = 1024.f;
    auxes.push_back(a);
    a = AuxCfg{};
    a.found_set = true;
    a.found = 1.f;
    auxes.push_back(a);
    a.found = 0.f;
    auxes.push_back(a);
    a = AuxCfg{};
    a.clip = true;
    a.max_norm = 1.0;
    auxes.push_back(a);
    a.max_norm = 1e6;  // coef clamps to 1
    auxes.push_back(a);
    a.unscale = true;
    a.scale = 65536.f;
    a.max_norm = 0.5;
    a.found_set = true;
    a.found = 0.f;
    auxes.push_back(a);
    const char *aux_names[] = {"unscale", "found_inf=1", "found_inf=0", "clip", "clip (coef 1)",
                               "unscale+clip+found_inf=0"};
    const NamedLayout *pick[2] = {&ls[ls.size() - 5], &ls[4]};
    for (int li = 0; li < 2; ++li)
        for (size_t ai = 0; ai < auxes.size(); ++ai)
            for (const OptCfg &c : cfgs) {
                if (g_quick && c.opt != ADAM && c.opt != SGD) continue;
                const std::string tag = std::string(ctxname) + " / " + pick[li]->name + " / " + aux_names[ai];
                run_opt_case(ctx, pick[li]->L, c, auxes[ai], tag.c_str(), ++seed);
            }
}

static void test_norms_and_grads(goptim_context *ctx, int64_t chunk, const char *ctxname) {
    std::vector<NamedLayout> ls = layouts(chunk);
    uint64_t seed = 5000;
    float *dout = nullptr, *dflag = nullptr, *dscale = nullptr;
    CHECK_OK(ctx, goptim_alloc(ctx, 1, &dout));
    CHECK_OK(ctx, goptim_alloc(ctx, 1, &dflag));
    CHECK_OK(ctx, goptim_alloc(ctx, 1, &dscale));
    for (const NamedLayout &nl : ls) {
        const std::string tag = std::string(ctxname) + " / " + nl.name;
        const Layout &L = nl.L;
        DevArrays d(ctx, L);
        Rng r(++seed);
        for (size_t i = 0; i < L.numel.size(); ++i)
            for (int64_t j = 0; j < L.numel[i]; ++j) d.h(1, i)[j] = r.normal() * ((j % 5 == 0) ? 7.f : 1.f);
        d.upload(1);
        goptim_tensor_list gl{};
        gl.count = d.list.count;
        gl.numel = d.list.numel;
        gl.grad = d.list.grad;  // everything else NULL
        // norms
        const double types[2] = {2.0, INFINITY};
        for (double nt : types) {
            double acc = 0;
            for (size_t i = 0; i < L.numel.size(); ++i)
                for (int64_t j = 0; j < L.numel[i]; ++j) {
                    const double g = std::fabs((double)d.h(1, i)[j]);
                    if (std::isinf(nt)) acc = std::fmax(acc, g);
                    else acc += std::pow(g, nt);
                }
            const float want = (float)(std::isinf(nt) ? acc : std::pow(acc, 1.0 / nt));
            float got = -1, got2 = -2;
            CHECK_OK(ctx, goptim_grad_norm(ctx, &gl, nt, dout));
            CHECK_OK(ctx, goptim_copy_to_host(ctx, &got, dout, 1));
            CHECK_OK(ctx, goptim_grad_norm(ctx, &gl, nt, dout));
            CHECK_OK(ctx, goptim_copy_to_host(ctx, &got2, dout, 1));
            ++g_checks;
            if (!close_rel(got, want, 2e-6, 1e-30)) failf("%s: norm %g: got %.9g want %.9g", tag.c_str(), nt, got, want);
            if (std::memcmp(&got, &got2, 4) != 0) failf("%s: norm %g not deterministic", tag.c_str(), nt);
        }
        // clip by norm (norm set from the host), then clip by value
        const float norm_h = 3.5f;
        CHECK_OK(ctx, goptim_copy_from_host(ctx, dout, &norm_h, 1));
        CHECK_OK(ctx, goptim_clip_grad_by_norm(ctx, &gl, 1.25, dout));
        const float coef = gm_clip_coef(norm_h, 1.25f);
        for (size_t i = 0; i < L.numel.size(); ++i)
            for (int64_t j = 0; j < L.numel[i]; ++j) d.h(1, i)[j] = d.h(1, i)[j] * coef;
        compare_slot(d, 1, (tag + " clip_grad_by_norm").c_str());
        if (!L.numel.empty() && L.numel[0] > 2) {  // NaN and Inf elements
            d.h(1, 0)[0] = NAN;
            d.h(1, 0)[1] = -INFINITY;
            d.upload(1);
        }
        CHECK_OK(ctx, goptim_clip_grad_value(ctx, &gl, 0.3));
        for (size_t i = 0; i < L.numel.size(); ++i)
            for (int64_t j = 0; j < L.numel[i]; ++j) {
                float &x = d.h(1, i)[j];
                if (!std::isnan(x)) x = std::fmin(std::fmax(x, -0.3f), 0.3f);
            }
        compare_slot(d, 1, (tag + " clip_grad_value").c_str());
        // check_finite: plain, then with inv_scale
        const float zero = 0.f, half = 0.5f;
        bool has_bad = !L.numel.empty() && L.numel[0] > 2;
        float flag = -1;
        CHECK_OK(ctx, goptim_copy_from_host(ctx, dflag, &zero, 1));
        CHECK_OK(ctx, goptim_check_finite(ctx, &gl, nullptr, dflag));
        CHECK_OK(ctx, goptim_copy_to_host(ctx, &flag, dflag, 1));
        ++g_checks;
        if (flag != (has_bad ? 1.f : 0.f)) failf("%s: check_finite flag %g want %d", tag.c_str(), flag, (int)has_bad);
        compare_slot(d, 1, (tag + " check_finite (unchanged)").c_str());
        CHECK_OK(ctx, goptim_copy_from_host(ctx, dscale, &half, 1));
        CHECK_OK(ctx, goptim_check_finite(ctx, &gl, dscale, dflag));
        for (size_t i = 0; i < L.numel.size(); ++i)
            for (int64_t j = 0; j < L.numel[i]; ++j) d.h(1, i)[j] = d.h(1, i)[j] * 0.5f;
        compare_slot(d, 1, (tag + " check_finite unscale").c_str());
        // the flag is never cleared
        const float one = 1.f;
        if (!has_bad) {
            CHECK_OK(ctx, goptim_copy_from_host(ctx, dflag, &one, 1));
            CHECK_OK(ctx, goptim_check_finite(ctx, &gl, nullptr, dflag));
            CHECK_OK(ctx, goptim_copy_to_host(ctx, &flag, dflag, 1));
            ++g_checks;
            if (flag != 1.f) failf("%s: check_finite cleared the flag", tag.c_str());
        } else {  // NaN/Inf propagate into the norms
            float n2 = 0, ni = 0;
            CHECK_OK(ctx, goptim_grad_norm(ctx, &gl, 2.0, dout));
            CHECK_OK(ctx, goptim_copy_to_host(ctx, &n2, dout, 1));
            CHECK_OK(ctx, goptim_grad_norm(ctx, &gl, INFINITY, dout));
            CHECK_OK(ctx, goptim_copy_to_host(ctx, &ni, dout, 1));
            ++g_checks;
            if (!std::isnan(n2) || !std::isnan(ni)) failf("%s: NaN did not propagate into norms (%g, %g)", tag.c_str(), n2, ni);
        }
        // zero_grad
        CHECK_OK(ctx, goptim_zero_grad(ctx, &gl));
        for (size_t i = 0; i < L.numel.size(); ++i)
            for (int64_t j = 0; j < L.numel[i]; ++j) d.h(1, i)[j] = 0.f;
        compare_slot(d, 1, (tag + " zero_grad").c_str());
    }
    // Inf only: L2 and inf norms are +inf.
    {
        const int al[5] = {0, 0, 0, 0, 0};
        Layout L = make_layout({100, 5000}, al, 1);
        DevArrays d(ctx, L);
        for (int64_t j = 0; j < 5000; ++j) d.h(1, 1)[j] = 1.f;
        for (int64_t j = 0; j < 100; ++j) d.h(1, 0)[j] = 1.f;
        d.h(1, 1)[4321] = INFINITY;
        d.upload(1);
        float n2 = 0, ni = 0;
        CHECK_OK(ctx, goptim_grad_norm(ctx, &d.list, 2.0, dout));
        CHECK_OK(ctx, goptim_copy_to_host(ctx, &n2, dout, 1));
        CHECK_OK(ctx, goptim_grad_norm(ctx, &d.list, INFINITY, dout));
        CHECK_OK(ctx, goptim_copy_to_host(ctx, &ni, dout, 1));
        ++g_checks;
        if (!(std::isinf(n2) && n2 > 0 && std::isinf(ni) && ni > 0)) failf("Inf norm: got %g %g", n2, ni);
    }
    goptim_free(ctx, dout);
    goptim_free(ctx, dflag);
    goptim_free(ctx, dscale);
}

static void test_memory(goptim_context *ctx) {
    float *a = nullptr, *b = nullptr, *z = nullptr;
    CHECK_OK(ctx, goptim_alloc(ctx, 0, &a));
    CHECK_OK(ctx, goptim_alloc(ctx, 0, &b));
    ++g_checks;
    if (!a || !b || a == b) failf("alloc(0) must give unique valid pointers");
    if (((uintptr_t)a & 63) != 0) failf("alloc not 64-byte aligned");
    goptim_free(ctx, a);
    goptim_free(ctx, b);
    CHECK_OK(ctx, goptim_free(ctx, nullptr));
    const int64_t n = 100003;
    CHECK_OK(ctx, goptim_alloc(ctx, n, &z));
    std::vector<float> h((size_t)n, 1.f);
    CHECK_OK(ctx, goptim_copy_to_host(ctx, h.data(), z, n));
    ++g_checks;
    for (int64_t i = 0; i < n; ++i)
        if (h[(size_t)i] != 0.f) {
            failf("alloc not zero-filled at %lld", (long long)i);
            break;
        }
    // fill at odd offsets and lengths; guards must survive
    const int64_t offs[] = {0, 1, 2, 3, 5};
    const int64_t lens[] = {0, 1, 2, 3, 4, 5, 7, 100, 4097, 50001};
    for (int64_t o : offs)
        for (int64_t len : lens)
            for (float val : {0.f, 3.5f, -0.f}) {
                std::vector<float> host((size_t)n);
                for (int64_t i = 0; i < n; ++i) host[(size_t)i] = (float)i;
                CHECK_OK(ctx, goptim_copy_from_host(ctx, z, host.data(), n));
                CHECK_OK(ctx, goptim_fill(ctx, z + o, val, len));
                for (int64_t i = 0; i < len; ++i) host[(size_t)(o + i)] = val;
                std::vector<float> got((size_t)n);
                CHECK_OK(ctx, goptim_copy_to_host(ctx, got.data(), z, n));
                ++g_checks;
                if (std::memcmp(got.data(), host.data(), (size_t)n * 4) != 0)
                    failf("fill off=%lld len=%lld val=%g wrong", (long long)o, (long long)len, val);
            }
    // device copy
    float *y = nullptr;
    CHECK_OK(ctx, goptim_alloc(ctx, n, &y));
    CHECK_OK(ctx, goptim_copy(ctx, y + 1, z + 3, n - 5));
    std::vector<float> gz((size_t)n), gy((size_t)n);
    CHECK_OK(ctx, goptim_copy_to_host(ctx, gz.data(), z, n));
    CHECK_OK(ctx, goptim_copy_to_host(ctx, gy.data(), y, n));
    ++g_checks;
    if (std::memcmp(gy.data() + 1, gz.data() + 3, (size_t)(n - 5) * 4) != 0 || gy[0] != 0.f)
        failf("copy wrong");
    goptim_free(ctx, y);
    goptim_free(ctx, z);
}

static void test_sgemm(goptim_context *ctx) {
    Rng r(77);
    const int64_t dims[][3] = {{5, 7, 3}, {1, 1, 1}, {33, 17, 65}, {4, 6, 0}, {64, 64, 64}};
    for (auto &dm : dims) {
        const int64_t m = dm[0], n = dm[1], k = dm[2];
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb) {
                const int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
                const int64_t lda = ac + 2, ldb = bc + 1, ldc = n + 3;
                std::vector<float> A((size_t)(ar * lda + 1)), B((size_t)(br * ldb + 1)), C((size_t)(m * ldc + 1));
                for (auto &x : A) x = r.normal();
                for (auto &x : B) x = r.normal();
                for (auto &x : C) x = r.normal();
                float *dA, *dB, *dC;
                CHECK_OK(ctx, goptim_alloc(ctx, (int64_t)A.size(), &dA));
                CHECK_OK(ctx, goptim_alloc(ctx, (int64_t)B.size(), &dB));
                CHECK_OK(ctx, goptim_alloc(ctx, (int64_t)C.size(), &dC));
                CHECK_OK(ctx, goptim_copy_from_host(ctx, dA, A.data(), (int64_t)A.size()));
                CHECK_OK(ctx, goptim_copy_from_host(ctx, dB, B.data(), (int64_t)B.size()));
                CHECK_OK(ctx, goptim_copy_from_host(ctx, dC, C.data(), (int64_t)C.size()));
                const float alpha = 0.75f, beta = -0.5f;
                CHECK_OK(ctx, goptim_sgemm(ctx, ta, tb, m, n, k, alpha, dA, lda, dB, ldb, beta, dC, ldc));
                std::vector<float> got(C.size());
                CHECK_OK(ctx, goptim_copy_to_host(ctx, got.data(), dC, (int64_t)C.size()));
                ++g_checks;
                for (int64_t i = 0; i < m; ++i)
                    for (int64_t j = 0; j < n; ++j) {
                        double s = 0;
                        for (int64_t p = 0; p < k; ++p) {
                            const double av = ta ? A[(size_t)(p * lda + i)] : A[(size_t)(i * lda + p)];
                            const double bv = tb ? B[(size_t)(j * ldb + p)] : B[(size_t)(p * ldb + j)];
                            s += av * bv;
                        }
                        const double want = alpha * s + beta * C[(size_t)(i * ldc + j)];
                        if (std::fabs(got[(size_t)(i * ldc + j)] - want) > 1e-4 * (1 + std::fabs(want))) {
                            failf("sgemm m=%lld n=%lld k=%lld ta=%d tb=%d: C[%lld,%lld]=%g want %g", (long long)m,
                                  (long long)n, (long long)k, ta, tb, (long long)i, (long long)j,
                                  got[(size_t)(i * ldc + j)], want);
                            i = m;
                            break;
                        }
                    }
                goptim_free(ctx, dA);
                goptim_free(ctx, dB);
                goptim_free(ctx, dC);
            }
    }
}

static void test_errors(goptim_context *ctx) {
    ++g_checks;
    if (std::strcmp(goptim_backend_name(), "cuda") != 0 || goptim_backend_is_device() != 1) failf("backend identity");
    for (int s = 0; s <= 6; ++s)
        if (!goptim_status_string((goptim_status)s)) failf("status string NULL");
    goptim_sgd_params hp{0.1, 0, 0, 0, 0, 0};
    if (goptim_sgd_step(ctx, nullptr, &hp, 1, nullptr) != GOPTIM_ERR_INVALID_ARGUMENT) failf("NULL list accepted");
    if (goptim_context_last_error(ctx)[0] == '\0') failf("no last_error after a failure");
    int64_t bad_numel[1] = {-1};
    float *ptrs[1] = {nullptr};
    goptim_tensor_list l{};
    l.count = 1;
    l.numel = bad_numel;
    l.param = ptrs;
    l.grad = ptrs;
    if (goptim_sgd_step(ctx, &l, &hp, 1, nullptr) != GOPTIM_ERR_INVALID_ARGUMENT) failf("negative numel accepted");
    int64_t one[1] = {1};
    l.numel = one;
    if (goptim_sgd_step(ctx, &l, &hp, 1, nullptr) != GOPTIM_ERR_INVALID_ARGUMENT) failf("NULL tensor accepted");
    goptim_adam_params ap{1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 0};
    float *dummy = nullptr;
    goptim_alloc(ctx, 1, &dummy);
    float *p1[1] = {dummy};
    l.param = p1;
    l.grad = p1;
    if (goptim_adam_step(ctx, &l, &ap, 1, nullptr) != GOPTIM_ERR_INVALID_ARGUMENT) failf("missing Adam state accepted");
    if (goptim_grad_norm(ctx, &l, -1.0, dummy) != GOPTIM_ERR_INVALID_ARGUMENT) failf("norm_type -1 accepted");
    goptim_free(ctx, dummy);
    if (goptim_context_set_isa(ctx, GOPTIM_ISA_AUTO) != GOPTIM_OK) failf("set_isa(AUTO)");
    if (goptim_context_synchronize(ctx) != GOPTIM_OK) failf("synchronize");
    int32_t th = 0;
    if (goptim_context_threads(ctx, &th) != GOPTIM_OK || th < 1) failf("threads");
}

// ------------------------------------------------------------------ the C boundary

// No entry point may leave a CUDA error pending on the calling thread: the caller's next
// cudaGetLastError (or the library's own launch check in its next call) would report it.
static void expect_no_pending_error(const char *where) {
    ++g_checks;
    const cudaError_t e = cudaPeekAtLastError();
    if (e != cudaSuccess) {
        failf("%s: CUDA error left pending: %s", where, cudaGetErrorName(e));
        (void)cudaGetLastError();
    }
}

static bool all_equal(goptim_context *ctx, const float *dev, int64_t n, float want, const char *what) {
    std::vector<float> h((size_t)n);
    if (goptim_copy_to_host(ctx, h.data(), dev, n) != GOPTIM_OK) {
        failf("%s: copy_to_host failed (%s)", what, goptim_context_last_error(ctx));
        return false;
    }
    ++g_checks;
    for (int64_t i = 0; i < n; ++i)
        if (h[(size_t)i] != want) {
            failf("%s: element %lld is %g, want %g", what, (long long)i, h[(size_t)i], want);
            return false;
        }
    return true;
}

// A stale CUDA error is never reported as the failure of a later, successful call.
static void test_stale_errors(goptim_context *ctx) {
    const int64_t n = 1000;
    float *buf = nullptr;
    CHECK_OK(ctx, goptim_alloc(ctx, n, &buf));
    // An error other code left pending on this thread is not this library's: the fill (a
    // kernel launch, checked with cudaGetLastError) must succeed.
    void *junk = nullptr;
    if (cudaMalloc(&junk, (size_t)1 << 62) == cudaSuccess) cudaFree(junk);
    CHECK_OK(ctx, goptim_fill(ctx, buf, 2.5f, n));
    expect_no_pending_error("fill after a foreign error");
    all_equal(ctx, buf, n, 2.5f, "fill after a foreign error");
    // A failing CUDA call inside the library (freeing a pointer CUDA never gave out) is
    // reported by that call only.
    float host_word = 0.f;
    ++g_checks;
    if (goptim_free(ctx, &host_word) == GOPTIM_OK) failf("free of a host pointer succeeded");
    if (goptim_context_last_error(ctx)[0] == '\0') failf("free of a host pointer: no last_error");
    expect_no_pending_error("failed free");
    CHECK_OK(ctx, goptim_fill(ctx, buf, -1.5f, n));
    all_equal(ctx, buf, n, -1.5f, "fill after a failed free");
    // Failures that never reach CUDA leave nothing either, and clear nothing they should not.
    ++g_checks;
    if (goptim_context_set_isa(ctx, GOPTIM_ISA_AVX2) != GOPTIM_ERR_UNSUPPORTED) failf("set_isa(AVX2) on the GPU");
    float *none = nullptr;
    if (goptim_alloc(ctx, -1, &none) != GOPTIM_ERR_INVALID_ARGUMENT) failf("alloc(-1)");
    CHECK_OK(ctx, goptim_fill(ctx, buf, 4.f, n));
    expect_no_pending_error("fill after refused calls");
    all_equal(ctx, buf, n, 4.f, "fill after refused calls");
    CHECK_OK(ctx, goptim_free(ctx, buf));
    expect_no_pending_error("stale errors");
}

// A C++ exception inside a call (std::bad_alloc from the host allocator) comes back as a
// status, and the context (its lock included) stays usable.
static void test_exceptions() {
    goptim_context *ctx = nullptr;
    if (goptim_context_create(0, &ctx) != GOPTIM_OK) {
        failf("exceptions: context_create");
        return;
    }
    const int al[5] = {0, 0, 0, 0, 0};
    Layout L = make_layout({5, 300, 7}, al, 3);
    {
        DevArrays d(ctx, L);
        for (size_t i = 0; i < L.numel.size(); ++i)
            for (int64_t j = 0; j < L.numel[i]; ++j) d.h(1, i)[j] = 3.f;
        d.upload(1);
        goptim_tensor_list gl{};
        gl.count = d.list.count;
        gl.numel = d.list.numel;
        gl.grad = d.list.grad;
        // The context's first list: serialising it allocates, and that allocation fails.
        g_fail_next_new.store(1);
        goptim_status st = goptim_zero_grad(ctx, &gl);
        const bool consumed = g_fail_next_new.exchange(0) == 0;
        ++g_checks;
        if (!consumed) failf("exceptions: zero_grad allocated nothing (test setup)");
        else if (st != GOPTIM_ERR_OUT_OF_MEMORY)
            failf("exceptions: zero_grad with std::bad_alloc -> %s, want out of memory", goptim_status_string(st));
        else if (!std::strstr(goptim_context_last_error(ctx), "bad_alloc"))
            failf("exceptions: last_error '%s' does not name the exception", goptim_context_last_error(ctx));
        expect_no_pending_error("zero_grad with std::bad_alloc");
        // Nothing was changed, and the same call works now (the lock was released).
        compare_slot(d, 1, "exceptions: grads after the failed zero_grad");
        CHECK_OK(ctx, goptim_zero_grad(ctx, &gl));
        for (size_t i = 0; i < L.numel.size(); ++i)
            for (int64_t j = 0; j < L.numel[i]; ++j) d.h(1, i)[j] = 0.f;
        compare_slot(d, 1, "exceptions: zero_grad after the failure");
        // An error detail that needs a string: its allocation fails too.
        int64_t bad[1] = {-1};
        goptim_tensor_list nl = gl;
        nl.count = 1;
        nl.numel = bad;
        g_fail_next_new.store(1);
        st = goptim_zero_grad(ctx, &nl);
        g_fail_next_new.store(0);
        ++g_checks;
        if (st != GOPTIM_ERR_OUT_OF_MEMORY && st != GOPTIM_ERR_INVALID_ARGUMENT)
            failf("exceptions: negative numel with std::bad_alloc -> %s", goptim_status_string(st));
        if (goptim_zero_grad(ctx, &nl) != GOPTIM_ERR_INVALID_ARGUMENT) failf("exceptions: negative numel accepted");
    }
    if (goptim_context_destroy(ctx) != GOPTIM_OK) failf("exceptions: context_destroy");
}

// The library runs on its context's device and gives the calling thread its own current
// device back, whatever that was (with one GPU: it stays the same).
static void test_device_guard() {
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev < 1) {
        failf("device guard: no device count");
        return;
    }
    const int mine = ndev > 1 ? 1 : 0;
    if (cudaSetDevice(mine) != cudaSuccess) {
        failf("device guard: cudaSetDevice(%d)", mine);
        return;
    }
    auto still_mine = [&](const char *after) {
        int cur = -1;
        ++g_checks;
        if (cudaGetDevice(&cur) != cudaSuccess || cur != mine)
            failf("device guard: after %s the current device is %d, not %d", after, cur, mine);
    };
    goptim_context *ctx = nullptr;
    if (goptim_context_create(0, &ctx) != GOPTIM_OK) {
        failf("device guard: context_create");
        cudaSetDevice(0);
        return;
    }
    still_mine("context_create");
    float *p = nullptr;
    if (goptim_alloc(ctx, 4096, &p) == GOPTIM_OK) {
        still_mine("alloc");
        cudaPointerAttributes attr{};
        ++g_checks;
        if (cudaPointerGetAttributes(&attr, p) != cudaSuccess || attr.device != 0)
            failf("device guard: goptim_alloc memory is on device %d, not the context's device 0", attr.device);
        if (goptim_fill(ctx, p, 1.25f, 4096) != GOPTIM_OK) failf("device guard: fill");
        still_mine("fill");
        all_equal(ctx, p, 4096, 1.25f, "device guard: fill");
        still_mine("copy_to_host");
        goptim_free(ctx, p);
        still_mine("free");
    } else {
        failf("device guard: alloc (%s)", goptim_context_last_error(ctx));
    }
    goptim_context_destroy(ctx);
    still_mine("context_destroy");
    expect_no_pending_error("device guard");
    cudaSetDevice(0);
}

// The cases goptim.h spells out so that both backends answer them alike.
static void test_contracts(goptim_context *ctx) {
    // alloc: negative is an invalid argument, a size nothing can hold is out of memory.
    float *p = reinterpret_cast<float *>(&p);
    goptim_status st = goptim_alloc(ctx, (int64_t)1 << 62, &p);
    ++g_checks;
    if (st != GOPTIM_ERR_OUT_OF_MEMORY) failf("alloc(2^62) -> %s, want out of memory", goptim_status_string(st));
    if (p != nullptr) failf("alloc(2^62) left *out set");
    st = goptim_alloc(ctx, (int64_t)1 << 50, &p);
    if (st != GOPTIM_ERR_OUT_OF_MEMORY) failf("alloc(2^50) -> %s, want out of memory", goptim_status_string(st));
    st = goptim_alloc(ctx, INT64_MAX, &p);
    if (st != GOPTIM_ERR_OUT_OF_MEMORY) failf("alloc(INT64_MAX) -> %s, want out of memory", goptim_status_string(st));
    st = goptim_alloc(ctx, -1, &p);
    if (st != GOPTIM_ERR_INVALID_ARGUMENT) failf("alloc(-1) -> %s, want invalid argument", goptim_status_string(st));
    expect_no_pending_error("alloc refusals");

    // sgemm: past int is unsupported (BLAS takes int), checked after negative sizes and
    // before leading dimensions.
    float *m = nullptr;
    CHECK_OK(ctx, goptim_alloc(ctx, 64, &m));
    const int64_t big = (int64_t)INT_MAX + 1;
    struct G {
        int64_t m, n, k, lda, ldb, ldc;
        goptim_status want;
        const char *what;
    };
    const G gs[] = {
        {big, 1, 1, 1, 1, 1, GOPTIM_ERR_UNSUPPORTED, "m > INT_MAX"},
        {1, big, 1, 1, big, big, GOPTIM_ERR_UNSUPPORTED, "n > INT_MAX"},
        {1, 1, big, big, 1, 1, GOPTIM_ERR_UNSUPPORTED, "k > INT_MAX"},
        {2, 2, 2, big, 2, 2, GOPTIM_ERR_UNSUPPORTED, "lda > INT_MAX"},
        {2, 2, 2, 2, big, 2, GOPTIM_ERR_UNSUPPORTED, "ldb > INT_MAX"},
        {2, 2, 2, 2, 2, big, GOPTIM_ERR_UNSUPPORTED, "ldc > INT_MAX"},
        {big, 1, 1, 0, 1, 1, GOPTIM_ERR_UNSUPPORTED, "m > INT_MAX with lda too small"},
        {-1, 1, big, 1, 1, 1, GOPTIM_ERR_INVALID_ARGUMENT, "negative m with k > INT_MAX"},
        {2, 2, 2, 1, 2, 2, GOPTIM_ERR_INVALID_ARGUMENT, "lda too small"},
        {2, 2, 2, 2, 2, 2, GOPTIM_OK, "2x2x2"},
    };
    for (const G &g : gs) {
        st = goptim_sgemm(ctx, 0, 0, g.m, g.n, g.k, 1.f, m, g.lda, m + 16, g.ldb, 0.f, m + 32, g.ldc);
        ++g_checks;
        if (st != g.want)
            failf("sgemm %s -> %s, want %s", g.what, goptim_status_string(st), goptim_status_string(g.want));
    }
    expect_no_pending_error("sgemm refusals");

    // grad_norm: 2 and +inf only.
    int64_t numel[1] = {16};
    float *gp[1] = {m};
    goptim_tensor_list l{};
    l.count = 1;
    l.numel = numel;
    l.grad = gp;
    const double refused[] = {1.0, 3.0, 0.5, 0.0, -2.0, -INFINITY, NAN, 2.0000001};
    for (double t : refused) {
        ++g_checks;
        if ((st = goptim_grad_norm(ctx, &l, t, m + 48)) != GOPTIM_ERR_INVALID_ARGUMENT)
            failf("grad_norm norm_type %g -> %s, want invalid argument", t, goptim_status_string(st));
    }
    CHECK_OK(ctx, goptim_grad_norm(ctx, &l, 2.0, m + 48));
    CHECK_OK(ctx, goptim_grad_norm(ctx, &l, INFINITY, m + 48));
    CHECK_OK(ctx, goptim_free(ctx, m));

    // copy of overlapping ranges is memmove: both directions, distances from one element
    // up, copies that go through the staging temporary in one and in several pieces and
    // copies cut into direct pieces.
    struct C {
        int64_t n, dist;
    };
    std::vector<C> cs = {{1, 1},        {2, 1},        {1000, 1},     {1000, 3},      {1000, 17},
                         {1000, 500},   {1000, 999},   {100000, 4000}, {100000, 10000}, {100000, 99999},
                         {6000000, 3},  {6000000, 5000000}};
    if (g_quick) cs.resize(9);
    for (const C &c : cs)
        for (int up = 0; up < 2; ++up) {
            const int64_t total = c.n + c.dist;
            std::vector<float> h((size_t)total);
            for (int64_t i = 0; i < total; ++i) h[(size_t)i] = (float)i;
            float *buf = nullptr;
            CHECK_OK(ctx, goptim_alloc(ctx, total, &buf));
            CHECK_OK(ctx, goptim_copy_from_host(ctx, buf, h.data(), total));
            float *dst = up ? buf + c.dist : buf, *src = up ? buf : buf + c.dist;
            CHECK_OK(ctx, goptim_copy(ctx, dst, src, c.n));
            std::memmove(h.data() + (dst - buf), h.data() + (src - buf), (size_t)c.n * sizeof(float));
            std::vector<float> got((size_t)total);
            CHECK_OK(ctx, goptim_copy_to_host(ctx, got.data(), buf, total));
            ++g_checks;
            if (std::memcmp(got.data(), h.data(), (size_t)total * sizeof(float)) != 0) {
                int64_t i = 0;
                while (got[(size_t)i] == h[(size_t)i]) ++i;
                failf("overlapping copy n=%lld distance=%lld %s: element %lld is %g, want %g", (long long)c.n,
                      (long long)c.dist, up ? "upwards" : "downwards", (long long)i, got[(size_t)i], h[(size_t)i]);
            }
            CHECK_OK(ctx, goptim_free(ctx, buf));
        }
    expect_no_pending_error("overlapping copies");
}

// goptim_free is ordered after the work queued before it and does not wait for it.
static void test_free_ordered(goptim_context *ctx) {
    const int64_t n = g_quick ? (1 << 20) : (1 << 26);
    float *a = nullptr, *b = nullptr, *c = nullptr;
    CHECK_OK(ctx, goptim_alloc(ctx, n, &a));
    CHECK_OK(ctx, goptim_alloc(ctx, n, &b));
    CHECK_OK(ctx, goptim_context_synchronize(ctx));
    // Work that reads a, queued behind enough fills to keep the GPU busy for a while.
    const int reps = g_quick ? 4 : 200;
    for (int r = 0; r < reps; ++r) CHECK_OK(ctx, goptim_fill(ctx, a, (float)r, n));
    CHECK_OK(ctx, goptim_fill(ctx, a, 7.f, n));
    CHECK_OK(ctx, goptim_copy(ctx, b, a, n));
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    CHECK_OK(ctx, goptim_free(ctx, a));
    const auto t1 = clock::now();
    // Memory allocated now may be a's: writing it must not reach the copy above.
    CHECK_OK(ctx, goptim_alloc(ctx, n, &c));
    CHECK_OK(ctx, goptim_fill(ctx, c, -3.f, n));
    const auto t2 = clock::now();
    CHECK_OK(ctx, goptim_context_synchronize(ctx));
    const auto t3 = clock::now();
    all_equal(ctx, b, n, 7.f, "copy queued before a free");
    all_equal(ctx, c, n, -3.f, "memory allocated after a free");
    int pools = 0;
    cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, 0);
    const double free_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double wait_ms = std::chrono::duration<double, std::milli>(t3 - t2).count();
    if (pools && !g_quick) {
        ++g_checks;
        if (free_ms >= wait_ms)
            failf("goptim_free took %.3f ms with %.3f ms of queued work left: it waited for the stream", free_ms,
                  wait_ms);
    }
    printf("test_cuda: free returned in %.3f ms with %.3f ms of queued work behind it (stream-ordered pool: %s)\n",
           free_ms, wait_ms, pools ? "yes" : "no");
    goptim_free(ctx, b);
    goptim_free(ctx, c);
    expect_no_pending_error("stream-ordered free");
}

// Spins for about `cycles` clocks, then writes v to x[0..n): work that is still running
// when the host queues what must come after it.
__global__ void slow_write(float *x, int64_t n, float v, long long cycles) {
    const long long t0 = clock64();
    while (clock64() - t0 < cycles) {
    }
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] = v;
}

// goptim_context_set_stream: the library's work runs in order with the caller's kernels on
// the caller's stream, and switching back keeps everything queued on that stream first.
static void test_user_stream(goptim_context *ctx) {
    const int64_t n = 1 << 20;
    const long long spin = g_quick ? 1000000ll : 50000000ll;  // ~25 ms at 2 GHz
    float *p = nullptr, *g = nullptr;
    CHECK_OK(ctx, goptim_alloc(ctx, n, &p));
    CHECK_OK(ctx, goptim_alloc(ctx, n, &g));
    CHECK_OK(ctx, goptim_context_synchronize(ctx));
    void *own = nullptr, *now = nullptr;
    CHECK_OK(ctx, goptim_context_stream(ctx, &own));
    cudaStream_t us = nullptr;
    if (cudaStreamCreateWithFlags(&us, cudaStreamNonBlocking) != cudaSuccess) {
        failf("cudaStreamCreate failed");
        return;
    }
    CHECK_OK(ctx, goptim_context_set_stream(ctx, us));
    CHECK_OK(ctx, goptim_context_stream(ctx, &now));
    ++g_checks;
    if (now != static_cast<void *>(us)) failf("context stream %p after set_stream(%p)", now, (void *)us);
    int64_t numel[1] = {n};
    float *params[1] = {p}, *grads[1] = {g};
    goptim_tensor_list l = {1, numel, params, grads, {nullptr, nullptr, nullptr}};
    goptim_sgd_params h = {};
    h.lr = 1.0;
    // The caller's backward writes g = 1 late; the step on the same stream must see it.
    slow_write<<<64, 256, 0, us>>>(g, n, 1.f, spin);
    CHECK_OK(ctx, goptim_sgd_step(ctx, &l, &h, 1, nullptr));  // p = 0 - 1
    // More caller work on its stream, then back to the own stream: the step queued there
    // must wait for it.
    slow_write<<<64, 256, 0, us>>>(g, n, 2.f, spin);
    CHECK_OK(ctx, goptim_context_set_stream(ctx, nullptr));
    CHECK_OK(ctx, goptim_context_stream(ctx, &now));
    ++g_checks;
    if (now != own) failf("context stream %p after set_stream(NULL), own %p", now, own);
    CHECK_OK(ctx, goptim_sgd_step(ctx, &l, &h, 2, nullptr));  // p = -1 - 2
    CHECK_OK(ctx, goptim_context_synchronize(ctx));
    all_equal(ctx, p, n, -3.f, "steps ordered with the caller's stream");
    cudaStreamSynchronize(us);
    cudaStreamDestroy(us);
    goptim_free(ctx, p);
    goptim_free(ctx, g);
    expect_no_pending_error("user stream");
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--quick") == 0) g_quick = true;
    goptim_context *ctx = nullptr;
    goptim_status st = goptim_context_create(0, &ctx);
    if (st != GOPTIM_OK) {
        fprintf(stderr, "context_create: %s\n", goptim_status_string(st));
        return st == GOPTIM_ERR_UNSUPPORTED ? 77 : 1;
    }
    test_errors(ctx);
    test_stale_errors(ctx);
    test_contracts(ctx);
    test_free_ordered(ctx);
    test_user_stream(ctx);
    test_memory(ctx);
    test_sgemm(ctx);
    test_optimizers(ctx, 16384, "chunk=default");
    test_norms_and_grads(ctx, 16384, "chunk=default");
    expect_no_pending_error("chunk=default");
    test_exceptions();
    test_device_guard();
    goptim_context_destroy(ctx);

    // A small chunk size: many chunks per tensor, the chunk table exercised.
    setenv("GOPTIM_CUDA_CHUNK", "1024", 1);
    st = goptim_context_create(0, &ctx);
    unsetenv("GOPTIM_CUDA_CHUNK");
    if (st != GOPTIM_OK) {
        fprintf(stderr, "context_create: %s\n", goptim_status_string(st));
        return 1;
    }
    test_optimizers(ctx, 1024, "chunk=1024");
    test_norms_and_grads(ctx, 1024, "chunk=1024");
    if (goptim_context_synchronize(ctx) != GOPTIM_OK) failf("final synchronize: %s", goptim_context_last_error(ctx));
    expect_no_pending_error("chunk=1024");
    goptim_context_destroy(ctx);

    printf("test_cuda: %d checks, %d failures, %lld elements within tolerance but not bitwise equal\n", g_checks,
           g_failures, g_inexact);
    return g_failures == 0 ? 0 : 1;
}
