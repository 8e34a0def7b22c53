// step_entry.cuh - what an optimizer's translation unit (optim_<optimizer>.cu) needs: the
// shared op machinery (ops.cuh) and GOPTIM_STEP_ENTRY, the extern "C" entry point that
// validates the arguments, lets the optimizer's dispatch pick the kernel for the option
// set and launches it over the list. One optimizer per translation unit so they build in
// parallel. Options are template parameters: one kernel per option set, no per-element
// branch on a hyperparameter; found_inf is read once per block (the whole block returns).
//
// The same files build three ways: for the GPU (the launch of multi_tensor.cuh), for the
// emulated backend cuda/emu (GOPTIM_EMULATE: run_step of emu/emu_launch.h, every block and
// thread on the host), and, with GOPTIM_OPS_ONLY, as the ops and dispatch alone for the
// host test tests/test_emulated.cpp.
#ifndef GOPTIM_CUDA_STEP_ENTRY_CUH
#define GOPTIM_CUDA_STEP_ENTRY_CUH

#include <cmath>
#include <type_traits>

#include "multi_tensor.cuh"
#include "ops.cuh"

#if defined(GOPTIM_OPS_ONLY)

#define GOPTIM_STEP_ENTRY(fn, ptype, dispatch, kname)

#elif defined(GOPTIM_EMULATE)

#include "emu_launch.h"

#define GOPTIM_STEP_ENTRY(fn, ptype, dispatch, kname)                                                      \
    extern "C" goptim_status fn(goptim_context *ctx, const goptim_tensor_list *list, const ptype *hp,       \
                                int64_t step, const goptim_step_aux *aux) {                                 \
        using namespace goptim_cuda;                                                                        \
        using namespace goptim_cuda_emu;                                                                    \
        return enter(ctx, #fn, [&] {                                                                        \
            if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, #fn ": NULL argument");         \
            if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, #fn ": step must be >= 1");         \
            return dispatch(*hp, step, aux,                                                                 \
                            [&](const auto &op) { return run_step(ctx, list, aux, op, kname); });            \
        });                                                                                                 \
    }

#else

#include "internal.cuh"

namespace goptim_cuda {

template <class Op>
goptim_status run_op(goptim_context *ctx, const goptim_tensor_list *list, const Op &op, const char *what) {
    DeviceTable t;
    goptim_status st = get_table(ctx, list, Op::kLoad | Op::kStore, &t);
    if (st != GOPTIM_OK) return st;
    return launch_multi_tensor(ctx, t, op, what);
}

}  // namespace goptim_cuda

#define GOPTIM_STEP_ENTRY(fn, ptype, dispatch, kname)                                                      \
    extern "C" goptim_status fn(goptim_context *ctx, const goptim_tensor_list *list, const ptype *hp,       \
                                int64_t step, const goptim_step_aux *aux) {                                 \
        using namespace goptim_cuda;                                                                        \
        return enter(ctx, #fn, [&] {                                                                        \
            if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, #fn ": NULL argument");         \
            if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, #fn ": step must be >= 1");         \
            return dispatch(*hp, step, aux, [&](const auto &op) { return run_op(ctx, list, op, kname); });  \
        });                                                                                                 \
    }

#endif

#endif
