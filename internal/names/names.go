// Package names holds the one rule of docs/root-layout.md that both the watcher and the
// reconciler apply to every name they meet: which names are ignored without a
// warning. It exists so the two never disagree.
package names

import "strings"

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
