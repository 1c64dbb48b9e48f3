package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/reconcile"
)

// Remove removes the plugin id from root (SPEC 7.1 `remove`) and returns the paths
// it removed, joined onto root as given, in the order it removed them.
//
// id must be one safe path component (manifest.SafeComponent), else ErrBadName.
//
// When native/<id>/ is a directory bundle (it holds a library or a manifest),
// Remove deletes every library directly in it first (a symlink is removed, never
// its target), then its manifests (plugin.yml, plugin.yaml, <stem>.plugin.yml,
// <stem>.plugin.yaml), then plugwatch's own private copies there (unlinking a
// mapped copy is safe), and finally the folder when it is then empty. Other files
// and folders in it stay. When native/<id> is a symlink to a bundle folder, only
// the symlink is removed: the folder it points to is someone's build output.
//
// Otherwise, every valid record active/*.json whose plugin_id is id is removed,
// each first, then its bundle bundles/<id>/<version>/ with all it holds, then
// bundles/<id>/ when that is left empty, as StreamKit's uninstall does.
//
// When there is nothing of either kind it returns ErrNothingToRemove. On a failure
// it stops and returns what it removed so far with an *Error naming the file.
// A running daemon notices the removal and unloads the plugin.
func Remove(ctx context.Context, root, id string) ([]string, error) {
	if err := manifest.SafeComponent(id); err != nil {
		return nil, &Error{Op: "remove", Path: shown(id), Err: ErrBadName, Detail: "not a plugin id: " + err.Error()}
	}
	if err := checkRoot("remove", id, root); err != nil {
		return nil, err
	}
	r := &remover{root: root, id: id}
	if err := r.bundle(); err != nil || len(r.removed) > 0 {
		return r.removed, err
	}
	if err := r.records(ctx); err != nil || len(r.removed) > 0 {
		return r.removed, err
	}
	return nil, &Error{Op: "remove", Path: id, Err: ErrNothingToRemove, Detail: fmt.Sprintf(
		"nothing to remove: there is no bundle folder native/%s/ and no record in active/ with plugin_id %s; plugwatch scan lists the plugins", id, id)}
}

type remover struct {
	root, id string
	removed  []string
}

func (r *remover) rm(path string) error {
	if err := os.Remove(path); err != nil {
		return &Error{Op: "remove", Path: r.id, Err: err, Detail: fmt.Sprintf("cannot remove %s: %v", relTo(r.root, path), err)}
	}
	r.removed = append(r.removed, path)
	return nil
}

// bundle removes the directory bundle native/<id>/, if there is one.
func (r *remover) bundle() error {
	if reconcile.Ignored(r.id) {
		return nil // plugwatch never scans it: not a bundle
	}
	dir := filepath.Join(r.root, nativeDir, r.id)
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return &Error{Op: "remove", Path: r.id, Err: err, Detail: fmt.Sprintf("cannot read %s: %v", relTo(r.root, dir), err)}
	case fi.Mode()&fs.ModeSymlink != 0:
		if name, err := occupant(dir); err == nil && name != "" {
			return r.rm(dir)
		}
		return nil
	case !fi.IsDir():
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &Error{Op: "remove", Path: r.id, Err: err, Detail: fmt.Sprintf("cannot read %s: %v", relTo(r.root, dir), err)}
	}
	var libs, manifests, copies []string
	manifestNames := map[string]bool{"plugin.yml": true, "plugin.yaml": true}
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && reconcile.IsLibraryName(n) {
			libs = append(libs, n)
			manifestNames[reconcile.Stem(n)+".plugin.yml"] = true
			manifestNames[reconcile.Stem(n)+".plugin.yaml"] = true
		}
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case e.IsDir():
		case manifestNames[n]:
			manifests = append(manifests, n)
		case reconcile.IsPrivateCopy(n):
			copies = append(copies, n)
		}
	}
	if len(libs) == 0 && len(manifests) == 0 {
		return nil // not a bundle
	}
	// Libraries first: a daemon unloads the plugin rather than reloading it under
	// another id once its manifest is gone.
	for _, group := range [][]string{libs, manifests} {
		for _, n := range group {
			if err := r.rm(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	// A running daemon removes its private copy itself once it closes the library,
	// perhaps before we get to it: gone already is fine.
	for _, n := range copies {
		if err := r.rm(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(dir); err == nil { // fails when other files stay
		r.removed = append(r.removed, dir)
	}
	return nil
}

// records removes the records of id and their bundles.
func (r *remover) records(ctx context.Context) error {
	dir := filepath.Join(r.root, "active")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &Error{Op: "remove", Path: r.id, Err: err, Detail: fmt.Sprintf("cannot read %s: %v", relTo(r.root, dir), err)}
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return &Error{Op: "remove", Path: r.id, Err: err}
		}
		n := e.Name()
		if reconcile.Ignored(n) || !strings.HasSuffix(n, ".json") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, n)
		rec, err := manifest.ReadRecord(path)
		if err != nil || rec.PluginID != r.id {
			continue
		}
		if err := r.rm(path); err != nil {
			return err
		}
		// The record's version is one safe path component (ReadRecord checks it).
		bundles := filepath.Join(r.root, "bundles", r.id)
		version := filepath.Join(bundles, rec.Version)
		if _, err := os.Lstat(version); err == nil {
			if err := os.RemoveAll(version); err != nil {
				return &Error{Op: "remove", Path: r.id, Err: err, Detail: fmt.Sprintf("cannot remove %s: %v", relTo(r.root, version), err)}
			}
			r.removed = append(r.removed, version)
		}
		if fi, err := os.Lstat(bundles); err == nil && fi.IsDir() {
			if err := os.Remove(bundles); err == nil { // fails when other versions stay
				r.removed = append(r.removed, bundles)
			}
		}
	}
	return nil
}
