//go:build linux && (amd64 || arm64)

package probe_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
)

// A program calls probe.Main first thing in main (this test binary does so in
// TestMain); then its Probers run libraries in copies of itself.
func Example() {
	lib, err := plugintest.Compile(plugintest.Spec{Kind: "gain", ABI: 6})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := probe.New(probe.Options{})
	defer p.Close()

	md, err := p.Probe(context.Background(), lib)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(md.Kind, md.APIVersion, len(md.Inputs), "inputs")
	// Output: gain 6 3 inputs
}

// A library whose constructor aborts is reported, not fatal.
func Example_crashed() {
	lib, err := plugintest.Compile(plugintest.Spec{Kind: "gain", Crash: "ctor_abort"})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := probe.New(probe.Options{Timeout: 2 * time.Second})
	defer p.Close()

	_, err = p.Probe(context.Background(), lib)
	if ne, ok := errors.AsType[*native.Error](err); ok && errors.Is(err, native.ErrCrashed) {
		fmt.Println(ne.Err, "-", ne.Detail)
	}
	// Output: library crashed or hung when opened - aborted (SIGABRT)
}
