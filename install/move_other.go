//go:build !linux && !darwin

package install

import "errors"

// renameNoReplace has no system call here: moveNoReplace links then unlinks.
func renameNoReplace(from, to string) error { return errors.ErrUnsupported }
