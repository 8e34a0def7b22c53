/*
 * traffic.c - goptim_traffic_step on the CPU: the limit a step is measured against. A
 * pass that reads and writes exactly the arrays of a step with the given traffic, built
 * as the steps are (one instantiation per ISA and array set, the same list check, the
 * same chunking over the same thread pool), so that the only difference left between a
 * step and its loop is the step's arithmetic.
 *
 * The arithmetic is the least that keeps every access real: each written array takes a
 * value that depends on what was read (p += g, state_j += g, a written gradient is
 * negated), so the compiler can neither drop a load or a store nor turn the loop into a
 * copy, and every operation has a vector instruction on every ISA. The values mean
 * nothing.
 *
 * The array sets are those the optimizers have: param and grad read, param written,
 * states 0..n-1 (n = 0..3) read and written, and optionally the gradient written back
 * (the fused unscale of GradScaler). Other sets within the five bits are
 * GOPTIM_ERR_UNSUPPORTED; bits above them GOPTIM_ERR_INVALID_ARGUMENT. The masks are
 * checked before the list, so an empty list asks whether a set is supported. aux is
 * not read: the traffic does not depend on it (a written gradient is in the masks).
 */
#include "kernel.h"

GI_INLINE void traffic_body(int64_t n, float *restrict p, float *restrict g, float *restrict s0,
                            float *restrict s1, float *restrict s2, const int NS, const int GW) {
    for (int64_t i = 0; i < n; i++) {
        const float grad = g[i];
        p[i] = p[i] + grad;
        if (NS > 0) s0[i] = s0[i] + grad;
        if (NS > 1) s1[i] = s1[i] + grad;
        if (NS > 2) s2[i] = s2[i] + grad;
        if (GW) g[i] = -grad;
    }
}

typedef void (*traffic_fn)(int64_t n, float *p, float *g, float *s0, float *s1, float *s2);

#define TRAFFIC_SPEC(isa, attr, NS, GW)                                                                    \
    attr static void traffic_##isa##_##NS##GW(int64_t n, float *restrict p, float *restrict g,             \
                                              float *restrict s0, float *restrict s1, float *restrict s2) { \
        traffic_body(n, p, g, s0, s1, s2, NS, GW);                                                         \
    }
#define TRAFFIC_SPEC_GW(isa, attr, NS) TRAFFIC_SPEC(isa, attr, NS, 0) TRAFFIC_SPEC(isa, attr, NS, 1)
#define TRAFFIC_ISA(isa, attr, hw)                                                                         \
    TRAFFIC_SPEC_GW(isa, attr, 0) TRAFFIC_SPEC_GW(isa, attr, 1) TRAFFIC_SPEC_GW(isa, attr, 2)              \
    TRAFFIC_SPEC_GW(isa, attr, 3)
GI_FOR_EACH_ISA(TRAFFIC_ISA)

#define TRAFFIC_GW(isa, NS) {traffic_##isa##_##NS##0, traffic_##isa##_##NS##1}
#define TRAFFIC_ROW(isa, attr, hw) {TRAFFIC_GW(isa, 0), TRAFFIC_GW(isa, 1), TRAFFIC_GW(isa, 2), TRAFFIC_GW(isa, 3)},
/* [isa][states read and written][grad written] */
static const traffic_fn traffic_table[GI_ISA_COUNT][GOPTIM_MAX_STATE + 1][2] = {GI_FOR_EACH_ISA(TRAFFIC_ROW)};

enum { TRAFFIC_P = 1u, TRAFFIC_G = 2u, TRAFFIC_ALL = (1u << (2 + GOPTIM_MAX_STATE)) - 1 };

/* The table entry for reads/writes (reads already |= writes): 1 and *ns, *gw when the
 * set is one of the table's, else 0. */
static int traffic_shape(uint32_t reads, uint32_t writes, int *ns, int *gw) {
    const uint32_t states = reads >> 2;
    if ((reads & 3u) != (TRAFFIC_P | TRAFFIC_G) || !(writes & TRAFFIC_P) || (writes >> 2) != states) return 0;
    for (int k = 0; k <= GOPTIM_MAX_STATE; k++)
        if (states == (1u << k) - 1u) {
            *ns = k;
            *gw = (writes & TRAFFIC_G) != 0;
            return 1;
        }
    return 0;
}

typedef struct {
    const goptim_tensor_list *list;
    traffic_fn fn;
    int ns;
} traffic_job;

static void traffic_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const traffic_job *j = (const traffic_job *)argp;
    const goptim_tensor_list *l = j->list;
    float *s[GOPTIM_MAX_STATE] = {NULL, NULL, NULL};
    for (int k = 0; k < j->ns; k++) s[k] = l->state[k][t] + b;
    j->fn(n, l->param[t] + b, l->grad[t] + b, s[0], s[1], s[2]);
}

goptim_status goptim_traffic_step(goptim_context *ctx, const goptim_tensor_list *list,
                                  const goptim_traffic_params *hp, int64_t step, const goptim_step_aux *aux) {
    (void)aux;
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    /* a NULL list before the masks, as the GPU backend checks it */
    if (!list || !hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "traffic_step: NULL %s", hp ? "tensor list" : "parameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "traffic_step: step %lld < 1", (long long)step);
        goto out;
    }
    const uint32_t writes = hp->writes, reads = hp->reads | writes;
    if (reads & ~(uint32_t)TRAFFIC_ALL) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT,
                     "traffic_step: reads 0x%x, writes 0x%x: bits above 4 (0 param, 1 grad, 2-4 state)",
                     (unsigned)hp->reads, (unsigned)hp->writes);
        goto out;
    }
    int ns = 0, gw = 0;
    if (!traffic_shape(reads, writes, &ns, &gw)) {
        st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED,
                     "traffic_step: reads 0x%x, writes 0x%x: no loop for this set (param and grad read, param "
                     "written, states 0..n-1 read and written, grad written or not)",
                     (unsigned)reads, (unsigned)writes);
        goto out;
    }
    st = gi_check_list(ctx, "traffic_step", list, 1, (1u << ns) - 1u, &total);
    if (st || total == 0) goto out;
    traffic_job j = {list, traffic_table[ctx->isa][ns][gw], ns};
    gi_for_list(ctx, list, total, traffic_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
