/*
 * traffic.c - goptim_traffic_step on the CPU: the limit a step (or one pass of a step) is
 * measured against. A pass that reads and writes exactly the arrays of a given set, built
 * as the steps are (one instantiation per ISA and array set, the same list check, the
 * same chunking over the same thread pool), so that the only difference left between a
 * pass of a step and its loop is the step's arithmetic.
 *
 * The sets (goptim.h): param and grad each not touched, read, or read and written;
 * states 0..n-1 (n = 0..3) read, or read and written; at least one array touched. Other
 * sets within the five bits are GOPTIM_ERR_UNSUPPORTED; bits above them
 * GOPTIM_ERR_INVALID_ARGUMENT. The masks are checked before the list, so an empty list
 * asks whether a set is supported. aux is not read: the traffic does not depend on it (a
 * written gradient is in the masks).
 *
 * The arithmetic is the least that keeps every access real, and every operation has a
 * vector instruction on every ISA; the values mean nothing. A written param or state x
 * takes x + g when the gradient is read, else -x; a written gradient takes -g. So every
 * store depends on a load and the compiler can neither drop a load or a store nor turn
 * the loop into a copy. An array only read (and the gradient when it is only read and no
 * written array uses it) is folded into an integer accumulator, the XOR of its float
 * bits (an integer reduction vectorises without reassociating floats), which each piece
 * stores in its own ctx->slots slot, memory the compiler cannot prove unread: the loads
 * stay.
 */
#include "kernel.h"

GI_INLINE uint32_t traffic_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* PM, GM: param, grad 0 not touched, 1 read, 2 read and written. NS: states 0..NS-1
 * touched, SW: written (else read only). Returns the fold of the arrays only read. */
GI_INLINE uint32_t traffic_body(int64_t n, float *restrict p, float *restrict g, float *restrict s0,
                                float *restrict s1, float *restrict s2, const int PM, const int GM, const int NS,
                                const int SW) {
    /* a gradient only read is folded when no written array uses it */
    const int GFOLD = GM == 1 && PM != 2 && !(NS > 0 && SW);
    uint32_t acc = 0;
    for (int64_t i = 0; i < n; i++) {
        const float grad = GM ? g[i] : 0.0f;
        uint32_t fold = 0;
        if (PM == 2) p[i] = GM ? p[i] + grad : -p[i];
        if (PM == 1) fold ^= traffic_bits(p[i]);
        if (GFOLD) fold ^= traffic_bits(grad);
        if (NS > 0) {
            if (SW) s0[i] = GM ? s0[i] + grad : -s0[i];
            else fold ^= traffic_bits(s0[i]);
        }
        if (NS > 1) {
            if (SW) s1[i] = GM ? s1[i] + grad : -s1[i];
            else fold ^= traffic_bits(s1[i]);
        }
        if (NS > 2) {
            if (SW) s2[i] = GM ? s2[i] + grad : -s2[i];
            else fold ^= traffic_bits(s2[i]);
        }
        if (GM == 2) g[i] = -grad;
        acc ^= fold;
    }
    return acc;
}

typedef uint32_t (*traffic_fn)(int64_t n, float *p, float *g, float *s0, float *s1, float *s2);

/* One function per ISA and (PM, GM, NS, SW); (0, 0, 0, 0), no array, is never called. */
#define TRAFFIC_SPEC(isa, attr, PM, GM, NS, SW)                                                            \
    attr static uint32_t traffic_##isa##_##PM##GM##NS##SW(int64_t n, float *restrict p, float *restrict g,  \
                                                          float *restrict s0, float *restrict s1,           \
                                                          float *restrict s2) {                             \
        return traffic_body(n, p, g, s0, s1, s2, PM, GM, NS, SW);                                          \
    }
#define TRAFFIC_SPEC_S(isa, attr, PM, GM)                                                                  \
    TRAFFIC_SPEC(isa, attr, PM, GM, 0, 0)                                                                  \
    TRAFFIC_SPEC(isa, attr, PM, GM, 1, 0) TRAFFIC_SPEC(isa, attr, PM, GM, 1, 1)                            \
    TRAFFIC_SPEC(isa, attr, PM, GM, 2, 0) TRAFFIC_SPEC(isa, attr, PM, GM, 2, 1)                            \
    TRAFFIC_SPEC(isa, attr, PM, GM, 3, 0) TRAFFIC_SPEC(isa, attr, PM, GM, 3, 1)
#define TRAFFIC_SPEC_G(isa, attr, PM)                                                                      \
    TRAFFIC_SPEC_S(isa, attr, PM, 0) TRAFFIC_SPEC_S(isa, attr, PM, 1) TRAFFIC_SPEC_S(isa, attr, PM, 2)
#define TRAFFIC_ISA(isa, attr, hw) TRAFFIC_SPEC_G(isa, attr, 0) TRAFFIC_SPEC_G(isa, attr, 1) TRAFFIC_SPEC_G(isa, attr, 2)
GI_FOR_EACH_ISA(TRAFFIC_ISA)

#define TRAFFIC_S(isa, PM, GM)                                                                             \
    {traffic_##isa##_##PM##GM##00, traffic_##isa##_##PM##GM##10, traffic_##isa##_##PM##GM##11,             \
     traffic_##isa##_##PM##GM##20, traffic_##isa##_##PM##GM##21, traffic_##isa##_##PM##GM##30,             \
     traffic_##isa##_##PM##GM##31}
#define TRAFFIC_G(isa, PM) {TRAFFIC_S(isa, PM, 0), TRAFFIC_S(isa, PM, 1), TRAFFIC_S(isa, PM, 2)}
#define TRAFFIC_ROW(isa, attr, hw) {TRAFFIC_G(isa, 0), TRAFFIC_G(isa, 1), TRAFFIC_G(isa, 2)},
/* [isa][param][grad][states: 0 none, 2n-1 n read only, 2n n read and written] */
static const traffic_fn traffic_table[GI_ISA_COUNT][3][3][2 * GOPTIM_MAX_STATE + 1] = {GI_FOR_EACH_ISA(TRAFFIC_ROW)};

enum { TRAFFIC_P = 1u, TRAFFIC_G = 2u, TRAFFIC_ALL = (1u << (2 + GOPTIM_MAX_STATE)) - 1 };

typedef struct {
    int pm, gm; /* 0 not touched, 1 read, 2 read and written */
    int ns, sw; /* states 0..ns-1, written or read only */
} traffic_set;

/* The set of reads/writes (reads already |= writes, no bits above 4): 1 and *s when it
 * is one of the family, else 0. */
static int traffic_shape(uint32_t reads, uint32_t writes, traffic_set *s) {
    if (reads == 0) return 0;
    s->pm = (reads & TRAFFIC_P) ? 1 + ((writes & TRAFFIC_P) != 0) : 0;
    s->gm = (reads & TRAFFIC_G) ? 1 + ((writes & TRAFFIC_G) != 0) : 0;
    const uint32_t sr = reads >> 2, sw = writes >> 2;
    if (sw != 0 && sw != sr) return 0; /* some states written, others read only */
    s->sw = sw != 0;
    for (int k = 0; k <= GOPTIM_MAX_STATE; k++)
        if (sr == (1u << k) - 1u) {
            s->ns = k;
            return 1;
        }
    return 0; /* not a prefix */
}

/* Whether some array is folded (only read, and no written array uses it). */
static int traffic_folds(const traffic_set *s) {
    const int gfold = s->gm == 1 && s->pm != 2 && !(s->ns > 0 && s->sw);
    return s->pm == 1 || gfold || (s->ns > 0 && !s->sw);
}

typedef struct {
    const goptim_tensor_list *list;
    traffic_fn fn;
    traffic_set set;
    double *fold; /* gi_piece_slots slots, one per piece; NULL when nothing is folded */
} traffic_job;

static void traffic_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    const traffic_job *j = (const traffic_job *)argp;
    const goptim_tensor_list *l = j->list;
    float *s[GOPTIM_MAX_STATE] = {NULL, NULL, NULL};
    for (int k = 0; k < j->set.ns; k++) s[k] = l->state[k][t] + b;
    float *p = j->set.pm ? l->param[t] + b : NULL;
    float *g = j->set.gm ? l->grad[t] + b : NULL;
    const uint32_t acc = j->fn(n, p, g, s[0], s[1], s[2]);
    if (j->fold) j->fold[chunk + t] = (double)acc;
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
    traffic_set s;
    if (!traffic_shape(reads, writes, &s)) {
        st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED,
                     "traffic_step: reads 0x%x, writes 0x%x: no loop for this set (param and grad each not "
                     "touched, read or written; states 0..n-1 all read only or all written; some array touched)",
                     (unsigned)reads, (unsigned)writes);
        goto out;
    }
    /* the list is checked as a step's: the grad pointers always, the param's when touched */
    st = gi_check_list(ctx, "traffic_step", list, s.pm != 0, (1u << s.ns) - 1u, &total);
    if (st || total == 0) goto out;
    traffic_job j = {list, traffic_table[ctx->isa][s.pm][s.gm][s.ns ? 2 * s.ns - 1 + s.sw : 0], s, NULL};
    if (traffic_folds(&s) && !(j.fold = gi_slots(ctx, gi_piece_slots(total, list->count)))) {
        st = gi_fail(ctx, GOPTIM_ERR_OUT_OF_MEMORY, "traffic_step: no memory for %lld slots",
                     (long long)gi_piece_slots(total, list->count));
        goto out;
    }
    gi_for_list(ctx, list, total, traffic_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
