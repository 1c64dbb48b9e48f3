package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/state"
)

// These tests run the StreamKit recipe, scripts/streamkit-reload.sh, as plugwatch
// runs an --on-change command (sh, events as JSON lines on its standard input)
// against a local server that answers as StreamKit's plugin endpoints do, and check
// the exact requests it received.

// recipeScript is the script the README's recipe names.
const recipeScript = "scripts/streamkit-reload.sh"

// skRequest is one request the fake StreamKit received.
type skRequest struct {
	Method   string
	Path     string // as sent, percent-encoded
	Query    string
	Auth     string   // the Authorization header
	Fields   []string // multipart field names, in order
	FileName string   // the file name of the "plugin" field
	Data     []byte   // the bytes of the "plugin" field
	Kind     string   // the "kind" field
}

// fakeStreamKit answers GET, POST /api/v1/plugins and DELETE /api/v1/plugins/{kind}
// with StreamKit's status codes and bodies: 201 and a plugin summary for an upload,
// 200 and the summary for an unload, 422 with "Plugin '…' is not currently loaded"
// for a kind it does not hold, 422 for a second load of a kind or a file name
// without a plugin extension, 400 for a malformed upload, 403 unless HTTP management
// is allowed, 401 without the token when one is set.
type fakeStreamKit struct {
	*httptest.Server
	allowHTTP bool
	token     string
	// kindOf says which kind an uploaded library provides (StreamKit asks the
	// library); nil: the declared kind.
	kindOf func(data []byte) string

	mu       sync.Mutex
	loaded   map[string]skPlugin
	requests []skRequest
}

type skPlugin struct {
	FileName string
	Data     []byte
}

// skSummary is StreamKit's plugin summary, the body of its plugin answers.
type skSummary struct {
	Kind         string   `json:"kind"`
	OriginalKind string   `json:"original_kind"`
	FileName     string   `json:"file_name"`
	Categories   []string `json:"categories"`
	LoadedAtMs   int64    `json:"loaded_at_ms"`
	PluginType   string   `json:"plugin_type"`
}

func newFakeStreamKit(t *testing.T, loaded ...string) *fakeStreamKit {
	f := &fakeStreamKit{allowHTTP: true, loaded: map[string]skPlugin{}}
	for _, kind := range loaded {
		f.loaded[kind] = skPlugin{FileName: "lib" + strings.TrimPrefix(kind, layout.KindPrefix) + ".so", Data: []byte("old " + kind)}
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeStreamKit) summary(kind string, p skPlugin) skSummary {
	return skSummary{Kind: kind, OriginalKind: strings.TrimPrefix(kind, layout.KindPrefix), FileName: p.FileName,
		Categories: []string{}, LoadedAtMs: time.Now().UnixMilli(), PluginType: "native"}
}

func (f *fakeStreamKit) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := skRequest{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
	answer := func(status int, v any) {
		if s, ok := v.(string); ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, s)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if r.Method == http.MethodPost {
		req.Fields, req.FileName, req.Data, req.Kind = readUpload(r)
	}
	f.requests = append(f.requests, req)

	if f.token != "" {
		switch r.Header.Get("Authorization") {
		case "Bearer " + f.token:
		case "":
			answer(http.StatusUnauthorized, "No authentication token provided")
			return
		default:
			answer(http.StatusUnauthorized, "Invalid token: InvalidSignature")
			return
		}
	}
	const prefix = "/api/v1/plugins"
	switch {
	case req.Path == prefix && r.Method == http.MethodGet:
		list := []skSummary{}
		for kind, p := range f.loaded {
			list = append(list, f.summary(kind, p))
		}
		answer(http.StatusOK, list)
	case req.Path == prefix && r.Method == http.MethodPost:
		if !f.allowHTTP {
			answer(http.StatusForbidden, "Plugin uploads are disabled by configuration. Set [plugins].allow_http_management = true to enable.")
			return
		}
		if !slices.Contains(req.Fields, "plugin") {
			answer(http.StatusBadRequest, "Missing 'plugin' file field")
			return
		}
		if req.FileName == "" {
			answer(http.StatusBadRequest, "Uploaded plugin file must include a filename")
			return
		}
		if ext := filepath.Ext(req.FileName); ext != ".so" && ext != ".dylib" && ext != ".dll" && ext != ".wasm" {
			answer(http.StatusUnprocessableEntity, "Plugin file must have a valid extension (.wasm for WASM plugins, .so/.dylib/.dll for native plugins)")
			return
		}
		kind := req.Kind
		if f.kindOf != nil {
			kind = f.kindOf(req.Data)
		}
		if _, ok := f.loaded[kind]; ok {
			short := strings.TrimPrefix(kind, layout.KindPrefix)
			answer(http.StatusUnprocessableEntity, fmt.Sprintf("A plugin providing node '%s' (registered as '%s') is already loaded", short, kind))
			return
		}
		if req.Kind != "" && req.Kind != kind {
			answer(http.StatusBadRequest, fmt.Sprintf("Uploaded plugin kind '%s' does not match declared kind '%s'", kind, req.Kind))
			return
		}
		p := skPlugin{FileName: req.FileName, Data: req.Data}
		f.loaded[kind] = p
		answer(http.StatusCreated, f.summary(kind, p))
	case strings.HasPrefix(req.Path, prefix+"/") && r.Method == http.MethodDelete:
		segment := strings.TrimPrefix(req.Path, prefix+"/")
		kind, err := url.PathUnescape(segment)
		if err != nil || strings.Contains(segment, "/") {
			answer(http.StatusNotFound, "")
			return
		}
		if !f.allowHTTP {
			answer(http.StatusForbidden, "Plugin deletion is disabled by configuration. Set [plugins].allow_http_management = true to enable.")
			return
		}
		p, ok := f.loaded[kind]
		if !ok {
			answer(http.StatusUnprocessableEntity, fmt.Sprintf("Plugin '%s' is not currently loaded", kind))
			return
		}
		delete(f.loaded, kind)
		answer(http.StatusOK, f.summary(kind, p))
	default:
		answer(http.StatusNotFound, "")
	}
}

// readUpload reads a multipart/form-data body: its field names in order, the file
// name and bytes of the field "plugin", and the text of the field "kind".
func readUpload(r *http.Request) (fields []string, fileName string, data []byte, kind string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
		return nil, "", nil, ""
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", nil, ""
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return fields, fileName, data, kind
		}
		b, _ := io.ReadAll(part)
		fields = append(fields, part.FormName())
		switch part.FormName() {
		case "plugin":
			fileName, data = part.FileName(), b
		case "kind":
			kind = string(b)
		}
	}
}

// received returns the requests other than GET (the tests' own look at the list).
func (f *fakeStreamKit) received() []skRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []skRequest
	for _, r := range f.requests {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeStreamKit) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

// list asks the fake, as a client of StreamKit would, which plugins it holds.
func (f *fakeStreamKit) list(t *testing.T) map[string]string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.URL+"/api/v1/plugins", nil)
	require.NoError(t, err)
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list []skSummary
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	out := map[string]string{}
	for _, s := range list {
		out[s.Kind] = s.FileName
	}
	return out
}

func (f *fakeStreamKit) data(kind string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loaded[kind].Data
}

func needCurl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the StreamKit recipe (" + recipeScript + ") sends its requests with curl")
	}
}

func scriptPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(repoRoot, recipeScript))
	require.NoError(t, err)
	require.FileExists(t, p)
	return p
}

// runRecipe runs the script as plugwatch runs an --on-change command: sh, the
// events on standard input. It returns the exit status and the lines of stderr.
func runRecipe(t *testing.T, stdin string, env ...string) (int, []string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sh '"+scriptPath(t)+"'")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	assert.Empty(t, stdout.String(), "the recipe writes only to stderr")
	text := strings.TrimRight(stderr.String(), "\n")
	if text == "" {
		return code, nil
	}
	return code, strings.Split(text, "\n")
}

// eventLine is one event as plugwatch writes it to an --on-change command.
func eventLine(t *testing.T, e state.Event) string {
	t.Helper()
	e.At = state.Time{Time: time.Date(2026, 11, 24, 19, 29, 58, 1e6, time.UTC)}
	var b bytes.Buffer
	require.NoError(t, json.NewEncoder(&b).Encode(e)) // as plugwatch does: one line, HTML escaped
	return b.String()
}

func writeLib(t *testing.T, path, content string) []byte {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o755))
	return []byte(content)
}

func TestStreamKitRecipe(t *testing.T) {
	needCurl(t)
	// A build root whose path has spaces, a semicolon, quotes, a backslash and an
	// ampersand.
	build := filepath.Join(t.TempDir(), `my "plugins"; it's \ here`, ".plugins", "native")
	gainLib := filepath.Join(build, "gain & co", "libgain.so")
	echoLib := filepath.Join(build, "echo", "lib echo.so")
	vendorLib := filepath.Join(build, "vendor", "libvendor.so")
	gain := writeLib(t, gainLib, "gain build 2")
	echo := writeLib(t, echoLib, "echo build 7")
	vendor := writeLib(t, vendorLib, "vendor build 1")

	sk := newFakeStreamKit(t, "plugin::native::echo", "plugin::native::reverb")
	const gainKind, echoKind, reverbKind, vendorKind = "plugin::native::gain", "plugin::native::echo", "plugin::native::reverb", "plugin::native::acme/gain"
	stdin := eventLine(t, state.Event{Type: state.Loaded, Kind: gainKind, ID: "gain", Version: "1.0.0", Source: state.SourceDirectory, Library: gainLib, Generation: 3}) +
		eventLine(t, state.Event{Type: state.SkippedEvent, Kind: gainKind, ID: "gain", Version: "0.9.0", Source: state.SourceDirectory, Library: "/elsewhere/libgain.so", Reason: state.Shadowed, Winner: gainLib, Generation: 3}) +
		// The same fields in another order, as another writer might put them.
		fmt.Sprintf(`{"generation":3,"library":%q,"old_version":"0.6.0","version":"0.7.0","kind":%q,"id":"echo","source":"directory","event":"reloaded","at":"2026-11-24T19:29:58.002Z"}`+"\n", echoLib, echoKind) +
		eventLine(t, state.Event{Type: state.ProblemEvent, Path: filepath.Join(build, "libstray.so"), Code: state.BareLibrary, Level: state.Warn, Message: "native library directly in native/ is not loaded", Generation: 3}) +
		eventLine(t, state.Event{Type: state.Unloaded, Kind: reverbKind, ID: "reverb", Source: state.SourceDirectory, Library: "/gone/libreverb.so", Generation: 4}) +
		eventLine(t, state.Event{Type: state.Resolved, Path: filepath.Join(build, "libstray.so"), Code: state.BareLibrary, Level: state.Warn, Generation: 4}) +
		eventLine(t, state.Event{Type: state.Loaded, Kind: vendorKind, ID: "vendor", Source: state.SourceDirectory, Library: vendorLib, Generation: 4})
	require.Contains(t, stdin, `gain \u0026 co`, "plugwatch's encoder escapes & in paths")

	code, lines := runRecipe(t, stdin, "STREAMKIT_URL="+sk.URL+"/")
	assert.Equal(t, 0, code, "%s", strings.Join(lines, "\n"))

	del := func(escapedKind string) skRequest {
		return skRequest{Method: http.MethodDelete, Path: "/api/v1/plugins/" + escapedKind, Query: "keep_file=true"}
	}
	post := func(kind, fileName string, data []byte) skRequest {
		return skRequest{Method: http.MethodPost, Path: "/api/v1/plugins", Fields: []string{"plugin", "kind"}, FileName: fileName, Data: data, Kind: kind}
	}
	assert.Equal(t, []skRequest{
		del("plugin::native::gain"), // not loaded: fine
		post(gainKind, "libgain.so", gain),
		del("plugin::native::echo"),
		post(echoKind, "lib echo.so", echo),
		del("plugin::native::reverb"),
		del("plugin::native::acme%2Fgain"),
		post(vendorKind, "libvendor.so", vendor),
	}, sk.received())
	assert.Equal(t, map[string]string{gainKind: "libgain.so", echoKind: "lib echo.so", vendorKind: "libvendor.so"}, sk.list(t))
	assert.Equal(t, echo, sk.data(echoKind), "the new build replaced the old one")

	// One line per action, naming the kind or the file.
	assert.Equal(t, []string{
		"streamkit-reload: " + gainKind + " was not loaded in StreamKit",
		"streamkit-reload: uploaded " + gainLib + " to StreamKit as " + gainKind,
		"streamkit-reload: unloaded " + echoKind + " from StreamKit (its file kept)",
		"streamkit-reload: uploaded " + echoLib + " to StreamKit as " + echoKind,
		"streamkit-reload: unloaded " + reverbKind + " from StreamKit (its file kept)",
		"streamkit-reload: " + vendorKind + " was not loaded in StreamKit",
		"streamkit-reload: uploaded " + vendorLib + " to StreamKit as " + vendorKind,
	}, lines)

	t.Run("a loaded kind StreamKit already holds is replaced", func(t *testing.T) {
		sk := newFakeStreamKit(t, gainKind)
		code, lines := runRecipe(t, eventLine(t, state.Event{Type: state.Loaded, Kind: gainKind, Library: gainLib}), "STREAMKIT_URL="+sk.URL)
		assert.Equal(t, 0, code, "%s", strings.Join(lines, "\n"))
		assert.Equal(t, []skRequest{del("plugin::native::gain"), post(gainKind, "libgain.so", gain)}, sk.received())
		assert.Equal(t, gain, sk.data(gainKind))
	})

	t.Run("only skipped and problems: no request", func(t *testing.T) {
		sk := newFakeStreamKit(t)
		code, lines := runRecipe(t,
			eventLine(t, state.Event{Type: state.SkippedEvent, Kind: gainKind, Library: gainLib, Reason: state.Conflict})+
				eventLine(t, state.Event{Type: state.ProblemEvent, Path: gainLib, Code: state.Crashed, Level: state.Error, Message: "crashed"}),
			"STREAMKIT_URL="+sk.URL)
		assert.Equal(t, 0, code)
		assert.Empty(t, lines)
		assert.Empty(t, sk.received())
	})

	t.Run("uploads disabled in StreamKit's configuration", func(t *testing.T) {
		sk := newFakeStreamKit(t, echoKind)
		sk.allowHTTP = false
		code, lines := runRecipe(t,
			eventLine(t, state.Event{Type: state.Reloaded, Kind: echoKind, Library: echoLib})+
				eventLine(t, state.Event{Type: state.Unloaded, Kind: echoKind, Library: echoLib}),
			"STREAMKIT_URL="+sk.URL)
		assert.Equal(t, 1, code)
		assert.Equal(t, []skRequest{del("plugin::native::echo"), del("plugin::native::echo")}, sk.received(), "no upload after a failed unload")
		require.Len(t, lines, 2, "one line per failure")
		assert.Equal(t, "streamkit-reload: unloading "+echoKind+" failed, so "+echoLib+" was not uploaded: StreamKit answered 403: Plugin deletion is disabled by configuration. Set [plugins].allow_http_management = true to enable.", lines[0])
		assert.Contains(t, lines[1], "unloading "+echoKind+" failed: StreamKit answered 403")
	})

	t.Run("a file StreamKit refuses", func(t *testing.T) {
		sk := newFakeStreamKit(t)
		versioned := filepath.Join(build, "gain & co", "libgain.so.1")
		data := writeLib(t, versioned, "gain build 3")
		code, lines := runRecipe(t, eventLine(t, state.Event{Type: state.Loaded, Kind: gainKind, Library: versioned}), "STREAMKIT_URL="+sk.URL)
		assert.Equal(t, 1, code)
		assert.Equal(t, []skRequest{del("plugin::native::gain"), post(gainKind, "libgain.so.1", data)}, sk.received())
		require.Len(t, lines, 2)
		assert.Equal(t, "streamkit-reload: uploading "+versioned+" failed, StreamKit has no "+gainKind+" now: StreamKit answered 422: Plugin file must have a valid extension (.wasm for WASM plugins, .so/.dylib/.dll for native plugins)", lines[1])
	})

	t.Run("a library deleted before its upload", func(t *testing.T) {
		sk := newFakeStreamKit(t, "plugin::native::gone")
		missing := filepath.Join(build, "gone", "libgone.so")
		code, lines := runRecipe(t, eventLine(t, state.Event{Type: state.Reloaded, Kind: "plugin::native::gone", Library: missing}), "STREAMKIT_URL="+sk.URL)
		assert.Equal(t, 1, code)
		assert.Empty(t, sk.received(), "StreamKit keeps the build it has")
		assert.Equal(t, []string{"streamkit-reload: cannot read the library " + missing + " of plugin::native::gone; StreamKit was left as it was"}, lines)
	})

	t.Run("bearer token", func(t *testing.T) {
		sk := newFakeStreamKit(t)
		sk.token = "s3cret token"
		ev := eventLine(t, state.Event{Type: state.Loaded, Kind: gainKind, Library: gainLib})
		code, lines := runRecipe(t, ev, "STREAMKIT_URL="+sk.URL, "STREAMKIT_TOKEN=s3cret token")
		assert.Equal(t, 0, code, "%s", strings.Join(lines, "\n"))
		for _, r := range sk.received() {
			assert.Equal(t, "Bearer s3cret token", r.Auth, "%s %s", r.Method, r.Path)
		}
		assert.Len(t, sk.received(), 2)

		sk.reset()
		code, lines = runRecipe(t, ev, "STREAMKIT_URL="+sk.URL, "STREAMKIT_TOKEN=")
		assert.Equal(t, 1, code)
		require.Len(t, lines, 1)
		assert.Equal(t, "streamkit-reload: unloading "+gainKind+" failed, so "+gainLib+" was not uploaded: StreamKit answered 401: No authentication token provided (set STREAMKIT_TOKEN to an API token)", lines[0])
	})

	t.Run("StreamKit not running", func(t *testing.T) {
		sk := newFakeStreamKit(t)
		sk.Close()
		code, lines := runRecipe(t, eventLine(t, state.Event{Type: state.Unloaded, Kind: gainKind, Library: gainLib}), "STREAMKIT_URL="+sk.URL)
		assert.Equal(t, 1, code)
		require.Len(t, lines, 1)
		assert.Contains(t, lines[0], "streamkit-reload: unloading "+gainKind+" failed: the request to "+sk.URL+" failed: curl: (7)")
	})

	t.Run("input that is not an event", func(t *testing.T) {
		sk := newFakeStreamKit(t)
		code, lines := runRecipe(t, "\nnot json\n{\"event\":\"loaded\"\n", "STREAMKIT_URL="+sk.URL)
		assert.Equal(t, 1, code)
		assert.Equal(t, []string{
			"streamkit-reload: line 2 of the input is not a JSON event; skipped",
			"streamkit-reload: line 3 of the input is not a JSON event; skipped",
		}, lines)
		assert.Empty(t, sk.received())
	})
}

// The recipe end to end: plugwatch run on a build root with the script as its
// --on-change command; a bundle moved in, rebuilt in place, then removed reaches
// StreamKit as an upload, an unload and upload of the new build, then an unload.
func TestStreamKitRecipeWithDaemon(t *testing.T) {
	needCurl(t)
	sk := newFakeStreamKit(t)
	t.Setenv("STREAMKIT_URL", sk.URL)
	root := filepath.Join(t.TempDir(), "my plugins", ".plugins")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "native"), 0o755))
	d := startDaemon(t, root, "--debounce", "20ms", "--on-change", "sh '"+scriptPath(t)+"'")

	const kind = "plugin::native::gain"
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	waitRequests := func(what string, n int) []skRequest {
		t.Helper()
		require.Eventually(t, func() bool { return len(sk.received()) >= n }, deadline, time.Millisecond,
			"%s: StreamKit received %d requests, want %d\n%s", what, len(sk.received()), n, d.log)
		return sk.received()
	}
	check := func(r skRequest, method, path string) {
		t.Helper()
		assert.Equal(t, method, r.Method)
		assert.Equal(t, path, r.Path)
	}

	require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: "gain", Description: "v1"}, "1.0.0"), filepath.Join(root, "native", "gain")))
	v1, err := os.ReadFile(lib)
	require.NoError(t, err)
	got := waitRequests("loaded", 2)
	check(got[0], http.MethodDelete, "/api/v1/plugins/plugin::native::gain")
	check(got[1], http.MethodPost, "/api/v1/plugins")
	assert.Equal(t, []string{"plugin", "kind"}, got[1].Fields)
	assert.Equal(t, "libgain.so", got[1].FileName)
	assert.Equal(t, kind, got[1].Kind)
	assert.True(t, bytes.Equal(v1, got[1].Data), "the bytes of the library on disk")

	// Rebuilt in place: StreamKit unloads v1 and takes v2.
	require.NoError(t, exec.Command("cp", plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: "v2"}), lib).Run())
	v2, err := os.ReadFile(lib)
	require.NoError(t, err)
	got = waitRequests("reloaded", 4)
	check(got[2], http.MethodDelete, "/api/v1/plugins/plugin::native::gain")
	assert.Equal(t, "keep_file=true", got[2].Query)
	check(got[3], http.MethodPost, "/api/v1/plugins")
	assert.True(t, bytes.Equal(v2, got[3].Data), "the new build")
	assert.True(t, bytes.Equal(v2, sk.data(kind)))

	// Removed: StreamKit unloads it.
	require.NoError(t, os.RemoveAll(filepath.Join(root, "native", "gain")))
	got = waitRequests("unloaded", 5)
	check(got[4], http.MethodDelete, "/api/v1/plugins/plugin::native::gain")
	require.Eventually(t, func() bool { return len(sk.list(t)) == 0 }, deadline, time.Millisecond)

	// Nothing more came for gain: the next requests are those of a bundle dropped after.
	goodBundle(t, root, "echo")
	got = waitRequests("a later bundle", 7)
	check(got[5], http.MethodDelete, "/api/v1/plugins/plugin::native::echo")
	check(got[6], http.MethodPost, "/api/v1/plugins")
	assert.Empty(t, d.errorLines(), "the command never failed\n%s", d.log)
	assert.Len(t, sk.received(), 7, "nothing more")
}

// The README's recipe names the script by the path this test runs.
func TestStreamKitRecipeInReadme(t *testing.T) {
	for file, want := range map[string][]string{
		"README.md":      {"--on-change 'sh " + recipeScript + "'", "allow_http_management = true", "native/<id>/"},
		"docs/events.md": {"--on-change 'sh " + recipeScript + "'", "allow_http_management = true"},
	} {
		text := readDoc(t, file)
		for _, w := range want {
			assert.True(t, strings.Contains(text, w), "%s does not say %q", file, w)
		}
		assert.False(t, strings.Contains(text, "/api/v1/plugins/reload"), "%s names /api/v1/plugins/reload, which StreamKit does not have", file)
	}
}
