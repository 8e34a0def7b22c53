// emu_launch.h - launching a multi-tensor op in the emulated CUDA backend: the emulated
// get_table (the list serialised as context.cu does, every pointer the kernel uses checked
// to be device memory) and a grid run one block and one thread at a time. Shared by
// kernels.cpp and the optimizer steps, which are cuda/optim_<optimizer>.cu compiled for
// the host (step_entry.cuh).
#ifndef GOPTIM_CUDA_EMU_LAUNCH_H
#define GOPTIM_CUDA_EMU_LAUNCH_H

#include <mutex>
#include <shared_mutex>

#include "emu_internal.h"
#include "multi_tensor.cuh"

#include "gm_ops.h"

namespace goptim_cuda_emu {

// A list as a launch sees it (the device table of context.cu).
struct Table {
    const goptim_cuda::TensorDesc *descs = nullptr;
    const int32_t *chunk_tensor = nullptr;
    int64_t nchunks = 0;
};

// Serialises the list (common.h), checks that every pointer of the slots the kernel uses
// is device memory and builds the chunk table. The caller holds heap_mutex() shared from
// here to the end of the launch.
goptim_status get_table(goptim_context *ctx, const goptim_tensor_list *list, unsigned slots, const char *what,
                        Table *out);
// A scalar the kernel reads (NULL: not read) must be device memory.
goptim_status check_scalar(goptim_context *ctx, const char *what, const float *p, const char *name);

// One launch of multi_tensor_kernel<Op>: every block, every thread of it in turn, then
// after_block() (the block's epilogue that needs all its threads: a barrier on the GPU).
template <class Op, class After>
void run_grid(goptim_context *ctx, const Table &t, const Op &op, After &&after_block) {
    gridDim.x = (unsigned)t.nchunks;
    blockDim.x = goptim_cuda::kBlock;
    for (int64_t b = 0; b < t.nchunks; ++b) {
        blockIdx.x = (unsigned)b;
        for (int th = 0; th < goptim_cuda::kBlock; ++th) {
            threadIdx.x = (unsigned)th;
            goptim_cuda::multi_tensor_kernel<Op>(t.descs, t.chunk_tensor, ctx->chunk, op);
        }
        after_block();
    }
}

// A step's goptim_step_aux as the host steps read it, after read_aux checked that every
// scalar it points to is device memory.
struct HostAux {
    bool skip = false;     // *found_inf != 0: the step changes nothing
    bool unscale = false;  // grad_scale given
    float scale = 1.f;     // *grad_scale
    float coef = 1.f;      // the clip coefficient (1 without clipping)
};

inline goptim_status read_aux(goptim_context *ctx, const char *what, const goptim_step_aux *aux, HostAux *out) {
    *out = HostAux{};
    if (!aux) return GOPTIM_OK;
    const bool clip = aux->clip_norm != nullptr && aux->max_norm > 0;
    goptim_status st;
    if (aux->grad_scale && (st = check_scalar(ctx, what, aux->grad_scale, "aux grad_scale")) != GOPTIM_OK) return st;
    if ((st = check_scalar(ctx, what, aux->found_inf, "aux found_inf")) != GOPTIM_OK) return st;
    if (clip && (st = check_scalar(ctx, what, aux->clip_norm, "aux clip_norm")) != GOPTIM_OK) return st;
    out->skip = aux->found_inf && *aux->found_inf != 0.f;
    out->unscale = aux->grad_scale != nullptr;
    if (out->unscale) out->scale = *aux->grad_scale;
    if (clip) out->coef = gm_clip_coef(*aux->clip_norm, (float)aux->max_norm);
    return GOPTIM_OK;
}

// A step: the aux scalars the kernel reads must be device memory too.
template <class Op>
goptim_status run_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_step_aux *aux,
                       const Op &op, const char *what) {
    std::shared_lock<std::shared_mutex> lock(heap_mutex());
    Table t;
    goptim_status st = get_table(ctx, list, Op::kLoad | Op::kStore, what, &t);
    if (st != GOPTIM_OK || t.nchunks == 0) return st;
    HostAux ha;
    if ((st = read_aux(ctx, what, aux, &ha)) != GOPTIM_OK) return st;
    run_grid(ctx, t, op, [] {});
    return GOPTIM_OK;
}

}  // namespace goptim_cuda_emu

#endif
