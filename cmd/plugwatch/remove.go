package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/plugwatch/plugwatch/install"
)

func removeCommand(fs *flag.FlagSet) runFunc {
	local := fs.Bool("local", false, "remove the folder native/ID/ only, when a marketplace record has the same id")
	marketplace := fs.Bool("marketplace", false, "remove the record active/ID.json and its bundle only, when a folder native/ID/ has the same id")
	return func(ctx context.Context, a *app, args []string) int {
		from := install.FromAny
		switch {
		case *local && *marketplace:
			return a.usage("remove", "remove: --local and --marketplace exclude each other; give one")
		case *local:
			from = install.FromLocal
		case *marketplace:
			from = install.FromMarketplace
		}
		id := args[0]
		removed, err := install.RemoveFrom(ctx, a.g.root, id, from)
		for _, p := range removed {
			fmt.Fprintf(a.Stdout, "removed %s\n", p)
		}
		var amb *install.AmbiguousError
		switch {
		case errors.As(err, &amb):
			return a.fail("remove %s: both %s and %s are plugin %s; nothing was removed: add --local to remove the folder %s, or --marketplace to remove %s and its bundle",
				id, amb.Folder, strings.Join(amb.Records, ", "), id, amb.Folder, strings.Join(amb.Records, ", "))
		case err != nil:
			return a.fail("%v", err)
		}
		return exitOK
	}
}
