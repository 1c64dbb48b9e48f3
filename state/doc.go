// Package state holds plugwatch's vocabulary of what it found and did: the state
// document (State, with its plugins, skipped claimants and problems), the events
// that tell its changes (Event), and the problem codes and levels of
// docs/problems.md. Of plugwatch's packages it imports only native, whose errors
// ProbeProblem names: a client of the admin API, the installer, or a program that
// reads `plugwatch scan --json` needs no reconciler to use it.
package state
