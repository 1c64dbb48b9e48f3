//go:build !unix

package probe

import (
	"os/exec"
	"time"
)

// setGroup does nothing here.
func setGroup(*exec.Cmd) {}

// killGroup does nothing here: the helper is killed alone.
func killGroup(int) {}

// awaitGroup has nothing to wait for here.
func awaitGroup(int, time.Duration) bool { return true }
