package state_test

import (
	"encoding/json"
	"fmt"

	"github.com/plugwatch/plugwatch/state"
)

// A program that reads `plugwatch scan --json` (or GET /v1/state) decodes the
// document into a State.
func ExampleState() {
	doc := `{"root":"/srv/.plugins","generation":3,"reconciled_at":"2026-12-02T10:00:00.000Z",
	  "plugins":[{"kind":"plugin::native::gain","id":"gain","version":"1.2.0","source":"directory",
	    "library":"/srv/.plugins/native/gain/libgain.so","api_version":6,"loaded_at":"2026-12-02T10:00:00.000Z"}],
	  "skipped":[],
	  "problems":[{"path":"/srv/.plugins/native/libecho.so","code":"bare_library","level":"warn",
	    "message":"native library directly in native/ is not loaded; move it to native/echo/libecho.so or run plugwatch migrate"}]}`
	var st state.State
	if err := json.Unmarshal([]byte(doc), &st); err != nil {
		panic(err)
	}
	fmt.Println(st.Provided()["plugin::native::gain"])
	for _, p := range st.Problems {
		if p.Code == state.BareLibrary {
			fmt.Println(p.Level, p.Path)
		}
	}
	// Output:
	// /srv/.plugins/native/gain/libgain.so
	// warn /srv/.plugins/native/libecho.so
}
