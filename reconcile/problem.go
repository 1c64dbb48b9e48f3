package reconcile

import "github.com/plugwatch/plugwatch/state"

func problem(path string, code state.Code, level state.Level, msg string) state.Problem {
	return state.Problem{Path: path, Code: code, Level: level, Message: msg}
}
