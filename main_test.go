package plugwatch_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/probe"
)

func TestMain(m *testing.M) {
	probe.Main() // the daemon probes libraries in helper processes: this binary is one
	code := plugintest.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goroutines left behind: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
