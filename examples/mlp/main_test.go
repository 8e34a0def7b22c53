package mlp

import (
	"fmt"
	"os"
	"testing"

	"github.com/goptim/goptim/optim"
)

// TestMain skips the package, saying why, on a GPU build (-tags cuda) without a
// usable GPU; on the CPU build a backend that cannot start is a failure.
func TestMain(m *testing.M) {
	if t, err := optim.NewTensor(1); err != nil {
		if optim.OnDevice() {
			fmt.Printf("SKIP: GPU tests: the %s backend has no usable device here: %v\n", optim.Backend(), err)
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "the %s backend failed to start: %v\n", optim.Backend(), err)
		os.Exit(1)
	} else {
		t.Close()
	}
	os.Exit(m.Run())
}
