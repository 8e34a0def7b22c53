/*
 * pool.h - the persistent thread pool of a goptim context.
 *
 * nthreads-1 worker threads are created once and sleep on a condition variable
 * between jobs (after a short spin, so back-to-back calls do not pay a wake-up);
 * the thread calling gi_pool_run takes part as worker 0. One job at a time: the
 * context's mutex serialises callers.
 */
#ifndef GOPTIM_POOL_H
#define GOPTIM_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef void (*gi_job_fn)(void *arg, int tid, int nthreads);

typedef struct gi_pool gi_pool;

typedef struct {
    gi_pool *pool;
    int tid;
} gi_worker;

struct gi_pool {
    int nthreads;            /* total, including the caller */
    pthread_t *threads;      /* nthreads-1 */
    gi_worker *workers;      /* nthreads-1 */
    pthread_mutex_t mu;
    pthread_cond_t start_cv; /* workers wait here for a new generation */
    pthread_cond_t done_cv;  /* the caller waits here for pending == 0 */
    atomic_uint_fast64_t generation;
    atomic_int pending;      /* workers still running the current job */
    atomic_int stop;
    gi_job_fn fn;            /* the current job, set before generation moves */
    void *arg;
    int job_threads;         /* threads taking part in the current job */
};

/* Starts nthreads-1 workers (nthreads >= 1). Returns 0 or an errno value. */
int gi_pool_init(gi_pool *p, int nthreads);
/* Stops and joins the workers. Safe on a zeroed or failed-init pool. */
void gi_pool_destroy(gi_pool *p);
/* Runs fn(arg, tid, n) on threads 0..n-1 (n <= nthreads; the caller is tid 0) and
 * returns when all are done. */
void gi_pool_run(gi_pool *p, int n, gi_job_fn fn, void *arg);

#endif /* GOPTIM_POOL_H */
