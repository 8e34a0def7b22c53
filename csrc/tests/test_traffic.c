/*
 * test_traffic.c - goptim_traffic_step reads and writes exactly the arrays its masks
 * name: for every pair of five-bit masks, on every ISA, at one and two threads and over
 * lengths that take the scalar, vector and parallel paths, the arrays it writes hold
 * the documented values (x + g with the gradient read, else -x; a written gradient -g)
 * and every other array, read only or not touched, is unchanged bit for bit; the sets
 * outside the family and the bad arguments are refused and change nothing.
 */
#include "testutil.h"

#define NARR (2 + GOPTIM_MAX_STATE) /* param, grad, state 0..2 */

/* Every mask pair on short lengths (the scalar head and tail, the vector body); the
 * supported sets alone on long ones (several chunks, so two threads share them). */
static const int64_t short_lengths[] = {1, 17, 1000};
static const int64_t long_lengths[] = {100003, 300001};
#define NSHORT ((int)(sizeof short_lengths / sizeof short_lengths[0]))
#define NLONG ((int)(sizeof long_lengths / sizeof long_lengths[0]))

/* A set of the family: param and grad each 0 not touched, 1 read, 2 read and written;
 * states 0..ns-1, written (sw) or read only. */
typedef struct {
    int pm, gm, ns, sw;
} tset;

static uint32_t tset_reads(tset s) { return (s.pm ? 1u : 0u) | (s.gm ? 2u : 0u) | ((1u << s.ns) - 1u) << 2; }
static uint32_t tset_writes(tset s) {
    return (s.pm == 2 ? 1u : 0u) | (s.gm == 2 ? 2u : 0u) | (s.sw ? ((1u << s.ns) - 1u) << 2 : 0u);
}

/* The documented sets, enumerated: 3 * 3 * (1 + 3 * 2) - 1 (no array) = 62. */
#define NSETS 62
static int family(tset *out) {
    int n = 0;
    for (int pm = 0; pm < 3; pm++)
        for (int gm = 0; gm < 3; gm++)
            for (int ns = 0; ns <= GOPTIM_MAX_STATE; ns++)
                for (int sw = 0; sw <= (ns > 0); sw++) {
                    const tset s = {pm, gm, ns, sw};
                    if (tset_reads(s) == 0) continue;
                    out[n++] = s;
                }
    return n;
}

/* Whether reads/writes (before reads |= writes) spell a set of the family, and which. */
static int expect_supported(uint32_t reads, uint32_t writes, tset *set) {
    tset all[NSETS];
    const int n = family(all);
    for (int i = 0; i < n; i++)
        if ((reads | writes) == tset_reads(all[i]) && writes == tset_writes(all[i])) {
            *set = all[i];
            return 1;
        }
    return 0;
}

typedef struct {
    int64_t n;
    float *a[NARR];    /* what the call sees */
    float *orig[NARR]; /* the values before it */
} arrays;

static arrays arrays_new(int64_t n, uint64_t seed) {
    arrays x;
    x.n = n;
    tu_rng r = {seed};
    for (int k = 0; k < NARR; k++) {
        x.a[k] = tu_alloc(n);
        x.orig[k] = tu_alloc(n);
        /* nonzero values of both signs: a write of anything but the documented value,
         * and a missed write of -g, both show */
        tu_fill(&r, x.orig[k], n, -2, 2);
        for (int64_t i = 0; i < n; i++)
            if (x.orig[k][i] == 0) x.orig[k][i] = 0.5f;
        memcpy(x.a[k], x.orig[k], (size_t)n * sizeof(float));
    }
    return x;
}

static void arrays_reset(arrays *x) {
    for (int k = 0; k < NARR; k++) memcpy(x->a[k], x->orig[k], (size_t)x->n * sizeof(float));
}

static void arrays_free(arrays *x) {
    for (int k = 0; k < NARR; k++) {
        free(x->a[k]);
        free(x->orig[k]);
    }
}

/* A list of one tensor over x, every pointer set (the masks decide what is used). */
typedef struct {
    goptim_tensor_list list;
    int64_t numel[1];
    float *ptr[NARR][1];
} one_list;

static void one_list_init(one_list *l, arrays *x) {
    memset(l, 0, sizeof *l);
    l->numel[0] = x->n;
    for (int k = 0; k < NARR; k++) l->ptr[k][0] = x->a[k];
    l->list.count = 1;
    l->list.numel = l->numel;
    l->list.param = l->ptr[0];
    l->list.grad = l->ptr[1];
    for (int k = 0; k < GOPTIM_MAX_STATE; k++) l->list.state[k] = l->ptr[2 + k];
}

/* After a call with a supported set: every array as documented (written: x + g with the
 * gradient read, else -x; the gradient -g; the rest unchanged). */
static float written(float x, float g, int gm) { return gm ? x + g : -x; }

static void expect_result(const arrays *x, tset s, const char *where) {
    for (int64_t i = 0; i < x->n; i++) {
        const float g = x->orig[1][i];
        float want[NARR];
        want[0] = s.pm == 2 ? written(x->orig[0][i], g, s.gm) : x->orig[0][i];
        want[1] = s.gm == 2 ? -g : g;
        for (int k = 0; k < GOPTIM_MAX_STATE; k++)
            want[2 + k] = k < s.ns && s.sw ? written(x->orig[2 + k][i], g, s.gm) : x->orig[2 + k][i];
        for (int k = 0; k < NARR; k++)
            CHECK(tu_bits_equal(&x->a[k][i], &want[k], 1, NULL), "%s: array %d element %lld: %.9g, want %.9g", where,
                  k, (long long)i, x->a[k][i], want[k]);
    }
}

static void expect_unchanged(const arrays *x, const char *where) {
    for (int k = 0; k < NARR; k++) {
        int64_t i = 0;
        CHECK(tu_bits_equal(x->a[k], x->orig[k], x->n, &i), "%s: array %d changed at element %lld", where, k,
              (long long)i);
    }
}

/* Every pair of five-bit masks on one length: the supported sets give the documented
 * result, the others GOPTIM_ERR_UNSUPPORTED with a detail and no change. */
static void test_all_masks(goptim_context *ctx, int64_t n, const char *isa, int threads) {
    arrays x = arrays_new(n, 1000 + (uint64_t)n);
    one_list l;
    one_list_init(&l, &x);
    int supported = 0;
    for (uint32_t reads = 0; reads < 32; reads++)
        for (uint32_t writes = 0; writes < 32; writes++) {
            char where[160];
            snprintf(where, sizeof where, "%s, %d threads, n=%lld, reads 0x%x writes 0x%x", isa, threads,
                     (long long)n, reads, writes);
            arrays_reset(&x);
            const goptim_traffic_params hp = {reads, writes};
            const goptim_status st = goptim_traffic_step(ctx, &l.list, &hp, 1, NULL);
            tset set;
            if (expect_supported(reads, writes, &set)) {
                CHECK(st == GOPTIM_OK, "%s: status %d (%s)", where, (int)st, goptim_context_last_error(ctx));
                expect_result(&x, set, where);
                supported++;
            } else {
                CHECK(st == GOPTIM_ERR_UNSUPPORTED, "%s: status %d, want UNSUPPORTED", where, (int)st);
                CHECK(goptim_context_last_error(ctx)[0] != '\0', "%s: no detail", where);
                expect_unchanged(&x, where);
            }
        }
    /* 62 sets; reads may omit any written array (reads |= writes), so each set has
     * 2^popcount(writes) spellings. Counted here from the three choices per array
     * (param, grad, states), not from the list of sets: the product over param and grad
     * of (1 not touched + 1 read + 2 read and written spellings) times, for the states,
     * 1 (none) + sum over n of (1 read only + 2^n written), less the empty set. */
    int states = 1;
    for (int ns = 1; ns <= GOPTIM_MAX_STATE; ns++) states += 1 + (1 << ns);
    const int want = 4 * 4 * states - 1;
    CHECK(supported == want, "%s, n=%lld: %d supported mask pairs, want %d", isa, (long long)n, supported, want);
    arrays_free(&x);
}

/* The 62 sets, spelled with reads naming every array, on a long tensor. */
static void test_sets(goptim_context *ctx, int64_t n, const char *isa, int threads) {
    arrays x = arrays_new(n, 2000 + (uint64_t)n);
    one_list l;
    one_list_init(&l, &x);
    tset all[NSETS];
    const int nsets = family(all);
    CHECK(nsets == NSETS, "%d sets in the family, want %d", nsets, NSETS);
    for (int i = 0; i < nsets; i++) {
        const goptim_traffic_params hp = {tset_reads(all[i]), tset_writes(all[i])};
        char where[160];
        snprintf(where, sizeof where, "%s, %d threads, n=%lld, reads 0x%x writes 0x%x", isa, threads, (long long)n,
                 hp.reads, hp.writes);
        arrays_reset(&x);
        const goptim_status st_ = goptim_traffic_step(ctx, &l.list, &hp, 1, NULL);
        CHECK(st_ == GOPTIM_OK, "%s: status %d (%s)", where, (int)st_, goptim_context_last_error(ctx));
        expect_result(&x, all[i], where);
    }
    arrays_free(&x);
}

/* A list of several tensors (one empty) over one set of arrays per tensor: each
 * tensor gets the documented result on its own elements only. */
static void test_list(goptim_context *ctx) {
    static const int64_t ns_[] = {5, 0, 70001, 16};
    enum { T = 4 };
    arrays x[T];
    int64_t numel[T];
    float *ptr[NARR][T];
    for (int t = 0; t < T; t++) {
        x[t] = arrays_new(ns_[t] > 0 ? ns_[t] : 1, 77 + (uint64_t)t);
        numel[t] = ns_[t];
        for (int k = 0; k < NARR; k++) ptr[k][t] = x[t].a[k];
    }
    goptim_tensor_list list = {T, numel, ptr[0], ptr[1], {ptr[2], ptr[3], ptr[4]}};
    /* Adam with amsgrad (3 states, grad read only), LAMB's passes (pass 1: param and grad
     * read, 2 states written; pass 2: param written, 2 states read only; the norm: the
     * gradient alone, read), LARS's first pass (param and grad read) */
    static const tset sets[] = {{1, 1, 0, 0}, {2, 1, 3, 1}, {1, 1, 2, 1}, {2, 0, 2, 0}, {0, 1, 0, 0}};
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        const goptim_traffic_params hp = {tset_reads(sets[s]), tset_writes(sets[s])};
        for (int t = 0; t < T; t++) arrays_reset(&x[t]);
        CHECK_OK(goptim_traffic_step(ctx, &list, &hp, 3, NULL));
        for (int t = 0; t < T; t++) {
            if (ns_[t] == 0) expect_unchanged(&x[t], "list: the empty tensor's arrays");
            else expect_result(&x[t], sets[s], "list");
        }
    }
    for (int t = 0; t < T; t++) arrays_free(&x[t]);
}

static void expect_refused(goptim_context *ctx, const goptim_tensor_list *list, const goptim_traffic_params *hp,
                           int64_t step, goptim_status want, arrays *x, const char *what) {
    const goptim_status st = goptim_traffic_step(ctx, list, hp, step, NULL);
    CHECK(st == want, "%s: status %d, want %d", what, (int)st, (int)want);
    CHECK(goptim_context_last_error(ctx)[0] != '\0', "%s: no detail", what);
    if (x) expect_unchanged(x, what);
}

static void test_refusals(goptim_context *ctx) {
    arrays x = arrays_new(1000, 5);
    one_list l;
    one_list_init(&l, &x);
    const goptim_traffic_params adam = {0x0fu, 0x0du};
    expect_refused(ctx, &l.list, NULL, 1, GOPTIM_ERR_INVALID_ARGUMENT, &x, "NULL params");
    expect_refused(ctx, &l.list, &adam, 0, GOPTIM_ERR_INVALID_ARGUMENT, &x, "step 0");
    expect_refused(ctx, NULL, &adam, 1, GOPTIM_ERR_INVALID_ARGUMENT, NULL, "NULL list");
    for (uint32_t bit = 5; bit < 32; bit++) {
        const goptim_traffic_params hi_r = {adam.reads | 1u << bit, adam.writes};
        const goptim_traffic_params hi_w = {adam.reads, adam.writes | 1u << bit};
        expect_refused(ctx, &l.list, &hi_r, 1, GOPTIM_ERR_INVALID_ARGUMENT, &x, "a read bit above 4");
        expect_refused(ctx, &l.list, &hi_w, 1, GOPTIM_ERR_INVALID_ARGUMENT, &x, "a write bit above 4");
    }
    /* a state the masks name but the list lacks: the array, or one tensor's pointer */
    float *const *keep = l.list.state[1];
    l.list.state[1] = NULL;
    expect_refused(ctx, &l.list, &adam, 1, GOPTIM_ERR_INVALID_ARGUMENT, &x, "NULL state[1] array");
    const goptim_traffic_params sgdm = {0x07u, 0x05u}; /* one state: state[1] is not read */
    CHECK_OK(goptim_traffic_step(ctx, &l.list, &sgdm, 1, NULL));
    expect_result(&x, (tset){2, 1, 1, 1}, "one state with state[1] NULL");
    arrays_reset(&x);
    l.list.state[1] = keep;
    l.ptr[3][0] = NULL;
    expect_refused(ctx, &l.list, &adam, 1, GOPTIM_ERR_INVALID_ARGUMENT, &x, "NULL state[1] pointer");
    const goptim_traffic_params lamb2 = {0x0fu, 0x01u}; /* state[1] read only is checked too */
    expect_refused(ctx, &l.list, &lamb2, 1, GOPTIM_ERR_INVALID_ARGUMENT, &x, "NULL state[1] pointer, read only");
    l.ptr[3][0] = x.a[3];
    /* a set without the param needs no param array */
    float *const *keep_p = l.list.param;
    l.list.param = NULL;
    const goptim_traffic_params norm = {0x02u, 0x00u}; /* the gradient alone, read */
    CHECK_OK(goptim_traffic_step(ctx, &l.list, &norm, 1, NULL));
    expect_unchanged(&x, "gradient read, param array NULL");
    expect_refused(ctx, &l.list, &lamb2, 1, GOPTIM_ERR_INVALID_ARGUMENT, &x, "NULL param array, param written");
    l.list.param = keep_p;
    /* the masks are checked before the list: an empty list asks about a set */
    goptim_tensor_list empty = {0, NULL, NULL, NULL, {NULL, NULL, NULL}};
    CHECK_OK(goptim_traffic_step(ctx, &empty, &adam, 1, NULL));
    static const goptim_traffic_params no_loop[] = {
        {0x0bu, 0x09u}, /* state 1 without state 0 */
        {0x13u, 0x01u}, /* state 2 without states 0 and 1, read only */
        {0x0fu, 0x05u}, /* state 0 written, state 1 read only */
        {0x1fu, 0x19u}, /* states 1 and 2 written, state 0 read only */
        {0x00u, 0x00u}, /* no array */
    };
    for (size_t i = 0; i < sizeof no_loop / sizeof no_loop[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "reads 0x%x writes 0x%x: no loop for the set", no_loop[i].reads,
                 no_loop[i].writes);
        expect_refused(ctx, &empty, &no_loop[i], 1, GOPTIM_ERR_UNSUPPORTED, NULL, what);
        expect_refused(ctx, &l.list, &no_loop[i], 1, GOPTIM_ERR_UNSUPPORTED, &x, what);
    }
    arrays_free(&x);
}

int main(void) {
    goptim_context *ctx = NULL;
    CHECK_OK(goptim_context_create(1, &ctx));
    goptim_isa isas[4];
    const int nisa = tu_isas(ctx, isas);
    for (int t = 1; t <= 2; t++) {
        CHECK_OK(goptim_context_set_threads(ctx, t));
        for (int i = 0; i < nisa; i++) {
            CHECK_OK(goptim_context_set_isa(ctx, isas[i]));
            for (int li = 0; li < NSHORT; li++) test_all_masks(ctx, short_lengths[li], tu_isa_name(isas[i]), t);
            for (int li = 0; li < NLONG; li++) test_sets(ctx, long_lengths[li], tu_isa_name(isas[i]), t);
            test_list(ctx);
        }
    }
    CHECK_OK(goptim_context_set_isa(ctx, GOPTIM_ISA_AUTO));
    test_refusals(ctx);
    CHECK_OK(goptim_context_destroy(ctx));
    printf("test_traffic: ok (%d ISAs)\n", nisa);
    return 0;
}
