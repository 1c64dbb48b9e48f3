package admin

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestFetchState(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(1)
	srv := httptest.NewServer(NewHandler(src, nil, nil))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	_, _, err := FetchState(t.Context(), addr)
	if !errors.Is(err, ErrNotReady) {
		t.Errorf("before ready: %v, want ErrNotReady", err)
	}

	want := testState()
	src.setState(want)
	st, raw, err := FetchState(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if st.Root != want.Root || st.Generation != want.Generation || len(st.Plugins) != 1 ||
		st.Plugins[0] != want.Plugins[0] || st.Skipped[0] != want.Skipped[0] || st.Problems[0] != want.Problems[0] {
		t.Errorf("FetchState = %+v, want %+v", st, want)
	}
	direct := body(t, get(t, NewHandler(src, nil, nil), http.MethodGet, "/v1/state"))
	if string(raw) != direct {
		t.Errorf("raw bytes differ from the answer:\n%s\n%s", raw, direct)
	}
}

func TestFetchStateUnreachable(t *testing.T) {
	checkLeaks(t)
	// A port that was just free: nothing listens there now.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	_, _, err = FetchState(t.Context(), addr)
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("FetchState = %v, want an *UnreachableError", err)
	}
	if ue.Addr != addr {
		t.Errorf("UnreachableError.Addr = %q, want %q", ue.Addr, addr)
	}
	if errors.Is(err, ErrNotReady) {
		t.Error("unreachable is also ErrNotReady")
	}
}

func TestFetchStateBadAnswer(t *testing.T) {
	checkLeaks(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	_, _, err := FetchState(t.Context(), srv.Listener.Addr().String())
	var ue *UnreachableError
	if err == nil || errors.Is(err, ErrNotReady) || errors.As(err, &ue) {
		t.Errorf("404: %v, want an error of its own", err)
	}
	if _, _, err := FetchState(t.Context(), "no-port"); err == nil || errors.As(err, &ue) {
		t.Errorf("bad address: %v", err)
	}
}
