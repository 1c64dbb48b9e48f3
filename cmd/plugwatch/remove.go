package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/plugwatch/plugwatch/install"
)

func removeCommand(*flag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) int {
		removed, err := install.Remove(ctx, a.g.root, args[0])
		for _, p := range removed {
			fmt.Fprintf(a.Stdout, "removed %s\n", p)
		}
		if err != nil {
			return a.fail("%v", err)
		}
		return exitOK
	}
}
