package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"treelog/demo"
)

func init() {
	register("demo", "run a whole treelog network on this machine and attack it", runDemo)
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "", `Starts, on 127.0.0.1 only, a log (tessera, POSIX storage), three witnesses
(SQLite) with a 2-of-3 quorum, an honest and an evil tree mirror, and an
auditor; publishes a generated Gentoo-shaped tree four times; has a user
verify the honest mirror's tree; then has the evil mirror serve a tampered
file, replay an old snapshot, freeze, and show a split view with a second
log history. Each attack must be refused by the user's check and reported
by the auditor with evidence. Exits 0 only if every outcome is the one
expected. Takes well under a minute; nothing leaves this machine.`, stdout, stderr)
	dir := fs.String("dir", "", "directory for all the data (default: a temporary one, removed at the end unless --keep)")
	keep := fs.Bool("keep", false, "keep everything running afterwards, printing the URLs (the auditor's status page among them), until Ctrl-C")
	pkgs := fs.Int("packages", 150, "packages in the generated tree")
	verbose := fs.BoolP("verbose", "v", false, "show the daemons' own logs on stderr")
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	var log *slog.Logger
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo.Run(ctx, demo.Options{Dir: *dir, Keep: *keep, Packages: *pkgs, Out: stdout, Log: log}); err != nil {
		return fail(stderr, "demo", err)
	}
	return exitOK
}
