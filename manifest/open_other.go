//go:build !unix

package manifest

// openFlags adds nothing where named pipes cannot stand in for a file.
const openFlags = 0
