package watcher_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plugwatch/plugwatch/watcher"
)

// The reconcile loop: Run in the background, one pass per signal. The first signal
// comes once the watches are in place, so the first pass misses nothing.
func Example() {
	root, _ := os.MkdirTemp("", "plugins")
	defer os.RemoveAll(root)
	os.Mkdir(filepath.Join(root, "native"), 0o755)

	w, err := watcher.New(watcher.Options{Root: root})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	passes := 0
	for s := range w.C() { // ends when Run returns
		passes++
		switch passes {
		case 1:
			fmt.Println("pass, full:", s.Full)
			// A bundle appears while plugwatch runs.
			os.Mkdir(filepath.Join(root, "native", "gain"), 0o755)
		case 2:
			fmt.Println("pass, full:", s.Full)
			cancel() // SIGINT
		}
	}
	fmt.Println("stopped:", <-done)
	// Output:
	// pass, full: true
	// pass, full: false
	// stopped: <nil>
}
