package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/manifest"
)

// From says which of a plugin id's two places Remove removes: the local
// directory bundle native/<id>/ or the marketplace record and its bundle.
type From int

const (
	// FromAny removes whichever of the two there is, and refuses with an
	// *AmbiguousError when there are both.
	FromAny From = iota
	// FromLocal removes the directory bundle native/<id>/ only (`remove --local`).
	FromLocal
	// FromMarketplace removes the records of id and their bundles only
	// (`remove --marketplace`).
	FromMarketplace
)

// AmbiguousError is the failure of Remove with FromAny when the id names both a
// directory bundle and a marketplace record: nothing was removed, and the caller
// chooses with FromLocal or FromMarketplace. Remove returns it inside an *Error;
// match it with errors.As.
type AmbiguousError struct {
	ID string
	// Folder is the directory bundle, relative to the root with a trailing
	// slash: "native/gain/".
	Folder string
	// Records are the records whose plugin_id is ID, relative to the root, in
	// name order: usually just "active/gain.json".
	Records []string
}

// Error names the folder, the records and the plugin id they share.
func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("both the folder %s and the record %s are plugin %s", e.Folder, strings.Join(e.Records, ", "), e.ID)
}

// Remove is RemoveFrom with FromAny.
func Remove(ctx context.Context, root, id string) ([]string, error) {
	return RemoveFrom(ctx, root, id, FromAny)
}

// RemoveFrom removes the plugin id from root (`plugwatch remove`) and returns
// the paths it removed, joined onto root as given, in the order it removed them.
//
// id must be one safe path component (manifest.SafeComponent), else ErrBadName.
//
// The local place is native/<id>/ when it is a directory bundle (it holds a
// library or a manifest). Remove deletes every library directly in it first (a
// symlink is removed, never its target), then its manifests (plugin.yml,
// plugin.yaml, <stem>.plugin.yml, <stem>.plugin.yaml), then plugwatch's own
// private copies there (unlinking a mapped copy is safe), and finally the folder
// when it is then empty. Other files and folders in it stay. When native/<id> is
// a symlink to a bundle folder, only the symlink is removed: the folder it points
// to is someone's build output.
//
// The marketplace place is every valid record active/*.json whose plugin_id is
// id. Each is removed first, then its bundle bundles/<id>/<version>/ with all it
// holds, then bundles/<id>/ when that is left empty, as StreamKit's uninstall
// does. Nothing is deleted through a symlink: a bundles/<id> or
// bundles/<id>/<version> that is a symlink is removed as a link, and what it
// points to is left alone.
//
// from selects the place. With FromAny, when both places exist nothing is removed
// and the error is an *Error wrapping an *AmbiguousError. When the selected place
// does not exist the error wraps ErrNothingToRemove. On a failure Remove stops and
// returns what it removed so far with an *Error naming the file. A running daemon
// notices the removal and unloads the plugin.
func RemoveFrom(ctx context.Context, root, id string, from From) ([]string, error) {
	if err := manifest.SafeComponent(id); err != nil {
		return nil, &Error{Op: "remove", Path: shown(id), Err: ErrBadName, Detail: "not a plugin id: " + err.Error()}
	}
	if err := checkRoot("remove", id, root); err != nil {
		return nil, err
	}
	r := &remover{root: root, id: id}
	var local *localBundle
	var records []recordFile
	var err error
	if from != FromMarketplace {
		if local, err = r.findBundle(); err != nil {
			return nil, err
		}
	}
	if from != FromLocal {
		if records, err = r.findRecords(ctx); err != nil {
			return nil, err
		}
	}
	switch {
	case local != nil && len(records) > 0:
		amb := &AmbiguousError{ID: id, Folder: nativeDir + "/" + id + "/"}
		for _, rec := range records {
			amb.Records = append(amb.Records, filepath.ToSlash(relTo(root, rec.path)))
		}
		return nil, &Error{Op: "remove", Path: id, Err: amb, Detail: amb.Error() +
			"; nothing was removed: choose the folder (local) or the record and its bundle (marketplace)"}
	case local != nil:
		return r.removed, r.removeBundle(local)
	case len(records) > 0:
		return r.removed, r.removeRecords(records)
	}
	var detail string
	switch from {
	case FromLocal:
		detail = fmt.Sprintf("nothing to remove: there is no bundle folder native/%s/; plugwatch scan lists the plugins", id)
	case FromMarketplace:
		detail = fmt.Sprintf("nothing to remove: there is no record in active/ with plugin_id %s; plugwatch scan lists the plugins", id)
	default:
		detail = fmt.Sprintf("nothing to remove: there is no bundle folder native/%s/ and no record in active/ with plugin_id %s; plugwatch scan lists the plugins", id, id)
	}
	return nil, &Error{Op: "remove", Path: id, Err: ErrNothingToRemove, Detail: detail}
}

type remover struct {
	root, id string
	removed  []string
}

func (r *remover) fail(err error, format string, args ...any) error {
	return &Error{Op: "remove", Path: r.id, Err: err, Detail: fmt.Sprintf(format, args...)}
}

func (r *remover) rm(path string) error {
	if err := os.Remove(path); err != nil {
		return r.fail(err, "cannot remove %s: %v", relTo(r.root, path), cause(err))
	}
	r.removed = append(r.removed, path)
	return nil
}

// localBundle is what removeBundle removes of native/<id>/.
type localBundle struct {
	dir                     string
	link                    bool     // dir is a symlink: only it is removed
	libs, manifests, copies []string // names in dir
}

// findBundle returns the directory bundle native/<id>/, or nil when there is none.
func (r *remover) findBundle() (*localBundle, error) {
	if layout.Ignored(r.id) {
		return nil, nil // plugwatch never scans it: not a bundle
	}
	dir := filepath.Join(r.root, nativeDir, r.id)
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, r.fail(err, "cannot read %s: %v", relTo(r.root, dir), cause(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		if name, err := occupant(dir); err == nil && name != "" {
			return &localBundle{dir: dir, link: true}, nil
		}
		return nil, nil
	case !fi.IsDir():
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, r.fail(err, "cannot read %s: %v", relTo(r.root, dir), cause(err))
	}
	b := &localBundle{dir: dir}
	manifestNames := map[string]bool{"plugin.yml": true, "plugin.yaml": true}
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && layout.IsLibraryName(n) {
			b.libs = append(b.libs, n)
			manifestNames[layout.Stem(n)+".plugin.yml"] = true
			manifestNames[layout.Stem(n)+".plugin.yaml"] = true
		}
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case e.IsDir():
		case manifestNames[n]:
			b.manifests = append(b.manifests, n)
		case layout.IsPrivateCopy(n):
			b.copies = append(b.copies, n)
		}
	}
	if len(b.libs) == 0 && len(b.manifests) == 0 {
		return nil, nil // not a bundle
	}
	return b, nil
}

// removeBundle removes the directory bundle b.
func (r *remover) removeBundle(b *localBundle) error {
	if b.link {
		return r.rm(b.dir) // the link, never what it points to
	}
	// Libraries first: a daemon unloads the plugin rather than reloading it under
	// another id once its manifest is gone.
	for _, group := range [][]string{b.libs, b.manifests} {
		for _, n := range group {
			if err := r.rm(filepath.Join(b.dir, n)); err != nil {
				return err
			}
		}
	}
	// A running daemon removes its private copy itself once it closes the library,
	// perhaps before we get to it: gone already is fine.
	for _, n := range b.copies {
		if err := r.rm(filepath.Join(b.dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(b.dir); err == nil { // fails when other files stay
		r.removed = append(r.removed, b.dir)
	}
	return nil
}

// recordFile is one record of the id.
type recordFile struct {
	path    string
	version string // one safe path component (manifest.ReadRecord checks it)
}

// findRecords returns the valid records active/*.json whose plugin_id is the id,
// in name order.
func (r *remover) findRecords(ctx context.Context) ([]recordFile, error) {
	dir := filepath.Join(r.root, "active")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, r.fail(err, "cannot read %s: %v", relTo(r.root, dir), cause(err))
	}
	var out []recordFile
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, &Error{Op: "remove", Path: r.id, Err: err}
		}
		n := e.Name()
		if layout.Ignored(n) || !strings.HasSuffix(n, ".json") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, n)
		rec, err := manifest.ReadRecord(path)
		if err != nil || rec.PluginID != r.id {
			continue
		}
		out = append(out, recordFile{path: path, version: rec.Version})
	}
	return out, nil
}

// removeRecords removes each record, then its bundle, never through a symlink.
func (r *remover) removeRecords(records []recordFile) error {
	bundles := filepath.Join(r.root, "bundles", r.id)
	for _, rec := range records {
		if err := r.rm(rec.path); err != nil {
			return err
		}
		fi, err := os.Lstat(bundles)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return r.fail(err, "cannot read %s: %v", relTo(r.root, bundles), cause(err))
		case fi.Mode()&fs.ModeSymlink != 0:
			// bundles/<id> is a link: removed as a link, what it points to stays.
			if err := r.rm(bundles); err != nil {
				return err
			}
			continue
		case !fi.IsDir():
			continue // not a bundle folder; not ours to remove
		}
		version := filepath.Join(bundles, rec.version)
		fi, err = os.Lstat(version)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return r.fail(err, "cannot read %s: %v", relTo(r.root, version), cause(err))
		case fi.IsDir():
			// os.RemoveAll never follows a symlink below version.
			if err := os.RemoveAll(version); err != nil {
				return r.fail(err, "cannot remove %s: %v", relTo(r.root, version), cause(err))
			}
			r.removed = append(r.removed, version)
		default: // a symlink (removed as a link) or a file
			if err := r.rm(version); err != nil {
				return err
			}
		}
		if err := os.Remove(bundles); err == nil { // fails when other versions stay
			r.removed = append(r.removed, bundles)
		}
	}
	return nil
}

// cause strips an *fs.PathError down to its cause, for a message that names the
// file already.
func cause(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
