/*
 * pool.c - the persistent thread pool (see pool.h).
 */
#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Spin iterations before a worker or the caller goes to sleep on its condition
 * variable: tens of microseconds, enough for back-to-back optimizer calls. */
#define GI_SPIN 4000

static inline void gi_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Claims the next chunk of generation gen; 0 when none is left or the job is over. */
static int gi_claim(gi_pool *p, uint32_t gen, int64_t nchunks, int64_t *chunk) {
    uint64_t cur = atomic_load_explicit(&p->claim, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(cur >> 32) != gen) return 0;
        const int64_t next = (int64_t)(cur & 0xffffffffu);
        if (next >= nchunks) return 0;
        if (atomic_compare_exchange_weak_explicit(&p->claim, &cur, cur + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            *chunk = next;
            return 1;
        }
    }
}

static void *gi_worker_main(void *argp) {
    gi_worker *w = (gi_worker *)argp;
    gi_pool *p = w->pool;
    uint_fast64_t seen = 0;
    for (;;) {
        for (int i = 0; i < GI_SPIN; i++) {
            if (atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
                atomic_load_explicit(&p->stop, memory_order_relaxed))
                break;
            gi_cpu_relax();
        }
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
               !atomic_load_explicit(&p->stop, memory_order_relaxed))
            pthread_cond_wait(&p->start_cv, &p->mu);
        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        const gi_chunk_fn fn = p->fn;
        void *const arg = p->arg;
        const int64_t n = p->nchunks;
        pthread_mutex_unlock(&p->mu);

        int64_t c;
        while (gi_claim(p, (uint32_t)seen, n, &c)) {
            fn(arg, c, w->tid);
            if (atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel) + 1 == n) {
                pthread_mutex_lock(&p->mu);
                pthread_cond_signal(&p->done_cv);
                pthread_mutex_unlock(&p->mu);
            }
        }
    }
}

int gi_pool_init(gi_pool *p, int nthreads) {
    memset(p, 0, sizeof *p);
    if (nthreads < 1) nthreads = 1;
    int rc = pthread_mutex_init(&p->mu, NULL);
    if (rc) return rc;
    if ((rc = pthread_cond_init(&p->start_cv, NULL))) {
        pthread_mutex_destroy(&p->mu);
        return rc;
    }
    if ((rc = pthread_cond_init(&p->done_cv, NULL))) {
        pthread_cond_destroy(&p->start_cv);
        pthread_mutex_destroy(&p->mu);
        return rc;
    }
    atomic_init(&p->generation, 0);
    atomic_init(&p->claim, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->stop, 0);
    p->nthreads = 1;
    if (nthreads == 1) return 0;

    p->threads = calloc((size_t)nthreads - 1, sizeof *p->threads);
    p->workers = calloc((size_t)nthreads - 1, sizeof *p->workers);
    if (!p->threads || !p->workers) {
        gi_pool_destroy(p);
        return ENOMEM;
    }
    for (int i = 0; i < nthreads - 1; i++) {
        p->workers[i].pool = p;
        p->workers[i].tid = i + 1;
        rc = pthread_create(&p->threads[i], NULL, gi_worker_main, &p->workers[i]);
        if (rc) {
            gi_pool_destroy(p); /* joins the p->nthreads-1 started so far */
            return rc;
        }
        p->nthreads = i + 2;
    }
    return 0;
}

void gi_pool_destroy(gi_pool *p) {
    if (p->nthreads > 1) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->start_cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->nthreads - 1; i++) pthread_join(p->threads[i], NULL);
    }
    free(p->threads);
    free(p->workers);
    p->threads = NULL;
    p->workers = NULL;
    if (p->nthreads >= 1) {
        pthread_cond_destroy(&p->done_cv);
        pthread_cond_destroy(&p->start_cv);
        pthread_mutex_destroy(&p->mu);
    }
    p->nthreads = 0;
}

void gi_pool_run(gi_pool *p, int64_t nchunks, gi_chunk_fn fn, void *arg) {
    if (nchunks <= 0) return;
    if (p->nthreads <= 1 || nchunks == 1) {
        for (int64_t c = 0; c < nchunks; c++) fn(arg, c, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    const uint64_t gen = (uint64_t)atomic_load_explicit(&p->generation, memory_order_relaxed) + 1;
    p->fn = fn;
    p->arg = arg;
    p->nchunks = nchunks;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->claim, (gen & 0xffffffffu) << 32, memory_order_release);
    atomic_store_explicit(&p->generation, gen, memory_order_release);
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);

    int64_t c;
    while (gi_claim(p, (uint32_t)gen, nchunks, &c)) {
        fn(arg, c, 0);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel);
    }
    /* wait for chunks other threads claimed */
    for (int i = 0; i < GI_SPIN; i++) {
        if (atomic_load_explicit(&p->done, memory_order_acquire) == nchunks) return;
        gi_cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->done, memory_order_acquire) != nchunks) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
