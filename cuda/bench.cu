// bench.cu - goptim_bench_cuda: optimizer steps on the GPU against a device-to-device
// copy of the same bytes measured in the same run. Prints markdown tables.
//
// Layouts (as DESIGN.md): one 268M tensor; GPT-2 medium shapes (292 tensors, 355M); GPT
// 1.3B shapes (292 tensors, d=2048); 10,000 tensors of 10,000. Each layout lives in one
// arena per array (tensor offsets rounded up to 64 floats); "flat" runs the arena as a
// list of one tensor, "list" as a list of its tensors (one launch either way).
//
// Usage: goptim_bench_cuda [--iters N] [--warmup N] [--layouts a,b,...] [--no-sweep]
//   layouts: single, gpt2m, gpt1.3b, small (default: all)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "goptim.h"
#include "internal.cuh"

#define CU(x)                                                                                     \
    do {                                                                                          \
        cudaError_t e_ = (x);                                                                     \
        if (e_ != cudaSuccess) {                                                                  \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));   \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)
#define GO(ctx, x)                                                                                \
    do {                                                                                          \
        goptim_status s_ = (x);                                                                   \
        if (s_ != GOPTIM_OK) {                                                                    \
            fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #x, goptim_status_string(s_), \
                    goptim_context_last_error(ctx));                                              \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

static int g_iters = 20, g_warmup = 3;

struct Shapes {
    std::string name;
    std::vector<int64_t> numel;
};

static Shapes gpt_shapes(const char *name, int64_t d, int64_t layers, int64_t ctxlen) {
    Shapes s;
    s.name = name;
    const int64_t vocab = 50257;
    s.numel.push_back(vocab * d);   // wte
    s.numel.push_back(ctxlen * d);  // wpe
    for (int64_t l = 0; l < layers; ++l) {
        s.numel.push_back(d);          // ln_1 weight
        s.numel.push_back(d);          // ln_1 bias
        s.numel.push_back(d * 3 * d);  // attn.c_attn weight
        s.numel.push_back(3 * d);      // attn.c_attn bias
        s.numel.push_back(d * d);      // attn.c_proj weight
        s.numel.push_back(d);          // attn.c_proj bias
        s.numel.push_back(d);          // ln_2 weight
        s.numel.push_back(d);          // ln_2 bias
        s.numel.push_back(d * 4 * d);  // mlp.c_fc weight
        s.numel.push_back(4 * d);      // mlp.c_fc bias
        s.numel.push_back(4 * d * d);  // mlp.c_proj weight
        s.numel.push_back(d);          // mlp.c_proj bias
    }
    s.numel.push_back(d);  // ln_f weight
    s.numel.push_back(d);  // ln_f bias
    return s;
}

__global__ void init_kernel(float *p, int64_t n, uint32_t seed, float scale, float offset, int positive) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        float u = (float)(h >> 8) * (1.0f / 16777216.0f) - 0.5f;
        if (positive) u = fabsf(u);
        p[i] = offset + scale * u;
    }
}

static void init(float *p, int64_t n, uint32_t seed, float scale, float offset, int positive) {
    init_kernel<<<1024, 256>>>(p, n, seed, scale, offset, positive);
    CU(cudaGetLastError());
}

struct Bench {
    goptim_context *ctx = nullptr;
    cudaStream_t stream = nullptr;
    int64_t total = 0;                 // arena length
    std::vector<int64_t> numel, off;   // per tensor
    float *arr[5] = {};                // p, g, s0, s1, s2 arenas
    std::vector<float *> ptr[5];
    goptim_tensor_list list{}, flat{};
    int64_t flat_numel[1] = {0};
    float *flat_ptr[5][1];
    float *dnorm = nullptr;
    float *copy_src = nullptr, *copy_dst = nullptr;
    size_t copy_cap = 0;
    std::map<size_t, double> copy_ms;  // bytes moved -> ms
    int64_t params = 0;
};

static double median(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : (double)v[v.size() / 2];
}

// Median ms of f() over g_iters runs on the stream, after g_warmup runs.
template <class F>
static double time_ms(cudaStream_t s, F &&f) {
    for (int i = 0; i < g_warmup; ++i) f();
    std::vector<cudaEvent_t> ev((size_t)g_iters + 1);
    for (auto &e : ev) CU(cudaEventCreate(&e));
    CU(cudaEventRecord(ev[0], s));
    for (int i = 0; i < g_iters; ++i) {
        f();
        CU(cudaEventRecord(ev[(size_t)i + 1], s));
    }
    CU(cudaEventSynchronize(ev.back()));
    std::vector<float> ms((size_t)g_iters);
    for (int i = 0; i < g_iters; ++i) CU(cudaEventElapsedTime(&ms[(size_t)i], ev[(size_t)i], ev[(size_t)i + 1]));
    for (auto &e : ev) CU(cudaEventDestroy(e));
    return median(ms);
}

// ms of a device-to-device copy that moves `bytes` (read + write), capped at 16 GB moved.
static double copy_baseline(Bench &b, size_t bytes, size_t *moved) {
    size_t half = bytes / 2;
    const size_t cap = (size_t)8 << 30;
    if (half > cap) half = cap;
    half &= ~(size_t)255;
    *moved = 2 * half;
    auto it = b.copy_ms.find(half);
    if (it != b.copy_ms.end()) return it->second;
    if (b.copy_cap < half) {
        if (b.copy_src) CU(cudaFree(b.copy_src));
        if (b.copy_dst) CU(cudaFree(b.copy_dst));
        CU(cudaMalloc(&b.copy_src, half));
        CU(cudaMalloc(&b.copy_dst, half));
        CU(cudaMemset(b.copy_src, 1, half));
        CU(cudaDeviceSynchronize());
        b.copy_cap = half;
    }
    double ms = time_ms(b.stream, [&] { CU(cudaMemcpyAsync(b.copy_dst, b.copy_src, half, cudaMemcpyDeviceToDevice, b.stream)); });
    b.copy_ms[half] = ms;
    return ms;
}

static void setup(Bench &b, const Shapes &s) {
    b.numel = s.numel;
    b.off.clear();
    int64_t pos = 0;
    b.params = 0;
    for (int64_t n : s.numel) {
        b.off.push_back(pos);
        pos += (n + 63) / 64 * 64;
        b.params += n;
    }
    b.total = pos;
    for (int k = 0; k < 5; ++k) {
        CU(cudaMalloc(&b.arr[k], (size_t)b.total * sizeof(float)));
        b.ptr[k].clear();
        for (int64_t o : b.off) b.ptr[k].push_back(b.arr[k] + o);
        b.flat_ptr[k][0] = b.arr[k];
    }
    init(b.arr[0], b.total, 1, 2.f, 0.f, 0);
    init(b.arr[1], b.total, 2, 0.02f, 0.f, 0);
    init(b.arr[2], b.total, 3, 0.002f, 0.f, 0);
    init(b.arr[3], b.total, 4, 1e-4f, 1e-6f, 1);
    init(b.arr[4], b.total, 5, 1e-4f, 1e-6f, 1);
    CU(cudaDeviceSynchronize());
    b.list = goptim_tensor_list{};
    b.list.count = (int64_t)b.numel.size();
    b.list.numel = b.numel.data();
    b.list.param = b.ptr[0].data();
    b.list.grad = b.ptr[1].data();
    for (int k = 0; k < 3; ++k) b.list.state[k] = b.ptr[2 + k].data();
    b.flat_numel[0] = b.total;
    b.flat = goptim_tensor_list{};
    b.flat.count = 1;
    b.flat.numel = b.flat_numel;
    b.flat.param = b.flat_ptr[0];
    b.flat.grad = b.flat_ptr[1];
    for (int k = 0; k < 3; ++k) b.flat.state[k] = b.flat_ptr[2 + k];
}

static void teardown(Bench &b) {
    for (int k = 0; k < 5; ++k) {
        CU(cudaFree(b.arr[k]));
        b.arr[k] = nullptr;
    }
}

struct Row {
    std::string layout, variant, op;
    int64_t tensors, params;
    int bpp;
    double ms, gbs, copy_gbs, frac, extra;
    std::string note;
};

static std::vector<Row> g_rows;

static void report(Bench &b, const std::string &layout, const std::string &variant, const std::string &op,
                   int64_t tensors, int bpp, double ms, const std::string &note = "", double extra = NAN) {
    const size_t bytes = (size_t)b.params * (size_t)bpp;
    size_t moved = 0;
    const double cms = copy_baseline(b, bytes, &moved);
    Row r;
    r.layout = layout;
    r.variant = variant;
    r.op = op;
    r.tensors = tensors;
    r.params = b.params;
    r.bpp = bpp;
    r.ms = ms;
    r.gbs = (double)bytes / (ms * 1e6);
    r.copy_gbs = (double)moved / (cms * 1e6);
    r.frac = r.gbs / r.copy_gbs;
    r.extra = extra;
    r.note = note;
    printf("| %s | %s | %s | %lld | %.1fM | %d | %.3f | %.0f | %.0f | %.3f | %s |\n", layout.c_str(), variant.c_str(),
           op.c_str(), (long long)tensors, b.params / 1e6, bpp, ms, r.gbs, r.copy_gbs, r.frac, note.c_str());
    fflush(stdout);
    g_rows.push_back(r);
}

static void run_layout(Bench &b, const Shapes &s, cublasHandle_t blas) {
    setup(b, s);
    goptim_context *ctx = b.ctx;
    const goptim_sgd_params sgd{0.01, 0.9, 0, 0, 0, 0};
    const goptim_adam_params adam{1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 0};
    const goptim_adam_params adamw{1e-3, 0.9, 0.999, 1e-8, 1e-2, 0, 0, 1};
    const goptim_adagrad_params adagrad{1e-2, 0, 0, 1e-10, 0};
    const goptim_rmsprop_params rms{1e-2, 0.99, 1e-8, 0, 0, 0, 0};
    const bool single = s.numel.size() == 1;
    for (int variant = 0; variant < (single ? 1 : 2); ++variant) {
        const goptim_tensor_list *l = variant == 0 ? &b.flat : &b.list;
        const char *vname = single ? "single" : (variant == 0 ? "flat" : "list");
        const int64_t nt = l->count;
        int64_t step = 10;
        // SGD momentum at steady state (step > 1): loads p, g, buf; stores p, buf.
        double ms = time_ms(b.stream, [&] { GO(ctx, goptim_sgd_step(ctx, l, &sgd, ++step, nullptr)); });
        report(b, s.name, vname, "SGD momentum", nt, 20, ms);
        ms = time_ms(b.stream, [&] { GO(ctx, goptim_adam_step(ctx, l, &adam, ++step, nullptr)); });
        const double adam_ms = ms;
        report(b, s.name, vname, "Adam", nt, 28, ms);
        ms = time_ms(b.stream, [&] { GO(ctx, goptim_adam_step(ctx, l, &adamw, ++step, nullptr)); });
        report(b, s.name, vname, "AdamW", nt, 28, ms);
        ms = time_ms(b.stream, [&] { GO(ctx, goptim_adagrad_step(ctx, l, &adagrad, ++step, nullptr)); });
        report(b, s.name, vname, "Adagrad", nt, 20, ms);
        ms = time_ms(b.stream, [&] { GO(ctx, goptim_rmsprop_step(ctx, l, &rms, ++step, nullptr)); });
        report(b, s.name, vname, "RMSprop", nt, 20, ms);
        // grad norm alone (reads 4 B/param)
        ms = time_ms(b.stream, [&] { GO(ctx, goptim_grad_norm(ctx, l, 2.0, b.dnorm)); });
        report(b, s.name, vname, "grad_norm L2", nt, 4, ms);
        // clip + Adam fused: norm pass + Adam with the coefficient applied as grads are read.
        goptim_step_aux aux{};
        aux.clip_norm = b.dnorm;
        aux.max_norm = 1.0;
        ms = time_ms(b.stream, [&] {
            GO(ctx, goptim_grad_norm(ctx, l, 2.0, b.dnorm));
            GO(ctx, goptim_adam_step(ctx, l, &adam, ++step, &aux));
        });
        char note[64];
        snprintf(note, sizeof note, "%.3fx Adam alone", ms / adam_ms);
        report(b, s.name, vname, "clip+Adam fused", nt, 32, ms, note);
        // clip_grad_norm_ unfused (norm + scale pass) + Adam: what torch does.
        ms = time_ms(b.stream, [&] {
            GO(ctx, goptim_grad_norm(ctx, l, 2.0, b.dnorm));
            GO(ctx, goptim_clip_grad_by_norm(ctx, l, 1.0, b.dnorm));
            GO(ctx, goptim_adam_step(ctx, l, &adam, ++step, nullptr));
        });
        snprintf(note, sizeof note, "%.3fx Adam alone", ms / adam_ms);
        report(b, s.name, vname, "norm+clip+Adam", nt, 40, ms, note);
    }
    // cublasSnrm2 per tensor (the finals not even combined) against the fused norm.
    {
        float *res = nullptr;
        const int64_t nt = (int64_t)b.numel.size();
        CU(cudaMalloc(&res, (size_t)nt * sizeof(float)));
        cublasSetPointerMode(blas, CUBLAS_POINTER_MODE_DEVICE);
        bool ok = true;
        for (int64_t n : b.numel) ok = ok && n <= INT32_MAX;
        if (ok) {
            double ms = time_ms(b.stream, [&] {
                for (int64_t i = 0; i < nt; ++i) cublasSnrm2(blas, (int)b.numel[(size_t)i], b.ptr[1][(size_t)i], 1, res + i);
            });
            double ours = time_ms(b.stream, [&] { GO(ctx, goptim_grad_norm(ctx, &b.list, 2.0, b.dnorm)); });
            char note[96];
            snprintf(note, sizeof note, "goptim fused norm %.3f ms (%.2fx faster)", ours, ms / ours);
            report(b, s.name, "list", "cublasSnrm2 per tensor", nt, 4, ms, note);
        }
        CU(cudaFree(res));
    }
    teardown(b);
}

// Adam on a layout with contexts of several chunk sizes.
static void chunk_sweep(Bench &b, const Shapes &s) {
    setup(b, s);
    const goptim_adam_params adam{1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 0};
    const int64_t chunks[] = {4096, 8192, 16384, 32768, 65536};
    for (int64_t c : chunks) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)c);
        setenv("GOPTIM_CUDA_CHUNK", buf, 1);
        goptim_context *ctx = nullptr;
        GO(ctx, goptim_context_create(0, &ctx));
        unsetenv("GOPTIM_CUDA_CHUNK");
        int64_t step = 10;
        double ms = time_ms(ctx->stream, [&] { GO(ctx, goptim_adam_step(ctx, &b.list, &adam, ++step, nullptr)); });
        double nms = time_ms(ctx->stream, [&] { GO(ctx, goptim_grad_norm(ctx, &b.list, 2.0, b.dnorm)); });
        const double bytes = (double)b.params * 28, nbytes = (double)b.params * 4;
        size_t moved;
        const double cms = copy_baseline(b, (size_t)bytes, &moved);
        const double cgbs = (double)moved / (cms * 1e6);
        printf("| %s | %lld | %.3f | %.3f | %.3f | %.3f |\n", s.name.c_str(), (long long)c, ms, bytes / (ms * 1e6) / cgbs,
               nms, nbytes / (nms * 1e6) / cgbs);
        fflush(stdout);
        GO(ctx, goptim_context_destroy(ctx));
    }
    teardown(b);
}

int main(int argc, char **argv) {
    std::string which = "single,gpt2m,gpt1.3b,small";
    bool sweep = true;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--iters") && i + 1 < argc) g_iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) g_warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--layouts") && i + 1 < argc) which = argv[++i];
        else if (!strcmp(argv[i], "--no-sweep")) sweep = false;
        else {
            fprintf(stderr, "usage: %s [--iters N] [--warmup N] [--layouts single,gpt2m,gpt1.3b,small] [--no-sweep]\n", argv[0]);
            return 2;
        }
    }
    Bench b;
    goptim_status st = goptim_context_create(0, &b.ctx);
    if (st != GOPTIM_OK) {
        fprintf(stderr, "context_create: %s\n", goptim_status_string(st));
        return 1;
    }
    b.stream = b.ctx->stream;
    CU(cudaMalloc(&b.dnorm, sizeof(float)));
    CU(cudaMemset(b.dnorm, 0, sizeof(float)));
    cublasHandle_t blas;
    if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS) return 1;
    cublasSetStream(blas, b.stream);

    cudaDeviceProp prop;
    CU(cudaGetDeviceProperties(&prop, 0));
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    printf("# goptim CUDA benchmark\n\n");
    printf("device: %s, %d SMs, L2 %d MB; CUDA runtime %d, driver %d; chunk %lld elements, %d threads/block; "
           "median of %d steps after %d warm-up\n\n",
           prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20, rt, drv, (long long)b.ctx->chunk,
           goptim_cuda::kBlock, g_iters, g_warmup);
    printf("B/param: bytes each step must move per fp32 parameter (what the kernel reads and writes); GB/s = "
           "B/param x params / time; copy GB/s: cudaMemcpyAsync device-to-device of the same bytes (read + write, "
           "capped at 16 GB moved) in this run; fraction = GB/s / copy GB/s.\n\n");
    printf("| layout | variant | op | tensors | params | B/param | ms | GB/s | copy GB/s | fraction of copy | note |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");

    std::vector<Shapes> all;
    all.push_back(Shapes{"one tensor 268M", {268435456}});
    all.push_back(gpt_shapes("GPT-2 medium", 1024, 24, 1024));
    all.push_back(gpt_shapes("GPT 1.3B", 2048, 24, 2048));
    Shapes small;
    small.name = "10,000 small";
    small.numel.assign(10000, 10000);
    all.push_back(small);
    const char *keys[] = {"single", "gpt2m", "gpt1.3b", "small"};
    for (size_t i = 0; i < all.size(); ++i)
        if (which.find(keys[i]) != std::string::npos) run_layout(b, all[i], blas);

    if (sweep) {
        printf("\n## Chunk size sweep (Adam and grad_norm, list variant)\n\n");
        printf("| layout | chunk | Adam ms | Adam fraction of copy | norm ms | norm fraction of copy |\n");
        printf("| --- | --- | --- | --- | --- | --- |\n");
        if (which.find("single") != std::string::npos) chunk_sweep(b, all[0]);
        if (which.find("gpt2m") != std::string::npos) chunk_sweep(b, all[1]);
        if (which.find("small") != std::string::npos) chunk_sweep(b, all[3]);
    }

    // Summary against the targets of DESIGN.md.
    printf("\n## Targets (fraction of copy, the multi-tensor list path)\n\n");
    printf("| layout | op | fraction | target | met |\n| --- | --- | --- | --- | --- |\n");
    const char *ops[] = {"SGD momentum", "Adam", "AdamW", "Adagrad", "RMSprop"};
    for (const Shapes &s : all) {
        double target = s.name == "GPT-2 medium" ? 0.85 : (s.name == "10,000 small" ? 0.5 : 0.9);
        for (const char *op : ops) {
            double best = -1;
            for (const Row &r : g_rows)
                if (r.layout == s.name && r.op == op && r.variant == (s.numel.size() == 1 ? "single" : "list"))
                    best = std::max(best, r.frac);
            if (best < 0) continue;
            printf("| %s (list) | %s | %.3f | %.2f | %s |\n", s.name.c_str(), op, best, target, best >= target ? "yes" : "NO");
        }
    }
    cublasDestroy(blas);
    CU(cudaFree(b.dnorm));
    if (b.copy_src) CU(cudaFree(b.copy_src));
    if (b.copy_dst) CU(cudaFree(b.copy_dst));
    goptim_context_destroy(b.ctx);
    return 0;
}
