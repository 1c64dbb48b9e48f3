package manifest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugwatch/plugwatch/internal/nstest"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadRecord(t *testing.T) {
	path := writeFile(t, "slint.json", goodRecord.json())
	r, err := ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.PluginID != "slint" || r.InstalledAtMs != 1764012600123 {
		t.Errorf("got %+v", *r)
	}
	path = writeFile(t, "slint.json", goodRecord.with("-version").json())
	_, err = ReadRecord(path)
	checkErr(t, err, path, ErrMissingField, "version")
}

func TestReadManifest(t *testing.T) {
	m, err := ReadManifest(writeFile(t, "plugin.yml", goodManifest.yaml()))
	if err != nil || m.ID != "gain" {
		t.Fatalf("got %+v, %v", m, err)
	}
	m, err = ReadManifest(writeFile(t, "manifest.json", goodManifestJSON.json()))
	if err != nil || m.ID != "gain" {
		t.Fatalf("got %+v, %v", m, err)
	}
	path := writeFile(t, "plugin.yml", goodManifest.with("entrypoint=../libgain.so").yaml())
	_, err = ReadManifest(path)
	checkErr(t, err, path, ErrEscapes, "entrypoint")
}

// A file of MaxSize bytes is read; one byte more is refused without being read: the
// over-long file below is not JSON, so reading it would give ErrSyntax.
func TestReadSizeLimit(t *testing.T) {
	exact := goodRecord.json()
	exact = append(exact, strings.Repeat(" ", MaxSize-len(exact))...)
	if _, err := ReadRecord(writeFile(t, "exact.json", exact)); err != nil {
		t.Errorf("a record of exactly MaxSize bytes: %v", err)
	}
	exactYAML := append(goodManifest.yaml(), strings.Repeat("#", MaxSize-len(goodManifest.yaml()))...)
	if _, err := ReadManifest(writeFile(t, "plugin.yml", exactYAML)); err != nil {
		t.Errorf("a manifest of exactly MaxSize bytes: %v", err)
	}

	over := []byte(strings.Repeat("not json ", MaxSize/9+1))[:MaxSize+1]
	for _, name := range []string{"big.json", "plugin.yml"} {
		path := writeFile(t, name, over)
		var err error
		if name == "big.json" {
			_, err = ReadRecord(path)
		} else {
			_, err = ReadManifest(path)
		}
		checkErr(t, err, path, ErrTooLarge, "")
		if errors.Is(err, ErrSyntax) {
			t.Errorf("%s: an oversized file was parsed", name)
		}
	}

	// A 1 GiB sparse file is refused at once.
	path := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadRecord(path)
	checkErr(t, err, path, ErrTooLarge, "")
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.json")
	_, err := ReadRecord(missing)
	checkErr(t, err, missing, fs.ErrNotExist, "")

	_, err = ReadManifest(filepath.Join(dir, "missing.yml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadManifest of a missing file = %v", err)
	}

	folder := filepath.Join(dir, "folder.json")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = ReadRecord(folder)
	checkErr(t, err, folder, fs.ErrInvalid, "")

	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(writeFile(t, "target.json", goodRecord.json()), link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecord(link); err != nil {
		t.Errorf("ReadRecord through a symlink: %v", err)
	}

	loop := filepath.Join(dir, "loop.json")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	_, err = ReadRecord(loop)
	var e *Error
	if !errors.As(err, &e) || e.Path != loop {
		t.Errorf("ReadRecord of a symlink loop = %v", err)
	}
}

func TestReadUnreadable(t *testing.T) {
	if os.Geteuid() == 0 && !nstest.Inside() {
		nstest.Rerun(t, nstest.Unprivileged) // root reads every file
		return
	}
	path := writeFile(t, "secret.json", goodRecord.json())
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err := ReadRecord(path)
	checkErr(t, err, path, fs.ErrPermission, "")
}
