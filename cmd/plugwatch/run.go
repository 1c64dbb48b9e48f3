package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/plugwatch/plugwatch"
	"github.com/plugwatch/plugwatch/admin"
)

func runCommand(fs *flag.FlagSet) runFunc {
	debounce := fs.Duration("debounce", 100*time.Millisecond, "quiet period before changes are reconciled")
	resync := fs.Duration("resync", time.Minute, "interval of a full pass as a safety net (0: off)")
	listen := addrFlag(fs, "listen", "127.0.0.1:7676", "admin HTTP API address, or off", true)
	onChange := fs.String("on-change", "", "shell command run after each pass that changed plugins")
	tokenFile := fs.String("admin-token-file", "", "file holding the admin API's bearer token")
	maxUpload := fs.String("max-upload", "512MiB", "largest upload the admin API accepts")
	smoke := fs.Bool("smoke", false, "try every library on test input before it is opened")
	smokeParams := smokeParamsFlag(fs)
	return func(ctx context.Context, a *app, _ []string) int {
		if *debounce <= 0 {
			return a.usage("run", "--debounce must be positive")
		}
		if *resync < 0 {
			return a.usage("run", "--resync must not be negative")
		}
		limit, err := parseSize(*maxUpload)
		if err != nil {
			return a.usage("run", "invalid --max-upload %q: use bytes, or a number with KiB, MiB or GiB", *maxUpload)
		}
		token, err := a.adminToken(*tokenFile)
		if err != nil {
			return a.fail("%v", err)
		}
		opts := a.rootOptions() // the daemon makes its own pool of probe helpers
		d, err := plugwatch.New(plugwatch.Config{
			Options: opts, Debounce: *debounce, Resync: *resync, Listen: *listen, OnChange: *onChange,
			AdminToken: token, MaxUpload: limit, ProbeTimeout: a.g.probeTimeout, Logger: a.log,
			Smoke: *smoke, SmokeParams: smokeParams,
			StopTimeout: 8 * time.Second, // SIGTERM ends run within 10 s, whatever a library does
		})
		if err != nil {
			return a.fail("cannot prepare the plugins root %s: %v", a.g.root, err)
		}
		return a.runDaemon(ctx, d)
	}
}

// adminToken returns the admin API's bearer token: the contents of file when one is
// named, else $PLUGWATCH_ADMIN_TOKEN; trimmed.
func (a *app) adminToken(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(a.Getenv("PLUGWATCH_ADMIN_TOKEN")), nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file %s: %v; name a readable file holding the token", file, cause(err))
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("--admin-token-file %s is empty; write the token into it", file)
	}
	return token, nil
}

// runDaemon runs d until ctx ends, rescanning on SIGHUP, and returns the exit status.
func (a *app) runDaemon(ctx context.Context, d *plugwatch.Daemon) int {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-hup:
				d.Rescan()
			case <-ctx.Done():
				return
			}
		}
	}()
	err := d.Run(ctx)
	cancel()
	<-done
	var le *admin.ListenError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		a.log.Warn("stopped without closing every library: one did not close in time", "path", a.g.root)
		return exitOK
	case errors.As(err, &le):
		return a.fail("--listen %s: cannot listen: %v; choose another address, or --listen off", le.Addr, le.Err)
	case err != nil:
		return a.fail("run: %v", err)
	}
	return exitOK
}
