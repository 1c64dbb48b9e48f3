package native

import (
	"fmt"
	"strconv"
	"strings"
)

// The API versions this package can read (docs/abi.md).
const (
	minVersion = 1
	maxVersion = 9
)

// Range is an inclusive range of accepted API versions, as given by --abi MIN-MAX.
// Only versions 1 to 9 are ever accepted, whatever the range says; the zero Range
// accepts nothing.
type Range struct{ Min, Max uint32 }

// DefaultRange returns the range accepted by default: every version this package
// reads, 1-9.
func DefaultRange() Range { return Range{minVersion, maxVersion} }

// ParseRange parses "MIN-MAX" (decimal, 1 <= MIN <= MAX <= 9), e.g. "6-9".
func ParseRange(s string) (Range, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if ok {
		minV, err1 := strconv.ParseUint(lo, 10, 32)
		maxV, err2 := strconv.ParseUint(hi, 10, 32)
		if err1 == nil && err2 == nil && minVersion <= minV && minV <= maxV && maxV <= maxVersion {
			return Range{uint32(minV), uint32(maxV)}, nil
		}
	}
	return Range{}, fmt.Errorf("native: invalid API version range %q: want MIN-MAX with %d <= MIN <= MAX <= %d",
		s, minVersion, maxVersion)
}

// String returns "MIN-MAX".
func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// Contains reports whether r.Min <= v <= r.Max.
func (r Range) Contains(v uint32) bool { return r.Min <= v && v <= r.Max }

// effective returns r limited to the versions this package reads.
func (r Range) effective() Range {
	return Range{max(r.Min, minVersion), min(r.Max, maxVersion)}
}
