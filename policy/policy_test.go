package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/note"
)

type testWitness struct {
	name string
	vkey string
	c    *note.Cosigner
}

func newWitness(t testing.TB, name string) testWitness {
	t.Helper()
	sk, vk, err := note.GenerateKey(nil, "witness.example/"+name, note.TypeCosignatureV1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(sk)
	return testWitness{name: name, vkey: vk, c: s.(*note.Cosigner)}
}

type testLog struct {
	vkey string
	s    note.Signer
}

func newLog(t testing.TB, origin string) testLog {
	t.Helper()
	sk, vk, err := note.GenerateKey(nil, origin, note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(sk)
	return testLog{vkey: vk, s: s}
}

// specPolicy is the example of c2sp.org/tlog-policy with real keys.
func specPolicy(t testing.TB) (string, testLog, map[string]testWitness) {
	lg := newLog(t, "example.com/log")
	ws := map[string]testWitness{}
	for _, n := range []string{"X1", "X2", "X3", "Y1", "Y2", "Y3"} {
		ws[n] = newWitness(t, n)
	}
	p := fmt.Sprintf(`log %s

witness X1 %s
witness X2 %s
witness X3 %s
group X-witnesses 2 X1 X2 X3

witness Y1 %s
witness Y2 %s
witness Y3 %s
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`, lg.vkey, ws["X1"].vkey, ws["X2"].vkey, ws["X3"].vkey, ws["Y1"].vkey, ws["Y2"].vkey, ws["Y3"].vkey)
	return p, lg, ws
}

func cosign(t testing.TB, lg testLog, ws map[string]testWitness, at time.Time, names ...string) []byte {
	t.Helper()
	msg, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: lg.s.Name(), Size: 10, Hash: checkpoint.Hash{1}}, lg.s)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := note.Parse(msg)
	for i, name := range names {
		w := ws[name]
		sig, err := w.c.SignAt([]byte(n.Text), at.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		msg, err = note.AppendSignatures(msg, note.NewSignature(w.c.Name(), w.c.KeyHash(), sig))
		if err != nil {
			t.Fatal(err)
		}
	}
	return msg
}

// The spec's example quorum: at least two X witnesses and one Y witness.
func TestSpecExampleQuorum(t *testing.T) {
	text, lg, ws := specPolicy(t)
	p, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Logs) != 1 || len(p.Witnesses) != 6 || len(p.Groups) != 3 || p.Quorum != "X-and-Y" {
		t.Fatalf("parsed %d logs, %d witnesses, %d groups, quorum %q", len(p.Logs), len(p.Witnesses), len(p.Groups), p.Quorum)
	}
	at := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		signers []string
		met     bool
	}{
		{[]string{"X1", "X2", "Y1"}, true},
		{[]string{"X1", "X3", "Y3"}, true},
		{[]string{"X1", "X2", "X3", "Y1", "Y2", "Y3"}, true},
		{[]string{"X1", "X2"}, false},
		{[]string{"X1", "Y1", "Y2", "Y3"}, false},
		{[]string{"Y1"}, false},
		{nil, false},
	} {
		r, err := p.Verify(cosign(t, lg, ws, at, tc.signers...))
		if r == nil {
			t.Fatalf("%v: %v", tc.signers, err)
		}
		if r.QuorumMet != tc.met || (err == nil) != tc.met {
			t.Errorf("%v: QuorumMet = %v, err = %v; want met = %v", tc.signers, r.QuorumMet, err, tc.met)
		}
		if len(r.Cosigned) != len(tc.signers) || len(r.Missing) != 6-len(tc.signers) {
			t.Errorf("%v: %s", tc.signers, r.Summary())
		}
	}
}

func TestQuorumTimeAndFailures(t *testing.T) {
	text, lg, ws := specPolicy(t)
	p, _ := Parse([]byte(text))
	at := time.Unix(1_700_000_000, 0)
	// X1 at t, X2 at t+1, X3 at t+2, Y1 at t+3: the freshest time the quorum
	// vouches for is that of X2 (X3 and X2 are the newest two X).
	r, err := p.Verify(cosign(t, lg, ws, at, "X1", "X2", "X3", "Y1"))
	if err != nil {
		t.Fatal(err)
	}
	qt, ok := r.QuorumTime()
	if !ok || !qt.Equal(at.Add(time.Second)) {
		t.Errorf("QuorumTime = %v %v, want %v", qt, ok, at.Add(time.Second))
	}
	// A forged cosignature line counts as failed, not as cosigned.
	msg := cosign(t, lg, ws, at, "X1", "Y1")
	other := cosign(t, lg, ws, at, "X2")
	on, _ := note.Parse(other)
	on2, _ := note.Parse(msg)
	raw, _ := note.SignatureBytes(on.UnverifiedSigs[1])
	raw[20] ^= 1
	forged := note.NewSignature(on.UnverifiedSigs[1].Name, on.UnverifiedSigs[1].Hash, raw)
	msg, _ = note.AppendSignatures(note.Marshal(on2), forged)
	r, err = p.Verify(msg)
	if _, isQ := err.(*QuorumError); !isQ || len(r.Failed) != 1 || r.Failed[0].Witness.Name != "X2" {
		t.Fatalf("forged cosignature: %v", err)
	}
	if s := r.Summary(); !strings.Contains(s, "total 6, verified 2 (X1, Y1), failed 1 [X2:") || !strings.Contains(s, "NOT met") {
		t.Errorf("Summary = %s", s)
	}
	// Future timestamps fail only with the skew option.
	future := time.Now().Add(time.Hour)
	msg = cosign(t, lg, ws, future, "X1", "X2", "Y1")
	if _, err := p.Verify(msg); err != nil {
		t.Errorf("without skew: %v", err)
	}
	if r, err := p.Verify(msg, WithMaxFutureSkew(time.Minute)); err == nil || len(r.Failed) != 3 {
		t.Errorf("with skew: %v", err)
	}
	// Quorum none: any log-signed checkpoint, no freshness.
	none, _ := Parse([]byte("log " + lg.vkey + "\nquorum none\n"))
	r, err = none.Verify(cosign(t, lg, ws, at))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.QuorumTime(); ok {
		t.Error("quorum none reported a quorum time")
	}
	// Unknown origin.
	other2 := newLog(t, "other.example/log")
	if _, err := p.Verify(cosign(t, other2, ws, at)); err == nil || !strings.Contains(err.Error(), "not a log of the policy") {
		t.Errorf("unknown log: %v", err)
	}
}

func TestParseRejections(t *testing.T) {
	lg := newLog(t, "example.com/log")
	w1, w2 := newWitness(t, "w1"), newWitness(t, "w2")
	w1again := strings.Replace(w1.vkey, "witness.example/w1", "witness.example/w1", 1)
	for _, tc := range []struct{ text, want string }{
		{"", "no quorum line"},
		{"log " + lg.vkey + "\n", "no quorum line"},
		{"quorum none\nquorum none\n", "line 2: second quorum line (first on line 1)"},
		{"quorum w1\n", "line 1: quorum \"w1\" is not a witness or group defined on an earlier line"},
		{"quorum w1\nwitness w1 " + w1.vkey + "\n", "line 1: quorum"},
		{"frobnicate\nquorum none\n", "line 1: unknown keyword \"frobnicate\""},
		{"log\nquorum none\n", "line 1: want \"log <vkey> [<url>]\""},
		{"log " + lg.vkey + " u extra\nquorum none\n", "line 1: want \"log"},
		{"log " + w1.vkey + "\nquorum none\n", "log key \"witness.example/w1\" has signature type 0x04"},
		{"witness w1 " + lg.vkey + "\nquorum none\n", "witness key \"example.com/log\" has signature type 0x01"},
		{"log " + lg.vkey + "\nlog " + lg.vkey + " https://x\nquorum none\n", "line 2: duplicate log: same public key as line 1"},
		{"witness a " + w1.vkey + "\nwitness b " + w1again + "\nquorum none\n", "line 2: duplicate witness"},
		{"witness a " + w1.vkey + "\nwitness a " + w2.vkey + "\nquorum a\n", "line 2: name \"a\" is already defined"},
		{"witness none " + w1.vkey + "\nquorum none\n", "predefined"},
		{"witness a " + w1.vkey + "\ngroup g 2 a\nquorum g\n", "threshold 2 is outside 1..1"},
		{"witness a " + w1.vkey + "\ngroup g 0 a\nquorum g\n", "threshold 0 is outside"},
		{"witness a " + w1.vkey + "\ngroup g two a\nquorum g\n", "threshold \"two\" is not all, any or a decimal"},
		{"witness a " + w1.vkey + "\ngroup g any\nquorum g\n", "at least one member"},
		{"witness a " + w1.vkey + "\ngroup g any b\nquorum g\n", "member \"b\" is not a witness or group defined"},
		{"group g any a\nwitness a " + w1.vkey + "\nquorum g\n", "line 1: member \"a\""},
		{"witness a " + w1.vkey + "\ngroup g any none\nquorum g\n", "\"none\" cannot be a group member"},
		{"witness a " + w1.vkey + "\ngroup g any a a\nquorum g\n", "already a member of group \"g\""},
		{"witness a " + w1.vkey + "\ngroup g any a\ngroup h any a\nquorum h\n", "line 3: \"a\" is already a member of group \"g\""},
		{"witness a " + w1.vkey + "\nquorum a b\n", "want \"quorum <name>\""},
		{"quorum none\x0b\n", "control character 0x0b"},
		{"quorum\rnone\n", "control character 0x0d"},
		{"log " + lg.vkey + "\x00\nquorum none\n", "control character 0x00"},
	} {
		_, err := Parse([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.60q) = %v, want error containing %q", tc.text, err, tc.want)
		}
	}
}

func TestParseSyntax(t *testing.T) {
	lg := newLog(t, "example.com/log")
	w1 := newWitness(t, "w1")
	// Tabs, leading and trailing whitespace, comments (full lines only),
	// high-bit octets in names and URLs, no final newline.
	text := "  # a comment\n\t\nlog\t" + lg.vkey + "  https://log.example/\n" +
		"   # indented comment\n" +
		"witness K " + w1.vkey + "\n" +
		"group \xe2\x84\xaa any K\n" +
		"quorum \xe2\x84\xaa   "
	p, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if p.Logs[0].URL != "https://log.example/" || p.Quorum != "\xe2\x84\xaa" || p.Witness("K") == nil {
		t.Errorf("parsed %+v", p)
	}
	if got := p.DescribeQuorum(); got != "1 of (K)" {
		t.Errorf("DescribeQuorum = %q", got)
	}
	// A NBSP (U+00A0) is not whitespace in this syntax: it belongs to a name.
	if _, err := Parse([]byte("witness a\u00a0b " + w1.vkey + "\nquorum a\u00a0b\n")); err != nil {
		t.Errorf("NBSP in a name: %v", err)
	}
	// Keywords other than none can be names.
	if _, err := Parse([]byte("witness all " + w1.vkey + "\ngroup any any all\nquorum any\n")); err != nil {
		t.Errorf("keyword names: %v", err)
	}
	// A witness can be the whole quorum.
	p, _ = Parse([]byte("log " + lg.vkey + "\nwitness K " + w1.vkey + "\nquorum K\n"))
	if !p.QuorumMet(map[string]bool{"K": true}) || p.QuorumMet(nil) {
		t.Error("single-witness quorum")
	}
}

// TestEntryTimeBounds: what a checkpoint's cosignatures say about when
// entries entered the log. With the spec's quorum (2 of X and 1 of Y),
// cosignatures X1 at t, X2 at t+1, X3 at t+2 and Y1 at t+3:
//   - a quorum had cosigned it by t+3 (X1, X2 and Y1 are all in by then);
//   - two X witnesses cosigned it at t+1 or later, so the one X left could
//     not, with any Y, have cosigned a larger tree before t+1.
func TestEntryTimeBounds(t *testing.T) {
	text, lg, ws := specPolicy(t)
	p, _ := Parse([]byte(text))
	at := time.Unix(1_700_000_000, 0)
	r, err := p.Verify(cosign(t, lg, ws, at, "X1", "X2", "X3", "Y1"))
	if err != nil {
		t.Fatal(err)
	}
	if by, ok := r.CosignedBy(); !ok || !by.Equal(at.Add(3*time.Second)) {
		t.Errorf("CosignedBy = %v %v, want t+3", by, ok)
	}
	if nb, ok := r.NoneLargerBefore(); !ok || !nb.Equal(at.Add(time.Second)) {
		t.Errorf("NoneLargerBefore = %v %v, want t+1", nb, ok)
	}
	// One Y alone blocks nothing: the X witnesses and the other Ys could
	// have cosigned a larger tree at any time. And it is no quorum.
	r, _ = p.Verify(cosign(t, lg, ws, at, "Y1"))
	if _, ok := r.NoneLargerBefore(); ok {
		t.Error("one Y cosignature reported a bound on larger trees")
	}
	if _, ok := r.CosignedBy(); ok {
		t.Error("a checkpoint without its quorum reported a time it was cosigned by")
	}
	// All three Ys block every quorum (it needs one Y): from the oldest.
	r, _ = p.Verify(cosign(t, lg, ws, at, "Y1", "Y2", "Y3"))
	if nb, ok := r.NoneLargerBefore(); !ok || !nb.Equal(at) {
		t.Errorf("three Ys: NoneLargerBefore = %v %v, want t", nb, ok)
	}
	none, _ := Parse([]byte("log " + lg.vkey + "\nquorum none\n"))
	r, _ = none.Verify(cosign(t, lg, ws, at))
	if _, ok := r.NoneLargerBefore(); ok {
		t.Error("quorum none bounded larger trees")
	}
}
