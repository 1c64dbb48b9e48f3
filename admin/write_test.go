package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/install"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/reconcile"
)

const testToken = "s3cret-token"

// kindProber is a Prober for files that are not real libraries: a file whose text
// is "KIND: <kind>" reports that kind, any other is not loadable. The write side
// is tested through the real install package without compiling a library.
var kindProber = reconcile.ProberFunc(func(_ context.Context, path string) (native.Metadata, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return native.Metadata{}, err
	}
	kind, ok := strings.CutPrefix(string(b), "KIND: ")
	if !ok {
		return native.Metadata{}, &native.Error{Op: "check", Path: path, Err: native.ErrNotLoadable}
	}
	return native.Metadata{Kind: strings.TrimSpace(kind)}, nil
})

// writeRoot is a plugins root and the write handler over it, in front of a next
// handler that answers "next".
func writeRoot(t *testing.T, token string, maxUpload int64) (string, http.Handler) {
	t.Helper()
	root := filepath.Join(t.TempDir(), ".plugins")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "native"), 0o755))
	opts := install.Options{Root: root, Prober: kindProber, Provided: func(ctx context.Context) (map[string]string, error) {
		st, err := reconcile.Scan(ctx, reconcile.Options{Root: root, Prober: kindProber})
		if err != nil {
			return nil, err
		}
		return st.Provided(), nil
	}}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "next") })
	return root, WriteHandler(next, WriteOptions{
		Token:     token,
		MaxUpload: maxUpload,
		Install: func(ctx context.Context, name string, body io.Reader, max int64) (install.Result, error) {
			return install.Install(ctx, opts, name, body, max, nil)
		},
		Remove: func(ctx context.Context, id string, from install.From) error {
			_, err := install.RemoveFrom(ctx, root, id, from)
			return err
		},
	})
}

// tree lists every path below root with its content, to compare before and after.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		content := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			content += " " + string(b)
		}
		m[path] = content
		return nil
	}))
	return m
}

func put(t *testing.T, root, rel, content string) {
	t.Helper()
	path := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// do serves one request and returns the status and the decoded body.
func do(t *testing.T, h http.Handler, method, target, token string, body io.Reader) (int, map[string]string) {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	doc := map[string]string{}
	if b, _ := io.ReadAll(resp.Body); len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &doc), "body %q", b)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, doc
}

// unread fails the test when the body is read, but for the one-byte read with
// which a refused upload's connection is closed gracefully once answered.
type unread struct{ t *testing.T }

func (u unread) Read(p []byte) (int, error) {
	if len(p) != 1 {
		u.t.Error("the body was read")
	}
	return 0, io.EOF
}

func TestWriteForbidden(t *testing.T) {
	root, h := writeRoot(t, testToken, 1<<20)
	put(t, root, "native/gain/libgain.so", "KIND: gain")
	before := tree(t, root)
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + testToken + "x", "Basic " + testToken, "Bearer", testToken} {
		for _, req := range []*http.Request{
			httptest.NewRequest(http.MethodPost, "/v1/plugins?filename=libecho.so", unread{t}),
			httptest.NewRequest(http.MethodDelete, "/v1/plugins/gain", nil),
		} {
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusForbidden, rec.Code, "%s %q", req.Method, auth)
			assert.Contains(t, rec.Body.String(), `"error":"missing or wrong bearer token`)
		}
	}
	// The scheme is case-insensitive.
	code, _ := do(t, h, http.MethodDelete, "/v1/plugins/nothing", "", nil)
	assert.Equal(t, http.StatusForbidden, code)
	req := httptest.NewRequest(http.MethodDelete, "/v1/plugins/nothing", nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, before, tree(t, root))

	// No token configured: writes are disabled, whatever the request carries.
	root, h = writeRoot(t, "", 1<<20)
	put(t, root, "native/gain/libgain.so", "KIND: gain")
	before = tree(t, root)
	for _, token := range []string{"", " "} {
		code, doc := do(t, h, http.MethodPost, "/v1/plugins?filename=libecho.so", token, unread{t})
		assert.Equal(t, http.StatusForbidden, code)
		assert.Contains(t, doc["error"], "writes are disabled")
		code, _ = do(t, h, http.MethodDelete, "/v1/plugins/gain", token, nil)
		assert.Equal(t, http.StatusForbidden, code)
	}
	assert.Equal(t, before, tree(t, root))
}

func TestWriteInstall(t *testing.T) {
	root, h := writeRoot(t, testToken, 1<<20)
	code, doc := do(t, h, http.MethodPost, "/v1/plugins?filename=libgain.so", testToken, strings.NewReader("KIND: gain"))
	require.Equal(t, http.StatusCreated, code, "%v", doc)
	assert.Equal(t, map[string]string{"path": filepath.Join(root, "native/gain/libgain.so"), "kind": "plugin::native::gain"}, doc)
	assert.FileExists(t, doc["path"])

	code, doc = do(t, h, http.MethodPost, "/v1/plugins?filename=filter.wasm", testToken, strings.NewReader("\x00asm\x01\x00\x00\x00"))
	require.Equal(t, http.StatusCreated, code, "%v", doc)
	assert.Equal(t, map[string]string{"path": filepath.Join(root, "wasm/filter.wasm"), "kind": ""}, doc)
}

func TestWriteInstallRefused(t *testing.T) {
	const max = 64
	for _, tc := range []struct {
		name, target string
		body         io.Reader
		declared     int64 // Content-Length; 0: as httptest sets it
		want         int
	}{
		{name: "no filename", target: "/v1/plugins", want: 400},
		{name: "bad name", target: "/v1/plugins?filename=lib..so", want: 400},
		{name: "versioned name", target: "/v1/plugins?filename=libfoo.so.1", want: 400},
		{name: "path", target: "/v1/plugins?filename=..%2Flibgain.so", want: 400},
		{name: "bad name before size", target: "/v1/plugins?filename=x.dll", declared: max + 1, want: 400},
		{name: "occupied", target: "/v1/plugins?filename=libgain.so", want: 409},
		{name: "occupied before size", target: "/v1/plugins?filename=libgain.so", declared: 1 << 40, want: 409},
		{name: "wasm exists", target: "/v1/plugins?filename=old.wasm", want: 409},
		{name: "declared too large", target: "/v1/plugins?filename=libecho.so", declared: max + 1, want: 413},
		{name: "streamed too large", target: "/v1/plugins?filename=libecho.so", declared: -1,
			body: strings.NewReader("KIND: echo" + strings.Repeat(" ", max)), want: 413},
		{name: "not a plugin", target: "/v1/plugins?filename=libecho.so", body: strings.NewReader("just text"), want: 422},
		{name: "bad wasm", target: "/v1/plugins?filename=new.wasm", body: strings.NewReader("KIND: echo"), want: 422},
		{name: "kind provided", target: "/v1/plugins?filename=libgain2.so", body: strings.NewReader("KIND: gain"), want: 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, h := writeRoot(t, testToken, max)
			put(t, root, "native/gain/libgain.so", "KIND: gain")
			put(t, root, "wasm/old.wasm", "\x00asm")
			before := tree(t, root)
			body := tc.body
			if body == nil {
				body = unread{t}
			}
			req := httptest.NewRequest(http.MethodPost, tc.target, body)
			req.Header.Set("Authorization", "Bearer "+testToken)
			if tc.declared != 0 {
				req.ContentLength = tc.declared
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code, rec.Body.String())
			var doc struct{ Error string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
			assert.NotEmpty(t, doc.Error)
			assert.NotContains(t, strings.TrimSpace(rec.Body.String()), "\n")
			assert.Equal(t, before, tree(t, root))
		})
	}
}

// endless is a body that never ends, counting what was read of it.
type endless struct {
	mu sync.Mutex
	n  int64
}

func (e *endless) Read(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n += int64(len(p))
	return len(p), nil
}

func TestWriteInstallStopsReadingAtTheLimit(t *testing.T) {
	root, h := writeRoot(t, testToken, 1000)
	before := tree(t, root)
	body := &endless{}
	code, _ := do(t, h, http.MethodPost, "/v1/plugins?filename=libecho.so", testToken, body)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	// The limit and one byte past it, then the one byte of the graceful close.
	assert.LessOrEqual(t, body.n, int64(1002))
	assert.Equal(t, before, tree(t, root))
}

// TestWriteOverHTTP checks that a real client reads the answer to a refused
// upload while it is still sending a large body, whether or not it keeps its
// connection alive (a connection closed at once with unread data is reset, and
// the reset can destroy the answer before the client reads it).
func TestWriteOverHTTP(t *testing.T) {
	checkLeaks(t)
	_, h := writeRoot(t, testToken, 1<<10)
	srv := httptest.NewServer(h)
	defer srv.Close()
	keepAlive := &http.Transport{}
	t.Cleanup(keepAlive.CloseIdleConnections)
	clients := map[string]*http.Client{"connection close": newClient(t), "keep-alive": {Transport: keepAlive}}

	post := func(client *http.Client, name, token string, body io.Reader) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/plugins?filename="+name, body)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var doc struct{ Error string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
		return resp.StatusCode
	}
	big := func() io.Reader { return bytes.NewReader(make([]byte, 8<<20)) }
	streamed := func() io.Reader {
		return io.MultiReader(strings.NewReader("KIND: big"), io.LimitReader(&endless{}, 8<<20))
	}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, http.StatusRequestEntityTooLarge, post(client, "libbig.so", testToken, big()), "declared")
			assert.Equal(t, http.StatusRequestEntityTooLarge, post(client, "libbig.so", testToken, streamed()), "streamed")
			assert.Equal(t, http.StatusForbidden, post(client, "libbig.so", "wrong", big()), "forbidden")
			assert.Equal(t, http.StatusBadRequest, post(client, "x.dll", testToken, streamed()), "bad name")
		})
	}
	client := clients["keep-alive"]
	assert.Equal(t, http.StatusCreated, post(client, "libgain.so", testToken, strings.NewReader("KIND: gain")))
	assert.Equal(t, http.StatusCreated, post(client, "libecho.so", testToken, strings.NewReader("KIND: echo")), "the connection is reused")

	req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, srv.URL+"/v1/plugins/gain", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func TestWriteRemove(t *testing.T) {
	root, h := writeRoot(t, testToken, 1<<20)
	put(t, root, "native/gain/libgain.so", "KIND: gain")
	put(t, root, "native/gain/README", "stays")

	code, _ := do(t, h, http.MethodDelete, "/v1/plugins/gain", testToken, nil)
	assert.Equal(t, http.StatusNoContent, code)
	assert.NoFileExists(t, filepath.Join(root, "native/gain/libgain.so"))
	assert.FileExists(t, filepath.Join(root, "native/gain/README"))

	code, doc := do(t, h, http.MethodDelete, "/v1/plugins/gain", testToken, nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, doc["error"], "nothing to remove")

	// A name no plugin can have names nothing to remove (docs/http-api.md: 204 or 404).
	code, doc = do(t, h, http.MethodDelete, "/v1/plugins/a%2Fb", testToken, nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, doc["error"], "not a plugin id")
}

func TestWritePassesTheRestOn(t *testing.T) {
	_, h := writeRoot(t, testToken, 1<<20)
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/v1/state", nil),
		httptest.NewRequest(http.MethodGet, "/v1/plugins", nil),
		httptest.NewRequest(http.MethodGet, "/healthz", nil),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, "next", rec.Body.String(), req.URL.Path)
	}
}

func TestWriteNotAvailable(t *testing.T) {
	h := WriteHandler(http.NotFoundHandler(), WriteOptions{Token: testToken})
	code, _ := do(t, h, http.MethodPost, "/v1/plugins?filename=libgain.so", testToken, unread{t})
	assert.Equal(t, http.StatusNotImplemented, code)
	code, _ = do(t, h, http.MethodDelete, "/v1/plugins/gain", testToken, nil)
	assert.Equal(t, http.StatusNotImplemented, code)
}

// TestWriteRemoveAmbiguous: an id naming both a folder and a record answers 409
// naming both, and removes nothing until ?local=true or ?marketplace=true.
func TestWriteRemoveAmbiguous(t *testing.T) {
	root, h := writeRoot(t, testToken, 1<<20)
	put(t, root, "native/gain/libgain.so", "KIND: gain")
	put(t, root, "active/gain.json", `{"plugin_id":"gain","version":"1.0.0","node_kind":"gain","kind":"native","entrypoint":".plugins/bundles/gain/1.0.0/libgain.so","installed_at_ms":1}`)
	put(t, root, "bundles/gain/1.0.0/libgain.so", "KIND: gain")
	before := tree(t, root)

	req := httptest.NewRequest(http.MethodDelete, "/v1/plugins/gain", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
	var doc struct {
		Error       string
		Local       string
		Marketplace []string
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	assert.Equal(t, "native/gain/", doc.Local)
	assert.Equal(t, []string{"active/gain.json"}, doc.Marketplace)
	assert.Contains(t, doc.Error, "both native/gain/ and active/gain.json are plugin gain")
	assert.Contains(t, doc.Error, "?local=true")
	assert.Contains(t, doc.Error, "?marketplace=true")
	assert.Equal(t, before, tree(t, root))

	for _, q := range []string{"?local=maybe", "?marketplace=", "?local=true&marketplace=1"} {
		code, doc := do(t, h, http.MethodDelete, "/v1/plugins/gain"+q, testToken, nil)
		assert.Equal(t, http.StatusBadRequest, code, q)
		assert.NotEmpty(t, doc["error"])
	}
	assert.Equal(t, before, tree(t, root))

	code, _ := do(t, h, http.MethodDelete, "/v1/plugins/gain?local=true&marketplace=false", testToken, nil)
	assert.Equal(t, http.StatusNoContent, code)
	assert.NoDirExists(t, filepath.Join(root, "native/gain"))
	assert.FileExists(t, filepath.Join(root, "active/gain.json"))
	code, _ = do(t, h, http.MethodDelete, "/v1/plugins/gain?local=true", testToken, nil)
	assert.Equal(t, http.StatusNotFound, code)

	put(t, root, "native/gain/libgain.so", "KIND: gain")
	code, _ = do(t, h, http.MethodDelete, "/v1/plugins/gain?marketplace=true", testToken, nil)
	assert.Equal(t, http.StatusNoContent, code)
	assert.NoFileExists(t, filepath.Join(root, "active/gain.json"))
	assert.NoDirExists(t, filepath.Join(root, "bundles/gain"))
	assert.FileExists(t, filepath.Join(root, "native/gain/libgain.so"))
}

// TestWriteRemoveNeverThroughASymlink: DELETE removes a symlinked bundles/<id> as
// a link, over a real connection; the tree outside the root stays as it was.
func TestWriteRemoveNeverThroughASymlink(t *testing.T) {
	root, h := writeRoot(t, testToken, 1<<20)
	srv := httptest.NewServer(h)
	defer srv.Close()
	outside := t.TempDir()
	put(t, outside, "builds/1.0/libgood.so", "KIND: good")
	put(t, outside, "builds/1.0/plugin.yml", "id: good")
	put(t, outside, "builds/0.9/libgood.so", "KIND: good, older")
	outsideBefore := tree(t, outside)
	put(t, root, "active/good.json", `{"plugin_id":"good","version":"1.0","node_kind":"good","kind":"native","entrypoint":".plugins/bundles/good/1.0/libgood.so","installed_at_ms":1}`)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bundles"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(outside, "builds"), filepath.Join(root, "bundles", "good")))

	req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, srv.URL+"/v1/plugins/good", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := newClient(t).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, outsideBefore, tree(t, outside))
	assert.NoFileExists(t, filepath.Join(root, "active/good.json"))
	_, err = os.Lstat(filepath.Join(root, "bundles", "good"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the link is removed")
}
