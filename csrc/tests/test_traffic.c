/*
 * test_traffic.c - goptim_traffic_step reads and writes exactly the arrays its masks
 * name: for every pair of five-bit masks, on every ISA, at one and two threads and over
 * lengths that take the scalar, vector and parallel paths, the arrays it writes hold
 * the documented values (p + g, state + g, -g) and every other array is untouched, bit
 * for bit; the sets without a loop and the bad arguments are refused and change nothing.
 */
#include "testutil.h"

#define NARR (2 + GOPTIM_MAX_STATE) /* param, grad, state 0..2 */

/* Every mask pair on short lengths (the scalar head and tail, the vector body); the
 * supported sets alone on long ones (several chunks, so two threads share them). */
static const int64_t short_lengths[] = {1, 17, 1000};
static const int64_t long_lengths[] = {100003, 300001};
#define NSHORT ((int)(sizeof short_lengths / sizeof short_lengths[0]))
#define NLONG ((int)(sizeof long_lengths / sizeof long_lengths[0]))

/* The documented sets: reads (after |= writes) are param, grad and states 0..ns-1;
 * writes are param, the same states and optionally grad. */
static int expect_supported(uint32_t reads, uint32_t writes, int *ns) {
    reads |= writes;
    for (int k = 0; k <= GOPTIM_MAX_STATE; k++) {
        const uint32_t st = ((1u << k) - 1u) << 2;
        if (reads == (3u | st) && (writes == (1u | st) || writes == (3u | st))) {
            *ns = k;
            return 1;
        }
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

/* After a call with the given masks (supported): every array as documented. */
static void expect_result(const arrays *x, uint32_t writes, int ns, const char *where) {
    const int gw = (writes & 2u) != 0;
    for (int64_t i = 0; i < x->n; i++) {
        const float g = x->orig[1][i];
        float want[NARR];
        want[0] = x->orig[0][i] + g;
        want[1] = gw ? -g : g;
        for (int k = 0; k < GOPTIM_MAX_STATE; k++) want[2 + k] = k < ns ? x->orig[2 + k][i] + g : x->orig[2 + k][i];
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
            int ns = 0;
            if (expect_supported(reads, writes, &ns)) {
                CHECK(st == GOPTIM_OK, "%s: status %d (%s)", where, (int)st, goptim_context_last_error(ctx));
                expect_result(&x, writes, ns, where);
                supported++;
            } else {
                CHECK(st == GOPTIM_ERR_UNSUPPORTED, "%s: status %d, want UNSUPPORTED", where, (int)st);
                CHECK(goptim_context_last_error(ctx)[0] != '\0', "%s: no detail", where);
                expect_unchanged(&x, where);
            }
        }
    /* 8 sets (0..3 states, grad written or not); reads may omit any written array
     * (reads |= writes), so each set has 2^popcount(writes) spellings. */
    int want = 0;
    for (int ns = 0; ns <= GOPTIM_MAX_STATE; ns++) want += (1 << (1 + ns)) + (1 << (2 + ns));
    CHECK(supported == want, "%s, n=%lld: %d supported mask pairs, want %d", isa, (long long)n, supported, want);
    arrays_free(&x);
}

/* The 8 sets, spelled with reads naming every array, on a long tensor. */
static void test_sets(goptim_context *ctx, int64_t n, const char *isa, int threads) {
    arrays x = arrays_new(n, 2000 + (uint64_t)n);
    one_list l;
    one_list_init(&l, &x);
    for (int ns = 0; ns <= GOPTIM_MAX_STATE; ns++)
        for (uint32_t gw = 0; gw < 2; gw++) {
            const uint32_t st = ((1u << ns) - 1u) << 2;
            const goptim_traffic_params hp = {3u | st, 1u | gw << 1 | st};
            char where[128];
            snprintf(where, sizeof where, "%s, %d threads, n=%lld, %d states, grad written %u", isa, threads,
                     (long long)n, ns, gw);
            arrays_reset(&x);
            const goptim_status st_ = goptim_traffic_step(ctx, &l.list, &hp, 1, NULL);
            CHECK(st_ == GOPTIM_OK, "%s: status %d (%s)", where, (int)st_, goptim_context_last_error(ctx));
            expect_result(&x, hp.writes, ns, where);
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
    const goptim_traffic_params hp = {0x1fu, 0x1du}; /* Adam with amsgrad: 3 states, grad read only */
    CHECK_OK(goptim_traffic_step(ctx, &list, &hp, 3, NULL));
    for (int t = 0; t < T; t++) {
        if (ns_[t] == 0) expect_unchanged(&x[t], "list: the empty tensor's arrays");
        else expect_result(&x[t], hp.writes, 3, "list");
        arrays_free(&x[t]);
    }
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
    expect_result(&x, sgdm.writes, 1, "one state with state[1] NULL");
    arrays_reset(&x);
    l.list.state[1] = keep;
    l.ptr[3][0] = NULL;
    expect_refused(ctx, &l.list, &adam, 1, GOPTIM_ERR_INVALID_ARGUMENT, &x, "NULL state[1] pointer");
    l.ptr[3][0] = x.a[3];
    /* the masks are checked before the list: an empty list asks about a set */
    goptim_tensor_list empty = {0, NULL, NULL, NULL, {NULL, NULL, NULL}};
    CHECK_OK(goptim_traffic_step(ctx, &empty, &adam, 1, NULL));
    const goptim_traffic_params no_loop = {0x0bu, 0x09u}; /* state 1 without state 0 */
    expect_refused(ctx, &empty, &no_loop, 1, GOPTIM_ERR_UNSUPPORTED, NULL, "empty list, no loop for the set");
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
