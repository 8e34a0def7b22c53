/*
 * goptim.h - the whole C ABI of goptim.
 *
 * Both backends implement every function declared here: csrc/ (CPU, OpenBLAS, a
 * persistent thread pool) and cuda/ (GPU, cuBLAS, one stream per context). The Go
 * packages binding/ and optim/ are the same code for both; a build tag only decides
 * which library is linked.
 *
 * Conventions
 *  - Every entry point returns goptim_status; outputs go through pointer arguments.
 *  - Lengths and counts are int64_t. A length of 0 is valid and does nothing.
 *  - "Backend memory" means memory from goptim_alloc: host memory on the CPU backend
 *    (any host pointer works there too), device memory on the GPU backend.
 *  - No hidden globals: a goptim_context holds the thread pool (CPU) or stream and
 *    cuBLAS handle (GPU). Calls on one context are serialised by the library; calls on
 *    different contexts may run concurrently.
 *  - Hyperparameters are plain structs of doubles and ints, named as in torch.optim.
 *    Derived scalars (bias corrections, lr/bc1, 1-beta, ...) are computed in double on
 *    the host and rounded to float once, as torch does, so results match torch's.
 *  - The library validates only what it must to stay memory-safe (NULL pointers,
 *    negative lengths); judging hyperparameters is the Go package's job.
 *  - One contract, one behaviour: both backends return the same status for the same
 *    arguments (the cases that differ between BLAS, CUDA and libc are spelled out at each
 *    function below: goptim_alloc, goptim_copy, goptim_grad_norm, goptim_sgemm).
 *  - Failures leave nothing behind: on the GPU backend no entry point leaves a pending
 *    CUDA error on the calling thread (a later call, or the caller's own CUDA code, never
 *    sees it; an error other code left pending before the call is not this call's, and
 *    is dropped), and no C++ exception crosses into the caller (std::bad_alloc becomes
 *    GOPTIM_ERR_OUT_OF_MEMORY, any other GOPTIM_ERR_BACKEND, with the detail in
 *    goptim_context_last_error).
 */
#ifndef GOPTIM_H
#define GOPTIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

typedef enum {
    GOPTIM_OK = 0,
    GOPTIM_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, negative length, bad enum value   */
    GOPTIM_ERR_OUT_OF_MEMORY = 2,    /* host or device allocation failed                 */
    GOPTIM_ERR_NONFINITE = 3,        /* a norm was NaN or Inf and the caller asked to know */
    GOPTIM_ERR_BACKEND = 4,          /* CUDA / cuBLAS / pthread failure                   */
    GOPTIM_ERR_UNSUPPORTED = 5,      /* not available in this build or on this machine  */
} goptim_status;

/* A static, human-readable description of a status. Never NULL. */
const char *goptim_status_string(goptim_status s);


/* ---------------------------------------------------------------- backend */

/* "cpu" or "cuda". */
const char *goptim_backend_name(void);
/* 1 when backend memory is device memory (not addressable from the host). */
int goptim_backend_is_device(void);

/* Instruction sets of the CPU kernels. GOPTIM_ISA_AUTO picks the best the CPU has. */
typedef enum {
    GOPTIM_ISA_AUTO = 0,
    GOPTIM_ISA_PORTABLE = 1, /* plain C, vectorised by the compiler for the base ISA */
    GOPTIM_ISA_AVX2 = 2,     /* x86-64 AVX2 + FMA                                    */
    GOPTIM_ISA_AVX512 = 3,   /* x86-64 AVX-512F                                      */
    GOPTIM_ISA_NEON = 4,     /* arm64 Advanced SIMD                                  */
} goptim_isa;

/* ---------------------------------------------------------------- context */

typedef struct goptim_context goptim_context;

/* Details of the last failure on this context ("" if none): the CUDA error string,
 * the failing call. The text is valid until the next call on the context (which may
 * overwrite it; read it under the same lock that serialises the calls); the pointer
 * itself points into the context and stays valid until goptim_context_destroy. Never
 * NULL. */
const char *goptim_context_last_error(const goptim_context *ctx);

/* Creates a context. threads <= 0 means one per online CPU (CPU backend); the GPU
 * backend ignores threads and uses device 0 with a stream of its own. The GPU backend
 * makes its device current only for the duration of each call and then restores the
 * calling thread's previous device: code around it keeps the device it chose. */
goptim_status goptim_context_create(int32_t threads, goptim_context **out);
/* goptim_context_create on a chosen device: a CUDA device ordinal on the GPU backend
 * (0 <= device < goptim_device_count), 0 on the CPU backend (the host is its one
 * device). Any other device is GOPTIM_ERR_INVALID_ARGUMENT. */
goptim_status goptim_context_create_on(int32_t device, int32_t threads, goptim_context **out);
/* The number of devices a context can be created on: the CUDA devices the process sees
 * on the GPU backend (GOPTIM_ERR_UNSUPPORTED when there are none), 1 on the CPU. */
goptim_status goptim_device_count(int32_t *out);
/* The device the context was created on. */
goptim_status goptim_context_device(const goptim_context *ctx, int32_t *out);
goptim_status goptim_context_destroy(goptim_context *ctx);
/* Changes the thread count of the CPU pool (n <= 0: one per online CPU). */
goptim_status goptim_context_set_threads(goptim_context *ctx, int32_t n);
goptim_status goptim_context_threads(const goptim_context *ctx, int32_t *out);
/* Forces an instruction set for the CPU kernels (tests, benchmarks). Returns
 * GOPTIM_ERR_UNSUPPORTED if the CPU or the build lacks it. No-op on the GPU. */
goptim_status goptim_context_set_isa(goptim_context *ctx, goptim_isa isa);
goptim_status goptim_context_isa(const goptim_context *ctx, goptim_isa *out);
/* Waits until all work queued on the context is done (a no-op on the CPU, whose
 * calls are synchronous). */
goptim_status goptim_context_synchronize(goptim_context *ctx);

/*
 * Streams (GPU). Every call on a context queues its device work (zero-fill of new
 * memory, copies between backend memory, steps, norms, sgemm, stream-ordered frees) on
 * one stream, in call order, and returns without waiting unless it says otherwise
 * (copies to or from the host wait; so do the steps and checks whose result the caller
 * reads on the host). Work the caller queues on other streams is NOT ordered with it.
 * Two ways to order it, both with the caller's own CUDA calls:
 *  - goptim_context_stream gives the context's stream: queue your work on it, or record
 *    an event there and make your stream wait on it (and the other way round);
 *  - goptim_context_set_stream makes the context queue its later work on your stream,
 *    so your kernels and the library's run in one order.
 * The CPU backend runs every call on the calling thread before returning, so there is
 * nothing to order: its stream is NULL.
 */

/* The stream (a cudaStream_t) the context queues its work on: its own non-blocking
 * stream, or the one set with goptim_context_set_stream. NULL on the CPU backend. */
goptim_status goptim_context_stream(const goptim_context *ctx, void **out);
/* Makes the context queue its later work on `stream`, a cudaStream_t of the context's
 * device that the caller owns; NULL (or the context's own stream) goes back to the
 * context's own stream. Work already queued on the previous stream stays ordered before
 * everything queued on the new one (the new stream waits on an event recorded on the
 * old), so the switch itself never reorders the library's work. The caller keeps the
 * stream alive until it sets another one or destroys the context; destroying the
 * context waits for the stream but does not destroy it. A stream cannot be checked for
 * validity, so a dangling or foreign handle is undefined behaviour, as in CUDA. CPU
 * backend: NULL is accepted (a no-op), anything else is GOPTIM_ERR_UNSUPPORTED. */
goptim_status goptim_context_set_stream(goptim_context *ctx, void *stream);

/* ---------------------------------------------------------------- memory */

/* Allocates n floats of backend memory, zero-filled, 64-byte aligned. n == 0 gives a
 * valid, unique pointer that must still be freed. n < 0 is GOPTIM_ERR_INVALID_ARGUMENT;
 * a size no allocation can satisfy (its byte count overflows, or it exceeds the
 * device's memory) is GOPTIM_ERR_OUT_OF_MEMORY, like any failed allocation.
 * GPU: the memory is allocated in the order of the context's stream (the device's
 * stream-ordered pool where it has one): it is ready for every later call on this
 * context; work on another context may use it after goptim_context_synchronize on this
 * one. */
goptim_status goptim_alloc(goptim_context *ctx, int64_t n, float **out);
/* Frees memory from goptim_alloc; p may be NULL. GPU: the free is queued on the
 * context's stream (cudaFreeAsync): it takes effect after the work already queued on
 * the context, and the call returns without waiting for that work or synchronising the
 * device, so it is cheap enough for a finalizer. Work queued on another context that
 * uses p must be finished (goptim_context_synchronize there) before p is freed. On a
 * device without stream-ordered allocation the call waits for the context's stream. */
goptim_status goptim_free(goptim_context *ctx, float *p);
/* Copies n floats. host_* are host pointers, dst/src backend memory. goptim_copy's
 * ranges may overlap: the result is memmove's on both backends. */
goptim_status goptim_copy_from_host(goptim_context *ctx, float *dst, const float *host_src, int64_t n);
goptim_status goptim_copy_to_host(goptim_context *ctx, float *host_dst, const float *src, int64_t n);
goptim_status goptim_copy(goptim_context *ctx, float *dst, const float *src, int64_t n);
goptim_status goptim_fill(goptim_context *ctx, float *dst, float value, int64_t n);

/* ---------------------------------------------------------------- tensor lists */

#define GOPTIM_MAX_STATE 3

/*
 * A list of tensors updated by one call: tensor i has numel[i] elements at param[i],
 * grad[i] and state[k][i] (k < the optimizer's state count, see each step function).
 * The arrays themselves are host memory; the pointers in them are backend memory.
 * A flat arena is a list of one tensor. Tensors must not overlap one another.
 */
typedef struct {
    int64_t count;
    const int64_t *numel;
    float *const *param;
    float *const *grad;
    float *const *state[GOPTIM_MAX_STATE];
} goptim_tensor_list;

/*
 * Per-call extras shared by every step function; pass NULL for none. All pointers are
 * backend memory holding one float, so the GPU never has to sync with the host.
 *  - grad_scale: AMP loss scale. Each gradient is divided by it before use, and the
 *    unscaled gradient is written back (as torch's fused kernels do).
 *  - found_inf: if *found_inf != 0 the call changes nothing (params, state, grads).
 *  - clip_norm with max_norm > 0: a total gradient norm from goptim_grad_norm; each
 *    gradient is multiplied by min(max_norm / (*clip_norm + 1e-6), 1) as it is read
 *    (the gradient in memory is not changed). This is clip_grad_norm_ fused into the step.
 * Order inside the kernel: unscale, then clip, then the update.
 */
typedef struct {
    const float *grad_scale;
    const float *found_inf;
    const float *clip_norm;
    double max_norm;
} goptim_step_aux;

/* ---------------------------------------------------------------- optimizers */

/* step is the 1-based step count of every tensor in the list (the Go side groups
 * tensors by step count, so in practice one call per group). */

/* SGD. state[0] = momentum buffer (only when momentum != 0). On step == 1 the buffer
 * is set to the gradient, as torch does when the buffer is None. */
typedef struct {
    double lr, momentum, dampening, weight_decay;
    int32_t nesterov, maximize;
} goptim_sgd_params;
goptim_status goptim_sgd_step(goptim_context *ctx, const goptim_tensor_list *list,
                              const goptim_sgd_params *hp, int64_t step, const goptim_step_aux *aux);

/* Adam and AdamW (decoupled_weight_decay = 1). state[0] = exp_avg, state[1] =
 * exp_avg_sq, state[2] = max_exp_avg_sq (only when amsgrad). */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int32_t amsgrad, maximize, decoupled_weight_decay;
} goptim_adam_params;
goptim_status goptim_adam_step(goptim_context *ctx, const goptim_tensor_list *list,
                               const goptim_adam_params *hp, int64_t step, const goptim_step_aux *aux);

/* Adagrad. state[0] = sum (initialised by the caller to initial_accumulator_value). */
typedef struct {
    double lr, lr_decay, weight_decay, eps;
    int32_t maximize;
} goptim_adagrad_params;
goptim_status goptim_adagrad_step(goptim_context *ctx, const goptim_tensor_list *list,
                                  const goptim_adagrad_params *hp, int64_t step, const goptim_step_aux *aux);

/* Adamax. state[0] = exp_avg, state[1] = exp_inf (both start at 0). */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int32_t maximize;
} goptim_adamax_params;
goptim_status goptim_adamax_step(goptim_context *ctx, const goptim_tensor_list *list,
                                 const goptim_adamax_params *hp, int64_t step, const goptim_step_aux *aux);

/* RAdam, and RAdamW (decoupled_weight_decay = 1). state[0] = exp_avg, state[1] =
 * exp_avg_sq (both start at 0). */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int32_t decoupled_weight_decay, maximize;
} goptim_radam_params;
goptim_status goptim_radam_step(goptim_context *ctx, const goptim_tensor_list *list,
                                const goptim_radam_params *hp, int64_t step, const goptim_step_aux *aux);

/* Adadelta. state[0] = square_avg, state[1] = acc_delta (both start at 0). */
typedef struct {
    double lr, rho, eps, weight_decay;
    int32_t maximize;
} goptim_adadelta_params;
goptim_status goptim_adadelta_step(goptim_context *ctx, const goptim_tensor_list *list,
                                   const goptim_adadelta_params *hp, int64_t step, const goptim_step_aux *aux);

/* Rprop. state[0] = prev (starts at 0), state[1] = step_size (starts at lr rounded to
 * float: the caller fills it when the param's state is created). lr is not read by the
 * step. */
typedef struct {
    double lr, etaminus, etaplus, step_size_min, step_size_max;
    int32_t maximize;
} goptim_rprop_params;
goptim_status goptim_rprop_step(goptim_context *ctx, const goptim_tensor_list *list,
                                const goptim_rprop_params *hp, int64_t step, const goptim_step_aux *aux);

/* NAdam, and NAdamW (decoupled_weight_decay = 1). state[0] = exp_avg, state[1] =
 * exp_avg_sq (both start at 0). torch keeps one more value per param, mu_product (the
 * product of the momentum coefficients mu_1..mu_t, a float32 starting at 1): the caller
 * passes the params' value before this step in mu_product (every param of the list has
 * the same) and after a step that was not skipped stores the value
 * goptim_nadam_mu_product gives for the same hp and step. */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay, momentum_decay;
    double mu_product; /* before this step: a float32 value, 1 before the first step */
    int32_t decoupled_weight_decay, maximize;
} goptim_nadam_params;
goptim_status goptim_nadam_step(goptim_context *ctx, const goptim_tensor_list *list,
                                const goptim_nadam_params *hp, int64_t step, const goptim_step_aux *aux);
/* mu_product after step `step` (host arithmetic, the same on every backend). */
goptim_status goptim_nadam_mu_product(const goptim_nadam_params *hp, int64_t step, float *out);

/* ASGD. state[0] = ax, the averaged params (starts at 0). torch keeps two more values per
 * param, eta and mu (float32; eta starts at lr, mu at 1): the caller passes the params'
 * values before this step (every param of the list has the same) and after a step that
 * was not skipped stores the values goptim_asgd_next gives for the same hp and step. */
typedef struct {
    double lr, lambd, alpha, t0, weight_decay;
    double eta, mu; /* before this step: float32 values */
    int32_t maximize;
} goptim_asgd_params;
goptim_status goptim_asgd_step(goptim_context *ctx, const goptim_tensor_list *list,
                               const goptim_asgd_params *hp, int64_t step, const goptim_step_aux *aux);
/* eta and mu after step `step` (host arithmetic, the same on every backend). */
goptim_status goptim_asgd_next(const goptim_asgd_params *hp, int64_t step, float *eta, float *mu);

/* Adafactor (torch 2.5+), no first moment. Not element-wise: each tensor's update
 * depends on norms over the whole tensor (of the param, and of the update, which is
 * clipped to RMS d), so a tensor is one unit of the list and must not be split or
 * merged with its neighbours. Tensor i with rows[i] > 0 is a stack of numel[i] /
 * (rows[i] * cols[i]) row-major rows[i] x cols[i] matrices (torch's grad.dim() > 1, the
 * last two dimensions), whose second moment is factored: state[0][i] = row_var (one
 * float per row of every matrix), state[1][i] = col_var (one per column of every
 * matrix). With rows[i] == 0 it is a vector: state[2][i] = variance (numel[i] floats).
 * All start at 0. rows and cols are host arrays of list->count entries; cols is read
 * only where rows[i] > 0, and then rows[i] * cols[i] must divide numel[i]. eps1 is
 * torch's eps[0] (None there means the param dtype's machine epsilon, 2^-23 for
 * float32). The norms are summed in double, so results can differ from torch's float
 * reductions in the last bits. */
typedef struct {
    double lr, beta2_decay, eps1, eps2, d, weight_decay;
    int32_t maximize;
} goptim_adafactor_params;
goptim_status goptim_adafactor_step(goptim_context *ctx, const goptim_tensor_list *list, const int64_t *rows,
                                    const int64_t *cols, const goptim_adafactor_params *hp, int64_t step,
                                    const goptim_step_aux *aux);

/* Lion (Chen et al. 2023, google/automl lion/lion_pytorch.py). state[0] = exp_avg (starts
 * at 0). sign(0) is 0, as in the reference (torch.sign), where some fused kernels step
 * by lr. */
typedef struct {
    double lr, beta1, beta2, weight_decay;
} goptim_lion_params;
goptim_status goptim_lion_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_lion_params *hp,
                               int64_t step, const goptim_step_aux *aux);

/* AdEMAMix (Pagliardini et al. 2024, apple/ml-ademamix pytorch/ademamix.py). state[0] =
 * exp_avg_fast (only when beta1 != 0; with beta1 == 0 the gradient takes its place),
 * state[1] = exp_avg_slow, state[2] = exp_avg_sq (all start at 0). alpha_warmup and
 * beta3_warmup are step counts, 0 for none (the reference's None). */
typedef struct {
    double lr, beta1, beta2, beta3, alpha, eps, weight_decay;
    int64_t alpha_warmup, beta3_warmup;
} goptim_ademamix_params;
goptim_status goptim_ademamix_step(goptim_context *ctx, const goptim_tensor_list *list,
                                   const goptim_ademamix_params *hp, int64_t step, const goptim_step_aux *aux);

/* LAMB (You et al. 2019) as apex's FusedLAMB computes it (apex/optimizers/fused_lamb.py,
 * csrc/multi_tensor_lamb.cu), its scalars in float as apex's kernel takes them. state[0] =
 * exp_avg, state[1] = exp_avg_sq (start at 0). With g the gradient as read (aux applied):
 *   clip = max_grad_norm > 0 && gn > max_grad_norm ? gn / max_grad_norm : 1   (gn = *global_grad_norm)
 *   s = g / clip;  s += weight_decay*p                          (adam_w_mode 0: L2)
 *   m = m*beta1 + beta3*s   (beta3 = grad_averaging ? 1-beta1 : 1)
 *   v = v*beta2 + (1-beta2)*s*s
 *   u = (m/bc1) / (sqrt(v/bc2) + eps);  u += weight_decay*p     (adam_w_mode 1)
 *   p -= ratio*u, ratio = lr * trust per tensor, trust = ||p|| / ||u|| when
 *   (use_nvlamb || weight_decay != 0) and both norms are non-zero, else 1;
 *   trust_clip (timm's LAMBC) caps trust at 1.
 * bc1 = 1 - beta1^step, bc2 = 1 - beta2^step (1 without bias_correction). The norms are
 * summed in double and rounded to float once (apex sums in float). global_grad_norm is
 * backend memory holding one float (goptim_grad_norm over every gradient of the
 * optimizer: apex's norm spans all its groups), read only when max_grad_norm > 0; apex
 * has no off switch (its 0 divides every gradient by +Inf), here 0 means no clipping.
 * Per tensor one pass, plus a second that applies the trust ratio when it is used. */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay, max_grad_norm;
    int32_t bias_correction, grad_averaging, adam_w_mode, use_nvlamb, trust_clip;
    const float *global_grad_norm;
} goptim_lamb_params;
goptim_status goptim_lamb_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_lamb_params *hp,
                               int64_t step, const goptim_step_aux *aux);

/* LARS as apex's LARC wraps torch.optim.SGD (apex/parallel/LARC.py): per tensor, with g the
 * gradient as read (aux applied) and the norms summed in double, rounded to float once,
 *   if ||p|| != 0 and ||g|| != 0:
 *     a = trust_coefficient*||p|| / (||g|| + ||p||*weight_decay + eps)
 *     a = clip ? min(a/lr, 1) : a                   (LARC's clipping; without it LARS)
 *     g = (g + weight_decay*p) * a                  (else g unchanged, no weight decay)
 * then SGD without weight decay: g = maximize ? -g : g; state[0] = momentum buffer (only
 * when momentum != 0; set to g on step == 1), buf = momentum*buf + (1-dampening)*g,
 * g = nesterov ? g + momentum*buf : buf; p -= lr*g. One pass for the norms, one for the
 * update. */
typedef struct {
    double lr, momentum, dampening, weight_decay, trust_coefficient, eps;
    int32_t nesterov, maximize, clip;
} goptim_lars_params;
goptim_status goptim_lars_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_lars_params *hp,
                               int64_t step, const goptim_step_aux *aux);

/* RMSprop. state[0] = square_avg, state[1] = momentum_buffer (only when momentum > 0),
 * state[2] = grad_avg (only when centered). */
typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
    int32_t centered, maximize;
} goptim_rmsprop_params;
goptim_status goptim_rmsprop_step(goptim_context *ctx, const goptim_tensor_list *list,
                                  const goptim_rmsprop_params *hp, int64_t step, const goptim_step_aux *aux);

/* ---------------------------------------------------------------- Schedule-Free */

/* Schedule-Free AdamW (Defazio et al. 2024, facebookresearch/schedule_free
 * schedulefree/adamw_schedulefree.py, its per-tensor path). The params hold y, the point
 * the gradients are taken at, in train mode. state[0] = z, state[1] = exp_avg_sq (starts
 * at 0). z starts as a copy of the param at its first step: on step == 1 the kernel takes
 * the param as z and only writes state[0], so its memory needs no filling. The reference
 * keeps k (here step - 1), weight_sum and lr_max per group as Python floats beside the
 * tensors: the caller passes the params' weight_sum and lr_max before this step (0 and -1
 * before the first; every param of the list has the same) and after a step that was not
 * skipped stores the values goptim_schedulefree_adamw_next gives for the same hp and step.
 * lr is the group's lr before warmup. In double, as the reference's Python (pow is the C
 * library's, which Python's ** calls):
 *   sched = step <= warmup_steps ? step / warmup_steps : 1;  lr_t = lr * sched
 *   lr_max = max(lr_t, lr_max);  weight = step^r * lr_max^weight_lr_power
 *   weight_sum += weight;  ckp1 = weight_sum != 0 ? weight / weight_sum : 0
 * then per element, in float, with g the gradient as read (aux applied; the gradient in
 * memory is not divided, where the reference divides it in place):
 *   v = beta2*v + (1-beta2)*g*g;  u = g / (sqrt(v / (1 - beta2^step)) + eps)
 *   u += weight_decay*y  (weight_decay != 0)
 *   y = lerp(y, z, ckp1) + lr_t*(beta1*(1-ckp1) - 1)*u;  z -= lr_t*u
 * A weight or weight_sum past double's range (the reference raises OverflowError) or
 * 0 to a negative weight_lr_power (ZeroDivisionError there) gives Inf or NaN here:
 * the caller checks goptim_schedulefree_adamw_next's results before stepping. */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay, r, weight_lr_power;
    int64_t warmup_steps;
    double weight_sum, lr_max; /* before this step */
} goptim_schedulefree_adamw_params;
goptim_status goptim_schedulefree_adamw_step(goptim_context *ctx, const goptim_tensor_list *list,
                                             const goptim_schedulefree_adamw_params *hp, int64_t step,
                                             const goptim_step_aux *aux);
/* weight_sum and lr_max after step `step` (host arithmetic, the same on every backend). */
goptim_status goptim_schedulefree_adamw_next(const goptim_schedulefree_adamw_params *hp, int64_t step,
                                             double *weight_sum, double *lr_max);

/* param[i] = lerp(param[i], state[slot][i], weight) for every tensor of the list, as
 * torch's lerp_ with a scalar weight rounds it (weight rounded to float, one fused
 * multiply-add; gm_lerp of csrc/gm_ops.h): Schedule-Free's switch between train and eval
 * (weight 1 - beta1 into train mode, 1 - 1/beta1 into eval). Reads param and
 * state[slot], writes param; grad and the other state arrays are not read and may be
 * NULL. slot outside [0, GOPTIM_MAX_STATE) is GOPTIM_ERR_INVALID_ARGUMENT. */
goptim_status goptim_lerp_state(goptim_context *ctx, const goptim_tensor_list *list, int32_t slot, double weight);

/* ---------------------------------------------------------------- gradients */

/* Total norm of all grad[i] of the list, as torch.nn.utils.clip_grad_norm_ computes it:
 * norm_type 2 (L2 of all elements) or +INFINITY (max |g|); any other norm_type (other
 * p, 0, negative, -INFINITY, NaN) is GOPTIM_ERR_INVALID_ARGUMENT on both backends.
 * Written to *out_norm, which is backend memory (one float). NaN/Inf propagate into the
 * result. An empty list gives 0. */
goptim_status goptim_grad_norm(goptim_context *ctx, const goptim_tensor_list *list, double norm_type,
                               float *out_norm);

/* The norms of every grad[i] on its own, in one read of the list: l2[i] its L2 norm
 * (squares summed in double, rounded to float once) and inf[i] its max |g| (NaN when it
 * holds a NaN; the L2 norm propagates NaN and Inf too). A tensor of no elements has
 * norms 0. l2 and inf are backend memory of list->count floats each; either may be
 * NULL, not both. The results do not depend on the thread count or the ISA. */
goptim_status goptim_grad_norms(goptim_context *ctx, const goptim_tensor_list *list, float *l2, float *inf);

/* Multiplies every grad[i] by min(max_norm / (*norm + 1e-6), 1); *norm is backend memory. */
goptim_status goptim_clip_grad_by_norm(goptim_context *ctx, const goptim_tensor_list *list, double max_norm,
                                       const float *norm);

/* Clamps every grad[i] element to [-clip_value, clip_value] (NaN stays NaN). */
goptim_status goptim_clip_grad_value(goptim_context *ctx, const goptim_tensor_list *list, double clip_value);

/* Sets *found_inf (backend memory, one float) to 1 if any grad[i] element is NaN or
 * Inf, otherwise leaves it as it is (so several lists can accumulate into one flag).
 * If inv_scale is not NULL, every grad is multiplied by *inv_scale in place first
 * (torch's _amp_foreach_non_finite_check_and_unscale_). */
goptim_status goptim_check_finite(goptim_context *ctx, const goptim_tensor_list *list, const float *inv_scale,
                                  float *found_inf);

/* Sets every grad[i] to zero. */
goptim_status goptim_zero_grad(goptim_context *ctx, const goptim_tensor_list *list);

/* ---------------------------------------------------------------- model math */

/* C = alpha * op(A) * op(B) + beta * C for row-major matrices in backend memory, as
 * cblas_sgemm(CblasRowMajor, ...) defines it: op(A) is m x k, op(B) is k x n, C is
 * m x n; lda, ldb, ldc are row strides. OpenBLAS on the CPU, cuBLAS on the GPU. For the
 * models in examples; the optimizers do not need it. Checked in this order, the same on
 * both backends: a negative m, n or k is GOPTIM_ERR_INVALID_ARGUMENT; any of m, n, k,
 * lda, ldb, ldc above INT32_MAX is GOPTIM_ERR_UNSUPPORTED (OpenBLAS's and cuBLAS's
 * interfaces take int); a leading dimension below its row length (or below 1) is
 * GOPTIM_ERR_INVALID_ARGUMENT; m == 0 or n == 0 does nothing; then NULL matrices are
 * GOPTIM_ERR_INVALID_ARGUMENT. */
goptim_status goptim_sgemm(goptim_context *ctx, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                           int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                           float beta, float *c, int64_t ldc);

/* Single-precision BLAS level 1 on backend memory, for optimizers that are not
 * element-wise (LBFGS's two-loop recursion and line search): OpenBLAS's cblas_sdot,
 * cblas_saxpy and cblas_sscal on the CPU, cuBLAS's on the GPU, with n as int64 (lengths
 * above INT32_MAX are split into pieces, whose dot products are added in double).
 * Checked in this order, the same on both backends: n < 0 is
 * GOPTIM_ERR_INVALID_ARGUMENT; n == 0 does nothing (dot writes 0 where out is not NULL);
 * then a NULL vector, or dot's NULL out, is GOPTIM_ERR_INVALID_ARGUMENT. alpha == 0 is
 * IEEE arithmetic on every backend (NaN and Inf in x or y stay NaN), where BLAS
 * libraries may skip axpy or write zeros in scal. dot's x and y may be the same vector;
 * axpy's must not overlap. dot's *out is host memory, so on the GPU dot waits for the
 * device. */
goptim_status goptim_dot(goptim_context *ctx, int64_t n, const float *x, const float *y, float *out);
/* y += alpha * x */
goptim_status goptim_axpy(goptim_context *ctx, int64_t n, float alpha, const float *x, float *y);
/* x *= alpha */
goptim_status goptim_scal(goptim_context *ctx, int64_t n, float alpha, float *x);

/* ---------------------------------------------------------------- Muon */

/* Muon (torch.optim.Muon, torch 2.9 torch/optim/_muon.py) for the list's matrices, with
 * AdamW for its other tensors (as KellerJordan/Muon's MuonWithAuxAdam). Not element-wise:
 * a matrix is one unit of the list. Tensor i with rows[i] > 0 is one row-major rows[i] x
 * cols[i] matrix (rows[i] * cols[i] == numel[i]): state[0][i] = momentum_buffer (numel[i]
 * floats, starts at 0); per matrix
 *   buf = lerp(buf, g, 1 - momentum); u = nesterov ? lerp(g, buf, momentum) : buf
 *   X = u (transposed when rows > cols); X /= max(||X||_F, eps)
 *   ns_steps times: A = X X^T; B = ns_b*A + ns_c*A A; X = ns_a*X + B X
 *   p *= 1 - lr*weight_decay; p -= adjusted_lr * X (transposed back)
 * where adjusted_lr is lr*sqrt(max(1, rows/cols)) (GOPTIM_MUON_ADJUST_ORIGINAL, torch's
 * None) or lr*0.2*sqrt(max(rows, cols)) (GOPTIM_MUON_ADJUST_MATCH_RMS_ADAMW). In float32
 * each product rounds as the reference BLAS (netlib sgemm) under torch's addmm: every
 * output accumulated over k in order, from beta*C (or 0) with (alpha*a)*b per term, no
 * fused multiply-add; ||X||_F is sqrt of the sum of squares of u in memory order (as
 * sdot). Same-shape matrices are batched; the results do not depend on the batching,
 * the ISA or the thread count. Tensor i with rows[i] == 0 is stepped by AdamW with
 * hp->adam (its decoupled_weight_decay is forced on, amsgrad must be 0): state[1][i] =
 * exp_avg, state[2][i] = exp_avg_sq (start at 0). aux applies to both kinds (maximize
 * only to the AdamW tensors: torch's Muon has none). precision GOPTIM_MUON_BF16 rounds
 * the products' inputs to bfloat16 (GPU backend; GOPTIM_ERR_UNSUPPORTED on the CPU).
 * precision GOPTIM_MUON_FP32_BLAS computes the products with the backend's sgemm, the
 * scaled adds in its alpha and beta (one call each): A = X X^T; B = A, then
 * B = ns_c*A A + ns_b*B; X' = X, then X' = B X + ns_a*X'. On the CPU that is OpenBLAS's
 * cblas_sgemm (blocked, fused multiply-add) on OpenBLAS's own threads, as goptim_sgemm
 * (openblas_set_num_threads, OPENBLAS_NUM_THREADS; the context's threads run the rest
 * of the step); each matrix has calls of its own, so batching changes no bit. Its bits
 * are OpenBLAS's, not torch's: they differ from GOPTIM_MUON_FP32's by rounding, depend
 * on the OpenBLAS build and the CPU kernel it picks (not on goptim_set_isa), not on the
 * context's thread count, and can depend on OpenBLAS's thread count for some inner
 * dimensions k (OpenBLAS 0.3.21, Cooperlake kernel: k above 320 other than 32j and
 * 32j-1; not GPT-2's 768, 2304, 3072). A matrix side above INT32_MAX is
 * GOPTIM_ERR_UNSUPPORTED there (sgemm takes int). On the GPU every float32 product is
 * cuBLAS's: GOPTIM_MUON_FP32_BLAS is GOPTIM_MUON_FP32 there. */
typedef enum {
    GOPTIM_MUON_ADJUST_ORIGINAL = 0,
    GOPTIM_MUON_ADJUST_MATCH_RMS_ADAMW = 1,
} goptim_muon_adjust_lr;
typedef enum {
    GOPTIM_MUON_FP32 = 0,
    GOPTIM_MUON_BF16 = 1,
    GOPTIM_MUON_FP32_BLAS = 2,
} goptim_muon_precision;
typedef struct {
    double lr, weight_decay, momentum, eps;
    double ns_a, ns_b, ns_c; /* ns_coefficients */
    int32_t ns_steps, nesterov;
    int32_t adjust_lr_fn; /* goptim_muon_adjust_lr */
    int32_t precision;    /* goptim_muon_precision */
    goptim_adam_params adam;
} goptim_muon_params;
goptim_status goptim_muon_step(goptim_context *ctx, const goptim_tensor_list *list, const int64_t *rows,
                               const int64_t *cols, const goptim_muon_params *hp, int64_t step,
                               const goptim_step_aux *aux);

/* ---------------------------------------------------------------- benchmarks */

/* The limit a step is measured against: one pass over the list, on the steps' threads,
 * chunking and launch, that reads and writes exactly the arrays a step (or one pass of a
 * multi-pass step: LAMB, LARS) with this traffic reads and writes, with trivial
 * arithmetic. Bit k of reads/writes: 0 param, 1 grad, 2 + j state[j]. A written array is
 * always read too (reads |= writes). The masks are checked first (before the list, so an
 * empty list asks whether a set is supported): bits above 4 are
 * GOPTIM_ERR_INVALID_ARGUMENT; the sets of the family run: param and grad each not
 * touched, read, or read and written; state[0..j) for j = 0..3, all read only or all
 * read and written; at least one array touched. Any other set (a state without the
 * ones before it, states some read only and some written, no array) is
 * GOPTIM_ERR_UNSUPPORTED. An array only read is loaded for real (its bits are folded
 * into a value the loop keeps). A written param or state x becomes x + grad when grad is
 * read, else -x; a written grad becomes -grad. The list is checked as a step's (the CPU
 * backend wants the grad pointers even when grad is not touched). aux is not read. Not
 * an optimizer: the values it writes mean nothing. */
typedef struct {
    uint32_t reads, writes;
} goptim_traffic_params;
goptim_status goptim_traffic_step(goptim_context *ctx, const goptim_tensor_list *list,
                                  const goptim_traffic_params *hp, int64_t step, const goptim_step_aux *aux);

#ifdef __cplusplus
}
#endif

#endif /* GOPTIM_H */
