package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"treelog/checkpoint"
	"treelog/note"
)

// proofFixture builds a real Merkle tree of n entries, a checkpoint for it
// signed by the log and cosigned by w1 and w2, and returns the policy.
type proofFixture struct {
	p       *Policy
	tree    *testonly.Tree
	entries [][]byte
	cp      []byte
	lg      testLog
}

func newProofFixture(t testing.TB, n int) *proofFixture {
	t.Helper()
	lg := newLog(t, "example.org/log")
	ws := map[string]testWitness{"w1": newWitness(t, "w1"), "w2": newWitness(t, "w2"), "w3": newWitness(t, "w3")}
	text := fmt.Sprintf("log %s\nwitness w1 %s\nwitness w2 %s\nwitness w3 %s\ngroup q 2 w1 w2 w3\nquorum q\n",
		lg.vkey, ws["w1"].vkey, ws["w2"].vkey, ws["w3"].vkey)
	p, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tree := testonly.New(rfc6962.DefaultHasher)
	f := &proofFixture{p: p, tree: tree, lg: lg}
	for i := 0; i < n; i++ {
		e := []byte(fmt.Sprintf("entry %d", i))
		f.entries = append(f.entries, e)
		tree.AppendData(e)
	}
	var root checkpoint.Hash
	copy(root[:], tree.Hash())
	msg, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: "example.org/log", Size: uint64(n), Hash: root}, lg.s)
	if err != nil {
		t.Fatal(err)
	}
	nt, _ := note.Parse(msg)
	for _, name := range []string{"w1", "w2", "w3"} {
		sig, _ := ws[name].c.SignAt([]byte(nt.Text), time.Unix(1_700_000_000, 0))
		msg, _ = note.AppendSignatures(msg, note.NewSignature(ws[name].c.Name(), ws[name].c.KeyHash(), sig))
	}
	f.cp = msg
	return f
}

func (f *proofFixture) proof(t testing.TB, idx uint64) []byte {
	path, err := f.tree.InclusionProof(idx, f.tree.Size())
	if err != nil {
		t.Fatal(err)
	}
	pf := &checkpoint.Proof{Index: idx, Checkpoint: f.cp}
	for _, h := range path {
		var x checkpoint.Hash
		copy(x[:], h)
		pf.Inclusion = append(pf.Inclusion, x)
	}
	return pf.Marshal()
}

func TestVerifyProof(t *testing.T) {
	f := newProofFixture(t, 1000)
	for _, idx := range []uint64{0, 1, 255, 256, 511, 998, 999} {
		r, err := f.p.VerifyProof(f.proof(t, idx), f.entries[idx])
		if err != nil {
			t.Fatalf("index %d: %v", idx, err)
		}
		if r.Index() != idx || r.Checkpoint.Size != 1000 || len(r.Cosigned) != 3 {
			t.Errorf("index %d: %+v", idx, r)
		}
	}
	// The wrong leaf, the wrong index, a truncated path, a bad checkpoint.
	if _, err := f.p.VerifyProof(f.proof(t, 5), f.entries[6]); err == nil || !strings.Contains(err.Error(), "inclusion proof of index 5") {
		t.Errorf("wrong leaf: %v", err)
	}
	pr := f.proof(t, 5)
	swapped := strings.Replace(string(pr), "index 5\n", "index 4\n", 1)
	if _, err := f.p.VerifyProof([]byte(swapped), f.entries[5]); err == nil {
		t.Error("wrong index accepted")
	}
	beyond := strings.Replace(string(pr), "index 5\n", "index 1000\n", 1)
	if _, err := f.p.VerifyProof([]byte(beyond), f.entries[5]); err == nil || !strings.Contains(err.Error(), "not below the tree size") {
		t.Errorf("index beyond size: %v", err)
	}
	lines := strings.SplitN(string(pr), "\n", 4)
	short := lines[0] + "\n" + lines[1] + "\n" + lines[3]
	if _, err := f.p.VerifyProof([]byte(short), f.entries[5]); err == nil {
		t.Error("truncated path accepted")
	}
	// A checkpoint that is not a signed note is malformed, and says where.
	head := string(pr[:strings.Index(string(pr), "\n\n")+2])
	badSize, err := note.Sign("example.org/log\n01\nAAAA\n", f.lg.s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cp, want string }{
		{"example.org/log\n1\n", "no blank line"},
		{"example.org/log\n1\nAAAA\n\n— example.org/log AAAA!AAA\n", "line 5: signature by \"example.org/log\" is not base64"},
		{string(badSize), "line 2: tree size"},
	} {
		_, err := f.p.VerifyProof([]byte(head+tc.cp), f.entries[5])
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checkpoint %q: %v, want error containing %q", tc.cp, err, tc.want)
		}
	}
	// A policy needing all three witnesses rejects when one is stripped.
	stripped := string(pr[:strings.LastIndex(string(pr[:len(pr)-1]), "\n")+1])
	if _, err := f.p.VerifyProof([]byte(stripped), f.entries[5]); err != nil {
		t.Errorf("2 of 3 should still pass: %v", err)
	}
}
