// Package cli gives every treelog program the same flag handling: --help
// prints the command's description and flags on stdout, a bad flag prints
// one line on stderr, and usage errors exit with status 2.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Exit statuses, the same in every program. A program that checks
// something tells "it is bad" (ExitRefused) from "I could not look"
// (ExitUnchecked): an outage is not an attack, and a configuration
// mistake (ExitUsage) is neither.
const (
	ExitOK = 0
	// ExitRefused: the check failed (evidence of an attack, data that does
	// not match what was signed), or, for the auditor, an alert is open.
	ExitRefused = 1
	// ExitUsage: bad flags or configuration, named in the message.
	ExitUsage = 2
	// ExitLocal: this machine's own state is unreadable, corrupt or in
	// use.
	ExitLocal = 3
	// ExitUnchecked: could not check: a log, witness or mirror was
	// unreachable, timed out, or answered with an HTTP error.
	ExitUnchecked = 4
)

// Flags returns a flag set for cmd (such as "witness serve"), whose --help
// prints "Usage: cmd [flags] args", about, and the flags.
func Flags(cmd, args, about string, stdout, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: %s\n\n%s\n\nFlags:\n", strings.TrimSpace(cmd+" [flags] "+args), about)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	return fs
}

// Status turns the error from parsing fs into an exit status: -1 to go on,
// 0 after --help, ExitUsage (with the error printed) otherwise.
func Status(fs *pflag.FlagSet, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return -1
	case errors.Is(err, pflag.ErrHelp):
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
	return ExitUsage
}
