package admin_test

import (
	"context"
	"fmt"
	"net"

	"github.com/plugwatch/plugwatch/admin"
	"github.com/plugwatch/plugwatch/state"
)

// staticSource serves one state document and never has events.
type staticSource struct{ st *state.State }

func (s staticSource) State() *state.State { return s.st }

func (s staticSource) Subscribe() (<-chan state.Event, func()) {
	return make(chan state.Event), func() {}
}

// A daemon serves its state with Serve; `plugwatch status` reads it with FetchState.
func ExampleFetchState() {
	st := &state.State{Root: "/srv/.plugins", Generation: 1}
	st.Sort()

	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() {
		h := admin.NewHandler(staticSource{st}, admin.NewMetrics(), nil)
		served <- admin.Serve(ctx, "127.0.0.1:0", h, nil, func(a net.Addr) { ready <- a })
	}()
	var addr string
	select {
	case a := <-ready:
		addr = a.String()
	case err := <-served: // a *admin.ListenError
		stop()
		fmt.Println(err)
		return
	}

	got, _, err := admin.FetchState(context.Background(), addr)
	if err != nil {
		fmt.Println(err)
	} else {
		fmt.Println(got.Root, got.Generation, len(got.Plugins))
	}

	stop()
	fmt.Println("Serve returned", <-served)
	// Output:
	// /srv/.plugins 1 0
	// Serve returned <nil>
}
