package lockedbuf_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/plugwatch/plugwatch/internal/lockedbuf"
)

// Lines written by many goroutines at once all arrive whole.
func TestConcurrentWrites(t *testing.T) {
	var b lockedbuf.Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&b, "writer %d line %d\n", i, j)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 800 {
		t.Errorf("got %d lines, want 800", n)
	}
}
