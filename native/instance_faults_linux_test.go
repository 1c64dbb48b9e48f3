//go:build linux && (amd64 || arm64)

package native_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

// The environment of TestInstanceChild: a library, the params of its instance.
const (
	childLibrary = "NATIVE_TEST_CHILD_LIBRARY"
	childParams  = "NATIVE_TEST_CHILD_PARAMS"
)

// TestInstanceChild runs in a child process of TestCrash and TestHang: it sends five
// frames to an instance of the library, writing "packet N" to stdout before each call
// and "returned N" after it.
func TestInstanceChild(t *testing.T) {
	lib := os.Getenv(childLibrary)
	if lib == "" {
		t.Skip("run by TestCrash and TestHang")
	}
	l, err := native.Open(lib, native.DefaultRange())
	if err != nil {
		t.Fatal(err)
	}
	in, err := l.NewInstance([]byte(os.Getenv(childParams)), native.InstanceOptions{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		fmt.Printf("packet %d\n", i)
		err := in.Process("in", frame())
		fmt.Printf("returned %d: %v\n", i, err)
	}
	in.Close()
	l.Close()
}

// child returns the command that runs TestInstanceChild for the library of s.
func child(t *testing.T, s plugintest.Spec, params string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestInstanceChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childLibrary+"="+plugintest.Build(t, s), childParams+"="+params)
	return cmd
}

// A plugin that crashes in process_packet takes the process with it, at the packet its
// params name: in-process instances cannot survive it (plugwatch try runs them in a
// helper process).
func TestCrash(t *testing.T) {
	for _, abi := range []int{2, 6} {
		cmd := child(t, plugintest.FaultyGain(abi, "crash"), `{"at":2}`)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("v%d: the child %v, want it to die\n%s", abi, err, &stdout)
		}
		out := stdout.String()
		if !strings.Contains(out, "returned 1: <nil>\npacket 2\n") || strings.Contains(out, "returned 2") {
			t.Errorf("v%d: the child did not die in packet 2:\n%s", abi, out)
		}
		if !strings.Contains(stderr.String(), "SIGSEGV") {
			t.Errorf("v%d: no SIGSEGV in the child's stderr:\n%s", abi, &stderr)
		}
	}
}

// A plugin that hangs in process_packet hangs the caller.
func TestHang(t *testing.T) {
	cmd := child(t, plugintest.FaultyGain(6, "hang"), `{"at":1}`)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	hanging := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if sc.Text() == "gain: hanging at packet 1" {
				hanging <- true
				return
			}
		}
		hanging <- false
	}()
	select {
	case ok := <-hanging:
		if !ok {
			t.Error("the child ended without hanging")
		}
	case <-time.After(30 * time.Second):
		t.Error("the child did not reach the hang")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if out := stdout.String(); !strings.Contains(out, "packet 1\n") || strings.Contains(out, "returned 1") {
		t.Errorf("the child's output:\n%s", out)
	}
}
