package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/plugwatch/plugwatch/state"
)

// ErrNotReady is returned by FetchState when the daemon answers but has not finished
// its first reconcile (503).
var ErrNotReady = errors.New("admin: daemon not ready: the first reconcile has not finished")

// UnreachableError is returned by FetchState when no daemon answers at Addr:
// the connection is refused, times out or breaks before an answer.
type UnreachableError struct {
	Addr string // the address as given to FetchState
	Err  error  // the cause
}

// Error names the address and why nothing answered there.
func (e *UnreachableError) Error() string {
	return "admin: no daemon answering at " + e.Addr + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *UnreachableError) Unwrap() error { return e.Err }

const (
	// fetchTimeout bounds FetchState when ctx has no earlier deadline.
	fetchTimeout = 10 * time.Second
	// maxStateSize bounds the state document FetchState accepts.
	maxStateSize = 64 << 20
)

// FetchState asks a running daemon at addr (host:port) for GET /v1/state. It returns
// the document and its raw bytes; ErrNotReady (wrapped) when the daemon answers 503;
// a *UnreachableError when nothing answers (connection refused, timeout). Any other
// answer, or a body that is not a state document, is an error of its own.
//
// It gives up after 10 s unless ctx ends sooner, uses no proxy and keeps no
// connection open after it returns.
func FetchState(ctx context.Context, addr string) (*state.State, []byte, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, nil, fmt.Errorf("admin: bad daemon address %q: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()

	u := url.URL{Scheme: "http", Host: addr, Path: "/v1/state"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("admin: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, nil, &UnreachableError{Addr: addr, Err: err}
	}
	defer resp.Body.Close()

	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		return nil, nil, fmt.Errorf("%w (%s)", ErrNotReady, addr)
	default:
		return nil, nil, fmt.Errorf("admin: GET %s: unexpected answer %s", u.String(), resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxStateSize+1))
	if err != nil {
		return nil, nil, &UnreachableError{Addr: addr, Err: err}
	}
	if len(raw) > maxStateSize {
		return nil, nil, fmt.Errorf("admin: GET %s: state document over %d bytes", u.String(), maxStateSize)
	}
	var st state.State
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, nil, fmt.Errorf("admin: GET %s: not a state document: %w", u.String(), err)
	}
	return &st, raw, nil
}
