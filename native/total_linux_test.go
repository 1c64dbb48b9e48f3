//go:build linux && (amd64 || arm64)

package native_test

import (
	"runtime"
	"testing"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

// Metadata within every limit on one item but over 4 MiB in total is refused, and the
// read stops once past the total: it never copies much more than 4 MiB.
func TestMetadataTotal(t *testing.T) {
	for _, variant := range []string{"big_types", "big_strings"} {
		lib := plugintest.Hostile(t, variant)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := native.Probe(lib, native.DefaultRange())
		runtime.ReadMemStats(&after)
		wantError(t, err, native.ErrMetadata, "strings and arrays together are over 4 MiB")
		// Without the total, big_types would copy 32 MiB of types and big_strings
		// 8 MiB of categories.
		if n := after.TotalAlloc - before.TotalAlloc; n > 6<<20 {
			t.Errorf("%s: reading the metadata allocated %d bytes, want at most about 4 MiB", variant, n)
		} else {
			t.Logf("%s: %d bytes allocated", variant, n)
		}
	}
}
