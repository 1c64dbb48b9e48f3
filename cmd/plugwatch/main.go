// Command plugwatch keeps a process's loaded StreamKit native plugins equal to what is
// on disk. See docs/cli.md for the command line; this file only wires the
// process's standard streams and environment to Main.
package main

import (
	"os"

	"github.com/plugwatch/plugwatch/probe"
)

func main() {
	probe.Main() // in a probe helper process: serve the parent, then exit
	os.Exit(Main(os.Args[1:], Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
}
