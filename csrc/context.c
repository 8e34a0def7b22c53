/* context.c - the context's lifecycle, threads, ISA, device and stream, and its last error and lock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* ---------------------------------------------------------------- errors, locking */

goptim_status gi_fail(goptim_context *ctx, goptim_status st, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->last_error, sizeof ctx->last_error, fmt, ap);
        va_end(ap);
    }
    return st;
}

goptim_status gi_enter(goptim_context *ctx) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&ctx->mu);
    /* A detail describes the call that failed, never an earlier one (the GPU backend's
     * rule too). */
    ctx->last_error[0] = '\0';
    return GOPTIM_OK;
}

void gi_leave(goptim_context *ctx) { pthread_mutex_unlock(&ctx->mu); }

const char *goptim_context_last_error(const goptim_context *ctx) {
    if (!ctx) return "";
    return ctx->last_error;
}

/* ---------------------------------------------------------------- context */

static int gi_online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 1024) n = 1024;
    return (int)n;
}

static goptim_status gi_set_threads_locked(goptim_context *ctx, int32_t n) {
    if (n <= 0) n = gi_online_cpus();
    if (n > 1024) n = 1024;
    if (ctx->pool.nthreads == n) return GOPTIM_OK;
    gi_pool_destroy(&ctx->pool);
    int rc = gi_pool_init(&ctx->pool, n);
    if (rc) {
        /* Keep a working context: fall back to the caller alone. */
        gi_pool_destroy(&ctx->pool);
        gi_pool_init(&ctx->pool, 1);
        return gi_fail(ctx, rc == ENOMEM ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND,
                       "set_threads: starting %d threads failed: %s (running on 1 thread)", (int)n, strerror(rc));
    }
    return GOPTIM_OK;
}

goptim_status goptim_context_create(int32_t threads, goptim_context **out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    goptim_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return GOPTIM_ERR_OUT_OF_MEMORY;
    if (pthread_mutex_init(&ctx->mu, NULL)) {
        free(ctx);
        return GOPTIM_ERR_BACKEND;
    }
    ctx->isa_public = gi_best_isa();
    ctx->isa = gi_isa_index(ctx->isa_public);
    ctx->pool.nthreads = 0; /* nothing to destroy yet */
    int n = threads <= 0 ? gi_online_cpus() : threads;
    if (n > 1024) n = 1024;
    int rc = gi_pool_init(&ctx->pool, n);
    if (rc) {
        gi_pool_destroy(&ctx->pool);
        pthread_mutex_destroy(&ctx->mu);
        free(ctx);
        return rc == ENOMEM ? GOPTIM_ERR_OUT_OF_MEMORY : GOPTIM_ERR_BACKEND;
    }
    *out = ctx;
    return GOPTIM_OK;
}

goptim_status goptim_context_create_on(int32_t device, int32_t threads, goptim_context **out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (device != 0) return GOPTIM_ERR_INVALID_ARGUMENT; /* the host is the one device */
    return goptim_context_create(threads, out);
}

goptim_status goptim_device_count(int32_t *out) {
    if (!out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = 1;
    return GOPTIM_OK;
}

goptim_status goptim_context_device(const goptim_context *ctx, int32_t *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = 0;
    return GOPTIM_OK;
}

/* Every call runs to completion on the calling thread: there is no stream to order. */
goptim_status goptim_context_stream(const goptim_context *ctx, void **out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    return GOPTIM_OK;
}

goptim_status goptim_context_set_stream(goptim_context *ctx, void *stream) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (stream) st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, "set_stream: the CPU backend has no streams");
    gi_leave(ctx);
    return st;
}

goptim_status goptim_context_destroy(goptim_context *ctx) {
    if (!ctx) return GOPTIM_ERR_INVALID_ARGUMENT;
    gi_pool_destroy(&ctx->pool);
    free(ctx->prefix);
    free(ctx->slots);
    pthread_mutex_destroy(&ctx->mu);
    free(ctx);
    return GOPTIM_OK;
}

goptim_status goptim_context_set_threads(goptim_context *ctx, int32_t n) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    st = gi_set_threads_locked(ctx, n);
    gi_leave(ctx);
    return st;
}

goptim_status goptim_context_threads(const goptim_context *ctx, int32_t *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_context *c = (goptim_context *)ctx;
    pthread_mutex_lock(&c->mu);
    *out = c->pool.nthreads;
    pthread_mutex_unlock(&c->mu);
    return GOPTIM_OK;
}

goptim_status goptim_context_set_isa(goptim_context *ctx, goptim_isa isa) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (isa == GOPTIM_ISA_AUTO) isa = gi_best_isa();
    int idx = gi_isa_index(isa);
    if ((int)isa < GOPTIM_ISA_AUTO || (int)isa > GOPTIM_ISA_NEON) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "set_isa: unknown instruction set %d", (int)isa);
    } else if (idx < 0) {
        st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, "set_isa: instruction set %d is not built for this architecture",
                     (int)isa);
    } else if (!gi_cpu_has(idx)) {
        st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, "set_isa: this CPU lacks instruction set %d", (int)isa);
    } else {
        ctx->isa = idx;
        ctx->isa_public = isa;
    }
    gi_leave(ctx);
    return st;
}

goptim_status goptim_context_isa(const goptim_context *ctx, goptim_isa *out) {
    if (!ctx || !out) return GOPTIM_ERR_INVALID_ARGUMENT;
    goptim_context *c = (goptim_context *)ctx;
    pthread_mutex_lock(&c->mu);
    *out = c->isa_public;
    pthread_mutex_unlock(&c->mu);
    return GOPTIM_OK;
}

goptim_status goptim_context_synchronize(goptim_context *ctx) {
    return ctx ? GOPTIM_OK : GOPTIM_ERR_INVALID_ARGUMENT;
}
