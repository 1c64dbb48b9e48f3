package main

import (
	"context"
	"errors"
	"flag"

	"github.com/plugwatch/plugwatch/admin"
)

func statusCommand(fs *flag.FlagSet) runFunc {
	addr := addrFlag(fs, "addr", "127.0.0.1:7676", "address of the running daemon's admin API", false)
	asJSON := fs.Bool("json", false, "print the state document as received")
	return func(ctx context.Context, a *app, _ []string) int {
		st, raw, err := admin.FetchState(ctx, *addr)
		var ue *admin.UnreachableError
		switch {
		case errors.Is(err, admin.ErrNotReady):
			return a.fail("the daemon at %s is not ready yet (its first reconcile has not finished); try again", *addr)
		case errors.As(err, &ue):
			return a.fail("no plugwatch daemon answers at %s; start one with plugwatch run, or name its address with --addr", *addr)
		case err != nil:
			return a.fail("status from %s: %v", *addr, err)
		}
		if *asJSON {
			_, err = a.Stdout.Write(raw)
		} else {
			err = writeState(a.Stdout, st, raw)
		}
		if err != nil {
			return a.fail("writing the state: %v", err)
		}
		return exitOK
	}
}
