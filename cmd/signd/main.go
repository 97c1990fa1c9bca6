// Command signd is the publisher's signing daemon: it holds publisher keys
// encrypted at rest, signs only while a person has unlocked it, and signs
// a tree's MetaManifest only after reading and checking the tree itself.
// 'treelog publish --signer unix:SOCKET' asks it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"treelog/internal/cli"
	"treelog/internal/daemon"
	"treelog/internal/passphrase"
	"treelog/policy"
	"treelog/signd"
	"treelog/signer"
	"treelog/tiles"
)

const usage = `Usage: signd <command> [flags]

Commands:
  serve      run the daemon (signing socket, admin socket, HTTP /metrics)
  unlock     unlock the daemon's keys: asks for the passphrase on this terminal
  lock       lock the keys at once
  status     show whether the daemon is locked, its keys and origins
  journal    list the journal of signatures, or compare it with the log: list | compare

Run 'signd <command> --help' for its flags.
`

// Exit codes of the client commands.
const (
	exitOK          = 0
	exitRefused     = 1 // the daemon refused, or the journal and the log disagree
	exitUsage       = 2
	exitUnavailable = 3 // the daemon, the journal or the log could not be read
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "unlock":
		return unlock(args[1:], stdout, stderr)
	case "lock", "status":
		return admin(args[0], args[1:], stdout, stderr)
	case "journal":
		return journal(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "signd: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func usageErr(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, format+"\n", args...)
	return exitUsage
}

func flagSet(name, args, about string, stdout, stderr io.Writer) *pflag.FlagSet {
	return cli.Flags("signd "+name, args, about, stdout, stderr)
}

func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) int {
	return cli.Status(fs, daemon.ParseFlags(fs, args), stderr)
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("serve", "", `Runs the signing daemon. It starts LOCKED: every request is refused with
"locked since <time>" until a person runs 'signd unlock' on the admin socket,
and it locks itself again after --unlock-for.

--origins names the keys and the trees, in lines ('#' comments):
  key <vkey> <encrypted key file>             (from 'treelog keygen --encrypt')
  origin <origin> <tree directory> <key name>...
  skip-tree-verify <origin>                   (check only the top-level Manifest)
A request "sign origin O, Manifest hash H, TIMESTAMP T" on --socket is signed
only if O is configured, T is newer than the last TIMESTAMP signed for O (the
journal keeps it across restarts) and not ahead of the clock by more than
--max-future-skew, the top-level Manifest in O's directory hashes to H and
carries T, the whole tree verifies against its Manifests (unless skipped),
and the Manifest did not change meanwhile. The daemon builds the MetaManifest
itself from what it read, records the signature in --journal (fsync'd)
before it answers, and never writes in the trees.

Who may ask: the socket file's mode and group, and the caller's kernel
credentials (SO_PEERCRED) against --allow-user/--allow-group (default: only
the daemon's own user). Who may unlock: --admin-user on --admin-socket.
SIGTERM stops gracefully after the requests in flight.`, stdout, stderr)
	var c daemon.Common
	c.AddFlags(fs, "127.0.0.1:7395")
	originsFile := fs.String("origins", "", "file of key and origin lines (required)")
	journalFile := fs.String("journal", "signd.journal", "append-only journal of every signature made; also the last TIMESTAMP per origin")
	sock := fs.String("socket", "", "Unix socket for signing requests (required)")
	sockMode := fs.String("socket-mode", "0660", "file mode of --socket (octal)")
	sockGroup := fs.String("socket-group", "", "group of --socket (name or number; default: the daemon's)")
	adminSock := fs.String("admin-socket", "", "Unix socket for unlock, lock and status, mode 0600 (required)")
	allowUsers := fs.StringSlice("allow-user", nil, "user (name or uid) allowed to ask for signatures (repeatable)")
	allowGroups := fs.StringSlice("allow-group", nil, "group (name or gid) whose members may ask for signatures (repeatable)")
	adminUsers := fs.StringSlice("admin-user", nil, "user (name or uid) allowed on --admin-socket (repeatable; default: the daemon's own user)")
	unlockFor := fs.Duration("unlock-for", signd.DefaultUnlockFor, "how long an unlock lasts; then the keys are locked again")
	skew := fs.Duration("max-future-skew", 10*time.Minute, "how far a TIMESTAMP may be ahead of this daemon's clock")
	if rc := parse(fs, args, stderr); rc >= 0 {
		return rc
	}
	if *originsFile == "" || *sock == "" || *adminSock == "" {
		return usageErr(stderr, "signd serve: --origins, --socket and --admin-socket are required")
	}
	mode, err := strconv.ParseUint(*sockMode, 8, 32)
	if err != nil || mode > 0o777 {
		return usageErr(stderr, "signd serve: --socket-mode %q: want an octal file mode such as 0660", *sockMode)
	}
	gid := -1
	if *sockGroup != "" {
		a, err := signd.NewAccess(nil, []string{*sockGroup})
		if err != nil {
			return usageErr(stderr, "signd serve: --socket-group: %v", err)
		}
		for g := range a.GIDs {
			gid = int(g)
		}
	}
	self := strconv.Itoa(os.Getuid())
	if len(*allowUsers) == 0 && len(*allowGroups) == 0 {
		*allowUsers = []string{self}
	}
	access, err := signd.NewAccess(*allowUsers, *allowGroups)
	if err != nil {
		return usageErr(stderr, "signd serve: --allow-user/--allow-group: %v", err)
	}
	if len(*adminUsers) == 0 {
		*adminUsers = []string{self}
	}
	adminAccess, err := signd.NewAccess(*adminUsers, nil)
	if err != nil {
		return usageErr(stderr, "signd serve: --admin-user: %v", err)
	}
	log, err := c.Logger(stderr)
	if err != nil {
		return usageErr(stderr, "signd serve: %v", err)
	}
	data, err := os.ReadFile(*originsFile)
	if err != nil {
		log.Error("reading --origins", "err", err)
		return 1
	}
	cfg, err := signd.ParseConfig(data, filepath.Dir(*originsFile), *originsFile)
	if err != nil {
		log.Error("reading --origins", "err", err)
		return 1
	}
	j, dropped, err := signd.OpenJournal(*journalFile)
	if err != nil {
		log.Error("opening the journal", "err", err)
		return 1
	}
	if dropped > 0 {
		log.Warn("cut off an incomplete last journal record, left by a crash before it was answered", "bytes", dropped)
	}
	reg := daemon.NewRegistry()
	d, err := signd.New(cfg, j, signd.WithLogger(log), signd.WithRegistry(reg), signd.WithUnlockFor(*unlockFor), signd.WithMaxFutureSkew(*skew))
	if err != nil {
		log.Error("starting", "err", err)
		j.Close()
		return 1
	}
	srv := &signd.Server{Daemon: d, Access: access, AdminAccess: adminAccess, Log: log}
	signLn, err := signd.Listen(*sock, os.FileMode(mode), gid)
	if err != nil {
		log.Error("listening on --socket", "err", err)
		j.Close()
		return 1
	}
	adminLn, err := signd.Listen(*adminSock, 0o600, -1)
	if err != nil {
		log.Error("listening on --admin-socket", "err", err)
		signLn.Close()
		j.Close()
		return 1
	}
	go srv.ServeSign(signLn)
	go srv.ServeAdmin(adminLn)
	log.Info("signd", "socket", *sock, "admin_socket", *adminSock, "origins", strings.Join(cfg.OriginNames(), ","), "keys", len(cfg.Keys), "journal", *journalFile, "signatures", j.Len(), "unlock_for", unlockFor.String())
	hs := &daemon.Server{
		Log: log, Registry: reg,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, d.Status().Text())
		}),
		Stop: func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			os.Remove(*sock)
			os.Remove(*adminSock)
			return errors.Join(err, j.Close())
		},
	}
	if err := hs.Run(context.Background(), c.Listen); err != nil {
		log.Error("signd stopped", "err", err)
		return 1
	}
	return exitOK
}

// call sends one admin request and prints the answer's body.
func call(socket string, req []byte, stdout, stderr io.Writer, name string) int {
	body, err := signer.Call(context.Background(), socket, req)
	var re *signer.RefusedError
	switch {
	case errors.As(err, &re):
		fmt.Fprintf(stderr, "signd %s: %s: %s\n", name, re.Code, re.Message)
		return exitRefused
	case err != nil:
		fmt.Fprintf(stderr, "signd %s: %v\n", name, err)
		return exitUnavailable
	}
	stdout.Write(body)
	return exitOK
}

func admin(name string, args []string, stdout, stderr io.Writer) int {
	about := map[string]string{
		"lock":   "Locks the daemon's keys at once: every request is refused until the next unlock.",
		"status": "Shows whether the daemon is locked (since when) or until when it is unlocked, its keys and its origins with the last TIMESTAMP signed.",
	}[name]
	fs := flagSet(name, "", about, stdout, stderr)
	sock := fs.String("admin-socket", "", "the daemon's admin socket (required)")
	if rc := parse(fs, args, stderr); rc >= 0 {
		return rc
	}
	if *sock == "" || fs.NArg() != 0 {
		return usageErr(stderr, "signd %s: want --admin-socket and no arguments", name)
	}
	return call(*sock, signd.MarshalAdminRequest(name, nil), stdout, stderr, name)
}

func unlock(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("unlock", "", `Unlocks the daemon's keys for its --unlock-for. Run it on the daemon's host
(over SSH if need be), as a user the daemon's --admin-user allows: it asks
for the passphrase on this terminal, without echo (for several keys with
different passphrases, once per key; an empty answer reuses the previous
one), and sends it on the admin socket, which only the daemon's user can
open. Either every key opens, or the daemon stays locked.`, stdout, stderr)
	sock := fs.String("admin-socket", "", "the daemon's admin socket (required)")
	passFile := fs.String("passphrase-file", "", "read the passphrases from this file, one a line (/dev/fd/N for a descriptor), not the terminal")
	if rc := parse(fs, args, stderr); rc >= 0 {
		return rc
	}
	if *sock == "" || fs.NArg() != 0 {
		return usageErr(stderr, "signd unlock: want --admin-socket and no arguments")
	}
	var passes []string
	var err error
	if *passFile != "" {
		passes, err = passphrase.FromFile(*passFile)
	} else {
		passes, err = promptPassphrases(*sock)
	}
	if err != nil {
		return usageErr(stderr, "signd unlock: %v", err)
	}
	return call(*sock, signd.MarshalAdminRequest(signd.CmdUnlock, passes), stdout, stderr, "unlock")
}

// promptPassphrases asks the daemon which keys it holds, then the person,
// once per key.
func promptPassphrases(sock string) ([]string, error) {
	body, err := signer.Call(context.Background(), sock, signd.MarshalAdminRequest(signd.CmdStatus, nil))
	if err != nil {
		return nil, err
	}
	var keys []string
	for line := range strings.SplitSeq(string(body), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "key" {
			keys = append(keys, f[1])
		}
	}
	var out []string
	prev := ""
	for _, k := range keys {
		p, err := passphrase.Prompt("Passphrase for key " + k + ": ")
		if err != nil {
			return nil, err
		}
		if p == "" {
			p = prev
		}
		if p == "" {
			return nil, errors.New("no passphrase given")
		}
		prev = p
		if len(out) == 0 || out[len(out)-1] != p {
			out = append(out, p)
		}
	}
	if len(out) > signd.MaxPassphrases {
		return nil, fmt.Errorf("more than %d different passphrases", signd.MaxPassphrases)
	}
	return out, nil
}

func journal(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("journal", "list | compare", `Reads the daemon's journal of signatures (it may run while the daemon does).
  list      one line per signature: when, who asked (uid, pid), origin, TIMESTAMP;
            -v prints each signed MetaManifest too
  compare   reads the whole log named by --policy (or --log), verified against
            its witnessed checkpoint, and compares it with the journal:
            "logged" signatures, "not logged" ones (a publish that failed after
            signing, or one still to come: harmless, the log refuses an old
            TIMESTAMP once a newer one is in), and UNRECORDED log entries for
            the journal's origins (and --origin): snapshots this daemon never
            signed. If every signature goes through the daemon, that means
            the key was stolen, or another key signs these origins.
Exit status: 0 nothing unrecorded; 1 unrecorded entries found; 2 usage;
3 the journal or the log could not be read.`, stdout, stderr)
	file := fs.String("journal", "signd.journal", "the journal file")
	verbose := fs.BoolP("verbose", "v", false, "list: print each signed MetaManifest")
	polFile := fs.String("policy", "", "compare: tlog-policy file naming the log and its witnesses (required)")
	logURLs := fs.StringSlice("log", nil, "compare: log or log mirror URL (repeatable; default: the policy's log URL)")
	origins := fs.StringSlice("origin", nil, "compare: also check this origin (repeatable; default: the journal's origins)")
	if rc := parse(fs, args, stderr); rc >= 0 {
		return rc
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "list" && fs.Arg(0) != "compare") {
		return usageErr(stderr, "signd journal: want list or compare")
	}
	recs, cut, err := signd.ReadJournal(*file)
	if err != nil {
		fmt.Fprintf(stderr, "signd journal: %v\n", err)
		return exitUnavailable
	}
	if cut > 0 {
		fmt.Fprintf(stderr, "signd journal: the last %d bytes are an incomplete record (a crash before it was answered); the daemon cuts them off when it starts\n", cut)
	}
	if fs.Arg(0) == "list" {
		for i, r := range recs {
			fmt.Fprintf(stdout, "%d signed %s uid %d pid %d origin %s timestamp %s\n", i+1, r.Time.Format(time.RFC3339), r.UID, r.PID, r.Origin, r.Timestamp.Format(time.RFC3339))
			if *verbose {
				fmt.Fprintf(stdout, "%s\n", r.MetaManifest)
			}
		}
		fmt.Fprintf(stdout, "%d signatures\n", len(recs))
		return exitOK
	}
	if *polFile == "" {
		return usageErr(stderr, "signd journal compare: --policy is required")
	}
	pb, err := os.ReadFile(*polFile)
	if err != nil {
		return usageErr(stderr, "signd journal compare: --policy: %v", err)
	}
	pol, err := policy.Parse(pb)
	if err != nil {
		return usageErr(stderr, "signd journal compare: --policy: %v", err)
	}
	urls := *logURLs
	if len(urls) == 0 {
		for _, l := range pol.Logs {
			if l.URL != "" {
				urls = append(urls, l.URL)
			}
		}
		if len(urls) != 1 {
			return usageErr(stderr, "signd journal compare: give --log: the policy names no log URL, or several")
		}
	}
	r, err := tiles.NewHTTPReader(urls, tiles.WithMaxEntrySize(signer.MaxResponseSize))
	if err != nil {
		return usageErr(stderr, "signd journal compare: %v", err)
	}
	c, err := signd.CompareLog(context.Background(), recs, *origins, r, pol)
	if err != nil {
		fmt.Fprintf(stderr, "signd journal compare: could not check: %v\n", err)
		return exitUnavailable
	}
	for _, l := range c.Logged {
		fmt.Fprintf(stdout, "logged      index %d  origin %s timestamp %s (signed %s)\n", l.Index, l.Origin, l.Timestamp.Format(time.RFC3339), l.Time.Format(time.RFC3339))
	}
	for _, n := range c.NotLogged {
		fmt.Fprintf(stdout, "not logged  origin %s timestamp %s (signed %s for uid %d)\n", n.Origin, n.Timestamp.Format(time.RFC3339), n.Time.Format(time.RFC3339), n.UID)
	}
	for _, u := range c.Unrecorded {
		fmt.Fprintf(stdout, "UNRECORDED  index %d  origin %s timestamp %s: this daemon never signed it\n%s\n", u.Index, u.Origin, u.Timestamp.Format(time.RFC3339), u.Raw)
	}
	fmt.Fprintf(stdout, "log size %d: %d logged, %d not logged, %d unrecorded\n", c.Size, len(c.Logged), len(c.NotLogged), len(c.Unrecorded))
	if len(c.Unrecorded) > 0 {
		return exitRefused
	}
	return exitOK
}
