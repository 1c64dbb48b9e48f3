package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/plugwatch/plugwatch/install"
	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/reconcile"
)

func installCommand(fs *flag.FlagSet) runFunc {
	manifestFile := fs.String("manifest", "", "a plugin.yml to place beside the library")
	return func(ctx context.Context, a *app, args []string) int {
		file := args[0]
		f, err := os.Open(file)
		if err != nil {
			return a.fail("install %s: cannot read it: %v", file, err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return a.fail("install %s: not a regular file; name the library or .wasm to install", file)
		}
		var m []byte
		if *manifestFile != "" {
			if m, err = readManifest(*manifestFile); err != nil {
				return a.fail("install %s: --manifest %s: %v", file, *manifestFile, err)
			}
		}
		opts := install.Options{Root: a.g.root, Prober: installProber(a), Provided: scanProvided(a)}
		res, err := install.Install(ctx, opts, filepath.Base(file), f, -1, m)
		if err != nil {
			return a.fail("%v", err)
		}
		fmt.Fprintln(a.Stdout, res.Path)
		return exitOK
	}
}

// installProber is the prober install reads a staged library with, and the scan of
// the kinds already provided uses.
func installProber(a *app) reconcile.Prober { return a.prober() }

// scanProvided returns the kinds the plugins `scan` reports provide: install
// refuses a library whose kind one of them provides.
func scanProvided(a *app) func(context.Context) (map[string]string, error) {
	return func(ctx context.Context) (map[string]string, error) {
		o := a.options()
		o.Prober = installProber(a)
		st, err := reconcile.Scan(ctx, o)
		if err != nil {
			return nil, err
		}
		return st.Provided(), nil
	}
}

// readManifest reads a manifest to install, refusing one over manifest.MaxSize
// unread past that size.
func readManifest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, manifest.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > manifest.MaxSize {
		return nil, errors.New("larger than 1 MiB; a manifest is small")
	}
	return b, nil
}
