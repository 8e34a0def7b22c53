package layout

import "testing"

// GPT-2 medium as published: 292 tensors and 354,823,168 parameters (with the tied
// output layer counted once).
func TestGPT2Medium(t *testing.T) {
	s := GPT2Medium()
	total := 0
	for _, n := range s {
		total += n
	}
	if len(s) != 292 || total != 354823168 {
		t.Fatalf("%d tensors, %d parameters; want 292, 354823168", len(s), total)
	}
}
