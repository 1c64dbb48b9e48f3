package install_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/plugwatch/plugwatch/install"
)

// Install places a file under the root; a second install of the same name is
// refused, and the first file is left as it was.
func ExampleInstall() {
	root, err := os.MkdirTemp("", "plugins")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)

	module := "\x00asm\x01\x00\x00\x00" // a .wasm is not probed; a library needs Options.Prober
	res, err := install.Install(context.Background(), install.Options{Root: root}, "filter.wasm", strings.NewReader(module), 1<<20, nil)
	if err != nil {
		panic(err)
	}
	rel, _ := filepath.Rel(root, res.Path)
	fmt.Println(rel)

	_, err = install.Install(context.Background(), install.Options{Root: root}, "filter.wasm", strings.NewReader(module), 1<<20, nil)
	fmt.Println(errors.Is(err, install.ErrOccupied))

	_, err = install.CheckName("libfoo.so.1")
	fmt.Println(errors.Is(err, install.ErrBadName))
	// Output:
	// wasm/filter.wasm
	// true
	// true
}
