// Package gputest is the TestMain of the packages whose tests use the optim
// backend: on a GPU build (-tags cuda) without a usable GPU they skip, saying why,
// instead of failing; on the CPU build a backend that cannot start is a failure.
package gputest

import (
	"fmt"
	"os"
	"testing"

	"github.com/goptim/goptim/optim"
)

// Main runs m, or skips the package as described above. Call it from TestMain.
func Main(m *testing.M) {
	t, err := optim.NewTensor(1)
	if err != nil {
		if optim.OnDevice() {
			fmt.Printf("SKIP: GPU tests: the %s backend has no usable device here: %v\n", optim.Backend(), err)
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "the %s backend failed to start: %v\n", optim.Backend(), err)
		os.Exit(1)
	}
	t.Close()
	os.Exit(m.Run())
}
