//go:build race

package main

// raceBuild: these tests and the plugwatch they run are built with the race detector.
const raceBuild = true
