// Command treelog is the publisher's and the user's tool: it makes keys,
// Manifests and MetaManifests, publishes tree snapshots to a log, and
// verifies a synced tree before it is used.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"treelog/internal/cli"
	"treelog/internal/untrusted"
	"treelog/policy"
	"treelog/publisher"
)

// Exit codes shared by every subcommand (and every treelog program).
const (
	exitOK        = cli.ExitOK
	exitFail      = cli.ExitRefused   // a verification failed: the input is bad
	exitUsage     = cli.ExitUsage     // bad flags or configuration
	exitLocal     = cli.ExitLocal     // this machine's own state is unreadable or corrupt
	exitUnchecked = cli.ExitUnchecked // could not check: the log is unreachable
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) int) {
	commands[name] = command{summary: summary, run: run}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "treelog: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "treelog: transparency for software distribution trees")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: treelog <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit status: 0 success; 1 refused or failed (the input is bad); 2 usage or")
	fmt.Fprintln(w, "configuration error; 3 this machine's own state is broken; 4 could not check")
	fmt.Fprintln(w, "(the log or its mirrors unreachable: an outage, not an attack).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'treelog <command> --help' for a command's flags.")
}

// newFlags returns the flag set of subcommand name.
func newFlags(name, argsUsage, about string, stdout, stderr io.Writer) *pflag.FlagSet {
	return cli.Flags("treelog "+name, argsUsage, about, stdout, stderr)
}

// parseFlags parses args (after the --config file, for commands that have
// that flag) and returns -1 to continue, or an exit code.
func parseFlags(fs *pflag.FlagSet, args []string, nargs int, stderr io.Writer) int {
	if rc := cli.Status(fs, cli.ParseWithConfig(fs, args), stderr); rc >= 0 {
		return rc
	}
	if nargs >= 0 && fs.NArg() != nargs {
		fmt.Fprintf(stderr, "%s: want %d argument(s), got %d (%s)\n", fs.Name(), nargs, fs.NArg(), strings.Join(fs.Args(), " "))
		return exitUsage
	}
	return -1
}

func usageErr(stderr io.Writer, cmd, format string, args ...any) int {
	fmt.Fprintf(stderr, "treelog %s: %s\n", cmd, untrusted.Escape(fmt.Sprintf(format, args...)))
	return exitUsage
}

// fail reports an error; its text may quote what a log or a file said,
// so it is escaped.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "treelog %s: %s\n", cmd, untrusted.Escape(err.Error()))
	if errors.Is(err, publisher.ErrUnavailable) {
		return exitUnchecked
	}
	return exitFail
}

// checkURLs checks each URL given to flag (policy.CheckURL).
func checkURLs(flag string, urls ...string) error {
	for _, u := range urls {
		if err := policy.CheckURL(u); err != nil {
			return fmt.Errorf("--%s: %w", flag, err)
		}
	}
	return nil
}
