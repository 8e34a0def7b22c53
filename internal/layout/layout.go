// Package layout holds the parameter layouts that goptim's benchmarks share, so that
// cmd/bench and the Go benchmarks of package optim time the same tensors.
package layout

// GPT2Medium is the sizes of the 292 parameter tensors of GPT-2 medium (355M
// parameters), in model order: token and position embeddings, 24 blocks of two layer
// norms, attention and MLP weights and biases, and the final layer norm.
func GPT2Medium() []int {
	const d, layers, vocab, ctx = 1024, 24, 50257, 1024
	s := []int{vocab * d, ctx * d}
	for range layers {
		s = append(s, d, d, // ln_1
			d*3*d, 3*d, // attn.c_attn
			d*d, d, // attn.c_proj
			d, d, // ln_2
			d*4*d, 4*d, // mlp.c_fc
			4*d*d, d) // mlp.c_proj
	}
	return append(s, d, d) // ln_f
}
