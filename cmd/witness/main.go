// Command witness runs a c2sp.org/tlog-witness witness: it cosigns a log's
// checkpoints only if each is consistent with the last it cosigned for that
// log, keeping its state durably in one SQLite file.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"treelog/internal/cli"
	"treelog/internal/daemon"
	"treelog/internal/keyfile"
	"treelog/internal/untrusted"
	"treelog/note"
	"treelog/policy"
	"treelog/witness"
)

const usage = `Usage: witness <command> [flags]

Commands:
  serve      run the witness (HTTP: POST /add-checkpoint, GET /<origin hash>/checkpoint, /metrics)
  logs       list the known logs, or change one: list | rekey ORIGIN VKEY | disable ORIGIN | enable ORIGIN | remove ORIGIN
  evidence   print kept evidence of inconsistent checkpoints

Run 'witness <command> --help' for its flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr, nil)
	case "logs":
		return logs(args[1:], stdout, stderr)
	case "evidence":
		return evidence(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "witness: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func flagSet(name, args, about string, stdout, stderr io.Writer) *pflag.FlagSet {
	return cli.Flags("witness "+name, args, about, stdout, stderr)
}

func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) int {
	return cli.Status(fs, daemon.ParseFlags(fs, args), stderr)
}

// serve runs the daemon; started (tests) learns the listening address.
func serve(args []string, stdout, stderr io.Writer, started func(net.Addr)) int {
	fs := flagSet("serve", "", `Runs the witness. Configure logs in --logs, a file of tlog-policy style lines
  log <vkey> [<url>]
(the vkey's name is the log's origin). The first time the witness sees a log
it pins that key; a later edit of the file never changes a pinned key or
removes a log: use 'witness logs rekey|disable|remove', then SIGHUP.
SIGHUP reloads --logs and the database's log table; SIGTERM stops
gracefully after in-flight requests. Every cosignature is durable (fsync'd)
before it is returned; concurrent requests share fsyncs (group commit).

Exit status: 0 stopped cleanly; 2 usage or configuration error, named (a
missing or wrong --key, a bad --logs, a port in use), found before the
database is created; 3 the database cannot be opened; 1 the server failed.`, stdout, stderr)
	var c daemon.Common
	c.AddFlags(fs, "127.0.0.1:7380")
	key := fs.String("key", "", "witness secret key file (cosignature/v1, from 'treelog keygen --type witness') (required)")
	db := fs.String("db", "witness.db", "SQLite database file holding the witness's state")
	logsFile := fs.String("logs", "", "file of 'log <vkey> [<url>]' lines: the logs to witness (required)")
	rateLimit := fs.Float64("rate-limit", 0, "add-checkpoint requests per second allowed per log (0: no limit)")
	burst := fs.Int("burst", 20, "burst of requests allowed per log above --rate-limit")
	if rc := parse(fs, args, stderr); rc >= 0 {
		return rc
	}
	if *key == "" || *logsFile == "" {
		fmt.Fprintln(stderr, "witness serve: --key and --logs are required")
		return 2
	}
	log, err := c.Logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "witness serve: %v\n", err)
		return 2
	}
	signer, err := keyfile.ReadSigner(*key)
	if err != nil {
		fmt.Fprintf(stderr, "witness serve: --key: %s\n", untrusted.Escape(err.Error()))
		return 2
	}
	if _, ok := signer.(*note.Cosigner); !ok {
		fmt.Fprintf(stderr, "witness serve: --key %s: not a witness's cosignature/v1 (0x04) key: make one with 'treelog keygen --type witness'\n", untrusted.Escape(*key))
		return 2
	}
	// The configuration, then the port, then the database: a mistake or a
	// port in use leaves nothing behind.
	if data, err := os.ReadFile(*logsFile); err != nil {
		fmt.Fprintf(stderr, "witness serve: --logs: %s\n", untrusted.Escape(err.Error()))
		return 2
	} else if _, err := policy.ParseLogList(data); err != nil {
		fmt.Fprintf(stderr, "witness serve: --logs %s: %s\n", untrusted.Escape(*logsFile), untrusted.Escape(err.Error()))
		return 2
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "witness serve: --listen: %s\n", untrusted.Escape(err.Error()))
		return 2
	}
	defer ln.Close()
	store, err := witness.OpenStore(*db)
	if err != nil {
		log.Error("opening the database", "err", err)
		return 3
	}
	reload := func() error {
		data, err := os.ReadFile(*logsFile)
		if err != nil {
			return err
		}
		keys, err := policy.ParseLogList(data)
		if err != nil {
			return err
		}
		if err := store.Reload(); err != nil {
			return err
		}
		added, conflicts, err := store.AddLogs(keys)
		for _, a := range added {
			log.Info("log added; its key is now pinned", "origin", a)
		}
		for _, c := range conflicts {
			log.Error("configuration not applied", "err", c)
		}
		return err
	}
	if err := reload(); err != nil {
		log.Error("loading --logs", "err", err)
		store.Close()
		return 1
	}
	reg := daemon.NewRegistry()
	w, err := witness.New(signer, store, witness.WithLogger(log), witness.WithRateLimit(*rateLimit, *burst), witness.WithMetrics(witness.NewMetrics(reg, store)))
	if err != nil {
		log.Error("starting", "err", err)
		store.Close()
		return 1
	}
	log.Info("witness", "name", w.Name(), "vkey", w.VerifierKey(), "logs", len(store.Logs()))
	srv := &daemon.Server{
		Log: log, Handler: w.Handler(), Registry: reg, Reload: reload, Started: started, Timeouts: c.Timeouts, Listener: ln,
		Stop: func(context.Context) error { return store.Close() },
	}
	if err := srv.Run(context.Background(), c.Listen); err != nil {
		log.Error("witness stopped", "err", err)
		return 1
	}
	return 0
}

func logs(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("logs", "list | rekey ORIGIN VKEY | disable ORIGIN | enable ORIGIN | remove ORIGIN", `Lists the logs the witness knows, or changes one. Changes are written to the
database; send SIGHUP to a running witness to apply them. 'remove' forgets
the log's state: if it is configured again, the witness trusts whatever it
says next, so it needs --forget-state.`, stdout, stderr)
	db := fs.String("db", "witness.db", "SQLite database file holding the witness's state")
	forget := fs.Bool("forget-state", false, "confirm that 'remove' forgets the log's state")
	if rc := parse(fs, args, stderr); rc >= 0 {
		return rc
	}
	a := fs.Args()
	want := map[string]int{"list": 1, "rekey": 3, "disable": 2, "enable": 2, "remove": 2}
	if len(a) == 0 || want[a[0]] != len(a) {
		fmt.Fprintln(stderr, "witness logs: want list | rekey ORIGIN VKEY | disable ORIGIN | enable ORIGIN | remove ORIGIN")
		return 2
	}
	store, code := openExisting(*db, "logs", stderr)
	if store == nil {
		return code
	}
	defer store.Close()
	var err error
	switch a[0] {
	case "list":
		for _, l := range store.Logs() {
			state := "never cosigned"
			if l.Checkpoint != nil {
				state = fmt.Sprintf("size %d, cosigned %s", l.Size, time.Unix(l.CosignedAt, 0).UTC().Format(time.RFC3339))
			}
			dis := ""
			if l.Disabled {
				dis = " DISABLED"
			}
			fmt.Fprintf(stdout, "%s%s\n  key %s\n  %s\n", untrusted.Escape(l.Origin), dis, untrusted.Escape(l.VKey), state)
		}
		return 0
	case "rekey":
		err = store.Rekey(a[1], a[2])
	case "disable":
		err = store.SetDisabled(a[1], true)
	case "enable":
		err = store.SetDisabled(a[1], false)
	case "remove":
		if !*forget {
			fmt.Fprintln(stderr, "witness logs remove: this forgets the log's state; add --forget-state to confirm (or use disable, which keeps it)")
			return 2
		}
		err = store.Remove(a[1])
	}
	if err != nil {
		fmt.Fprintf(stderr, "witness logs %s: %v\n", a[0], err)
		return 1
	}
	fmt.Fprintf(stdout, "%s %s: done; send SIGHUP to a running witness\n", a[0], a[1])
	return 0
}

// openExisting opens the database of a witness for a command that reads
// or edits it: a missing one is a mistaken --db, not a database to
// create empty.
func openExisting(db, cmd string, stderr io.Writer) (*witness.Store, int) {
	if _, err := os.Stat(db); err != nil {
		fmt.Fprintf(stderr, "witness %s: --db %s: %s (the database is created by 'witness serve')\n", cmd, untrusted.Escape(db), untrusted.Escape(err.Error()))
		return nil, 2
	}
	store, err := witness.OpenStore(db)
	if err != nil {
		fmt.Fprintf(stderr, "witness %s: %s\n", cmd, untrusted.Escape(err.Error()))
		return nil, 3
	}
	return store, 0
}

func evidence(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("evidence", "[ORIGIN]", `Prints the signed checkpoints that conflicted with the cosigned ones: for
each, the one the witness had cosigned and the one it refused. Both carry
the log's signature, which makes them proof of a split view.`, stdout, stderr)
	db := fs.String("db", "witness.db", "SQLite database file holding the witness's state")
	if rc := parse(fs, args, stderr); rc >= 0 {
		return rc
	}
	store, code := openExisting(*db, "evidence", stderr)
	if store == nil {
		return code
	}
	defer store.Close()
	ev, err := store.Evidence(strings.Join(fs.Args(), ""))
	if err != nil {
		fmt.Fprintf(stderr, "witness evidence: %v\n", err)
		return 1
	}
	for _, e := range ev {
		// The refused checkpoint is what a log sent: escaped, as all of it.
		fmt.Fprintf(stdout, "# %d %s %s %s\n## cosigned:\n%s## refused:\n%s\n", e.ID, e.Received.UTC().Format(time.RFC3339), untrusted.Escape(e.Origin), untrusted.Escape(e.Kind),
			untrusted.Escape(string(e.Stored)), untrusted.Escape(string(e.Submitted)))
	}
	if len(ev) == 0 {
		fmt.Fprintln(stdout, "no evidence kept")
	}
	return 0
}
