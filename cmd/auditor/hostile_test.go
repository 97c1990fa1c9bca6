package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"treelog/audit"
	"treelog/internal/testkit/hostile"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/trust"
)

// TestHostileBytes: attacker bytes in what mirrors, log mirrors, witnesses
// and peers serve reach no output of the auditor raw: not --once, not its
// logs (text or JSON), not `auditor alerts`, not alerts.json, not the
// status page or /status.json.
func TestHostileBytes(t *testing.T) {
	w := newForkWorld(t)
	const H = hostile.Bytes
	mmb, err := os.ReadFile(filepath.Join(w.snaps[2].Dir, metamanifest.Dir, metamanifest.File))
	if err != nil {
		t.Fatal(err)
	}
	proof, _ := os.ReadFile(filepath.Join(w.snaps[2].Dir, metamanifest.Dir, metamanifest.ProofFile))
	treeMirror := func(mm, pf []byte) string {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/" + metamanifest.Dir + "/" + metamanifest.File:
				rw.Write(mm)
			case "/" + metamanifest.Dir + "/" + metamanifest.ProofFile:
				rw.Write(pf)
			default:
				http.Error(rw, H, http.StatusNotFound)
			}
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	badOrigin := bytes.Replace(mmb, []byte("origin "+w.n.Opts.TreeOrigin), []byte("origin "+w.n.Opts.TreeOrigin+H), 1)
	badProof := bytes.Replace(proof, []byte("index "), []byte("index "+H), 1)
	raw := hostile.RawHTTP(t, "HTTP/1.1 503 "+H+"\r\nContent-Length: 2\r\n\r\nxx")
	peer := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		json.NewEncoder(rw).Encode([]audit.SeenCheckpoint{{Source: "witness " + H, Checkpoint: H}})
	}))
	defer peer.Close()
	// A witness of the policy whose monitoring endpoint is hostile.
	_, wvk, _ := note.GenerateKey(nil, "witness.example/w9", note.TypeCosignatureV1)
	pol, _ := os.ReadFile(w.n.PolicyFile)
	polFile := filepath.Join(t.TempDir(), "policy")
	os.WriteFile(polFile, bytes.Replace(pol, []byte("group q"), []byte("witness w9 "+wvk+" "+raw+"\ngroup q"), 1), 0o644)

	args := []string{"--policy", polFile, "--publishers", w.n.PublishersFile,
		"--mirror", "origin=" + treeMirror(badOrigin, proof), "--mirror", "proof=" + treeMirror(mmb, badProof),
		"--mirror", "files=" + treeMirror(mmb, proof), "--mirror-files", "4",
		"--log-url", w.n.LogURL, "--log-url", raw, "--peer", peer.URL}
	check := func(what, out string) {
		t.Helper()
		if bad := hostile.Find(out); bad != "" {
			t.Errorf("%s holds %s:\n%s", what, bad, out)
		}
	}
	for _, format := range []string{"text", "json"} {
		state := w.state()
		cmd := exec.Command(w.bin, append([]string{"--once", "--state", state, "--log-format", format}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err == nil {
			t.Fatalf("hostile mirrors passed:\n%s", out.String())
		}
		check("--once output ("+format+" logs)", out.String())
		for _, want := range []string{"ALERT mirror-bad: mirror origin serves a MetaManifest that does not verify", "ALERT mirror-bad: mirror proof serves a proof that does not verify", "ALERT unreachable: cannot read the checkpoint at " + raw} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("--once output lacks %q:\n%s", want, out.String())
			}
		}
		if !strings.Contains(strings.ToLower(out.String()), `\x1b[2j`) {
			t.Errorf("the hostile bytes are not shown escaped:\n%s", out.String())
		}
		b, _ := os.ReadFile(filepath.Join(state, "alerts.json"))
		check("alerts.json", string(b))
		list, err := exec.Command(w.bin, "alerts", "--state", state).CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		check("auditor alerts", string(list))
	}

	// The same pass in a daemon's handler: the status page and its JSON.
	p, _ := policy.Parse(bytes.Replace(pol, []byte("group q"), []byte("witness w9 "+wvk+" "+raw+"\ngroup q"), 1))
	pubs, _ := trust.ReadPublishersFile(w.n.PublishersFile, false)
	a, err := audit.New(audit.Config{Policy: p, Publishers: pubs, StateDir: w.state(), Log: slog.New(slog.DiscardHandler),
		Mirrors: []audit.Mirror{{Name: "origin", URL: treeMirror(badOrigin, proof)}, {Name: "proof", URL: treeMirror(mmb, badProof)}},
		LogURLs: []string{w.n.LogURL, raw}, Peers: []string{peer.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	for _, path := range []string{"/", "/status.json", "/alerts.json"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		check(path, string(b))
	}
}
