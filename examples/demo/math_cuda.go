//go:build cuda

package main

import (
	"errors"

	"github.com/goptim/goptim/examples/mlp"
)

// modelMath is the MLP's arithmetic on this build. On the GPU the tensors are device
// memory, so the MLP needs an mlp.Math whose Gemm calls goptim's sgemm (package
// binding, on Tensor.Ptr) and whose few elementwise operations run as kernels; that is
// not written yet, so part 2 is skipped here. Part 1 runs on the GPU as it is.
func modelMath() (mlp.Math, error) {
	return nil, errors.New("the MLP has no GPU math yet (an mlp.Math over device tensors)")
}
