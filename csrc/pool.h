/*
 * pool.h - the persistent thread pool of a goptim context.
 *
 * nthreads-1 worker threads are created once and sleep on a condition variable
 * between jobs (after a short spin, so back-to-back calls do not pay a wake-up). A job
 * is a number of chunks; the calling thread takes part as worker 0 and starts at once,
 * and every thread claims the next chunk with one compare-and-swap until none is left.
 * So a worker that wakes late (waking a sleeping thread costs ~100 us on some virtual
 * machines) only takes what is left, and a call is never much slower than running
 * alone. One job at a time: the context's mutex serialises callers.
 */
#ifndef GOPTIM_POOL_H
#define GOPTIM_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Runs chunk `chunk` of the job; tid is the thread (0 = the caller). */
typedef void (*gi_chunk_fn)(void *arg, int64_t chunk, int tid);

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
    pthread_cond_t done_cv;  /* the caller waits here for done == nchunks */
    atomic_uint_fast64_t generation;
    /* (generation mod 2^32) << 32 | next chunk: a claim only succeeds for the
     * generation the claimer joined, so a late worker never takes a chunk of a later job */
    _Atomic uint64_t claim;
    atomic_int_fast64_t done; /* chunks finished in the current job */
    atomic_int stop;
    gi_chunk_fn fn;           /* the current job, written under mu */
    void *arg;
    int64_t nchunks;
};

/* Starts nthreads-1 workers (nthreads >= 1). Returns 0 or an errno value. */
int gi_pool_init(gi_pool *p, int nthreads);
/* Stops and joins the workers. Safe on a zeroed or failed-init pool. */
void gi_pool_destroy(gi_pool *p);
/* Runs fn(arg, c, tid) for every chunk c in [0, nchunks) (nchunks < 2^32) on the
 * pool and the calling thread; returns when all are done. */
void gi_pool_run(gi_pool *p, int64_t nchunks, gi_chunk_fn fn, void *arg);

#endif /* GOPTIM_POOL_H */
