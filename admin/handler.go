package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Default timings of the event stream.
const (
	keepAliveInterval = 15 * time.Second // a comment line on an idle stream
)

// handler serves the read side of the admin API.
type handler struct {
	src       Source
	log       *slog.Logger
	mux       *http.ServeMux
	keepAlive time.Duration // interval of keep-alive comments on /v1/events
}

// NewHandler returns the read side of the admin API (docs/http-api.md):
//
//	GET /healthz    200 "ok" once src.State() is not nil, else 503 "not ready"
//	GET /v1/state   the state document as JSON; 503 with a JSON error before the first reconcile
//	GET /v1/events  Server-Sent Events: one event per state.Event, named by its type,
//	                its data the event as one line of JSON
//	GET /metrics    m's registry in the Prometheus text format; 404 when m is nil
//
// HEAD is answered like GET without a body. A request with another method on a path
// of the API (these, and the write paths /v1/plugins and /v1/plugins/{id} that
// WriteHandler serves in front of this handler) is answered 405 with an Allow header
// naming the methods the API serves there; a request the write side would have
// served, reaching this handler without it, is 501. Any other path is 404. Every
// error answer is JSON, {"error": "<one line>"}.
//
// An event stream starts with the comment ": connected", sends a keep-alive comment
// every 15 s while idle, and ends when the client goes away, src closes its
// channel, or the request's context is done (Serve cancels it on shutdown). No write
// has a deadline until then: a client that stops reading is not dropped for it. A
// nil log discards.
//
// The handler never changes src or its documents and is safe for concurrent use.
func NewHandler(src Source, m *Metrics, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		src:       src,
		log:       log,
		mux:       http.NewServeMux(),
		keepAlive: keepAliveInterval,
	}
	// GET patterns also match HEAD. Each path is registered a second time without
	// a method, for the 405 of every other method (the mux's own 405 is not JSON).
	read := map[string]http.Handler{
		"/healthz":   http.HandlerFunc(h.healthz),
		"/v1/state":  http.HandlerFunc(h.state),
		"/v1/events": http.HandlerFunc(h.events),
	}
	if m != nil {
		read["/metrics"] = promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{
			ErrorLog:      promLogger{log},
			ErrorHandling: promhttp.ContinueOnError,
		})
	}
	var paths []string
	for path, serve := range read {
		h.mux.Handle("GET "+path, serve)
		h.mux.Handle(path, methodNotAllowed("GET, HEAD"))
		paths = append(paths, path)
	}
	for path, method := range writePaths {
		h.mux.Handle(path, methodNotAllowed(method))
		paths = append(paths, path)
	}
	slices.Sort(paths)
	h.mux.Handle("/", notFound(paths))
	return h
}

// writePaths are the paths WriteHandler serves, with the one method it serves on
// each: the read side answers the others.
var writePaths = map[string]string{
	"/v1/plugins":      http.MethodPost,
	"/v1/plugins/{id}": http.MethodDelete,
}

// methodNotAllowed answers 405 with allow in the Allow header, except a request
// with one of the methods allowed, which only reaches the read side when the write
// side is missing: 501.
func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range strings.Split(allow, ", ") {
			if r.Method == m {
				writeError(w, http.StatusNotImplemented, r.Method+" "+r.URL.Path+" is not served by this handler")
				return
			}
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, allow))
	})
}

// notFound answers 404 for a path that is not one of paths, naming them.
func notFound(paths []string) http.Handler {
	list := strings.Join(paths, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s; the admin API serves %s", r.URL.Path, list))
	})
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.src.State() == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready\n")
		return
	}
	io.WriteString(w, "ok")
}

// notReadyBody is the answer of GET /v1/state before the first reconcile.
const notReadyBody = `{"error":"not ready: the first reconcile has not finished"}` + "\n"

func (h *handler) state(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	st := h.src.State()
	if st == nil {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, notReadyBody)
		return
	}
	// Indented like scan --json, so status --json prints the same bytes.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		h.log.Error("admin: encoding the state document", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":"cannot encode the state document"}`+"\n")
		return
	}
	w.Write(buf.Bytes())
}

// promLogger sends promhttp's errors to slog.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Error("admin: serving metrics", "err", fmt.Sprint(v...))
}
