package probe_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/probe"
)

func TestMain(m *testing.M) {
	probe.Main() // the helpers of these tests are this test binary
	code := plugintest.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goroutines left behind: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
