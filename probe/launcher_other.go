//go:build !linux

package probe

import (
	"fmt"
	"os"
	"os/exec"
)

// envLauncher marks the launcher process, which only Linux has (launcher_linux.go).
const envLauncher = "PLUGWATCH_PROBE_LAUNCHER"

// launcher is Linux's; elsewhere the Prober starts its helpers itself.
type launcher struct{}

func newLauncher(*Prober) *launcher { return nil }

func (*launcher) start(cmd *exec.Cmd) (process, error) { return startDirect(cmd) }

func (*launcher) close() {}

func launch(string) int {
	fmt.Fprintln(os.Stderr, "probe launcher: not on this system")
	return 2
}
