package verdict_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"treelog/audit"
	"treelog/client"
	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/policy"
	"treelog/trust"
)

// TestOneVerdictOnLag: the user's --max-lag and the auditor's --mirror-lag
// are one rule (package lag): on the same mirror, one snapshot behind,
// they agree it lags at one clock and that it is stale at another.
func TestOneVerdictOnLag(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := network.Start(ctx, filepath.Join(dir, "net"), network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	snaps, err := n.PublishHistory(ctx, filepath.Join(dir, "pub"), 5, 3, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := mirror.NewServer(snaps[1].Dir)
	srv := httptest.NewServer(m)
	defer srv.Close()
	tree := filepath.Join(dir, "synced")
	if err := mirror.Sync(ctx, srv.URL, tree); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.ReadPolicyFile(n.PolicyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := trust.ReadPublishersFile(n.PublishersFile, false)
	if err != nil {
		t.Fatal(err)
	}
	const maxLag = 2 * time.Hour
	for _, tc := range []struct {
		later time.Duration
		ok    bool
	}{{0, true}, {time.Hour, true}, {3 * time.Hour, false}, {30 * time.Hour, false}} {
		now := func() time.Time { return time.Now().Add(tc.later) }
		_, err := client.Verify(ctx, tree, client.Config{Policy: pol, Publishers: pubs, StateDir: t.TempDir(), MaxLag: maxLag, MaxAge: 48 * time.Hour, Now: now})
		var f *client.Failure
		userOK := err == nil
		if err != nil && (!errors.As(err, &f) || f.Check != client.CheckReplay) {
			t.Fatalf("%s later: the user's check failed otherwise: %v", tc.later, err)
		}
		a, err := audit.New(audit.Config{Policy: pol, Publishers: pubs, StateDir: t.TempDir(), MirrorLag: maxLag, MirrorFiles: 0,
			FreezeAfter: 48 * time.Hour, Mirrors: []audit.Mirror{{Name: "m", URL: srv.URL}}, Now: now, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		auditorOK := true
		for _, al := range a.Alerts() {
			if al.Kind != audit.AlertMirrorFreeze {
				t.Fatalf("%s later: unexpected alert %s: %s", tc.later, al.Kind, al.Message)
			}
			auditorOK = false
		}
		a.Close()
		if userOK != tc.ok || auditorOK != tc.ok {
			t.Errorf("%s later: the user says ok=%v, the auditor ok=%v; want both %v", tc.later, userOK, auditorOK, tc.ok)
		}
	}
}
