package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The help text is built from the definitions it describes: the list of commands
// from the commands table (name, argsUsage, summary), each flag's line from its
// flag.Flag (its usage string is the meaning, its DefValue the default). This file
// adds only what a definition cannot say:
//
//   - metavars: the name of a flag's value (--listen ADDR). A back-quoted word in
//     the usage string wins, as flag.UnquoteUsage reads it; a flag.Duration needs
//     neither (DUR).
//   - details: the paragraph under a command's usage line (else its summary).
//   - pending and pendingFlags: commands and flags of the command line's contract
//     that are still being built. Help lists them so that the whole interface is
//     documented; a real definition always wins, and TestHelpPending fails once one
//     exists, to have its entry here deleted.
//
// A usage string that holds "(default" says its default itself (one computed at
// run time); otherwise a default that is not the zero value is appended. Every line
// fits in helpWidth columns.

const (
	helpWidth  = 80
	flagColumn = 27 // where a flag's meaning starts
)

// metavars names the value of the flags whose type does not.
var metavars = map[string]string{
	"root": "DIR", "workdir": "DIR", "trust": "DIR", "abi": "MIN-MAX",
	"log-format": "FORMAT", "log-level": "LEVEL",
	"listen": "ADDR", "on-change": "CMD", "admin-token-file": "FILE", "max-upload": "SIZE",
	"smoke-params": "KIND=JSON", "addr": "HOST:PORT", "manifest": "FILE",
	"params": "JSON|@FILE", "input": "SOURCE", "pin": "NAME", "rate": "HZ",
	"channels": "N", "ticks": "N", "output": "PIN=FILE.wav",
}

// details is what `plugwatch help COMMAND` says of a command under its usage line.
var details = map[string]string{
	"run": "Creates the root and its native/ and active/ folders if missing, " +
		"reconciles once, then watches the root and keeps the loaded plugins equal to " +
		"the desired state until SIGINT or SIGTERM, when it unloads everything and " +
		"exits 0. SIGHUP forces a full rescan. The admin API's bearer token comes " +
		"from --admin-token-file, else $PLUGWATCH_ADMIN_TOKEN; without one the write " +
		"endpoints answer 403. Also what plugwatch does with no command.",
	"scan": "Computes the desired state once, probing each library in a helper " +
		"process exactly as run would, prints it and exits; nothing stays loaded. " +
		"A plain scan that finds problems exits 0.",
	"status": "Asks a running plugwatch run for its state and prints it. Exits 1 " +
		"when no daemon answers or it has not finished its first pass.",
	"inspect": "Probes one library, wherever it lies, in a helper process and " +
		"prints its metadata: kind, API version, pins, parameter schema.",
	"install": "Places a library, or a .wasm file, into the root the safe way: " +
		"staged as a hidden file, probed, and moved into native/<name>/ only if no " +
		"plugin provides its kind; nothing is ever overwritten. Prints the path it " +
		"wrote; exits 1 when refused.",
	"remove": "Removes the directory bundle native/ID/, or the marketplace record " +
		"active/ID.json and its bundle. When both exist it removes nothing until " +
		"--local or --marketplace chooses. It never deletes through a symlink. A " +
		"running daemon then unloads the plugin. Exits 1 when there is nothing to " +
		"remove.",
	"migrate": "Moves every library lying directly in native/ into a folder of " +
		"its own, native/<stem>/, printing one line per library. Exits 1 when any " +
		"library was left in place.",
	"try": "Runs one instance of a plugin in a helper process on test input and " +
		"reports what it produced, call timings and its log lines. LIB is a library " +
		"path (it holds a / or ends in .so); anything else is the ID of a plugin of " +
		"the root. Exits 0 when the run is ok, 1 when a call failed, crashed or " +
		"hung.",
	"version": "Prints plugwatch's version, the Go version and the platform.",
	"help":    "Prints the usage of plugwatch, or of one command. COMMAND --help and -h print the same.",
}

// pendingCommand is a command of the contract that is not built yet.
type pendingCommand struct {
	after                    string // the command the list shows it after
	name, argsUsage, summary string
	flags                    func(fs *flag.FlagSet)
}

var pending = []pendingCommand{}

var pendingFlags = map[string]func(fs *flag.FlagSet){}

func findPending(name string) *pendingCommand {
	for i := range pending {
		if pending[i].name == name && findCommand(name) == nil {
			return &pending[i]
		}
	}
	return nil
}

// flagSet returns the pending command's flags with the global flags.
func (p *pendingCommand) flagSet(a *app) *flag.FlagSet {
	fs := a.flagSet(p.name)
	p.flags(fs)
	return fs
}

// helpEntry is one command as help lists it.
type helpEntry struct {
	name, argsUsage, summary string
	flags                    *flag.FlagSet // the command's own flags, without the global ones
}

// helpEntries returns every command in the order help lists them: the commands
// table, the pending commands after the one they follow, and help before version.
func helpEntries() []helpEntry {
	var list []helpEntry
	add := func(e helpEntry) {
		if e.name == "version" {
			list = append(list, helpEntry{name: "help", argsUsage: "[COMMAND]",
				summary: "print the usage of plugwatch or of one command",
				flags:   flag.NewFlagSet("help", flag.ContinueOnError)})
		}
		list = append(list, e)
		for _, p := range pending {
			if p.after == e.name && findCommand(p.name) == nil {
				fs := flag.NewFlagSet(p.name, flag.ContinueOnError)
				p.flags(fs)
				list = append(list, helpEntry{p.name, p.argsUsage, p.summary, fs})
			}
		}
	}
	for _, c := range commands {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		if more := pendingFlags[c.name]; more != nil {
			extra := flag.NewFlagSet(c.name, flag.ContinueOnError)
			more(extra)
			extra.VisitAll(func(f *flag.Flag) {
				if fs.Lookup(f.Name) == nil {
					fs.Var(f.Value, f.Name, f.Usage)
				}
			})
		}
		add(helpEntry{c.name, c.argsUsage, c.summary, fs})
	}
	return list
}

// synopsis is a command's usage line: `plugwatch NAME [flags] ARGS`.
func synopsis(name, argsUsage string) string {
	s := programName + " " + name + " [flags]"
	if argsUsage != "" {
		s += " " + argsUsage
	}
	return s
}

// writeHelp prints the help of command, or of plugwatch when command is "".
func writeHelp(w io.Writer, command string) error {
	h := &helpWriter{}
	entries := helpEntries()
	if command == "" {
		h.line("usage: " + programName + " [global flags] COMMAND [flags] [ARGS]")
		h.line("")
		h.para("plugwatch keeps the native plugins a process has loaded equal to what " +
			"is on disk in a StreamKit plugins root. With no command it runs.")
		h.line("")
		h.line("Commands:")
		width := 0
		for _, e := range entries {
			width = max(width, columns(strings.TrimSpace(e.name+" "+e.argsUsage)))
		}
		for _, e := range entries {
			h.columns("  "+strings.TrimSpace(e.name+" "+e.argsUsage), e.summary, width+4)
		}
		h.line("")
		h.line("Global flags (before or after the command):")
		h.flags(globalFlags())
		h.line("")
		h.para("Flags may come before or after a command's arguments. Exit status: " +
			"0 success, 1 the command could not do its job, 2 bad usage. " +
			"'plugwatch help COMMAND' prints the flags of one command.")
	} else {
		i := slices.IndexFunc(entries, func(e helpEntry) bool { return e.name == command })
		if i < 0 {
			return fmt.Errorf("no help for %q", command)
		}
		e := entries[i]
		h.line("usage: " + synopsis(e.name, e.argsUsage))
		h.line("")
		d := details[e.name]
		if d == "" {
			d = strings.ToUpper(e.summary[:1]) + e.summary[1:] + "."
		}
		h.para(d)
		n := 0
		e.flags.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			h.line("")
			h.line("Flags:")
			h.flags(e.flags)
		}
		h.line("")
		h.line("Global flags:")
		h.flags(globalFlags())
	}
	_, err := io.WriteString(w, h.b.String())
	return err
}

// globalFlags returns the global flags with their defaults.
func globalFlags() *flag.FlagSet {
	g := defaultGlobals(func(string) string { return "" })
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	defineGlobals(fs, &g)
	return fs
}

// helpWriter lays out help text within helpWidth columns.
type helpWriter struct{ b strings.Builder }

func (h *helpWriter) line(s string) { h.b.WriteString(s + "\n") }

// para writes text wrapped at helpWidth.
func (h *helpWriter) para(text string) {
	for _, l := range wrap(text, helpWidth) {
		h.line(l)
	}
}

// columns writes left, then text starting at column col, wrapped at helpWidth; a
// left too wide for its column puts text on the next line.
func (h *helpWriter) columns(left, text string, col int) {
	lines := wrap(text, helpWidth-col)
	if columns(left) >= col-1 {
		h.line(left)
	} else if len(lines) > 0 {
		h.line(left + strings.Repeat(" ", col-columns(left)) + lines[0])
		lines = lines[1:]
	}
	for _, l := range lines {
		h.line(strings.Repeat(" ", col) + l)
	}
}

// flags writes one entry per flag of fs, in name order.
func (h *helpWriter) flags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		left, meaning := flagHelp(f)
		h.columns("  "+left, meaning, flagColumn)
	})
}

// flagHelp returns "--name VALUE" and the meaning of f, with its default.
func flagHelp(f *flag.Flag) (left, meaning string) {
	meta, usage := flag.UnquoteUsage(f)
	if !strings.Contains(f.Usage, "`") {
		switch {
		case metavars[f.Name] != "":
			meta = metavars[f.Name]
		case meta == "duration":
			meta = "DUR"
		case meta == "int" || meta == "uint":
			meta = "N"
		case meta != "":
			meta = "VALUE"
		}
	}
	left = "--" + f.Name
	if meta != "" && !isBool(f) {
		left += " " + meta
	}
	if def := showDefault(f); def != "" && !strings.Contains(usage, "(default") {
		usage += " (default " + def + ")"
	}
	return left, usage
}

// showDefault returns f's default as help shows it, or "" for a zero value.
func showDefault(f *flag.Flag) string {
	def := f.DefValue
	if g, ok := f.Value.(flag.Getter); ok {
		if d, ok := g.Get().(time.Duration); ok {
			def = formatDuration(d)
		}
	}
	switch def {
	case "", "0", "0s", "false", "[]":
		return ""
	}
	return def
}

// formatDuration writes d as a person would: 1m, not 1m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// wrap splits text into lines of at most width columns, breaking at spaces; a word
// longer than width stands on a line of its own.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case columns(line)+1+columns(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// columns is how many columns s takes on a terminal (one per rune: help holds no
// wide characters).
func columns(s string) int { return utf8.RuneCountInString(s) }
