package demo

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"treelog/client"
)

// The demo's exit status is only as good as its judgement of each
// outcome: a refusal for another reason, an error, or a tree that
// verifies must each count as not expected.
func TestExpectRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		ok   bool
		want string
	}{
		{"the expected check", &client.Failure{Check: client.CheckReplay, Msg: "old"}, true, ""},
		{"another check", &client.Failure{Check: client.CheckTree, Msg: "modified"}, false, "refused by the tree check, expected replay"},
		{"wrapped", errors.Join(errors.New("x"), &client.Failure{Check: client.CheckReplay}), true, ""},
		{"not a refusal", errors.New("connection refused"), false, "could not run"},
		{"verified", nil, false, "VERIFIED, expected a refusal by the replay check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &demo{out: io.Discard}
			d.expectRefused("step", tc.err, client.CheckReplay)
			if len(d.steps) != 1 || d.steps[0].ok != tc.ok || !strings.Contains(d.steps[0].issue, tc.want) {
				t.Errorf("got %+v, want ok=%v issue containing %q", d.steps, tc.ok, tc.want)
			}
		})
	}
}

// A demo that cannot run its steps fails, rather than claiming success.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, Options{Dir: t.TempDir(), Out: io.Discard}); err == nil {
		t.Fatal("Run with a cancelled context returned nil")
	}
}

func TestURLKey(t *testing.T) {
	for in, want := range map[string]string{"witness w1": "witness-w1", "frozen log": "frozen-log", "auditor": "auditor", "evil mirror's log": "evil-mirror-s-log"} {
		if got := urlKey(in); got != want {
			t.Errorf("urlKey(%q) = %q, want %q", in, got, want)
		}
	}
}
