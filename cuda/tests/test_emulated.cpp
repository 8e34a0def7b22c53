// test_emulated.cpp - runs the CUDA backend's multi-tensor kernels on the host, one block
// and one thread at a time (tests/emu_shim.h), so that their chunking, alignment, head and
// tail handling, option dispatch and numerics are tested on machines without a GPU. Uses
// the library's own headers (common.h: list serialisation and chunk table; ops.cuh: the
// ops and the option dispatch; multi_tensor.cuh: the kernel body) and compares with the
// references of reference.h, bitwise for the exact-order float reference. Guard elements
// around every tensor must stay untouched. Not covered here (barriers/shuffles): the norm
// reductions and check_finite; test_cuda.cu covers those on a GPU.
#define GOPTIM_EMULATE 1
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// The optimizers' ops and option dispatch, without their entry points.
#define GOPTIM_OPS_ONLY 1
#include "optim_adagrad.cu"
#include "optim_adadelta.cu"
#include "optim_adam.cu"
#include "optim_adamax.cu"
#include "optim_ademamix.cu"
#include "optim_lion.cu"
#include "optim_asgd.cu"
#include "optim_nadam.cu"
#include "optim_radam.cu"
#include "optim_rprop.cu"
#include "optim_rmsprop.cu"
#include "optim_sgd.cu"
#include "reference.h"

thread_local emu_dim3 threadIdx, blockIdx, gridDim, blockDim;

using namespace goptim_cuda;

static int g_fail = 0, g_checks = 0;

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    float normal() {
        double u = (double)(next() >> 11) / 9007199254740992.0 + 1e-12, v = (double)(next() >> 11) / 9007199254740992.0;
        return (float)(std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v));
    }
};

static const float kGuard = -12345.0f;

struct HostList {
    std::vector<int64_t> numel;
    std::vector<float> arena[5];
    std::vector<int64_t> off[5];
    std::vector<float *> ptr[5];
    goptim_tensor_list list{};
    HostList(const std::vector<int64_t> &n, const int shift[5], uint64_t seed) : numel(n) {
        Rng r(seed);
        int64_t pos = 8;
        for (size_t i = 0; i < n.size(); ++i) {
            for (int s = 0; s < 5; ++s) off[s].push_back(pos + (shift[s] >= 0 ? shift[s] : (int)(r.next() % 4)));
            pos += n[i] + 12 + (int64_t)(r.next() % 3) * 4;
        }
        for (int s = 0; s < 5; ++s) {
            arena[s].assign((size_t)pos + 16, kGuard);
            for (size_t i = 0; i < n.size(); ++i) ptr[s].push_back(arena[s].data() + off[s][i]);
        }
        list.count = (int64_t)n.size();
        list.numel = numel.data();
        list.param = ptr[0].data();
        list.grad = ptr[1].data();
        for (int k = 0; k < 3; ++k) list.state[k] = ptr[2 + k].data();
    }
    float &at(int s, size_t i, int64_t j) { return arena[s][(size_t)(off[s][i] + j)]; }
};

// The emulated launch: serialise, build the chunk table, run every thread of every block.
template <class Op>
static goptim_status emu_run(const goptim_tensor_list *list, int64_t chunk, const Op &op) {
    std::vector<TensorDesc> ser;
    int64_t nchunks = 0;
    uint64_t h = 0;
    std::string err;
    goptim_status st = serialize_list(list, Op::kLoad | Op::kStore, chunk, ser, &nchunks, &h, &err);
    if (st != GOPTIM_OK) return st;
    std::vector<int32_t> ct((size_t)nchunks);
    fill_chunk_table(ser.data(), (int64_t)ser.size(), chunk, ct.data());
    gridDim.x = (unsigned)nchunks;
    blockDim.x = kBlock;
    for (int64_t b = 0; b < nchunks; ++b) {
        blockIdx.x = (unsigned)b;
        for (int t = 0; t < kBlock; ++t) {
            threadIdx.x = (unsigned)t;
            multi_tensor_kernel<Op>(ser.data(), ct.data(), chunk, op);
        }
    }
    return GOPTIM_OK;
}

static void compare(HostList &got, HostList &want, const char *what) {
    ++g_checks;
    for (int s = 0; s < 5; ++s)
        for (size_t j = 0; j < got.arena[s].size(); ++j) {
            const float a = got.arena[s][j], b = want.arena[s][j];
            if (std::memcmp(&a, &b, 4) != 0 && !(std::isnan(a) && std::isnan(b))) {
                fprintf(stderr, "FAIL: %s: slot %d arena index %zu: got %.9g want %.9g\n", what, s, j, a, b);
                ++g_fail;
                return;
            }
        }
}

static void init_values(HostList &l, const OptCfg &c, Rng &r) {
    for (size_t i = 0; i < l.numel.size(); ++i)
        for (int64_t j = 0; j < l.numel[i]; ++j) {
            l.at(0, i, j) = r.normal();
            l.at(2, i, j) = 0.1f * r.normal();
            l.at(3, i, j) = 0.1f * r.normal();
            l.at(4, i, j) = 0.1f * r.normal();
            if (c.opt == ADAM) {
                l.at(3, i, j) = std::fabs(l.at(3, i, j)) * 0.01f;
                l.at(4, i, j) = std::fabs(l.at(4, i, j)) * 0.01f;
            }
            if (c.opt == ADAGRAD) l.at(2, i, j) = std::fabs(l.at(2, i, j));
            if (c.opt == ADAMAX) l.at(3, i, j) = std::fabs(l.at(3, i, j));
            if (c.opt == RADAM) l.at(3, i, j) = std::fabs(l.at(3, i, j)) * 0.01f;
            if (c.opt == RPROP) l.at(3, i, j) = std::fabs(l.at(3, i, j)) * 0.1f;
            if (c.opt == ADADELTA) {
                l.at(2, i, j) = std::fabs(l.at(2, i, j));
                l.at(3, i, j) = std::fabs(l.at(3, i, j));
            }
            if (c.opt == RMSPROP) {
                l.at(2, i, j) = std::fabs(l.at(2, i, j)) + 0.05f;
                l.at(4, i, j) = 0.01f * r.normal();
            }
        }
}

static void run_case(const std::vector<int64_t> &numel, const int shift[5], int64_t chunk, const OptCfg &c,
                     const AuxCfg &a, const std::string &tag, uint64_t seed) {
    HostList dev(numel, shift, seed), ref(numel, shift, seed);
    Rng r(seed);
    init_values(dev, c, r);
    for (int s = 0; s < 5; ++s) ref.arena[s] = dev.arena[s];
    goptim_tensor_list l = dev.list;
    for (int k = 0; k < 3; ++k) l.state[k] = k < c.nstate() ? dev.ptr[2 + k].data() : nullptr;
    if (c.opt == RMSPROP) {
        l.state[1] = c.rms.momentum > 0 ? dev.ptr[3].data() : nullptr;
        l.state[2] = c.rms.centered ? dev.ptr[4].data() : nullptr;
    }
    float scale = a.scale, found = a.found, norm = 2.75f;
    goptim_step_aux aux{};
    aux.grad_scale = a.unscale ? &scale : nullptr;
    aux.found_inf = a.found_set ? &found : nullptr;
    aux.clip_norm = a.clip ? &norm : nullptr;
    aux.max_norm = a.max_norm;
    const goptim_step_aux *ap = (a.unscale || a.found_set || a.clip) ? &aux : nullptr;
    for (int64_t step = 1; step <= 3; ++step) {
        for (size_t i = 0; i < numel.size(); ++i)
            for (int64_t j = 0; j < numel[i]; ++j) {
                float g = r.normal() * a.scale;
                if (j % 7 == 2) g *= 30.f;
                dev.at(1, i, j) = ref.at(1, i, j) = g;
            }
        auto launch = [&](const auto &op) { return emu_run(&l, chunk, op); };
        goptim_status st;
        switch (c.opt) {
        case SGD: st = dispatch_sgd(c.sgd, step, ap, launch); break;
        case ADAM: st = dispatch_adam(c.adam, step, ap, launch); break;
        case ADAGRAD: st = dispatch_adagrad(c.adagrad, step, ap, launch); break;
        case ADAMAX: st = dispatch_adamax(c.adamax, step, ap, launch); break;
        case RADAM: st = dispatch_radam(c.radam, step, ap, launch); break;
        case ADADELTA: st = dispatch_adadelta(c.adadelta, step, ap, launch); break;
        case RPROP: st = dispatch_rprop(c.rprop, step, ap, launch); break;
        case NADAM: st = dispatch_nadam(c.nadam, step, ap, launch); break;
        case ASGD: st = dispatch_asgd(c.asgd, step, ap, launch); break;
        case LION: st = dispatch_lion(c.lion, step, ap, launch); break;
        case ADEMAMIX: st = dispatch_ademamix(c.ademamix, step, ap, launch); break;
        default: st = dispatch_rmsprop(c.rms, step, ap, launch); break;
        }
        if (st != GOPTIM_OK) {
            fprintf(stderr, "FAIL: %s %s: status %d\n", tag.c_str(), c.name, (int)st);
            ++g_fail;
            return;
        }
        if (!(a.found_set && a.found != 0.f))
            for (size_t i = 0; i < numel.size(); ++i)
                for (int64_t j = 0; j < numel[i]; ++j) {
                    float v[5];
                    for (int s = 0; s < 5; ++s) v[s] = ref.at(s, i, j);
                    ref_float(c, a, norm, step, v);
                    for (int s = 0; s < 5; ++s) ref.at(s, i, j) = v[s];
                }
        const std::string what = tag + " " + c.name + " step " + std::to_string(step);
        const int before = g_fail;
        compare(dev, ref, what.c_str());
        if (g_fail != before) return;
    }
}

static void run_grad_ops(const std::vector<int64_t> &numel, const int shift[5], int64_t chunk, const std::string &tag,
                         uint64_t seed) {
    HostList dev(numel, shift, seed), ref(numel, shift, seed);
    Rng r(seed);
    for (size_t i = 0; i < numel.size(); ++i)
        for (int64_t j = 0; j < numel[i]; ++j) dev.at(1, i, j) = ref.at(1, i, j) = r.normal() * 3.f;
    if (!numel.empty() && numel[0] > 1) dev.at(1, 0, 1) = ref.at(1, 0, 1) = NAN;
    goptim_tensor_list l{};
    l.count = dev.list.count;
    l.numel = dev.list.numel;
    l.grad = dev.list.grad;
    float norm = 7.5f;
    ClipByNormOp cb;
    cb.norm = &norm;
    cb.max_norm = 2.0f;
    cb.coef = 1.f;
    emu_run(&l, chunk, cb);
    const float coef = gm_clip_coef(norm, 2.0f);
    for (size_t i = 0; i < numel.size(); ++i)
        for (int64_t j = 0; j < numel[i]; ++j) ref.at(1, i, j) = ref.at(1, i, j) * coef;
    compare(dev, ref, (tag + " clip_grad_by_norm").c_str());
    ClipValueOp cv;
    cv.lo = -0.5f;
    cv.hi = 0.5f;
    emu_run(&l, chunk, cv);
    for (size_t i = 0; i < numel.size(); ++i)
        for (int64_t j = 0; j < numel[i]; ++j) {
            float &x = ref.at(1, i, j);
            if (!std::isnan(x)) x = std::fmin(std::fmax(x, -0.5f), 0.5f);
        }
    compare(dev, ref, (tag + " clip_grad_value").c_str());
    emu_run(&l, chunk, ZeroOp{});
    for (size_t i = 0; i < numel.size(); ++i)
        for (int64_t j = 0; j < numel[i]; ++j) ref.at(1, i, j) = 0.f;
    compare(dev, ref, (tag + " zero_grad").c_str());
}

int main() {
    const int aligned[5] = {0, 0, 0, 0, 0}, shifted[5] = {3, 3, 3, 3, 3}, mixed[5] = {0, 1, 2, 3, 1},
              rnd[5] = {-1, -1, -1, -1, -1};
    std::vector<OptCfg> cfgs = all_configs();
    std::vector<AuxCfg> auxes(1);
    AuxCfg a;
    a.unscale = true;
    a.scale = 512.f;
    auxes.push_back(a);
    a = AuxCfg{};
    a.found_set = true;
    a.found = 1.f;
    auxes.push_back(a);
    a.found = 0.f;
    a.clip = true;
    a.max_norm = 1.0;
    auxes.push_back(a);
    a = AuxCfg{};
    a.unscale = true;
    a.scale = 8.f;
    a.clip = true;
    a.max_norm = 0.25;
    auxes.push_back(a);
    const char *aux_names[] = {"", " unscale", " found_inf=1", " clip+found_inf=0", " unscale+clip"};
    uint64_t seed = 1;
    for (int64_t chunk : {(int64_t)1024, kDefaultChunk}) {
        struct L {
            std::string name;
            std::vector<int64_t> n;
            const int *shift;
        };
        std::vector<int64_t> tiny;
        Rng r(99);
        for (int i = 0; i < 500; ++i) tiny.push_back((int64_t)(r.next() % 37));
        std::vector<L> ls = {
            {"n=1", {1}, aligned},
            {"n=5", {5}, aligned},
            {"n=chunk+7 shifted", {chunk + 7}, shifted},
            {"n=2*chunk+1 mixed", {2 * chunk + 1}, mixed},
            {"list odd", {1, 7, 33, 0, 1025, chunk + 3, 5, 4096, 3}, aligned},
            {"list odd random shifts", {9, 1030, chunk - 1, 2, 0, 31}, rnd},
            {"tiny tensors", tiny, rnd},
            {"empty", {}, aligned},
            {"zeros", {0, 0}, aligned},
        };
        for (const L &l : ls) {
            const std::string tag = "chunk=" + std::to_string(chunk) + " " + l.name;
            for (size_t ai = 0; ai < auxes.size(); ++ai)
                for (const OptCfg &c : cfgs) {
                    if (ai > 0 && l.name != "list odd" && l.name != "n=chunk+7 shifted") continue;
                    run_case(l.n, l.shift, chunk, c, auxes[ai], tag + aux_names[ai], ++seed);
                }
            run_grad_ops(l.n, l.shift, chunk, tag, ++seed);
        }
    }
    printf("test_emulated: %d checks, %d failures\n", g_checks, g_fail);
    return g_fail ? 1 : 0;
}
