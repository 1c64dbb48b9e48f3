package native_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/plugwatch/plugwatch/native"
)

// Probe a library and tell a file still being copied from one that will never load.
func ExampleProbe() {
	abi, err := native.ParseRange("6-9") // as StreamKit's host accepts
	if err != nil {
		log.Fatal(err)
	}
	md, err := native.Probe(".plugins/native/gain/libgain.so", abi)
	switch {
	case errors.Is(err, native.ErrIncomplete):
		fmt.Println("not complete yet; look again when it changes")
	case errors.Is(err, native.ErrABIVersion):
		fmt.Println("built for another StreamKit:", err)
	case err != nil:
		fmt.Println("cannot load:", err)
	default:
		fmt.Printf("plugin::native::%s (API %d): %s\n", md.Kind, md.APIVersion, md.Description)
		for _, in := range md.Inputs {
			fmt.Println("input", in.Name, in.Types)
		}
	}
}
