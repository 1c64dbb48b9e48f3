package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
)

// commands is every subcommand, in the order help lists them (help.go adds the
// help command and the commands still being built).
var commands = []*command{
	{name: "run", summary: "watch the root and keep the loaded plugins equal to the disk (the default)",
		args: exactly(0), flags: runCommand},
	{name: "scan", summary: "print the desired state of the root once",
		args: exactly(0), flags: scanCommand},
	{name: "status", summary: "print the state of a running plugwatch run",
		args: exactly(0), flags: statusCommand},
	{name: "inspect", summary: "probe one library and print its metadata",
		argsUsage: "LIB", args: exactly(1), flags: inspectCommand},
	{name: "install", summary: "place a library or .wasm into the root the safe way",
		argsUsage: "FILE", args: exactly(1), flags: installCommand},
	{name: "remove", summary: "remove a plugin's bundle folder, or its record and bundle",
		argsUsage: "ID", args: exactly(1), flags: removeCommand},
	{name: "migrate", summary: "move bare libraries of native/ into folders of their own",
		args: exactly(0), flags: migrateCommand},
	{name: "try", summary: "run one instance of a plugin on test input and report what it did",
		argsUsage: "LIB|ID", args: exactly(1), flags: tryCommand},
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

func versionCommand(*flag.FlagSet) runFunc {
	return func(_ context.Context, a *app, _ []string) int {
		fmt.Fprintf(a.Stdout, "%s %s (%s %s/%s)\n", programName, version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
}
