// test_cudaemu.cpp - the emulated CUDA backend through its C ABI: device-memory rules
// and error details (as cuda/context.cu reports them), the norms and check_finite (the
// kernels whose barriers the emulation makes explicit), steps, sgemm. The element math
// of the steps is checked bitwise by tests/test_emulated.cpp, built next to this test.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "goptim.h"

static int g_fail = 0, g_checks = 0;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        ++g_checks;                                                            \
        if (!(cond)) {                                                         \
            ++g_fail;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
        }                                                                      \
    } while (0)

static goptim_context *ctx;

static std::string detail() { return goptim_context_last_error(ctx); }

static float *dev(int64_t n) {
    float *p = nullptr;
    goptim_status st = goptim_alloc(ctx, n, &p);
    CHECK(st == GOPTIM_OK && p, "alloc %lld: %d", (long long)n, (int)st);
    return p;
}

static std::vector<float> get(const float *p, int64_t n) {
    std::vector<float> v((size_t)n);
    CHECK(goptim_copy_to_host(ctx, v.data(), p, n) == GOPTIM_OK, "copy_to_host: %s", detail().c_str());
    return v;
}

static void put(float *p, const std::vector<float> &v) {
    CHECK(goptim_copy_from_host(ctx, p, v.data(), (int64_t)v.size()) == GOPTIM_OK, "copy_from_host: %s",
          detail().c_str());
}

struct List {
    std::vector<int64_t> numel;
    std::vector<float *> param, grad, s0, s1, s2;
    goptim_tensor_list l{};
    void add(int64_t n, float *p, float *g) {
        numel.push_back(n);
        param.push_back(p);
        grad.push_back(g);
        s0.push_back(nullptr);
        s1.push_back(nullptr);
        s2.push_back(nullptr);
    }
    const goptim_tensor_list *get() {
        l.count = (int64_t)numel.size();
        l.numel = numel.data();
        l.param = param.data();
        l.grad = grad.data();
        l.state[0] = s0.data();
        l.state[1] = s1.data();
        l.state[2] = s2.data();
        return &l;
    }
};

static float lcg(uint64_t &s) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(s >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

static void test_memory() {
    CHECK(std::strcmp(goptim_backend_name(), "cuda-emu") == 0, "name %s", goptim_backend_name());
    CHECK(goptim_backend_is_device() == 1, "is_device");
    float *p = dev(1000);
    std::vector<float> z = get(p, 1000);
    bool zero = true;
    for (float x : z) zero = zero && x == 0.f;
    CHECK(zero, "alloc is zero-filled");
    CHECK(((uintptr_t)p & 255u) == 0, "256-byte aligned");
    float *q = dev(0), *r = dev(0);
    CHECK(q != r, "zero-length allocations are unique");
    CHECK(goptim_fill(ctx, p, 2.5f, 1000) == GOPTIM_OK, "fill");
    CHECK(get(p, 1000)[999] == 2.5f, "fill value");
    std::vector<float> host(10, 1.f);
    goptim_status st = goptim_copy_from_host(ctx, host.data(), host.data(), 10);
    CHECK(st == GOPTIM_ERR_BACKEND &&
              detail() == "copy_from_host: cudaErrorInvalidValue: invalid argument (emulator: dst is not 10 floats "
                          "of device memory)",
          "host dst: %d %s", (int)st, detail().c_str());
    st = goptim_copy_to_host(ctx, host.data(), p + 995, 10);
    CHECK(st == GOPTIM_ERR_BACKEND, "read past the end of an allocation: %d %s", (int)st, detail().c_str());
    st = goptim_copy_from_host(ctx, p, host.data(), -1);
    CHECK(st == GOPTIM_ERR_INVALID_ARGUMENT && detail() == "copy_from_host: negative or too large length", "%s", detail().c_str());
    st = goptim_free(ctx, p + 1);
    CHECK(st == GOPTIM_ERR_BACKEND &&
              detail().rfind("cudaFreeAsync: cudaErrorInvalidValue: invalid argument", 0) == 0,
          "free of an interior pointer: %s", detail().c_str());
    CHECK(goptim_context_synchronize(ctx) == GOPTIM_OK && detail().empty(), "a call clears the last error");
    st = goptim_context_set_isa(ctx, GOPTIM_ISA_AVX2);
    CHECK(st == GOPTIM_ERR_UNSUPPORTED && detail() == "set_isa: the CUDA backend has no CPU kernels", "%s",
          detail().c_str());
    float *big = nullptr;
    st = goptim_alloc(ctx, (int64_t)1 << 60, &big);
    CHECK(st == GOPTIM_ERR_OUT_OF_MEMORY && !big &&
              detail().rfind("alloc: 1152921504606846976 floats (4611686018427387904 bytes) is more than the "
                             "device's ",
                             0) == 0,
          "huge alloc: %d %s", (int)st, detail().c_str());
    st = goptim_alloc(ctx, (int64_t)1 << 62, &big);
    CHECK(st == GOPTIM_ERR_OUT_OF_MEMORY && detail() == "alloc: 4611686018427387904 floats is too many", "%d %s",
          (int)st, detail().c_str());
    st = goptim_alloc(ctx, -1, &big);
    CHECK(st == GOPTIM_ERR_INVALID_ARGUMENT && detail() == "alloc: negative length -1", "%d %s", (int)st,
          detail().c_str());
    goptim_free(ctx, p);
    goptim_free(ctx, q);
    goptim_free(ctx, r);
}

// Norms: exact cases, NaN/Inf propagation, agreement with a double reference, and the
// result of every grid size (the GPU's is the device's resident-block count).
static void test_norms() {
    const int64_t sizes[] = {1, 5, 16384 + 7, 3 * 16384 + 1, 100, 0, 70001};
    List l;
    std::vector<float *> bufs;
    uint64_t s = 7;
    double sq = 0, mx = 0;
    for (int64_t n : sizes) {
        float *g = dev(n + 3);
        bufs.push_back(g);
        std::vector<float> v((size_t)n);
        for (auto &x : v) {
            x = lcg(s) * 4.f;
            sq += (double)x * x;
            mx = std::fmax(mx, std::fabs((double)x));
        }
        if (n) put(g + (n % 3), v);  // misaligned starts too
        l.add(n, g + (n % 3), g + (n % 3));
    }
    float *out = dev(1);
    float norm = 0;
    CHECK(goptim_grad_norm(ctx, l.get(), 2.0, out) == GOPTIM_OK, "%s", detail().c_str());
    norm = get(out, 1)[0];
    CHECK(std::fabs(norm - std::sqrt(sq)) <= 1e-6 * std::sqrt(sq), "L2 %.9g want %.9g", norm, std::sqrt(sq));
    CHECK(goptim_grad_norm(ctx, l.get(), INFINITY, out) == GOPTIM_OK, "%s", detail().c_str());
    CHECK(get(out, 1)[0] == (float)mx, "inf norm %.9g want %.9g", get(out, 1)[0], mx);
    // Every element 1: the sum is exact whatever the order.
    float *ones = dev(50000);
    CHECK(goptim_fill(ctx, ones, 1.f, 50000) == GOPTIM_OK, "fill");
    List o;
    o.add(50000, ones, ones);
    CHECK(goptim_grad_norm(ctx, o.get(), 2.0, out) == GOPTIM_OK, "%s", detail().c_str());
    CHECK(get(out, 1)[0] == (float)std::sqrt(50000.0), "sqrt(50000): %.9g", get(out, 1)[0]);
    // NaN and Inf propagate (Inf into L2 gives Inf; NaN wins over Inf in the max).
    std::vector<float> bad = {INFINITY};
    put(ones + 40000, bad);
    CHECK(goptim_grad_norm(ctx, o.get(), 2.0, out) == GOPTIM_OK && std::isinf(get(out, 1)[0]), "Inf L2");
    bad = {NAN};
    put(ones + 3, bad);
    CHECK(goptim_grad_norm(ctx, o.get(), INFINITY, out) == GOPTIM_OK && std::isnan(get(out, 1)[0]), "NaN inf-norm");
    CHECK(goptim_grad_norm(ctx, o.get(), 2.0, out) == GOPTIM_OK && std::isnan(get(out, 1)[0]), "NaN L2");
    // Empty list: 0.
    List e;
    CHECK(goptim_fill(ctx, out, 5.f, 1) == GOPTIM_OK, "fill");
    CHECK(goptim_grad_norm(ctx, e.get(), 2.0, out) == GOPTIM_OK && get(out, 1)[0] == 0.f, "empty norm");
    // Errors as grads.cu words them.
    goptim_status st = goptim_grad_norm(ctx, l.get(), 3.0, out);
    CHECK(st == GOPTIM_ERR_INVALID_ARGUMENT && detail() == "grad_norm: norm_type 3 is not supported (2 or +Inf)",
          "%s", detail().c_str());
    st = goptim_grad_norm(ctx, l.get(), -INFINITY, out);
    CHECK(st == GOPTIM_ERR_INVALID_ARGUMENT && detail() == "grad_norm: norm_type -inf is not supported (2 or +Inf)",
          "%s", detail().c_str());
    float host_out = 0;
    st = goptim_grad_norm(ctx, l.get(), 2.0, &host_out);
    CHECK(st == GOPTIM_ERR_BACKEND && detail().find("cudaErrorIllegalAddress") != std::string::npos, "host out: %s",
          detail().c_str());
    for (float *b : bufs) goptim_free(ctx, b);
    goptim_free(ctx, ones);
    goptim_free(ctx, out);
}

static void test_check_finite_and_steps() {
    const int64_t n = 40000;
    float *g = dev(n), *p = dev(n), *flag = dev(1), *inv = dev(1);
    std::vector<float> gv((size_t)n), pv((size_t)n);
    uint64_t s = 3;
    for (int64_t i = 0; i < n; ++i) {
        gv[(size_t)i] = lcg(s);
        pv[(size_t)i] = lcg(s);
    }
    put(g, gv);
    put(p, pv);
    put(inv, {0.5f});
    List l;
    l.add(n, p, g);
    CHECK(goptim_check_finite(ctx, l.get(), inv, flag) == GOPTIM_OK, "%s", detail().c_str());
    CHECK(get(flag, 1)[0] == 0.f, "clean grads leave found_inf");
    std::vector<float> got = get(g, n);
    bool ok = true;
    for (int64_t i = 0; i < n; ++i) ok = ok && got[(size_t)i] == gv[(size_t)i] * 0.5f;
    CHECK(ok, "unscaled in place");
    put(g + 39999, {NAN});
    CHECK(goptim_check_finite(ctx, l.get(), nullptr, flag) == GOPTIM_OK && get(flag, 1)[0] == 1.f,
          "NaN in the last chunk sets found_inf");
    // A step with found_inf = 1 changes nothing; with 0 it steps.
    goptim_sgd_params hp{};
    hp.lr = 0.1;
    goptim_step_aux aux{};
    aux.found_inf = flag;
    std::vector<float> before = get(p, n);
    CHECK(goptim_sgd_step(ctx, l.get(), &hp, 1, &aux) == GOPTIM_OK, "%s", detail().c_str());
    CHECK(get(p, n) == before, "found_inf skips the step");
    put(flag, {0.f});
    put(g + 39999, {1.f});
    CHECK(goptim_sgd_step(ctx, l.get(), &hp, 1, &aux) == GOPTIM_OK, "%s", detail().c_str());
    got = get(p, n);
    CHECK(got[39999] == std::fma(-0.1f, 1.f, before[39999]), "sgd element %.9g", got[39999]);
    // Host memory in a list or in aux: an illegal address, reported at the launch.
    std::vector<float> host((size_t)n);
    List h;
    h.add(n, p, host.data());
    goptim_status st = goptim_sgd_step(ctx, h.get(), &hp, 1, nullptr);
    CHECK(st == GOPTIM_ERR_BACKEND &&
              detail() == "sgd_kernel: cudaErrorIllegalAddress: an illegal memory access was encountered "
                          "(emulator: grad of tensor 0 is not 40000 floats of device memory)",
          "%s", detail().c_str());
    float host_flag = 0;
    aux.found_inf = &host_flag;
    st = goptim_sgd_step(ctx, l.get(), &hp, 1, &aux);
    CHECK(st == GOPTIM_ERR_BACKEND && detail().find("aux found_inf is not device memory") != std::string::npos, "%s",
          detail().c_str());
    st = goptim_sgd_step(ctx, l.get(), &hp, 0, nullptr);
    CHECK(st == GOPTIM_ERR_INVALID_ARGUMENT && detail() == "goptim_sgd_step: step must be >= 1", "%s",
          detail().c_str());
    // Validation of the list as common.h words it.
    l.param[0] = nullptr;
    st = goptim_sgd_step(ctx, l.get(), &hp, 1, nullptr);
    CHECK(st == GOPTIM_ERR_INVALID_ARGUMENT && detail() == "tensor list: param pointer is NULL at index 0", "%s",
          detail().c_str());
    goptim_free(ctx, g);
    goptim_free(ctx, p);
    goptim_free(ctx, flag);
    goptim_free(ctx, inv);
}

static void test_sgemm() {
    const int m = 5, n = 7, k = 3;
    float *a = dev(m * k), *b = dev(k * n), *c = dev(m * n);
    std::vector<float> av(m * k), bv(k * n);
    uint64_t s = 11;
    for (auto &x : av) x = lcg(s);
    for (auto &x : bv) x = lcg(s);
    put(a, av);
    put(b, bv);
    CHECK(goptim_sgemm(ctx, 0, 0, m, n, k, 1.f, a, k, b, n, 0.f, c, n) == GOPTIM_OK, "%s", detail().c_str());
    std::vector<float> cv = get(c, m * n);
    double err = 0;
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
            double want = 0;
            for (int q = 0; q < k; ++q) want += (double)av[i * k + q] * bv[q * n + j];
            err = std::fmax(err, std::fabs(want - cv[i * n + j]));
        }
    CHECK(err < 1e-5, "sgemm error %g", err);
    goptim_status st = goptim_sgemm(ctx, 0, 0, m, n, k, 1.f, a, k - 1, b, n, 0.f, c, n);
    CHECK(st == GOPTIM_ERR_INVALID_ARGUMENT && detail() == "sgemm: leading dimension too small (lda=2 ldb=7 ldc=7)",
          "%s", detail().c_str());
    st = goptim_sgemm(ctx, 0, 0, (int64_t)1 << 31, n, k, 1.f, a, k, b, n, 0.f, c, n);
    CHECK(st == GOPTIM_ERR_UNSUPPORTED && detail() == "sgemm: sizes above 2^31-1 need a 64-bit-index BLAS", "%s",
          detail().c_str());
    st = goptim_sgemm(ctx, 0, 0, m, n, k, 1.f, nullptr, k, b, n, 0.f, c, n);
    CHECK(st == GOPTIM_ERR_INVALID_ARGUMENT && detail() == "sgemm: NULL matrix", "%s", detail().c_str());
    std::vector<float> host(m * n);
    st = goptim_sgemm(ctx, 0, 0, m, n, k, 1.f, a, k, b, n, 0.f, host.data(), n);
    CHECK(st == GOPTIM_ERR_BACKEND && detail().find("C is not device memory") != std::string::npos, "%s",
          detail().c_str());
    goptim_free(ctx, a);
    goptim_free(ctx, b);
    goptim_free(ctx, c);
}

int main() {
    if (goptim_context_create(0, &ctx) != GOPTIM_OK) {
        fprintf(stderr, "context_create failed\n");
        return 1;
    }
    test_memory();
    test_norms();
    test_check_finite_and_steps();
    test_sgemm();
    goptim_context_destroy(ctx);
    printf("test_cudaemu: %d checks, %d failures\n", g_checks, g_fail);
    return g_fail ? 1 : 0;
}
