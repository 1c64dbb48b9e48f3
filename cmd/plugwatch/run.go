package main

import (
	"context"
	"flag"
)

func runCommand(fs *flag.FlagSet) runFunc {
	return func(_ context.Context, a *app, _ []string) int {
		return a.fail("run is not implemented yet; use scan")
	}
}
