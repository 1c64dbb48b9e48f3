//go:build !linux

package nstest

import (
	"testing"
)

func rerun(t *testing.T, who Who) { t.Skip("needs Linux: a user namespace") }
