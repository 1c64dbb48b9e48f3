// Package admin is plugwatch's admin HTTP API (SPEC 7.3, read side): the health
// check, the state document, the event stream and the Prometheus metrics, plus the
// client that `plugwatch status` uses to read the state of a running daemon.
//
// The package reads the daemon through [Source] and never changes it. Nothing here is
// global: metrics live in the registry a [Metrics] owns, and every server, stream and
// request ends with the context it was given.
package admin
