/*
 * pool.c - the persistent thread pool (see pool.h).
 */
#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Spin iterations before a worker or the caller goes to sleep on its condition
 * variable: a few tens of microseconds, enough for back-to-back optimizer calls. */
#define GI_SPIN 4000

static inline void gi_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
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
        gi_job_fn fn = p->fn;
        void *arg = p->arg;
        int n = p->job_threads;
        pthread_mutex_unlock(&p->mu);

        if (w->tid < n) fn(arg, w->tid, n);

        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
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
    atomic_init(&p->pending, 0);
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

void gi_pool_run(gi_pool *p, int n, gi_job_fn fn, void *arg) {
    if (n > p->nthreads) n = p->nthreads;
    if (n <= 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->job_threads = n;
    atomic_store_explicit(&p->pending, p->nthreads - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);

    fn(arg, 0, n);

    for (int i = 0; i < GI_SPIN; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
        gi_cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
