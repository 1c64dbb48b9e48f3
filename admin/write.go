package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/plugwatch/plugwatch/install"
)

// WriteOptions configures the write side of the admin API.
type WriteOptions struct {
	// Token is the bearer token a write request must carry. "" disables writes:
	// every write request is answered 403.
	Token string
	// MaxUpload is the largest body POST /v1/plugins accepts, in bytes (the
	// daemon's --max-upload); a negative value means no limit.
	MaxUpload int64
	// Install places one uploaded file; the daemon passes install.Install with its
	// Options. It must read body only after checking the name and the target (so
	// that 409 comes before 413), and report a read error of body that matches
	// install.ErrTooLarge as ErrTooLarge, as install.Install does. nil answers 501.
	Install func(ctx context.Context, name string, body io.Reader, maxSize int64) (install.Result, error)
	// Remove removes one plugin by id from the place from selects; the daemon
	// passes install.RemoveFrom on its root. It must report an id that names both a
	// folder and a record, with install.FromAny, as an *install.AmbiguousError, as
	// install.RemoveFrom does. nil answers 501.
	Remove func(ctx context.Context, id string, from install.From) error
}

// multipartField is the form field of a multipart upload that holds the file,
// as StreamKit's UI sends it.
const multipartField = "plugin"

// multipartSlack is how many bytes a multipart body may hold besides its file:
// boundaries, part headers and small fields before the file's part.
const multipartSlack = 64 << 10

// WriteHandler returns the write side of the admin API in front of next, to which
// it passes every other request:
//
//	POST   /v1/plugins?filename=NAME  install the request body as NAME
//	POST   /v1/plugins                install the file of a multipart/form-data body
//	DELETE /v1/plugins/{id}           remove the plugin id (plugwatch remove)
//
// A POST's file is either the raw request body, named by the query parameter
// filename, or, in StreamKit's shape, when the Content-Type is
// multipart/form-data, the content of the form field "plugin", named by its
// part's filename (exactly as sent: a path in it is refused, not shortened to its
// base; ?filename is then not read). Parts before "plugin" are skipped, parts
// after it are not read. A POST is checked in this order, those that need no
// body first:
//
//	403  no "Authorization: Bearer <token>" matching w.Token (compared in constant
//	     time), or no token configured
//	400  a bad NAME (install.CheckName); for a multipart body also one that is
//	     not multipart/form-data, has no part "plugin" or no filename in it
//	409  the target folder already holds a library or manifest, or wasm/NAME exists
//	413  the declared Content-Length or the streamed file passes w.MaxUpload (a
//	     multipart body may hold up to 64 KiB more, for its boundaries and part
//	     headers); the file is streamed to disk, never held in memory, and not read
//	     past the limit
//	422  the file is not a valid plugin
//	409  its kind is already provided
//	201  {"path": "<written>", "kind": "<kind>"}
//
// A DELETE answers 403 by the same token rule, 400 for an id that is not one safe
// path component or a bad choice, 404 when there is nothing to remove, else 204.
// When the id names both a local folder native/ID/ and a marketplace record
// (active/ID.json), it removes nothing and answers 409 with
// {"error": "<one line naming both>", "local": "native/ID/", "marketplace":
// ["active/ID.json"]}; the client then chooses with the query parameter
// local=true (the folder only) or marketplace=true (the record and its bundle
// only). Their values are read with strconv.ParseBool; both true is 400.
//
// A body that cannot be read (the client went away) is 400; any other failure
// 500. Every other error has the body {"error": "<one line>"}. The handler is safe
// for concurrent use; concurrent installs are as safe as install.Install makes
// them.
func WriteHandler(next http.Handler, w WriteOptions) http.Handler {
	h := &writeHandler{opts: w, mux: http.NewServeMux()}
	if w.Token != "" {
		h.token = sha256.Sum256([]byte(w.Token))
	}
	h.mux.HandleFunc("POST /v1/plugins", h.install)
	h.mux.HandleFunc("DELETE /v1/plugins/{id}", h.remove)
	h.mux.Handle("/", next)
	return h
}

type writeHandler struct {
	opts  WriteOptions
	token [sha256.Size]byte // the token's hash, so that comparing takes the same time whatever its length
	mux   *http.ServeMux
}

func (h *writeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// authorized reports whether r carries the configured bearer token.
func (h *writeHandler) authorized(r *http.Request) bool {
	if h.opts.Token == "" {
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], h.token[:]) == 1
}

// forbid answers 403, saying how writes are enabled or authorised.
func (h *writeHandler) forbid(w http.ResponseWriter) {
	msg := "missing or wrong bearer token; send Authorization: Bearer <token>, the token of the daemon's --admin-token-file or $PLUGWATCH_ADMIN_TOKEN"
	if h.opts.Token == "" {
		msg = "writes are disabled: start plugwatch run with --admin-token-file or $PLUGWATCH_ADMIN_TOKEN to enable them"
	}
	writeError(w, http.StatusForbidden, msg)
}

func (h *writeHandler) install(w http.ResponseWriter, r *http.Request) {
	body := &uploadReader{r: r.Body, declared: r.ContentLength, max: h.opts.MaxUpload}
	if !h.authorized(r) {
		refuseUpload(w, r, body, func() { h.forbid(w) })
		return
	}
	if h.opts.Install == nil {
		refuseUpload(w, r, body, func() {
			writeError(w, http.StatusNotImplemented, "installing is not available in this daemon")
		})
		return
	}
	// file is what is installed: the body, or the content of its multipart part.
	file, name := body, r.URL.Query().Get("filename")
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
		if file, name, err = h.multipartFile(body, params["boundary"]); err != nil {
			refuseUpload(w, r, body, func() { writeError(w, installStatus(err, body), err.Error()) })
			return
		}
	}
	if _, err := install.CheckName(name); err != nil {
		refuseUpload(w, r, body, func() { writeError(w, http.StatusBadRequest, err.Error()) })
		return
	}
	res, err := h.opts.Install(r.Context(), name, file, h.opts.MaxUpload)
	if err != nil {
		refuseUpload(w, r, body, func() { writeError(w, installStatus(err, file), err.Error()) })
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(struct {
		Path string `json:"path"`
		Kind string `json:"kind"`
	}{res.Path, res.Kind})
}

// badMultipart is a multipart body that holds no file to install (HTTP 400).
type badMultipart struct{ msg string }

func (e *badMultipart) Error() string { return e.msg }

// multipartFile reads a multipart/form-data body up to the start of the content
// of its part "plugin", and returns that content, as an uploadReader limited to
// w.MaxUpload, and the part's filename. body is the whole request body: the
// multipart is read through it, with its limit raised by multipartSlack. A
// failure is a *badMultipart, or an error of body's (too large, or the client
// went away).
func (h *writeHandler) multipartFile(body *uploadReader, boundary string) (*uploadReader, string, error) {
	if boundary == "" {
		return nil, "", &badMultipart{"the multipart/form-data body has no boundary in its Content-Type; send the file as the form field plugin"}
	}
	max := h.opts.MaxUpload
	if max >= 0 {
		body.max = max + min(multipartSlack, math.MaxInt64-max)
	}
	// The declared size counts the multipart's overhead: refuse it only past the
	// raised limit, and only once the file's content is read, after the name and
	// the target were checked.
	declared := body.declared
	if declared <= body.max || body.max < 0 {
		declared = -1
	}
	body.declared = -1
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextPart()
		switch {
		case err == io.EOF:
			return nil, "", &badMultipart{"the multipart/form-data body has no form field " + multipartField + "; send the file as the form field plugin (curl -F plugin=@libgain.so)"}
		case err != nil && (body.err != nil || errors.Is(err, install.ErrTooLarge)):
			return nil, "", err
		case err != nil:
			return nil, "", &badMultipart{"not a valid multipart/form-data body: " + err.Error()}
		}
		if part.FormName() != multipartField {
			if _, err := io.Copy(io.Discard, part); err != nil {
				if body.err != nil || errors.Is(err, install.ErrTooLarge) {
					return nil, "", err
				}
				return nil, "", &badMultipart{"not a valid multipart/form-data body: " + err.Error()}
			}
			continue
		}
		// The filename as sent: Part.FileName would shorten "../libgain.so" to
		// "libgain.so" rather than refuse it.
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		name, ok := params["filename"]
		if !ok {
			return nil, "", &badMultipart{"the form field " + multipartField + " has no filename; send it as a file (curl -F plugin=@libgain.so)"}
		}
		return &uploadReader{r: part, declared: declared, max: max}, name, nil
	}
}

// installStatus is the status of a failed install of what body read: the
// request's body, or the file of a multipart body (whose read errors include the
// request body's).
func installStatus(err error, body *uploadReader) int {
	var bad *badMultipart
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, install.ErrBadName):
		return http.StatusBadRequest
	case errors.Is(err, install.ErrOccupied), errors.Is(err, install.ErrKindProvided):
		return http.StatusConflict
	case errors.Is(err, install.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, install.ErrInvalid):
		return http.StatusUnprocessableEntity
	case body.err != nil:
		return http.StatusBadRequest // the upload broke off
	default:
		return http.StatusInternalServerError
	}
}

func (h *writeHandler) remove(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		h.forbid(w)
		return
	}
	if h.opts.Remove == nil {
		writeError(w, http.StatusNotImplemented, "removing is not available in this daemon")
		return
	}
	from, err := removeChoice(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := r.PathValue("id")
	err = h.opts.Remove(r.Context(), id, from)
	var amb *install.AmbiguousError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.As(err, &amb):
		records := strings.Join(amb.Records, ", ")
		writeJSON(w, http.StatusConflict, struct {
			Error       string   `json:"error"`
			Local       string   `json:"local"`
			Marketplace []string `json:"marketplace"`
		}{
			fmt.Sprintf("remove %s: both %s and %s are plugin %s; nothing was removed: add ?local=true to remove the folder %s, or ?marketplace=true to remove %s and its bundle",
				amb.ID, amb.Folder, records, amb.ID, amb.Folder, records),
			amb.Folder, amb.Records,
		})
	case errors.Is(err, install.ErrNothingToRemove), errors.Is(err, install.ErrBadName):
		// A name no plugin can have names nothing to remove.
		writeError(w, http.StatusNotFound, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// removeChoice reads the query parameters local and marketplace of a DELETE.
func removeChoice(r *http.Request) (install.From, error) {
	q := r.URL.Query()
	flag := func(key string) (bool, error) {
		if !q.Has(key) {
			return false, nil
		}
		v, err := strconv.ParseBool(q.Get(key))
		if err != nil {
			return false, fmt.Errorf("invalid %s=%q: use %s=true", key, q.Get(key), key)
		}
		return v, nil
	}
	local, err := flag("local")
	if err != nil {
		return install.FromAny, err
	}
	marketplace, err := flag("marketplace")
	switch {
	case err != nil:
		return install.FromAny, err
	case local && marketplace:
		return install.FromAny, errors.New("local=true and marketplace=true exclude each other; give one")
	case local:
		return install.FromLocal, nil
	case marketplace:
		return install.FromMarketplace, nil
	}
	return install.FromAny, nil
}

// lingerRead bounds the one-byte read of refuseUpload.
const lingerRead = time.Second

// refuseUpload answers an upload with answer, and when the client may still be
// sending a body nobody will read, makes sure it gets to read that answer: it asks
// for the connection to be closed after the answer, and reads one byte of the rest
// through http.MaxBytesReader with a limit of 0, which makes the server close the
// connection gracefully (FIN, then a pause) rather than at once. Closed at once
// with unread data, a connection is reset, and the reset can destroy the answer in
// the client's buffers before the client reads it; the server only avoids that by
// itself for clients that did not ask for "Connection: close". A client waiting
// for "100 Continue" has sent no body and is left alone.
func refuseUpload(w http.ResponseWriter, r *http.Request, body *uploadReader, answer func()) {
	unread := r.ContentLength != 0 && !body.eof
	if !unread {
		answer()
		return
	}
	w.Header().Set("Connection", "close")
	answer()
	if !body.started && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	rc := http.NewResponseController(w)
	rc.Flush()
	rc.SetReadDeadline(time.Now().Add(lingerRead))
	http.MaxBytesReader(w, r.Body, 0).Read(make([]byte, 1))
}

// writeError answers status with the body {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// uploadReader is an upload's body. It refuses to be read at all when the declared
// Content-Length passes max, and fails once more than max bytes were read; both
// errors match install.ErrTooLarge. It remembers the first other read error.
type uploadReader struct {
	r             io.Reader
	declared, max int64 // declared is -1 when unknown; max < 0 means no limit
	n             int64
	err           error
	started, eof  bool // Read was called; the body was read to its end
}

func (u *uploadReader) Read(p []byte) (int, error) {
	u.started = true
	if u.max >= 0 && u.declared > u.max {
		return 0, &tooLargeError{fmt.Sprintf("the upload declares %d bytes, more than the limit of %d bytes (--max-upload)", u.declared, u.max)}
	}
	n, err := u.r.Read(p)
	u.n += int64(n)
	if u.max >= 0 && u.n > u.max {
		return n, &tooLargeError{fmt.Sprintf("the upload is larger than the limit of %d bytes (--max-upload)", u.max)}
	}
	if err == io.EOF {
		u.eof = true
	}
	if err != nil && err != io.EOF && u.err == nil {
		u.err = err
	}
	return n, err
}

// tooLargeError is an upload past the limit; it matches install.ErrTooLarge.
type tooLargeError struct{ msg string }

func (e *tooLargeError) Error() string        { return e.msg }
func (e *tooLargeError) Is(target error) bool { return target == install.ErrTooLarge }
