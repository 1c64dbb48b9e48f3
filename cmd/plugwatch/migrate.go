package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/plugwatch/plugwatch/install"
)

// migrateCommand prints one line per bare library on stdout, the same with
// --dry-run as without; a dry run then says on stderr that it moved nothing.
func migrateCommand(fs *flag.FlagSet) runFunc {
	dryRun := fs.Bool("dry-run", false, "print what would be moved, and move nothing")
	return func(_ context.Context, a *app, _ []string) int {
		moves, err := install.Migrate(a.g.root, *dryRun)
		if err != nil {
			return a.fail("%v", err)
		}
		status, wouldMove := exitOK, false
		for _, m := range moves {
			fmt.Fprintln(a.Stdout, m)
			if !m.Moved {
				status = exitFailed
			}
			wouldMove = wouldMove || m.Moved
		}
		if *dryRun {
			hint := ""
			if wouldMove {
				hint = "; run plugwatch migrate without it to make the moves above"
			}
			fmt.Fprintf(a.Stderr, "%s: migrate: nothing was moved because of --dry-run%s\n", programName, hint)
		}
		return status
	}
}
