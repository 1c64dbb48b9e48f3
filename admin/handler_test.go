package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plugwatch/plugwatch/reconcile"
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
		st   *reconcile.State
	}{
		{"full", testState()},
		{"empty", func() *reconcile.State {
			st := &reconcile.State{Root: "/r", Generation: 1}
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
			var got reconcile.State
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

func TestRoutes(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(1)
	src.setState(testState())
	h := NewHandler(src, NewMetrics(), nil)
	for _, path := range []string{"/healthz", "/v1/state", "/v1/events", "/metrics"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			resp := get(t, h, method, path)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %s, want 405", method, path, resp.Status)
			}
			if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") {
				t.Errorf("%s %s: Allow = %q", method, path, allow)
			}
		}
	}
	for _, path := range []string{"/", "/v1", "/v1/statex", "/healthz/", "/v2/state"} {
		if resp := get(t, h, http.MethodGet, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
	if resp := get(t, NewHandler(src, nil, nil), http.MethodGet, "/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without Metrics: %s, want 404", resp.Status)
	}
	resp := get(t, h, http.MethodHead, "/v1/events")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || body(t, resp) != "" {
		t.Errorf("HEAD /v1/events: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
}
