package tiles

import (
	"errors"
	"fmt"
)

// Every error a reader or prover returns is one of two kinds, told apart
// with errors.Is and never by its text: an outage (nothing arrived that
// could be checked), or bad data (what arrived does not match what the
// log signed, or breaks a bound). Callers report the first as "could not
// check" and the second as a refusal.
var (
	// ErrUnavailable is wrapped when a log could not be read: no URL
	// answered (connection refused, DNS, a timeout, a connection cut
	// while reading), or each answered with an HTTP error (404 and 5xx
	// among them). It is never evidence against the log.
	ErrUnavailable = errors.New("log unavailable")
	// ErrMismatch is wrapped when what a log served does not match a
	// checkpoint it signed: a tile that does not hash to the tree, a tile
	// of the wrong size, an entry bundle whose entries do not hash to
	// their leaves or that does not parse.
	ErrMismatch = errors.New("not what the log signed")
)

// netError marks an error of the network itself (a read cut short, a
// timeout): an outage, whatever wraps it later.
type netError struct{ err error }

func (e *netError) Error() string   { return e.err.Error() }
func (e *netError) Unwrap() []error { return []error{e.err, ErrUnavailable} }

// mixedError is what several URLs that all failed add up to when at least
// one of them served bad data: its text names every failure, but it
// unwraps only to the bad data, so that it is not taken for an outage.
type mixedError struct {
	bad error
	all error
}

func (e *mixedError) Error() string { return e.all.Error() }
func (e *mixedError) Unwrap() error { return e.bad }

// joinURLErrors combines the errors of the URLs tried for path p.
func joinURLErrors(p string, errs []error) error {
	var bad []error
	notFound := 0
	for _, err := range errs {
		if errors.Is(err, ErrNotFound) {
			notFound++
		}
		if !errors.Is(err, ErrUnavailable) {
			bad = append(bad, err)
		}
	}
	switch {
	case notFound == len(errs):
		return fmt.Errorf("%s: %w (%w)", p, ErrNotFound, ErrUnavailable)
	case len(bad) == 0:
		return errors.Join(errs...)
	}
	return &mixedError{bad: errors.Join(bad...), all: errors.Join(errs...)}
}
