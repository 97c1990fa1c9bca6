package client

import (
	"fmt"

	"treelog/internal/untrusted"
)

// The outcomes of a verification that is not a success, each its own type
// so that callers tell them apart with errors.As, never by their text:
//
//   - *Failure: refused. The tree or its proofs are bad: signed evidence
//     of an attack, or data that does not match what was signed.
//   - *UncheckedError: could not check. The log or its mirrors could not
//     be read (unreachable, timed out, an HTTP error): an outage, which is
//     never evidence against the tree.
//   - *LocalError: this machine's own state is unreadable or corrupt.
//   - *ConfigError: the configuration cannot work (a log without a URL).

// A Failure is a refusal: the tree or its proofs are bad (an attack, or
// corruption upstream). Evidence holds signed objects that conflict (two
// checkpoints of a split view, the newer logged snapshot and the one
// served), and only those: a single bad object is described in Msg.
type Failure struct {
	Check    string   `json:"check"`
	Msg      string   `json:"message"`
	Evidence [][]byte `json:"evidence,omitempty"`
}

func (f *Failure) Error() string { return f.Check + " check: " + f.Msg }

// failf returns a Failure whose message is escaped: it carries text from
// outside (errors that quote what a mirror served).
func failf(check string, evidence [][]byte, format string, args ...any) *Failure {
	return &Failure{Check: check, Msg: untrusted.Escape(fmt.Sprintf(format, args...)), Evidence: evidence}
}

// An UncheckedError means a check could not run because the log (and
// every mirror of it tried) could not be read.
type UncheckedError struct {
	Check string
	Err   error
}

func (e *UncheckedError) Error() string {
	return fmt.Sprintf("could not run the %s check: %s (the log or its mirrors cannot be reached; this says nothing about the tree: try again, or another --log)", e.Check, untrusted.Escape(e.Err.Error()))
}

func (e *UncheckedError) Unwrap() error { return e.Err }

// A ConfigError is a configuration that cannot work, named.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }
