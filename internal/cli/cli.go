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

// ExitUsage is the exit status for usage errors.
const ExitUsage = 2

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
