//go:build !linux

package main

import "testing"

// inSmallFileSystem skips t: a tmpfs mounted in a namespace of its own needs Linux.
func inSmallFileSystem(t *testing.T, size string, test func(mnt string)) {
	t.Skip("needs Linux: a tmpfs mounted in a user and mount namespace")
}
