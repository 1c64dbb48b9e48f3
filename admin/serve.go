package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ListenError is returned by Serve when it cannot bind its address.
type ListenError struct {
	Addr string // the address as given to Serve
	Err  error  // the cause, as returned by the listener
}

// Error names the address and why it could not be listened on.
func (e *ListenError) Error() string {
	return "admin: cannot listen on " + e.Addr + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *ListenError) Unwrap() error { return e.Err }

// shutdownGrace bounds how long Serve waits for requests in flight once ctx is done.
const shutdownGrace = 5 * time.Second

// Serve listens on addr ("127.0.0.1:7676", "127.0.0.1:0"…), logs the bound address
// (slog attr "addr") and serves h until ctx is done, then shuts down gracefully and
// returns nil. It returns a *ListenError (with Addr and the cause) at once if it
// cannot bind, and the error of the server if it stops serving before ctx is done.
//
// ready, when not nil, is called with the bound address once the listener is open
// and before Serve accepts connections; it runs on Serve's goroutine.
//
// Shutdown cancels the context of every request in flight, so event streams end at
// once; other requests get up to 5 s to finish before their connections are closed.
// When Serve returns, its listener and every connection are closed.
// A nil log discards.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return &ListenError{Addr: addr, Err: err}
	}
	log.Info("admin API listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr())
	}

	// Requests run in a context of their own, cancelled when shutdown starts, so
	// that long-lived event streams end; ctx's values still reach them.
	reqCtx, stopRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRequests()
	srv := &http.Server{
		Handler:           h,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		// Serve failed on its own (ctx is not done): close what is left.
		srv.Close()
		return fmt.Errorf("admin: serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	stopRequests()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("admin API: requests still running at shutdown; closing their connections", "err", err)
		srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: serving on %s: %w", ln.Addr(), err)
	}
	log.Info("admin API stopped", "addr", ln.Addr().String())
	return nil
}
