package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/plugwatch/plugwatch/install"
)

func migrateCommand(fs *flag.FlagSet) runFunc {
	dryRun := fs.Bool("dry-run", false, "print what would be moved, and move nothing")
	return func(_ context.Context, a *app, _ []string) int {
		moves, err := install.Migrate(a.g.root, *dryRun)
		if err != nil {
			return a.fail("%v", err)
		}
		status := exitOK
		for _, m := range moves {
			fmt.Fprintln(a.Stdout, m)
			if !m.Moved {
				status = exitFailed
			}
		}
		return status
	}
}
