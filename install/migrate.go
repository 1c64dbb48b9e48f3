package install

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/plugwatch/plugwatch/layout"
)

// Move is what Migrate did, or with dryRun would do, with one bare library.
type Move struct {
	From string // the bare library, native/<name>, joined onto the root as given
	To   string // native/<folder>/<name>, joined onto the root as given
	// Reason says why the library was left in place; "" when Moved.
	Reason string
	// Moved reports that the library was moved (with dryRun: would be moved).
	Moved bool
}

// String is the line `plugwatch migrate` prints: "moved FROM -> TO" or
// "left FROM: REASON".
func (m Move) String() string {
	if m.Moved {
		return "moved " + m.From + " -> " + m.To
	}
	return "left " + m.From + ": " + m.Reason
}

// Migrate moves every bare library directly in root/native/ (a regular file, or a
// symlink to one, with a library name) into native/<folder>/, the folder Install
// would use ("libgain.so" → native/gain/libgain.so), creating the folder when it
// is missing. It returns one Move per bare library, in name order.
//
// A library is left in place, with the reason, when its folder already holds a
// library or a manifest (or an earlier library of this run went there), exists
// and is not a plain folder, would be a name plugwatch ignores or `plugwatch
// remove` could not be given (CheckName's rules on a folder), or when it is a
// symlink with a relative target, which would break one folder deeper. The move
// never replaces a file; a library whose move fails is left too, and the folder
// made for it removed again. With dryRun nothing is created or moved and the
// Moves say what would be done.
//
// The error is non-nil only when root or native/ cannot be read; a root without
// native/ has nothing to migrate.
func Migrate(root string, dryRun bool) ([]Move, error) {
	if err := checkRoot("migrate", "", root); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, nativeDir)
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, &Error{Op: "migrate", Err: err, Detail: fmt.Sprintf("cannot read %s: %v", dir, cause(err))}
	}
	taken := map[string]bool{} // folders a library of this run goes to
	var moves []Move
	for _, e := range entries {
		name := e.Name()
		if !layout.IsLibraryName(name) {
			continue
		}
		from := filepath.Join(dir, name)
		if fi, err := os.Stat(from); err != nil || !fi.Mode().IsRegular() {
			continue // a folder, or a dangling symlink: not a bare library
		}
		folder := layout.Stem(name)
		m := Move{From: from, To: filepath.Join(dir, folder, name)}
		m.Reason = leave(dir, folder, name, taken)
		if m.Reason == "" && !dryRun {
			m.Reason = migrateOne(root, filepath.Join(dir, folder), m.From, m.To)
		}
		if m.Reason == "" {
			m.Moved = true
			taken[folder] = true
		}
		moves = append(moves, m)
	}
	return moves, nil
}

// leave says why the bare library native/<name> cannot go to native/<folder>/, or
// returns "".
func leave(dir, folder, name string, taken map[string]bool) string {
	rel := nativeDir + "/" + folder
	if why := folderProblem(folder); why != "" {
		return why + "; rename the library and move it by hand"
	}
	if taken[folder] {
		return fmt.Sprintf("another library of this migrate goes to %s/ first; move this one by hand", rel)
	}
	if link, err := os.Readlink(filepath.Join(dir, name)); err == nil && !filepath.IsAbs(link) {
		return fmt.Sprintf("it is a symlink to the relative path %s, which would break in %s/; move it by hand", link, rel)
	}
	if folder == name {
		return "" // "lib.so" goes to native/lib.so/lib.so: its folder takes its own name
	}
	fi, err := os.Lstat(filepath.Join(dir, folder))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ""
	case err != nil:
		return fmt.Sprintf("cannot check %s: %v", rel, err)
	case !fi.IsDir():
		return fmt.Sprintf("%s exists and is not a plain folder; move the library by hand", rel)
	}
	occ, err := occupant(filepath.Join(dir, folder))
	switch {
	case err != nil:
		return fmt.Sprintf("cannot read %s: %v", rel, err)
	case occ != "":
		return fmt.Sprintf("%s/ already holds %s; remove one of the two, or move the library by hand", rel, occ)
	}
	return ""
}

// migrateOne moves from to to with the no-replace move, making the folder when
// it is missing and removing it again when the move fails. It returns why the
// library was left, or "".
func migrateOne(root, folder, from, to string) string {
	if folder == from {
		return migrateSelf(root, from, to)
	}
	made := false
	if err := os.Mkdir(folder, folderMode); err == nil {
		made = true
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Sprintf("cannot create %s: %v", relTo(root, folder), err)
	}
	err := moveNoReplace(from, to)
	if err == nil {
		syncDir(folder)
		syncDir(filepath.Dir(from))
		return ""
	}
	if made {
		os.Remove(folder)
	}
	return moveFailed(root, to, err)
}

// migrateSelf moves native/lib.so to native/lib.so/lib.so, whose folder has the
// library's own name: through a hidden staging name, which plugwatch ignores, and
// back there when a step fails.
func migrateSelf(root, from, to string) string {
	tmp := filepath.Join(filepath.Dir(from), "."+filepath.Base(from)+"."+fmt.Sprintf("%08x", rand.Uint32())+".tmp")
	if err := moveNoReplace(from, tmp); err != nil {
		return fmt.Sprintf("cannot move it: %v", err)
	}
	if err := os.Mkdir(from, folderMode); err != nil {
		moveNoReplace(tmp, from)
		return fmt.Sprintf("cannot create %s: %v", relTo(root, from), err)
	}
	if err := moveNoReplace(tmp, to); err != nil {
		os.Remove(from)
		moveNoReplace(tmp, from)
		return moveFailed(root, to, err)
	}
	syncDir(from)
	syncDir(filepath.Dir(from))
	return ""
}

func moveFailed(root, to string, err error) string {
	if errors.Is(err, fs.ErrExist) {
		return fmt.Sprintf("%s appeared meanwhile and was left alone", relTo(root, to))
	}
	return fmt.Sprintf("cannot move it: %v", err)
}
