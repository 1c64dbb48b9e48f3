package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

// serveState answers GET /v1/state with doc, as a running daemon's admin API does,
// and returns the address to give `status --addr`.
func serveState(t *testing.T, doc string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/state" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(doc))
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return u.Host
}

func status(t *testing.T, addr string) string {
	t.Helper()
	out, err := exec.Command("plugwatch", "status", "--addr", addr).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// The table marks a stale plugin after its version and counts it in the summary,
// and shows each plugin's smoke result when the document carries one.
func TestStatusTableStaleAndSmoke(t *testing.T) {
	addr := serveState(t, `{
  "root": "/srv/.plugins",
  "generation": 7,
  "reconciled_at": "2026-11-24T19:30:00.123Z",
  "plugins": [
    {"kind": "plugin::native::echo", "id": "echo", "version": "", "source": "directory",
     "library": "/srv/.plugins/native/echo/libecho.so", "api_version": 2, "loaded_at": "2026-11-24T19:29:58.001Z"},
    {"kind": "plugin::native::gain", "id": "gain", "version": "1.2.0", "source": "directory",
     "library": "/srv/.plugins/native/gain/libgain.so", "manifest": "/srv/.plugins/native/gain/plugin.yml",
     "api_version": 6, "loaded_at": "2026-11-24T19:29:58.001Z", "stale": true,
     "smoke": {"result": "ok", "process_p50_us": 3.1, "outputs": {"out": 50, "aux": 2}}}
  ],
  "skipped": [],
  "problems": [
    {"path": "/srv/.plugins/native/gain/libgain.so", "code": "abi_version", "level": "error",
     "message": "library reports API version 12; accepted range is 1-9"}
  ]
}`)
	assert.Equal(t, `/srv/.plugins: 2 plugins (1 stale), 0 skipped libraries, 1 problem

KIND                  ID    VERSION        SOURCE     API  LIBRARY                 SMOKE
plugin::native::echo  echo  -              directory  2    native/echo/libecho.so  -
plugin::native::gain  gain  1.2.0 (stale)  directory  6    native/gain/libgain.so  ok 3.1 µs aux=2 out=50

PROBLEMS
error abi_version native/gain/libgain.so: library reports API version 12; accepted range is 1-9
`, status(t, addr))

	// Without smoke results and stale plugins, the table is scan's.
	addr = serveState(t, `{"root": "/srv/.plugins", "generation": 1, "reconciled_at": "2026-11-24T19:30:00.123Z",
  "plugins": [{"kind": "plugin::native::echo", "id": "echo", "version": "0.3.0", "source": "directory",
    "library": "/srv/.plugins/native/echo/libecho.so", "api_version": 2, "loaded_at": "2026-11-24T19:29:58.001Z"}],
  "skipped": [], "problems": []}`)
	assert.Equal(t, `/srv/.plugins: 1 plugin, 0 skipped libraries, 0 problems

KIND                  ID    VERSION  SOURCE     API  LIBRARY
plugin::native::echo  echo  0.3.0    directory  2    native/echo/libecho.so
`, status(t, addr))
}

// A real daemon after a broken rebuild: status shows the old version loaded, stale.
func TestStatusMarksStale(t *testing.T) {
	root := newRoot(t)
	lib := gainBundle(t, root, plugintest.Spec{Kind: "gain", Description: "v1"})
	d := startDaemon(t, root, "--debounce", "20ms")
	d.waitFor("v1", loadedWith("plugin::native::gain", "v1"))
	require.NoError(t, exec.Command("cp", plugintest.Build(t, plugintest.Spec{Kind: "gain", ABI: 12}), lib).Run())
	d.waitFor("stale", func(st *state.State) bool {
		p := plugin(st, "plugin::native::gain")
		return p != nil && p.Stale
	})
	out := status(t, d.addr)
	assert.Contains(t, out, root+": 1 plugin (1 stale), ")
	var row string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "plugin::native::gain ") {
			row = line
		}
	}
	assert.Regexp(t, `^plugin::native::gain +gain +1\.0\.0 \(stale\) +directory +6 +`+filepath.Join("native", "gain", "libgain.so")+`$`, row, out)
	assert.Contains(t, out, "error abi_version native/gain/libgain.so: ")
}
