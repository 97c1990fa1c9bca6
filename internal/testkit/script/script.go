// Package script holds testscript commands that treelog's CLI scripts
// share (checking an exact exit status, a URL where nothing answers), and
// that URL for Go tests too.
package script

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Cmds returns the commands, for testscript.Params.Cmds:
//
//	status N PROG ARGS...  runs PROG like exec (stdout and stderr are kept
//	                       for the next commands) and fails unless it
//	                       exits with status N
//	deadurl VAR            sets $VAR to http://127.0.0.1:PORT, a port
//	                       that nothing listened on a moment ago
//	waitfile PATH          waits up to 30s for PATH to exist (a
//	                       daemon's socket)
func Cmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"status":   status,
		"deadurl":  deadURL,
		"waitfile": waitFile,
	}
}

func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: waitfile PATH")
	}
	for range 300 {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear in 30s", args[0])
}

func status(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N PROG ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

func deadURL(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: deadurl VAR")
	}
	u, err := deadURLs()
	ts.Check(err)
	ts.Setenv(args[0], u)
}

// DeadURL returns http://127.0.0.1:PORT, a port that nothing listened on
// a moment ago: a log that is down.
func DeadURL(t testing.TB) string {
	u, err := deadURLs()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func deadURLs() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return "http://" + ln.Addr().String(), nil
}
