package mlp

import (
	"testing"

	"github.com/goptim/goptim/internal/gputest"
)

// TestMain skips these tests on a GPU build without a GPU.
func TestMain(m *testing.M) { gputest.Main(m) }
