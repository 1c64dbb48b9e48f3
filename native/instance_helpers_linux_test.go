//go:build linux && (amd64 || arm64)

package native_test

import (
	"log/slog"
	"testing"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

// openLib opens the library of s, closed when the test ends.
func openLib(tb testing.TB, s plugintest.Spec) *native.Library {
	tb.Helper()
	l, err := native.Open(plugintest.Build(tb, s), native.DefaultRange())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// discard is a logger that drops every line.
var discard = slog.New(slog.DiscardHandler)
