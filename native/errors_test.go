package native_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/plugwatch/plugwatch/native"
)

func TestIsVerdict(t *testing.T) {
	verdicts := []error{
		native.ErrIncomplete, native.ErrNotLoadable, native.ErrLoader, native.ErrNoEntry,
		native.ErrABIVersion, native.ErrMetadata, native.ErrInvalidKind, native.ErrCrashed,
		native.ErrStartsProcess,
	}
	for _, s := range verdicts {
		err := &native.Error{Op: "probe", Path: "/lib.so", Err: s}
		if !native.IsVerdict(err) || !native.IsVerdict(fmt.Errorf("wrapped: %w", err)) {
			t.Errorf("IsVerdict(%v) = false", err)
		}
	}
	others := []error{
		nil, native.ErrClosed, native.ErrUnsupported, fs.ErrNotExist, context.Canceled,
		&native.Error{Op: "open", Path: "/lib.so", Err: fs.ErrPermission},
		errors.New("probe helper unavailable"),
	}
	for _, err := range others {
		if native.IsVerdict(err) {
			t.Errorf("IsVerdict(%v) = true", err)
		}
	}
}
