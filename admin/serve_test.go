package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/plugwatch/plugwatch/internal/lockedbuf"
)

// startServe runs Serve on 127.0.0.1:0 and returns its address and result.
func startServe(t *testing.T, ctx context.Context, h http.Handler, log *slog.Logger) (string, <-chan error) {
	t.Helper()
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, "127.0.0.1:0", h, log, func(a net.Addr) { addrc <- a }) }()
	select {
	case a := <-addrc:
		return a.String(), errc
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
		return "", nil
	}
}

func TestServe(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(4)
	var logs lockedbuf.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	addr, errc := startServe(t, ctx, NewHandler(src, NewMetrics(), log), log)

	// The bound address is logged as "addr".
	var rec struct{ Addr string }
	if err := json.Unmarshal(bytes.SplitN([]byte(logs.String()), []byte("\n"), 2)[0], &rec); err != nil || rec.Addr != addr {
		t.Errorf("first log line %q: addr %q, want %q (%v)", logs.String(), rec.Addr, addr, err)
	}

	c := newClient(t)
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz: %s, want 503", resp.Status)
	}

	// An open event stream ends when ctx is done, and Serve returns nil.
	br, _ := openStream(t, t.Context(), c, "http://"+addr)
	src.publish(testEvents()[0])
	checkEvent(t, br, testEvents()[0])
	stop()
	if m, err := readMsg(br); !errors.Is(err, io.EOF) {
		t.Errorf("stream after shutdown: %+v, %v; want EOF", m, err)
	}
	if err := <-errc; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	wait(t, src.cancelled, "the stream to unsubscribe")
	if _, err := c.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("server still answers after Serve returned")
	}
}

func TestServePortInUse(t *testing.T) {
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	called := false
	err = Serve(t.Context(), addr, NewHandler(newFakeSource(1), nil, nil), nil, func(net.Addr) { called = true })
	var le *ListenError
	if !errors.As(err, &le) {
		t.Fatalf("Serve = %v, want a *ListenError", err)
	}
	if le.Addr != addr || le.Err == nil {
		t.Errorf("ListenError = %+v", le)
	}
	if called {
		t.Error("ready called although Serve could not bind")
	}
}
