package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/plugwatch/plugwatch/reconcile"
)

func scanCommand(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print the state document")
	strict := fs.Bool("strict", false, "exit 1 when there is any problem")
	return func(ctx context.Context, a *app, _ []string) int {
		return scan(ctx, a, *asJSON, *strict)
	}
}

func scan(ctx context.Context, a *app, asJSON, strict bool) int {
	st, err := reconcile.Scan(ctx, a.options())
	var re *reconcile.RootError
	switch {
	case errors.As(err, &re):
		return a.fail("%v", err)
	case err != nil:
		return a.fail("scan %s: %v", a.g.root, err)
	}
	if asJSON {
		err = writeJSON(a.Stdout, st)
	} else {
		err = writeState(a.Stdout, st)
	}
	if err != nil {
		return a.fail("writing the state: %v", err)
	}
	if strict && len(st.Problems) > 0 {
		return exitFailed
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeState prints a state document for a person: a summary line, then tables of
// plugins, skipped libraries and problems, with paths relative to the root.
func writeState(w io.Writer, st *reconcile.State) error {
	rel := func(p string) string {
		if r, err := filepath.Rel(st.Root, p); err == nil && filepath.IsLocal(r) {
			return r
		}
		return p
	}
	fmt.Fprintf(w, "%s: %s, %s, %s\n", st.Root,
		plural(len(st.Plugins), "plugin"), plural(len(st.Skipped), "skipped library", "skipped libraries"),
		plural(len(st.Problems), "problem"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(st.Plugins) > 0 {
		fmt.Fprintln(tw, "\nKIND\tID\tVERSION\tSOURCE\tAPI\tLIBRARY")
		for _, p := range st.Plugins {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.Kind, p.ID, dash(p.Version), p.Source, p.APIVersion, rel(p.Library))
		}
	}
	if len(st.Skipped) > 0 {
		fmt.Fprintln(tw, "\nSKIPPED\tID\tVERSION\tREASON\tLIBRARY\tWINNER")
		for _, s := range st.Skipped {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(s.Kind), s.ID, dash(s.Version), s.Reason, rel(s.Library), dash(rel(s.Winner)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Problems) > 0 {
		fmt.Fprintln(w, "\nPROBLEMS")
		for _, p := range st.Problems {
			fmt.Fprintf(w, "%-5s %s %s: %s\n", p.Level, p.Code, rel(p.Path), p.Message)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one string, many ...string) string {
	switch {
	case n == 1:
		return "1 " + one
	case len(many) > 0:
		return fmt.Sprintf("%d %s", n, many[0])
	default:
		return fmt.Sprintf("%d %ss", n, one)
	}
}
