package plugwatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/plugwatch/plugwatch"
	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/reconcile"
)

// mediaServer stands for a Go media server embedding plugwatch: it is told of every
// load, reload and unload, and holds a plugin while it has instances of it.
type mediaServer struct{}

func (mediaServer) Loaded(p *reconcile.LoadedPlugin) {
	if p.Acquire() { // keep the library open while nodes use it
		fmt.Println("register", p.Info().Kind, "-", p.Metadata().Description)
	}
}

func (mediaServer) Reloaded(old, new *reconcile.LoadedPlugin) {
	if new.Acquire() {
		fmt.Println("swap", new.Info().Kind, "to version", new.Info().Version)
		old.Release()
	}
}

func (mediaServer) Unloaded(p *reconcile.LoadedPlugin) {
	fmt.Println("unregister", p.Info().Kind)
	p.Release() // its last instance is gone: the library may now be closed
}

var _ reconcile.Host = mediaServer{}

// Embedding the watch-and-reconcile loop in a Go program: its own logger, a Host
// told of every change, and a context to stop it. Run returns once every plugin was
// unloaded and released. Libraries are probed in helper processes, which are this
// program started again: its main calls probe.Main() first (here, TestMain does).
func Example() {
	root := filepath.Join(os.TempDir(), fmt.Sprintf("plugwatch-example-%d", os.Getpid()), ".plugins")
	defer os.RemoveAll(filepath.Dir(root))
	lib, err := plugintest.Compile(plugintest.Spec{Kind: "gain", Description: "Adjusts volume"})
	if err != nil {
		fmt.Println(err)
		return
	}
	data, _ := os.ReadFile(lib)
	os.MkdirAll(filepath.Join(root, "native", "gain"), 0o755)
	os.WriteFile(filepath.Join(root, "native", "gain", "libgain.so"), data, 0o755)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	d, err := plugwatch.New(plugwatch.Config{
		Options: reconcile.Options{Root: root},
		Logger:  slog.New(slog.DiscardHandler), // the server's own logger
		Host:    mediaServer{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A real server keeps running; this one stops once the plugin is loaded.
	events, _ := d.Subscribe()
	go func() {
		for e := range events {
			if e.Type == reconcile.Loaded {
				stop()
			}
		}
	}()
	if err := d.Run(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// register plugin::native::gain - Adjusts volume
	// unregister plugin::native::gain
}
