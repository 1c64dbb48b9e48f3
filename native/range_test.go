package native_test

import (
	"strings"
	"testing"

	"github.com/plugwatch/plugwatch/native"
)

func TestParseRange(t *testing.T) {
	for in, want := range map[string]native.Range{
		"1-9": {1, 9},
		"6-9": {6, 9},
		"2-2": {2, 2},
		"9-9": {9, 9},
	} {
		got, err := native.ParseRange(in)
		if err != nil || got != want {
			t.Errorf("ParseRange(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), in)
		}
	}
	for _, in := range []string{"", "6", "6-", "-9", "0-9", "1-10", "7-6", "a-b", "1 - 9", "1-9-9", "+1-9", "4294967302-9"} {
		_, err := native.ParseRange(in)
		if err == nil {
			t.Errorf("ParseRange(%q) succeeded", in)
		} else if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseRange(%q): %v does not name the value", in, err)
		}
	}
}

func TestRange(t *testing.T) {
	if r := native.DefaultRange(); r != (native.Range{Min: 1, Max: 9}) || r.String() != "1-9" {
		t.Errorf("DefaultRange() = %v", r)
	}
	r := native.Range{Min: 6, Max: 9}
	for v, want := range map[uint32]bool{0: false, 5: false, 6: true, 9: true, 10: false} {
		if r.Contains(v) != want {
			t.Errorf("%v.Contains(%d) = %v", r, v, !want)
		}
	}
}
