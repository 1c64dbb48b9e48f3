package probe

import (
	"bytes"
	"testing"
)

func TestCrashDetail(t *testing.T) {
	cases := []struct{ report, want string }{
		{"fatal error: unexpected signal during runtime execution\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x7f]\n", "killed by signal SIGSEGV"},
		{"SIGABRT: abort\nPC=0x7f m=0 sigcode=18446744073709551610\n", "aborted (SIGABRT)"},
		{"SIGBUS: bus error\nPC=0x7f\n", "killed by signal SIGBUS"},
		{"fatal error: out of memory\n", "the helper failed: fatal error: out of memory"},
		{"panic: oops\n\ngoroutine 1 [running]:\n", "the helper failed: panic: oops"},
		{"runtime: epollwait on fd 9 failed with 9\nfatal error: runtime: netpoll failed\n", lostDetail},
		{"plugin: starting\nplugin: ready\nfatal error: out of memory\n", "the helper failed: fatal error: out of memory"},
		{"", "the helper ended"},
	}
	for _, c := range cases {
		if got := crashDetail([]byte(c.report), nil); got != c.want {
			t.Errorf("crashDetail(%q) = %q, want %q", c.report, got, c.want)
		}
	}
}

func TestTailWriterKeepsTheEnd(t *testing.T) {
	var buf bytes.Buffer
	w := &tailWriter{&buf, 8}
	for _, s := range []string{"abc", "defgh", "ijk", "0123456789XY"} {
		w.Write([]byte(s))
	}
	if got := buf.String(); got != "456789XY" {
		t.Errorf("kept %q, want %q", got, "456789XY")
	}
	w.Write([]byte("z"))
	if got := buf.String(); got != "56789XYz" {
		t.Errorf("kept %q, want %q", got, "56789XYz")
	}
}
