package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Default timings of the event stream.
const (
	keepAliveInterval = 15 * time.Second // a comment line on an idle stream
	streamWriteLimit  = 10 * time.Second // a client that takes longer to accept one write is dropped
)

// handler serves the read side of the admin API.
type handler struct {
	src          Source
	log          *slog.Logger
	mux          *http.ServeMux
	keepAlive    time.Duration // interval of keep-alive comments on /v1/events
	writeTimeout time.Duration // deadline of each write to /v1/events
}

// NewHandler returns the read side of the admin API (SPEC 7.3):
//
//	GET /healthz    200 "ok" once src.State() is not nil, else 503 "not ready"
//	GET /v1/state   the state document as JSON; 503 with a JSON error before the first reconcile
//	GET /v1/events  Server-Sent Events: one event per reconcile.Event, named by its type,
//	                its data the event as one line of JSON
//	GET /metrics    m's registry in the Prometheus text format; 404 when m is nil
//
// HEAD is answered like GET without a body. Any other method on these paths gets 405
// with an Allow header; any other path 404. An event stream starts with the comment
// ": connected", sends a keep-alive comment every 15 s while idle, and ends when the
// client goes away, src closes its channel, a write blocks for 10 s, or the request's
// context is done (Serve cancels it on shutdown). A nil log discards.
//
// The handler never changes src or its documents and is safe for concurrent use.
func NewHandler(src Source, m *Metrics, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		src:          src,
		log:          log,
		mux:          http.NewServeMux(),
		keepAlive:    keepAliveInterval,
		writeTimeout: streamWriteLimit,
	}
	// Method patterns make the mux answer 405 with Allow for other methods, and
	// GET patterns also match HEAD.
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /v1/state", h.state)
	h.mux.HandleFunc("GET /v1/events", h.events)
	if m != nil {
		h.mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{
			ErrorLog:      promLogger{log},
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	return h
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
