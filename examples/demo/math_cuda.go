//go:build cuda

package main

import "github.com/goptim/goptim/examples/mlp"

// modelMath is the MLP's arithmetic on the GPU build: matrix products on cuBLAS
// (optim.Gemm over device tensors), the few elementwise steps on the host.
func modelMath() (mlp.Math, error) { return mlp.Device{}, nil }
