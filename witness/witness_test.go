package witness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/internal/testkit/testlog"
	"treelog/note"
	"treelog/policy"
)

func newTestLog(t testing.TB, origin string) *testlog.Log {
	t.Helper()
	l, err := testlog.New(origin)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type fixture struct {
	w      *Witness
	store  *Store
	log    *testlog.Log
	vkey   string
	server *httptest.Server
	now    time.Time
}

func newFixture(t testing.TB, opts ...Option) *fixture {
	t.Helper()
	store, err := OpenStore(filepath.Join(t.TempDir(), "witness.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	lg := newTestLog(t, "example.org/log")
	keys, err := policy.ParseLogList([]byte("log " + lg.VKey + " https://example.org/log/\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, conflicts, err := store.AddLogs(keys); err != nil || len(conflicts) > 0 {
		t.Fatal(err, conflicts)
	}
	sk, vk, _ := note.GenerateKey(nil, "witness.example/w1", note.TypeCosignatureV1)
	s, _ := note.NewSigner(sk)
	f := &fixture{store: store, log: lg, vkey: vk, now: time.Unix(1_800_000_000, 0)}
	opts = append([]Option{WithClock(func() time.Time { return f.now }), WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	w, err := New(s, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.w = w
	f.server = httptest.NewServer(w.Handler())
	t.Cleanup(f.server.Close)
	return f
}

// post sends a body to add-checkpoint over HTTP and returns code and body.
func (f *fixture) post(t testing.TB, body []byte) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Post(f.server.URL+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestStatusCodes(t *testing.T) {
	other := newTestLog(t, "example.org/log") // same origin, another key
	unknown := newTestLog(t, "unknown.org/log")
	for _, tc := range []struct {
		name  string
		setup func(f *fixture) // state before the request (sizes cosigned)
		body  func(t *testing.T, f *fixture) []byte
		code  int
		want  string
	}{
		{"first checkpoint", nil, func(t *testing.T, f *fixture) []byte { return f.log.WitnessRequest(0, 5) }, 200, "— witness.example/w1 "},
		{"grows with a proof", func(f *fixture) { f.add(t, 0, 5) }, func(t *testing.T, f *fixture) []byte { return f.log.WitnessRequest(5, 9) }, 200, "— witness.example/w1 "},
		{"same size same root re-cosigns", func(f *fixture) { f.add(t, 0, 5) }, func(t *testing.T, f *fixture) []byte { return f.log.WitnessRequest(5, 5) }, 200, "— witness.example/w1 "},
		{"empty tree", nil, func(t *testing.T, f *fixture) []byte { return f.log.WitnessRequest(0, 0) }, 200, "— witness.example/w1 "},
		{"malformed: no old line", nil, func(t *testing.T, f *fixture) []byte { return []byte("new 5\n\n") }, 400, "want \"old <size>\""},
		{"malformed: leading zero", nil, func(t *testing.T, f *fixture) []byte {
			return bytes.Replace(f.log.WitnessRequest(0, 5), []byte("old 0"), []byte("old 00"), 1)
		}, 400, "leading zero"},
		{"malformed: bad proof line", nil, func(t *testing.T, f *fixture) []byte {
			return append([]byte("old 0\nnot-base64\n\n"), f.log.Checkpoint(5)...)
		}, 400, "line 2: consistency proof hash"},
		{"malformed: 64 proof lines", nil, func(t *testing.T, f *fixture) []byte {
			return append([]byte("old 0\n"+strings.Repeat("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", 64)+"\n"), f.log.Checkpoint(5)...)
		}, 400, "more than 63"},
		{"malformed: checkpoint", nil, func(t *testing.T, f *fixture) []byte { return []byte("old 0\n\nexample.org/log\n5\n") }, 400, "checkpoint"},
		{"malformed: extension line", nil, func(t *testing.T, f *fixture) []byte {
			text := checkpoint.Checkpoint{Origin: "example.org/log", Size: 5, Hash: f.log.Root(5), Extensions: []string{"ext"}}.Text()
			cp, _ := note.Sign(text, f.log.Signer)
			return append([]byte("old 0\n\n"), cp...)
		}, 400, "extension lines"},
		{"old above size", func(f *fixture) { f.add(t, 0, 5) }, func(t *testing.T, f *fixture) []byte {
			return bytes.Replace(f.log.WitnessRequest(5, 5), []byte("old 5"), []byte("old 6"), 1)
		}, 400, "old size 6 is above"},
		{"unknown origin", nil, func(t *testing.T, f *fixture) []byte { unknown.Grow(5); return unknown.WitnessRequest(0, 5) }, 404, "unknown log origin"},
		{"signed by another key", nil, func(t *testing.T, f *fixture) []byte { other.Grow(5); return other.WitnessRequest(0, 5) }, 403, "no signature by a known key"},
		{"bad log signature", nil, func(t *testing.T, f *fixture) []byte {
			b := f.log.WitnessRequest(0, 5)
			i := bytes.LastIndex(b, []byte(" ")) + 10
			// Swap in another base64 letter so the line still decodes
			// and only the signature check can reject it.
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return b
		}, 403, "does not verify"},
		{"first submission with old != 0", nil, func(t *testing.T, f *fixture) []byte { return f.log.WitnessRequest(3, 5) }, 409, "0\n"},
		{"old is not the cosigned size", func(f *fixture) { f.add(t, 0, 5) }, func(t *testing.T, f *fixture) []byte { return f.log.WitnessRequest(4, 9) }, 409, "5\n"},
		{"422: size 0, non-empty root", nil, func(t *testing.T, f *fixture) []byte {
			text := "example.org/log\n0\n" + checkpoint.Checkpoint{Hash: f.log.Root(5)}.HashString() + "\n"
			cp, _ := note.Sign(text, f.log.Signer)
			return append([]byte("old 0\n\n"), cp...)
		}, 422, "tree size is 0"},
		{"422: proof with old 0", nil, func(t *testing.T, f *fixture) []byte {
			b := f.log.WitnessRequest(2, 5)
			return bytes.Replace(b, []byte("old 2"), []byte("old 0"), 1)
		}, 422, "old size is 0 but the consistency proof is not empty"},
		{"422: same size, other root", func(f *fixture) { f.add(t, 0, 5) }, func(t *testing.T, f *fixture) []byte {
			cp, _ := checkpoint.Sign(checkpoint.Checkpoint{Origin: "example.org/log", Size: 5, Hash: f.log.Root(4)}, f.log.Signer)
			return append([]byte("old 5\n\n"), cp...)
		}, 422, "checkpoint of size 5 has root"},
		{"422: same size, non-empty proof", func(f *fixture) { f.add(t, 0, 5) }, func(t *testing.T, f *fixture) []byte {
			return append([]byte("old 5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"), f.log.Checkpoint(5)...)
		}, 422, "proof is not empty"},
		{"422: bad consistency proof", func(f *fixture) { f.add(t, 0, 5) }, func(t *testing.T, f *fixture) []byte {
			return bytes.Replace(f.log.WitnessRequest(5, 9), []byte("old 5\n"), []byte("old 5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"), 1)
		}, 422, "consistency proof from size 5 to 9 does not verify"},
		{"422: fork (consistent proof of another tree)", func(f *fixture) { f.add(t, 0, 5) }, func(t *testing.T, f *fixture) []byte {
			fork := f.log.Fork()
			fork.Grow(9)
			return fork.WitnessRequest(5, 9)
		}, 422, "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.log.Grow(9)
			if tc.setup != nil {
				tc.setup(f)
			}
			before, _ := f.store.Log("example.org/log")
			code, body, hdr := f.post(t, tc.body(t, f))
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %q, want %d containing %q", code, body, tc.code, tc.want)
			}
			after, _ := f.store.Log("example.org/log")
			if code == 409 && hdr.Get("Content-Type") != "text/x.tlog.size" {
				t.Errorf("409 Content-Type %q", hdr.Get("Content-Type"))
			}
			if code != 200 && (after.Size != before.Size || !bytes.Equal(after.Checkpoint, before.Checkpoint)) {
				t.Errorf("a refused request changed the state: %d -> %d", before.Size, after.Size)
			}
			if code == 200 {
				// The reply is only cosignature lines, and they verify.
				v, _ := note.NewCosignatureVerifier(f.vkey)
				n, _ := note.Parse(f.log.Checkpoint(after.Size))
				for _, line := range strings.SplitAfter(strings.TrimSuffix(body, "\n"), "\n") {
					_, err := note.Open([]byte(n.Text+"\n"+line+"\n"), v)
					if err != nil {
						t.Errorf("reply line %q is not a valid cosignature: %v", line, err)
					}
				}
			}
		})
	}
}

// add has the witness cosign size (from old) directly, failing the test on error.
func (f *fixture) add(t testing.TB, old, size uint64) []byte {
	t.Helper()
	sig, err := f.w.AddCheckpoint(f.log.WitnessRequest(old, size))
	if err != nil {
		t.Fatalf("cosigning %d -> %d: %v", old, size, err)
	}
	return sig
}

func TestRecosignFreshTimestamp(t *testing.T) {
	f := newFixture(t)
	f.log.Grow(5)
	s1 := f.add(t, 0, 5)
	f.now = f.now.Add(time.Hour)
	s2 := f.add(t, 5, 5)
	ts := func(line []byte) time.Time {
		n, _ := note.Parse(append([]byte("x\n\n"), line...))
		raw, _ := note.SignatureBytes(n.UnverifiedSigs[0])
		tm, _ := note.CosignatureTime(raw)
		return tm
	}
	if d := ts(s2).Sub(ts(s1)); d != time.Hour {
		t.Errorf("re-cosignature is %v newer, want 1h", d)
	}
	// A clock that goes back does not produce an older cosignature.
	f.now = f.now.Add(-2 * time.Hour)
	s3 := f.add(t, 5, 5)
	if ts(s3).Before(ts(s2)) {
		t.Error("cosignature timestamp went back with the clock")
	}
}

// Two submissions from the same old size at once: exactly one is cosigned,
// the other gets 409 (or 422 if it is not consistent with the winner).
func TestRace(t *testing.T) {
	for i := range 20 {
		f := newFixture(t)
		f.log.Grow(20)
		f.add(t, 0, 5)
		reqA, reqB := f.log.WitnessRequest(5, 10+uint64(i%5)), f.log.WitnessRequest(5, 15)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for j, body := range [][]byte{reqA, reqB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[j], _, _ = f.post(t, body)
			}()
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			if c == 200 {
				ok++
			} else if c != 409 {
				t.Errorf("loser got %d, want 409", c)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d cosigned, want exactly 1 (codes %v)", i, ok, codes)
		}
	}
}

func TestOnlyVerifiedSignaturesStored(t *testing.T) {
	f := newFixture(t)
	f.log.Grow(5)
	body := f.log.WitnessRequest(0, 5)
	// A forged cosignature by a "witness" and a junk signature ride along.
	forged := note.NewSignature("witness.example/w1", 0x01020304, make([]byte, 72))
	junk := note.NewSignature("someone.else", 7, []byte("junk signature bytes"))
	body = append(body, []byte(note.SignatureLine(forged)+note.SignatureLine(junk))...)
	if code, msg, _ := f.post(t, body); code != 200 {
		t.Fatalf("%d %s", code, msg)
	}
	resp, err := http.Get(f.server.URL + "/" + fmt.Sprintf("%x", checkpoint.OriginHash("example.org/log")) + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(stored, []byte("someone.else")) || strings.Count(string(stored), "— ") != 2 {
		t.Fatalf("stored checkpoint keeps unverified signatures:\n%s", stored)
	}
	lv, _ := note.NewVerifier(f.log.VKey)
	wv, _ := note.NewCosignatureVerifier(f.vkey)
	if n, err := note.Open(stored, lv, wv); err != nil || len(n.Sigs) != 2 {
		t.Errorf("monitoring checkpoint does not carry log and witness signatures: %v", err)
	}
	// Unknown origin hash and a malformed one are 404.
	for _, p := range []string{"/" + strings.Repeat("ab", 32) + "/checkpoint", "/XYZ/checkpoint"} {
		resp, _ := http.Get(f.server.URL + p)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}

func TestEvidenceKept(t *testing.T) {
	f := newFixture(t)
	f.log.Grow(9)
	f.add(t, 0, 5)
	cp, _ := checkpoint.Sign(checkpoint.Checkpoint{Origin: "example.org/log", Size: 5, Hash: f.log.Root(4)}, f.log.Signer)
	if code, _, _ := f.post(t, append([]byte("old 5\n\n"), cp...)); code != 422 {
		t.Fatalf("code %d", code)
	}
	ev, err := f.store.Evidence("")
	if err != nil || len(ev) != 1 {
		t.Fatalf("evidence: %v %v", ev, err)
	}
	e := ev[0]
	if e.Kind != "same-size-different-root" || !bytes.Equal(e.Submitted, cp) || !bytes.Contains(e.Stored, []byte("\n5\n")) {
		t.Errorf("evidence %+v", e)
	}
	// Both signed objects verify with the log's key: that is the proof.
	lv, _ := note.NewVerifier(f.log.VKey)
	if _, err := note.Open(e.Stored, lv); err != nil {
		t.Error(err)
	}
	if _, err := note.Open(e.Submitted, lv); err != nil {
		t.Error(err)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, WithRateLimit(1, 2))
	f.log.Grow(5)
	f.add(t, 0, 5)
	f.add(t, 5, 5)
	code, _, hdr := f.post(t, f.log.WitnessRequest(5, 5))
	if code != 429 || hdr.Get("Retry-After") == "" {
		t.Errorf("third request in a burst of 2: %d", code)
	}
}

func TestPinnedKeys(t *testing.T) {
	f := newFixture(t)
	f.log.Grow(5)
	f.add(t, 0, 5)
	// A configuration edit that changes the key is not applied.
	newKey := newTestLog(t, "example.org/log")
	keys, _ := policy.ParseLogList([]byte("log " + newKey.VKey + "\n"))
	_, conflicts, err := f.store.AddLogs(keys)
	if err != nil || len(conflicts) != 1 || !errors.Is(conflicts[0], ErrKeyChanged) {
		t.Fatalf("AddLogs with a new key: %v %v", conflicts, err)
	}
	newKey.Grow(5)
	if _, err := f.w.AddCheckpoint(newKey.WitnessRequest(5, 5)); err == nil || err.(*Error).Code != 403 {
		t.Errorf("checkpoint by the unpinned key: %v", err)
	}
	// An explicit rekey applies it and keeps the state.
	if err := f.store.Rekey("example.org/log", newKey.VKey); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.AddCheckpoint(newKey.WitnessRequest(5, 5)); err == nil || err.(*Error).Code != 422 {
		t.Errorf("new key, other tree at the same size: %v (want 422: state kept)", err)
	}
	// Disabling keeps the state; requests get 404.
	if err := f.store.SetDisabled("example.org/log", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.AddCheckpoint(f.log.WitnessRequest(5, 5)); err == nil || err.(*Error).Code != 404 {
		t.Errorf("disabled log: %v", err)
	}
	f.store.SetDisabled("example.org/log", false)
	if l, _ := f.store.Log("example.org/log"); l.Size != 5 {
		t.Errorf("state after disable/enable: size %d", l.Size)
	}
	// Removing a log that is not known fails clearly.
	if err := f.store.Remove("nope.org/log"); err == nil {
		t.Error("removing an unknown log succeeded")
	}
}

func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.db")
	store, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	lg := newTestLog(t, "example.org/log")
	lg.Grow(10)
	keys, _ := policy.ParseLogList([]byte("log " + lg.VKey + "\n"))
	store.AddLogs(keys)
	sk, _, _ := note.GenerateKey(nil, "w", note.TypeCosignatureV1)
	s, _ := note.NewSigner(sk)
	w, _ := New(s, store)
	if _, err := w.AddCheckpoint(lg.WitnessRequest(0, 7)); err != nil {
		t.Fatal(err)
	}
	store.Close()
	store, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w, _ = New(s, store)
	if _, err := w.AddCheckpoint(lg.WitnessRequest(0, 10)); err == nil || err.(*Error).Code != 409 || err.(*Error).Size != 7 {
		t.Errorf("after reopen: %v", err)
	}
	if _, err := w.AddCheckpoint(lg.WitnessRequest(7, 10)); err != nil {
		t.Errorf("after reopen: %v", err)
	}
}

func TestRequestBodyLimit(t *testing.T) {
	f := newFixture(t)
	code, _, _ := f.post(t, bytes.Repeat([]byte("x"), MaxRequestSize+1))
	if code != 413 {
		t.Errorf("oversized body: %d", code)
	}
	resp, _ := http.Get(f.server.URL + "/add-checkpoint")
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET add-checkpoint: %d", resp.StatusCode)
	}
}
