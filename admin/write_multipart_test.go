package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// field is one part of a multipart body: a form field, a file when filename is
// set (raw, the header's text as sent; "-" for none).
type field struct{ name, filename, content string }

// form returns a multipart/form-data body of fields and its Content-Type.
func form(t *testing.T, fields ...field) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, f.name)
		if f.filename != "-" {
			cd += fmt.Sprintf(`; filename=%q`, f.filename)
			h.Set("Content-Type", "application/octet-stream")
		}
		h.Set("Content-Disposition", cd)
		w, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = io.WriteString(w, f.content)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

func postForm(t *testing.T, h http.Handler, target string, body io.Reader, contentType string, declared int64) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, body)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", contentType)
	if declared != 0 {
		req.ContentLength = declared
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWriteInstallMultipart(t *testing.T) {
	root, h := writeRoot(t, testToken, 1<<20)
	body, ct := form(t,
		field{name: "note", filename: "-", content: "a field before the file is skipped"},
		field{name: "plugin", filename: "libgain.so", content: "KIND: gain"},
		field{name: "after", filename: "-", content: "not read"})
	rec := postForm(t, h, "/v1/plugins", body, ct, 0)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var doc map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	assert.Equal(t, map[string]string{"path": filepath.Join(root, "native/gain/libgain.so"), "kind": "plugin::native::gain"}, doc)
	b, err := os.ReadFile(doc["path"])
	require.NoError(t, err)
	assert.Equal(t, "KIND: gain", string(b))

	// The part's filename names the file; ?filename is not read.
	body, ct = form(t, field{name: "plugin", filename: "filter.wasm", content: "\x00asm\x01\x00\x00\x00"})
	rec = postForm(t, h, "/v1/plugins?filename=libother.so", body, ct, 0)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.FileExists(t, filepath.Join(root, "wasm/filter.wasm"))
	assert.NoDirExists(t, filepath.Join(root, "native/other"))
}

func TestWriteInstallMultipartRefused(t *testing.T) {
	const max = 64
	plugin := func(filename, content string) field {
		return field{name: "plugin", filename: filename, content: content}
	}
	for _, tc := range []struct {
		name     string
		fields   []field
		raw      string // a body of its own instead of fields
		ct       string // Content-Type instead of the form's
		declared int64  // Content-Length; 0: as httptest sets it
		token    string
		want     int
	}{
		{name: "forbidden", fields: []field{plugin("libecho.so", "KIND: echo")}, token: "wrong", want: 403},
		{name: "no plugin field", fields: []field{{name: "file", filename: "libecho.so", content: "KIND: echo"}}, want: 400},
		{name: "no filename", fields: []field{plugin("-", "KIND: echo")}, want: 400},
		{name: "empty filename", fields: []field{plugin("", "KIND: echo")}, want: 400},
		{name: "a path", fields: []field{plugin("../libecho.so", "KIND: echo")}, want: 400},
		{name: "bad name", fields: []field{plugin("lib..so", "KIND: echo")}, want: 400},
		{name: "versioned name", fields: []field{plugin("libecho.so.1", "KIND: echo")}, want: 400},
		{name: "unnamable folder", fields: []field{plugin("lib echo.so", "KIND: echo")}, want: 400},
		{name: "bad name before size", fields: []field{plugin("x.dll", "KIND: echo")}, declared: 1 << 40, want: 400},
		{name: "no boundary", raw: "x", ct: "multipart/form-data", want: 400},
		{name: "not multipart", raw: "just text", ct: "multipart/form-data; boundary=xyz", want: 400},
		{name: "cut off", raw: "--xyz\r\nContent-Disposition: form-data; name=\"plugin\"; filename=\"libecho.so\"\r\n\r\nKIND: echo",
			ct: "multipart/form-data; boundary=xyz", want: 400},
		{name: "occupied", fields: []field{plugin("libgain.so", "KIND: gain")}, want: 409},
		{name: "occupied before size", fields: []field{plugin("libgain.so", "KIND: gain")}, declared: 1 << 40, want: 409},
		{name: "wasm exists", fields: []field{plugin("old.wasm", "\x00asm")}, want: 409},
		{name: "declared too large", fields: []field{plugin("libecho.so", "KIND: echo")}, declared: max + multipartSlack + 1, want: 413},
		{name: "streamed too large", fields: []field{plugin("libecho.so", "KIND: echo"+strings.Repeat(" ", max))}, want: 413},
		{name: "endless field before", fields: []field{{name: "note", filename: "-", content: strings.Repeat("x", multipartSlack+max)}, plugin("libecho.so", "KIND: echo")}, want: 413},
		{name: "not a plugin", fields: []field{plugin("libecho.so", "just text")}, want: 422},
		{name: "bad wasm", fields: []field{plugin("new.wasm", "KIND: echo")}, want: 422},
		{name: "kind provided", fields: []field{plugin("libgain2.so", "KIND: gain")}, want: 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, h := writeRoot(t, testToken, max)
			put(t, root, "native/gain/libgain.so", "KIND: gain")
			put(t, root, "wasm/old.wasm", "\x00asm")
			before := tree(t, root)
			var body io.Reader = strings.NewReader(tc.raw)
			ct := tc.ct
			if tc.fields != nil {
				body, ct = form(t, tc.fields...)
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/plugins", body)
			token := tc.token
			if token == "" {
				token = testToken
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", ct)
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

// TestWriteInstallMultipartStreams checks over a real connection that the file
// of a multipart upload reaches the disk while the client is still sending it:
// it is streamed, never gathered in memory first.
func TestWriteInstallMultipartStreams(t *testing.T) {
	checkLeaks(t)
	root, h := writeRoot(t, testToken, 64<<20)
	srv := httptest.NewServer(h)
	defer srv.Close()

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/plugins", pr)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	type answer struct {
		resp *http.Response
		err  error
	}
	answered := make(chan answer, 1)
	client := newClient(t)
	go func() {
		resp, err := client.Do(req)
		answered <- answer{resp, err}
	}()

	const chunk = 1 << 20
	part, err := mw.CreateFormFile("plugin", "libbig.so")
	require.NoError(t, err)
	_, err = io.WriteString(part, "KIND: big"+strings.Repeat(" ", chunk))
	require.NoError(t, err)
	// The first MiB is on disk in a staging file while the rest is unsent.
	staged := func() int64 {
		entries, _ := os.ReadDir(filepath.Join(root, "native", "big"))
		for _, e := range entries {
			if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".tmp") {
				return info.Size()
			}
		}
		return 0
	}
	for deadline := time.Now().Add(15 * time.Second); staged() < chunk; {
		if time.Now().After(deadline) {
			t.Fatalf("the first MiB did not reach the disk while the upload went on: %d bytes staged", staged())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 3 {
		_, err = io.WriteString(part, strings.Repeat(" ", chunk))
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	require.NoError(t, pw.Close())

	a := <-answered
	require.NoError(t, a.err)
	defer a.resp.Body.Close()
	b, _ := io.ReadAll(a.resp.Body)
	require.Equal(t, http.StatusCreated, a.resp.StatusCode, string(b))
	info, err := os.Stat(filepath.Join(root, "native", "big", "libbig.so"))
	require.NoError(t, err)
	assert.Equal(t, int64(len("KIND: big")+4*chunk), info.Size())
}

// TestWriteMultipartOverHTTPRefused: a real client still sending a large
// multipart upload reads the refusal, with or without keep-alive.
func TestWriteMultipartOverHTTPRefused(t *testing.T) {
	checkLeaks(t)
	root, h := writeRoot(t, testToken, 1<<10)
	put(t, root, "native/gain/libgain.so", "KIND: gain")
	srv := httptest.NewServer(h)
	defer srv.Close()
	keepAlive := &http.Transport{}
	t.Cleanup(keepAlive.CloseIdleConnections)
	before := tree(t, root)
	for name, client := range map[string]*http.Client{"connection close": newClient(t), "keep-alive": {Transport: keepAlive}} {
		t.Run(name, func(t *testing.T) {
			for filename, want := range map[string]int{"libbig.so": 413, "libgain.so": 409, "../libbig.so": 400} {
				pr, pw := io.Pipe()
				mw := multipart.NewWriter(pw)
				go func() {
					part, err := mw.CreateFormFile("plugin", filename)
					if err == nil {
						_, err = io.Copy(part, io.MultiReader(strings.NewReader("KIND: big"), io.LimitReader(&endless{}, 8<<20)))
					}
					if err == nil {
						err = mw.Close()
					}
					pw.CloseWithError(err)
				}()
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/plugins", pr)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				resp, err := client.Do(req)
				require.NoError(t, err, filename)
				var doc struct{ Error string }
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
				resp.Body.Close()
				pr.Close() // ends the writer if the server stopped reading
				assert.Equal(t, want, resp.StatusCode, "%s: %s", filename, doc.Error)
			}
		})
	}
	assert.Equal(t, before, tree(t, root))
}
