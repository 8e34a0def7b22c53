// context.cpp - status strings, contexts, the emulated device memory and sgemm of the
// emulated CUDA backend (cuda/emu/). Every entry point checks its arguments in the order
// cuda/context.cu does and fails with the same status and detail (an H200: a device with
// memory pools, so allocation and free are named cudaMallocFromPoolAsync / cudaFreeAsync);
// on top of that every pointer that the GPU would dereference on the device must be device
// memory (a block of goptim_alloc), as it must on a GPU, where anything else is an illegal
// address.
#include <sys/mman.h>
#include <unistd.h>

#include <cblas.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <thread>

#include "emu_internal.h"

using namespace goptim_cuda;
using namespace goptim_cuda_emu;

namespace goptim_cuda_emu {

goptim_status fail(goptim_context *ctx, goptim_status s, const char *msg) noexcept {
    if (ctx) std::snprintf(ctx->last_error, sizeof ctx->last_error, "%s", msg ? msg : "");
    return s;
}

goptim_status fail(goptim_context *ctx, goptim_status s, const std::string &msg) noexcept {
    return fail(ctx, s, msg.c_str());
}

goptim_status failf(goptim_context *ctx, goptim_status s, const char *fmt, ...) noexcept {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(ctx->last_error, sizeof ctx->last_error, fmt, ap);
        va_end(ap);
    }
    return s;
}

goptim_status cuda_fail(goptim_context *ctx, const char *what, CudaErr e, const std::string &why) noexcept {
    const char *name = "cudaErrorInvalidValue", *text = "invalid argument";
    goptim_status s = GOPTIM_ERR_BACKEND;
    switch (e) {
    case CudaErr::InvalidValue: break;
    case CudaErr::MemoryAllocation:
        name = "cudaErrorMemoryAllocation";
        text = "out of memory";
        s = GOPTIM_ERR_OUT_OF_MEMORY;
        break;
    case CudaErr::IllegalAddress:
        name = "cudaErrorIllegalAddress";
        text = "an illegal memory access was encountered";
        break;
    }
    if (ctx) {
        if (why.empty()) std::snprintf(ctx->last_error, sizeof ctx->last_error, "%s: %s: %s", what, name, text);
        else
            std::snprintf(ctx->last_error, sizeof ctx->last_error, "%s: %s: %s (emulator: %s)", what, name, text,
                          why.c_str());
    }
    return s;
}

goptim_status exception_fail(goptim_context *ctx, bool locked, const char *fn, goptim_status s,
                             const char *what) noexcept {
    if (ctx && locked)
        std::snprintf(ctx->last_error, sizeof ctx->last_error, "%s: C++ exception: %s", fn, what ? what : "");
    return s;
}

// ------------------------------------------------------------------ the device heap

namespace {

struct Block {
    size_t bytes;   // what was asked for (at least 16)
    size_t mapped;  // bytes of the mmap, 0 for an aligned_alloc block
};

// Blocks of at least this many bytes are anonymous mappings (zero pages, nothing touched
// until used, returned to the OS on free); smaller ones come from the C heap.
constexpr size_t kMapMin = (size_t)1 << 20;

struct Heap {
    std::shared_mutex mu;
    std::map<uintptr_t, Block> blocks;  // by start address
    size_t used = 0;
    size_t capacity = 0;
};

Heap &heap() {
    static Heap *h = [] {
        Heap *x = new Heap();  // never destroyed: blocks may outlive static destructors
        // The "device memory" size: GOPTIM_EMU_DEVICE_MEMORY bytes, else the H200's 139 GiB
        // or this machine's physical memory, whichever is less.
        size_t cap = (size_t)139 << 30;
        const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        if (pages > 0 && page > 0 && (size_t)pages * (size_t)page < cap) cap = (size_t)pages * (size_t)page;
        if (const char *env = std::getenv("GOPTIM_EMU_DEVICE_MEMORY")) {
            const long long v = std::atoll(env);
            if (v > 0) cap = (size_t)v;
        }
        x->capacity = cap;
        return x;
    }();
    return *h;
}

}  // namespace

std::shared_mutex &heap_mutex() { return heap().mu; }

size_t heap_capacity() { return heap().capacity; }

bool heap_contains(const void *p, int64_t nfloats) {
    if (!p || nfloats < 0) return false;
    const Heap &h = heap();
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    auto it = h.blocks.upper_bound(a);
    if (it == h.blocks.begin()) return false;
    --it;
    const uintptr_t end = it->first + it->second.bytes;
    if (a >= end) return false;
    return (uint64_t)nfloats <= (uint64_t)(end - a) / sizeof(float);
}

}  // namespace goptim_cuda_emu

// ------------------------------------------------------------------ status, backend

#include "context_common.h"

extern "C" const char *goptim_backend_name(void) { return "cuda-emu"; }
extern "C" int goptim_backend_is_device(void) { return 1; }

// ------------------------------------------------------------------ context

// GOPTIM_EMU_NO_DEVICE=1 emulates a machine without a GPU (cudaGetDeviceCount fails);
// otherwise the machine has one device.
static bool no_device() {
    const char *env = std::getenv("GOPTIM_EMU_NO_DEVICE");
    return env && env[0] != '\0' && std::strcmp(env, "0") != 0;
}

static goptim_status create_context(int32_t device, int32_t threads, goptim_context **out) {
    if (no_device()) return GOPTIM_ERR_UNSUPPORTED;
    if (device != 0) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_context *ctx = new (std::nothrow) goptim_context();
    if (!ctx) return GOPTIM_ERR_OUT_OF_MEMORY;
    ctx->stream = &ctx->own_stream;
    ctx->threads = resolve_threads(threads);
    if (const char *env = std::getenv("GOPTIM_CUDA_CHUNK")) {
        long long c = std::atoll(env);
        const int64_t q = 4 * kBlock;
        if (c >= q && c <= (1ll << 26)) ctx->chunk = (int64_t)(c / q) * q;
    }
    if (const char *env = std::getenv("GOPTIM_EMU_NORM_GRID")) {
        long long g = std::atoll(env);
        if (g >= 1 && g <= kNormBlocks)
            for (int &k : ctx->norm_grid) k = (int)g;
    }
    ctx->total_mem = heap_capacity();
    try {
        ctx->partial.assign(kNormBlocks, 0.0);
    } catch (...) {
        delete ctx;
        return GOPTIM_ERR_OUT_OF_MEMORY;
    }
    *out = ctx;
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_create(int32_t threads, goptim_context **out) {
    return goptim_context_create_on(0, threads, out);
}

extern "C" goptim_status goptim_context_create_on(int32_t device, int32_t threads, goptim_context **out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    try {
        return create_context(device, threads, out);
    } catch (const std::bad_alloc &) {
        return GOPTIM_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return GOPTIM_ERR_BACKEND;
    }
}

extern "C" goptim_status goptim_context_destroy(goptim_context *ctx) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    // Waits for a call in flight; nothing is queued (every emulated call is synchronous).
    const goptim_status st = enter(ctx, "context_destroy", [] { return GOPTIM_OK; });
    delete ctx;
    return st;
}

extern "C" goptim_status goptim_context_synchronize(goptim_context *ctx) {
    // Every emulated call is complete when it returns: nothing to wait for.
    return enter(ctx, "context_synchronize", [] { return GOPTIM_OK; });
}

extern "C" goptim_status goptim_device_count(int32_t *out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = no_device() ? 0 : 1;
    return no_device() ? GOPTIM_ERR_UNSUPPORTED : GOPTIM_OK;
}

extern "C" goptim_status goptim_context_device(const goptim_context *ctx, int32_t *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = 0;
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_set_stream(goptim_context *ctx, void *stream) {
    return enter(ctx, "context_set_stream", [&] {
        ctx->stream = stream ? stream : static_cast<void *>(&ctx->own_stream);
        return GOPTIM_OK;
    });
}

// ------------------------------------------------------------------ memory

static std::string not_device(const char *arg, int64_t n) {
    return std::string(arg) + " is not " + std::to_string(n) + (n == 1 ? " float" : " floats") + " of device memory";
}

// The names context.cu gives the allocator's calls on a device with memory pools.
static const char *const kMallocName = "cudaMallocFromPoolAsync";
static const char *const kFreeName = "cudaFreeAsync";

extern "C" goptim_status goptim_alloc(goptim_context *ctx, int64_t n, float **out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    return enter(ctx, "alloc", [&] {
        const ArgCheck a = alloc_args(n, ctx->total_mem, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK) return a.status;
        const size_t bytes = a.bytes;
        Heap &h = heap();
        std::unique_lock<std::shared_mutex> lock(h.mu);
        if (bytes > h.capacity - h.used)
            return cuda_fail(ctx, kMallocName, CudaErr::MemoryAllocation,
                             "device memory of " + std::to_string(h.capacity) + " bytes, " + std::to_string(h.used) +
                                 " in use");
        void *p = nullptr;
        Block b{bytes, 0};
        if (bytes >= kMapMin) {
            const size_t len = (bytes + 4095) & ~(size_t)4095;
            p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED) p = nullptr;
            else b.mapped = len;  // zero pages
        } else {
            p = std::aligned_alloc(256, (bytes + 255) & ~(size_t)255);  // cudaMalloc's alignment
            if (p) std::memset(p, 0, bytes);
        }
        if (!p) return cuda_fail(ctx, kMallocName, CudaErr::MemoryAllocation, "host allocation failed");
        try {
            h.blocks.emplace(reinterpret_cast<uintptr_t>(p), b);
        } catch (...) {
            if (b.mapped) munmap(p, b.mapped);
            else std::free(p);
            return cuda_fail(ctx, kMallocName, CudaErr::MemoryAllocation, "host allocation failed");
        }
        h.used += bytes;
        *out = static_cast<float *>(p);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_free(goptim_context *ctx, float *p) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    if (!p) return GOPTIM_OK;
    return enter(ctx, "free", [&] {
        Heap &h = heap();
        std::unique_lock<std::shared_mutex> lock(h.mu);
        auto it = h.blocks.find(reinterpret_cast<uintptr_t>(p));
        if (it == h.blocks.end())
            return cuda_fail(ctx, kFreeName, CudaErr::InvalidValue, "not the start of a live device allocation");
        const Block b = it->second;
        h.blocks.erase(it);
        h.used -= b.bytes;
        if (b.mapped) munmap(p, b.mapped);
        else std::free(p);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_copy_from_host(goptim_context *ctx, float *dst, const float *host_src, int64_t n) {
    return enter(ctx, "copy_from_host", [&] {
        const ArgCheck a = move_args("copy_from_host", Move::HostCopy, dst, host_src, n, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK || a.bytes == 0) return a.status;
        const size_t bytes = a.bytes;
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        if (!heap_contains(dst, n))
            return cuda_fail(ctx, "copy_from_host", CudaErr::InvalidValue, not_device("dst", n));
        if (heap_contains(host_src, 1))
            return cuda_fail(ctx, "copy_from_host", CudaErr::InvalidValue, "host_src is device memory");
        std::memcpy(dst, host_src, bytes);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_copy_to_host(goptim_context *ctx, float *host_dst, const float *src, int64_t n) {
    return enter(ctx, "copy_to_host", [&] {
        const ArgCheck a = move_args("copy_to_host", Move::HostCopy, host_dst, src, n, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK || a.bytes == 0) return a.status;
        const size_t bytes = a.bytes;
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        if (!heap_contains(src, n)) return cuda_fail(ctx, "copy_to_host", CudaErr::InvalidValue, not_device("src", n));
        if (heap_contains(host_dst, 1))
            return cuda_fail(ctx, "copy_to_host", CudaErr::InvalidValue, "host_dst is device memory");
        std::memcpy(host_dst, src, bytes);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_copy(goptim_context *ctx, float *dst, const float *src, int64_t n) {
    return enter(ctx, "copy", [&] {
        const ArgCheck a = move_args("copy", Move::DeviceCopy, dst, src, n, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK || a.bytes == 0) return a.status;
        const size_t bytes = a.bytes;
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        if (!heap_contains(dst, n)) return cuda_fail(ctx, "cudaMemcpyAsync", CudaErr::InvalidValue, not_device("dst", n));
        if (!heap_contains(src, n)) return cuda_fail(ctx, "cudaMemcpyAsync", CudaErr::InvalidValue, not_device("src", n));
        std::memmove(dst, src, bytes);  // overlapping ranges: memmove, as context.cu's copy_overlapping
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_fill(goptim_context *ctx, float *dst, float value, int64_t n) {
    return enter(ctx, "fill", [&] {
        const ArgCheck a = move_args("fill", Move::Fill, dst, nullptr, n, ctx->last_error, sizeof ctx->last_error);
        if (a.status != GOPTIM_OK || a.bytes == 0) return a.status;
        const size_t bytes = a.bytes;
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        uint32_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        // context.cu: cudaMemsetAsync for +0 (an invalid pointer is cudaErrorInvalidValue
        // there), fill_kernel otherwise (an illegal address).
        if (!heap_contains(dst, n)) {
            if (bits == 0) return cuda_fail(ctx, "cudaMemsetAsync", CudaErr::InvalidValue, not_device("dst", n));
            return cuda_fail(ctx, "fill_kernel", CudaErr::IllegalAddress, not_device("dst", n));
        }
        if (bits == 0) {
            std::memset(dst, 0, bytes);
            return GOPTIM_OK;
        }
        for (int64_t i = 0; i < n; ++i) dst[i] = value;  // fill_kernel writes value to every element
        return GOPTIM_OK;
    });
}

// ------------------------------------------------------------------ sgemm

extern "C" goptim_status goptim_sgemm(goptim_context *ctx, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                                      int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                                      int64_t ldb, float beta, float *c, int64_t ldc) {
    return enter(ctx, "sgemm", [&] {
        bool work;
        const goptim_status st = sgemm_args(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, &work, ctx->last_error,
                                            sizeof ctx->last_error);
        if (st != GOPTIM_OK || !work) return st;
        std::shared_lock<std::shared_mutex> lock(heap_mutex());
        // The extents cuBLAS reads and writes: rows x cols as stored, row stride ld.
        const int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
        const int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
        if (k > 0 && !heap_contains(a, (a_rows - 1) * lda + a_cols))
            return cuda_fail(ctx, "cublasSgemm", CudaErr::IllegalAddress, "A is not device memory");
        if (k > 0 && !heap_contains(b, (b_rows - 1) * ldb + b_cols))
            return cuda_fail(ctx, "cublasSgemm", CudaErr::IllegalAddress, "B is not device memory");
        if (!heap_contains(c, (m - 1) * ldc + n))
            return cuda_fail(ctx, "cublasSgemm", CudaErr::IllegalAddress, "C is not device memory");
        if (k == 0) {
            // C = beta*C; beta == 0 writes zeros without reading C (cuBLAS).
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
            return GOPTIM_OK;
        }
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
                    (blasint)ldc);
        return GOPTIM_OK;
    });
}
