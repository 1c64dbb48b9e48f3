//go:build linux && (amd64 || arm64)

package native_test

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

// Run a gain plugin: send it a frame of audio, read what it outputs, tell its
// failures by call.
func ExampleLibrary_NewInstance() {
	path, err := plugintest.Compile(plugintest.Gain(6)) // a library on disk
	if err != nil {
		log.Fatal(err)
	}
	l, err := native.Open(path, native.DefaultRange())
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close() // after every instance is closed

	in, err := l.NewInstance([]byte(`{"gain":0.5}`), native.InstanceOptions{
		Logger: slog.New(slog.DiscardHandler),
		Output: func(pin string, p native.Packet) {
			if f, ok := p.(native.AudioFrame); ok {
				fmt.Printf("%s: %d samples at %d Hz, first %.2f\n", pin, len(f.Samples), f.SampleRate, f.Samples[0])
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()

	samples := make([]float32, 960)
	for i := range samples {
		samples[i] = float32(math.Cos(2 * math.Pi * 440 * float64(i) / 48000))
	}
	if err := in.Process("in", native.AudioFrame{SampleRate: 48000, Channels: 1, Samples: samples}); err != nil {
		log.Fatal(err)
	}

	err = in.UpdateParams([]byte(`{"volume":2}`))
	var ce *native.CallError
	if errors.As(err, &ce) && errors.Is(err, native.ErrCallFailed) {
		fmt.Printf("%s failed: %s\n", ce.Call, ce.Message)
	}
	// Output:
	// out: 960 samples at 48000 Hz, first 0.50
	// update_params failed: gain: update_params needs {"gain": number}
}
