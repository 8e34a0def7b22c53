package optim

import (
	"fmt"
	"os"
	"testing"
)

// TestMain skips the whole package, saying why, when the backend cannot start: on
// the GPU build (-tags cuda) on a machine without a usable GPU. On the CPU build a
// failing backend is an error.
func TestMain(m *testing.M) {
	if os.Getenv(freshEngineEnv) != "" {
		// A child process of TestUseDeviceBeforeFirstUse: the engine must start there.
		os.Exit(m.Run())
	}
	if _, err := engine(); err != nil {
		if OnDevice() {
			fmt.Printf("SKIP: optim GPU tests: the %s backend has no usable device here: %v\n", Backend(), err)
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "optim: the %s backend failed to start: %v\n", Backend(), err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
