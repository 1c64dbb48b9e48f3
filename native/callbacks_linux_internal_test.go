//go:build linux && (amd64 || arm64)

package native

import (
	"log/slog"
	"testing"
)

func TestLogLevel(t *testing.T) {
	want := map[int32]slog.Level{
		-1: slog.LevelDebug, 0: slog.LevelDebug, 1: slog.LevelDebug, 2: slog.LevelInfo,
		3: slog.LevelWarn, 4: slog.LevelError, 5: slog.LevelError,
	}
	for level, w := range want {
		if got := logLevel(level); got != w {
			t.Errorf("logLevel(%d) = %v, want %v", level, got, w)
		}
	}
}

// A callback whose user_data finds no instance does nothing and returns success.
func TestCallbackWithoutInstance(t *testing.T) {
	const gone = ^uintptr(0)
	onLog(2, 0, 0, gone)
	if r := onOutput(0, 0, gone); !cBool(r.Success) {
		t.Error("onOutput without an instance failed")
	}
	if r := onTelemetry(0, 0, 0, 0, gone); !cBool(r.Success) {
		t.Error("onTelemetry without an instance failed")
	}
}
