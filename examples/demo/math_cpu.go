//go:build !cuda

package main

import "github.com/goptim/goptim/examples/mlp"

// modelMath is the MLP's arithmetic on this build: OpenBLAS (package cblas) and Go
// loops over the host tensors of optim's CPU backend.
func modelMath() (mlp.Math, error) { return mlp.CPU{}, nil }
