// Package names holds the rules of docs/root-layout.md that both the watcher and the
// reconciler apply: which names are ignored without a warning, and which folders
// the layout is made of. It exists so the two never disagree.
package names

import (
	"path/filepath"
	"strings"
)

// LayoutFolder reports whether dir is a folder of the layout below root that the
// watcher watches on its own: root, active/, native/, native/<id>/, bundles/,
// bundles/<id>/ and bundles/<id>/<version>/ (no ignored name on the way). Both are
// compared as given, cleaned.
func LayoutFolder(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return false
	}
	if rel == "." {
		return true
	}
	parts := strings.Split(rel, string(filepath.Separator))
	for _, p := range parts {
		if Ignored(p) {
			return false
		}
	}
	switch parts[0] {
	case "active":
		return len(parts) == 1
	case "native":
		return len(parts) <= 2
	case "bundles":
		return len(parts) <= 3
	}
	return false
}

// Ignored reports whether a file or folder name is skipped without a warning: hidden
// names (plugwatch's private copies, the installer's staging files and
// bundles/<id>/.tmp-* folders), *.tmp staging files, and editor swap and backup files
// (*.swp, *~).
func Ignored(name string) bool {
	return name == "" || name[0] == '.' ||
		strings.HasSuffix(name, ".tmp") ||
		strings.HasSuffix(name, ".swp") ||
		strings.HasSuffix(name, "~")
}
