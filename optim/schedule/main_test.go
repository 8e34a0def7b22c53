package schedule_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/goptim/goptim/optim"
)

// TestMain skips the whole package, saying why, when the backend cannot start: on
// the GPU build (-tags cuda) on a machine without a usable GPU, where the tests that
// drive real optimizers could not make one. On the CPU build a failing backend is an
// error.
func TestMain(m *testing.M) {
	x, err := optim.NewTensor(1)
	if err != nil {
		if optim.OnDevice() {
			fmt.Printf("SKIP: schedule GPU tests: the %s backend has no usable device here: %v\n", optim.Backend(), err)
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "schedule: the %s backend failed to start: %v\n", optim.Backend(), err)
		os.Exit(1)
	}
	x.Close()
	os.Exit(m.Run())
}
