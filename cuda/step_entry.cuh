// step_entry.cuh - the extern "C" entry point of one optimizer step: validates the
// arguments, then the option dispatch of ops.cuh picks the kernel and run_op launches it
// over the list. One optimizer per translation unit (optim_*.cu) so they build in parallel.
// Options are template parameters: one kernel per option set, no per-element branch on a
// hyperparameter. found_inf is read once per block (the whole block returns).
#ifndef GOPTIM_CUDA_STEP_ENTRY_CUH
#define GOPTIM_CUDA_STEP_ENTRY_CUH

#include <cmath>
#include <type_traits>

#include "internal.cuh"
#include "multi_tensor.cuh"
#include "ops.cuh"

using namespace goptim_cuda;

namespace {

template <class Op>
goptim_status run_op(goptim_context *ctx, const goptim_tensor_list *list, const Op &op, const char *what) {
    DeviceTable t;
    goptim_status st = get_table(ctx, list, Op::kLoad | Op::kStore, &t);
    if (st != GOPTIM_OK) return st;
    return launch_multi_tensor(ctx, t, op, what);
}

}  // namespace

#define GOPTIM_STEP_ENTRY(fn, ptype, dispatch, kname)                                                     \
    extern "C" goptim_status fn(goptim_context *ctx, const goptim_tensor_list *list, const ptype *hp,      \
                                int64_t step, const goptim_step_aux *aux) {                                \
        return enter(ctx, #fn, [&] {                                                                       \
            if (!list || !hp) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, #fn ": NULL argument");        \
            if (step < 1) return fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, #fn ": step must be >= 1");        \
            return dispatch(*hp, step, aux, [&](const auto &op) { return run_op(ctx, list, op, kname); }); \
        });                                                                                                \
    }

#endif
