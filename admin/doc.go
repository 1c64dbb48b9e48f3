// Package admin is plugwatch's admin HTTP API (docs/http-api.md): the health check, the
// state document, the event stream and the Prometheus metrics ([NewHandler]), the
// write endpoints that install and remove plugins ([WriteHandler]), and the client
// that `plugwatch status` uses to read the state of a running daemon ([FetchState]).
//
// The read side sees the daemon through [Source] and never changes it; the write side
// calls the functions its [WriteOptions] are given. Nothing here is global: metrics
// live in the registry a [Metrics] owns, and every server, stream and request ends
// with the context it was given.
package admin
