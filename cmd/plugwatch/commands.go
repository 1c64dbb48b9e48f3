package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"
)

// commands is every subcommand, in the order help lists them.
var commands = []*command{
	{name: "run", summary: "watch the root and keep the loaded plugins equal to the disk (the default)",
		usage: "[--debounce DUR] [--resync DUR] [--listen ADDR] [--on-change CMD]", args: exactly(0), flags: runCommand},
	{name: "scan", summary: "print the desired state of the root once",
		usage: "[--json] [--strict]", args: exactly(0), flags: scanCommand},
	{name: "status", summary: "print the state of a running plugwatch run",
		usage: "[--addr HOST:PORT] [--json]", args: exactly(0), flags: statusCommand},
	{name: "inspect", summary: "probe one library and print its metadata",
		usage: "LIB [--json]", args: exactly(1), flags: inspectCommand},
	{name: "install", summary: "place a library or .wasm into the root the safe way",
		usage: "FILE [--manifest plugin.yml]", args: exactly(1), flags: installCommand},
	{name: "remove", summary: "remove a plugin's bundle folder, or its record and bundle",
		usage: "ID [--local|--marketplace]", args: exactly(1), flags: removeCommand},
	{name: "migrate", summary: "move bare libraries of native/ into folders of their own",
		usage: "[--dry-run]", args: exactly(0), flags: migrateCommand},
	{name: "version", summary: "print the version", args: exactly(0), flags: versionCommand},
}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (a *app) help(w io.Writer) {
	fmt.Fprintf(w, `usage: %[1]s [--root DIR] [--workdir DIR] [--trust DIR]... [--abi MIN-MAX]
                 [--probe-timeout DUR] [--log-format text|json]
                 [--log-level debug|info|warn|error] COMMAND [flags] [ARGS]

The root defaults to $PLUGWATCH_ROOT, else .plugins in the working directory.

commands:
`, programName)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.usage, c.summary)
	}
	tw.Flush()
}

func versionCommand(*flag.FlagSet) runFunc {
	return func(_ context.Context, a *app, _ []string) int {
		fmt.Fprintf(a.Stdout, "%s %s (%s %s/%s)\n", programName, version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
}
