// context_common.h - the entry points whose text is the same in the CUDA library
// (context.cu) and its host emulation (emu/context.cpp): status strings, the last error,
// threads, instruction sets and the stream in use. Included by each after its own `enter` and `fail`
// (goptim_cuda's or goptim_cuda_emu's), so one text serves both.
#ifndef GOPTIM_CUDA_CONTEXT_COMMON_H
#define GOPTIM_CUDA_CONTEXT_COMMON_H

#include <mutex>
#include <thread>

extern "C" const char *goptim_status_string(goptim_status s) {
    switch (s) {
    case GOPTIM_OK: return "ok";
    case GOPTIM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case GOPTIM_ERR_OUT_OF_MEMORY: return "out of memory";
    case GOPTIM_ERR_NONFINITE: return "non-finite value";
    case GOPTIM_ERR_BACKEND: return "backend failure";
    case GOPTIM_ERR_UNSUPPORTED: return "unsupported";
    default: return "unknown status";
    }
}

// The detail of the last failure. A fixed buffer inside the context: the pointer stays
// valid until the context is destroyed, the text until the next call on the context.
extern "C" const char *goptim_context_last_error(const goptim_context *ctx) {
    if (!ctx) return "";
    return ctx->last_error;
}

static int32_t resolve_threads(int32_t n) {
    if (n > 0) return n;
    unsigned h = std::thread::hardware_concurrency();
    return h > 0 ? (int32_t)h : 1;
}

extern "C" goptim_status goptim_context_set_threads(goptim_context *ctx, int32_t n) {
    return enter(ctx, "context_set_threads", [&] {
        ctx->threads = resolve_threads(n);
        return GOPTIM_OK;
    });
}

extern "C" goptim_status goptim_context_threads(const goptim_context *ctx, int32_t *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_context *c = const_cast<goptim_context *>(ctx);
    try {
        std::lock_guard<std::mutex> lock(c->mu);
        *out = c->threads;
    } catch (...) {  // std::system_error from the lock
        return GOPTIM_ERR_BACKEND;
    }
    return GOPTIM_OK;
}

extern "C" goptim_status goptim_context_set_isa(goptim_context *ctx, goptim_isa isa) {
    return enter(ctx, "context_set_isa", [&] {
        switch (isa) {
        case GOPTIM_ISA_AUTO: return GOPTIM_OK;
        case GOPTIM_ISA_PORTABLE:
        case GOPTIM_ISA_AVX2:
        case GOPTIM_ISA_AVX512:
        case GOPTIM_ISA_NEON:
            return fail(ctx, GOPTIM_ERR_UNSUPPORTED, "set_isa: the CUDA backend has no CPU kernels");
        default: return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "set_isa: unknown isa");
        }
    });
}

extern "C" goptim_status goptim_context_isa(const goptim_context *ctx, goptim_isa *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = GOPTIM_ISA_AUTO;
    return GOPTIM_OK;
}

// The stream the context queues on (a cudaStream_t; the emulation's is a handle only).
extern "C" goptim_status goptim_context_stream(const goptim_context *ctx, void **out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_context *c = const_cast<goptim_context *>(ctx);
    try {
        std::lock_guard<std::mutex> lock(c->mu);
        *out = static_cast<void *>(c->stream);
    } catch (...) {  // std::system_error from the lock
        return GOPTIM_ERR_BACKEND;
    }
    return GOPTIM_OK;
}

#endif
