package layout

import (
	"path/filepath"
	"testing"
)

func TestLayoutFolder(t *testing.T) {
	root := filepath.FromSlash("/srv/.plugins")
	for dir, want := range map[string]bool{
		"/srv/.plugins":                      true,
		"/srv/.plugins/active":               true,
		"/srv/.plugins/native":               true,
		"/srv/.plugins/native/gain":          true,
		"/srv/.plugins/native/gain/lib":      false, // a deep entrypoint's folder
		"/srv/.plugins/native/.gain.d":       false, // hidden: a private folder
		"/srv/.plugins/bundles":              true,
		"/srv/.plugins/bundles/gain":         true,
		"/srv/.plugins/bundles/gain/1.0.0":   true,
		"/srv/.plugins/bundles/gain/1.0.0/x": false,
		"/srv/.plugins/cache":                false,
		"/srv/.plugins/active/x":             false,
		"/srv":                               false,
		"/srv/build":                         false,
	} {
		if got := LayoutFolder(root, filepath.FromSlash(dir)); got != want {
			t.Errorf("LayoutFolder(%q) = %v, want %v", dir, got, want)
		}
	}
}
