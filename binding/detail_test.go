package binding

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Concurrent failures on one context report their own C detail, never another
// call's: the detail is read under the same lock as the call that set it.
func TestConcurrentErrorDetails(t *testing.T) {
	if BackendIsDevice() {
		t.Skip("the GPU backend has no instruction sets to refuse")
	}
	ctx, err := NewContext(1)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Destroy()
	var wg sync.WaitGroup
	for _, isa := range []ISA{71, 72, 73, 74, 75, 76, 77, 78} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("set_isa: unknown instruction set %d", isa)
			for i := 0; i < 5000; i++ {
				err := ctx.SetISA(isa)
				if err == nil || !strings.HasSuffix(err.Error(), want) {
					t.Errorf("SetISA(%d): %v, want an error ending in %q", isa, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
