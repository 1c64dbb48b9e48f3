package native_test

import (
	"os"
	"testing"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }
