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

// The same on either backend, through a failure every backend reports with the
// failing call's own index: a tensor list whose entry i has a negative length.
func TestConcurrentListErrorDetails(t *testing.T) {
	ctx, err := NewContext(1)
	if err != nil {
		t.Skipf("no backend here: %v", err)
	}
	defer ctx.Destroy()
	g, err := ctx.Alloc(1)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Free(g)
	var wg sync.WaitGroup
	for bad := 11; bad <= 18; bad++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := NewList(bad + 1)
			defer l.Free()
			for i := 0; i < bad; i++ {
				l.Append(0, uintptr(g), uintptr(g), [MaxState]uintptr{})
			}
			l.Append(-1, uintptr(g), uintptr(g), [MaxState]uintptr{})
			for i := 0; i < 2000; i++ {
				err := ctx.ZeroGrad(l)
				if err == nil || !strings.Contains(err.Error(), fmt.Sprint(bad)) {
					t.Errorf("list with entry %d negative: %v", bad, err)
					return
				}
				for other := 11; other <= 18; other++ {
					if other != bad && strings.Contains(err.Error(), fmt.Sprint(other)) {
						t.Errorf("list with entry %d negative: the detail names entry %d: %v", bad, other, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
