package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plugwatch/plugwatch/state"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHealthz(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(1)
	h := NewHandler(src, nil, nil)

	resp := get(t, h, http.MethodGet, "/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable || body(t, resp) != "not ready\n" {
		t.Errorf("before ready: %s", resp.Status)
	}

	src.setState(testState())
	resp = get(t, h, http.MethodGet, "/healthz")
	if resp.StatusCode != http.StatusOK || body(t, resp) != "ok" {
		t.Errorf("after ready: %s", resp.Status)
	}
	resp = get(t, h, http.MethodHead, "/healthz")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %s", resp.Status)
	}
}

func TestStateRoundTrip(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		name string
		st   *state.State
	}{
		{"full", testState()},
		{"empty", func() *state.State {
			st := &state.State{Root: "/r", Generation: 1}
			st.Sort()
			return st
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource(1)
			src.setState(tc.st)
			resp := get(t, NewHandler(src, nil, nil), http.MethodGet, "/v1/state")
			raw := body(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s: %s", resp.Status, raw)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !strings.HasPrefix(raw, "{\n  \"root\": ") {
				t.Errorf("document does not start with root:\n%s", raw)
			}
			if tc.name == "empty" && !strings.Contains(raw, `"plugins": []`) {
				t.Errorf("empty plugins not []:\n%s", raw)
			}
			var got state.State
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(tc.st)
			again, _ := json.Marshal(&got)
			if !bytes.Equal(want, again) {
				t.Errorf("round trip changed the document:\n got %s\nwant %s", again, want)
			}
		})
	}
}

func TestStateNotReady(t *testing.T) {
	checkLeaks(t)
	resp := get(t, NewHandler(newFakeSource(1), nil, nil), http.MethodGet, "/v1/state")
	raw := body(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %s", resp.Status)
	}
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(raw), &e); err != nil || e.Error == "" {
		t.Errorf("body %q is not a JSON error (%v)", raw, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

// jsonError checks resp is a JSON error answer and returns its message.
func jsonError(t *testing.T, resp *http.Response) string {
	t.Helper()
	raw := body(t, resp)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type = %q, want application/json", resp.Status, ct)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", resp.Status, raw, err)
	}
	msg, ok := e["error"].(string)
	if !ok || msg == "" || len(e) != 1 || strings.Contains(msg, "\n") {
		t.Errorf("%s: body %q is not one {\"error\": \"<one line>\"}", resp.Status, raw)
	}
	return msg
}

func TestRoutes(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(1)
	src.setState(testState())
	h := NewHandler(src, NewMetrics(), nil)
	for _, path := range []string{"/healthz", "/v1/state", "/v1/events", "/metrics"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			resp := get(t, h, method, path)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %s, want 405", method, path, resp.Status)
			}
			if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
				t.Errorf("%s %s: Allow = %q, want GET, HEAD", method, path, allow)
			}
			if msg := jsonError(t, resp); !strings.Contains(msg, method) || !strings.Contains(msg, path) {
				t.Errorf("%s %s: message %q names neither", method, path, msg)
			}
		}
	}
	for _, path := range []string{"/", "/v1", "/v1/statex", "/healthz/", "/v2/state", "/v1/plugins/", "/v1/plugins/a/b"} {
		resp := get(t, h, http.MethodGet, path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
		if msg := jsonError(t, resp); !strings.Contains(msg, "/v1/state") {
			t.Errorf("GET %s: 404 message %q does not name the API's paths", path, msg)
		}
	}
	resp := get(t, NewHandler(src, nil, nil), http.MethodGet, "/metrics")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without Metrics: %s, want 404", resp.Status)
	}
	jsonError(t, resp)
	resp = get(t, h, http.MethodHead, "/v1/events")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || body(t, resp) != "" {
		t.Errorf("HEAD /v1/events: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
}

// TestWriteRoutes: a wrong method on a write path is 405 with the write method in
// Allow, through the daemon's stack (the write side in front of the read side).
func TestWriteRoutes(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(1)
	src.setState(testState())
	h := WriteHandler(NewHandler(src, NewMetrics(), nil), WriteOptions{Token: "t"})
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPut, "/v1/plugins", "POST"},
		{http.MethodGet, "/v1/plugins", "POST"},
		{http.MethodDelete, "/v1/plugins", "POST"},
		{http.MethodHead, "/v1/plugins", "POST"},
		{http.MethodGet, "/v1/plugins/gain", "DELETE"},
		{http.MethodPost, "/v1/plugins/gain", "DELETE"},
		{http.MethodPut, "/v1/plugins/gain", "DELETE"},
	} {
		resp := get(t, h, tc.method, tc.path)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %s, want 405", tc.method, tc.path, resp.Status)
		}
		if allow := resp.Header.Get("Allow"); allow != tc.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.path, allow, tc.allow)
		}
		if tc.method != http.MethodHead {
			jsonError(t, resp)
		}
	}
	// The write side still answers its own methods, and the read side its own.
	if resp := get(t, h, http.MethodPost, "/v1/plugins?filename=libx.so"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /v1/plugins without a token: %s, want 403", resp.Status)
	}
	if resp := get(t, h, http.MethodDelete, "/v1/plugins/gain"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("DELETE /v1/plugins/gain without a token: %s, want 403", resp.Status)
	}
	if resp := get(t, h, http.MethodGet, "/v1/state"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/state: %s", resp.Status)
	}
	if resp := get(t, h, http.MethodGet, "/v2"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v2: %s, want 404", resp.Status)
	} else {
		jsonError(t, resp)
	}
	// The read side alone: a write request it cannot serve is 501, never a 405
	// that would name the very method used.
	resp := get(t, NewHandler(src, nil, nil), http.MethodPost, "/v1/plugins")
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("POST /v1/plugins to the read side alone: %s, want 501", resp.Status)
	}
	jsonError(t, resp)
}
