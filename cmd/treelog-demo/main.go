// Command treelog-demo runs a whole treelog network on this machine and
// attacks it. It is a separate program so that the tool users run after
// every sync (treelog) does not link the servers the demo starts.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"treelog/demo"
	"treelog/internal/cli"
)

const about = `Starts, on 127.0.0.1 only, a log (tessera, POSIX storage), three witnesses
(SQLite) with a 2-of-3 quorum, an honest and an evil tree mirror, and an
auditor; publishes a generated Gentoo-shaped tree four times; has a user
verify the honest mirror's tree; then has the evil mirror serve a tampered
file, replay an old snapshot, freeze, and show a split view with a second
log history. Each attack must be refused by the user's check and reported
by the auditor with evidence. Exits 0 only if every outcome is the one
expected. Takes well under a minute; nothing leaves this machine.

The data lives in a temporary directory that is removed at the end: pass
--keep to keep the network running and explore it, or --dir to keep the data.`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := cli.Flags("treelog-demo", "", about, stdout, stderr)
	dir := fs.String("dir", "", "directory for all the data, kept afterwards (default: a temporary one, removed at the end unless --keep)")
	keep := fs.Bool("keep", false, "keep everything running afterwards, printing the URLs (the auditor's status page among them), until Ctrl-C")
	pkgs := fs.Int("packages", 150, "packages in the generated tree")
	verbose := fs.BoolP("verbose", "v", false, "show the daemons' own logs on stderr")
	if rc := cli.Status(fs, fs.Parse(args), stderr); rc >= 0 {
		return rc
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "treelog-demo: takes no arguments, got %q\n", fs.Args())
		return cli.ExitUsage
	}
	if *pkgs < 1 {
		fmt.Fprintf(stderr, "treelog-demo: --packages must be at least 1, got %d\n", *pkgs)
		return cli.ExitUsage
	}
	var log *slog.Logger
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo.Run(ctx, demo.Options{Dir: *dir, Keep: *keep, Packages: *pkgs, Out: stdout, Log: log}); err != nil {
		fmt.Fprintf(stderr, "treelog-demo: %v\n", err)
		return 1
	}
	return 0
}
