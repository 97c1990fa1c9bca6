package policy

import (
	"testing"
)

func FuzzParse(f *testing.F) {
	text, _, _ := specPolicy(f)
	f.Add([]byte(text))
	f.Add([]byte("quorum none\n"))
	f.Add([]byte("witness a b\ngroup g 1 a\nquorum g\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		// Every parsed policy can be evaluated.
		ok := map[string]bool{}
		for _, w := range p.Witnesses {
			ok[w.Name] = true
		}
		if p.Quorum != "none" && len(p.Witnesses) > 0 && !p.QuorumMet(ok) {
			t.Fatalf("all witnesses do not meet quorum %q", p.Quorum)
		}
		p.DescribeQuorum()
	})
}

func FuzzVerifyProof(f *testing.F) {
	fx := newProofFixture(f, 20)
	f.Add(fx.proof(f, 3), fx.entries[3])
	f.Add(fx.proof(f, 19), fx.entries[19])
	f.Fuzz(func(t *testing.T, proof, leaf []byte) {
		r, err := fx.p.VerifyProof(proof, leaf)
		if err == nil && (r.Index() >= 20 || string(leaf) != string(fx.entries[r.Index()])) {
			t.Fatalf("accepted a proof of %q at index %d", leaf, r.Index())
		}
	})
}

// FuzzParseLogList: the witness's logs file, edited by operators.
func FuzzParseLogList(f *testing.F) {
	lg := newLog(f, "k")
	f.Add([]byte("log " + lg.vkey + " https://log.example\n"))
	f.Add([]byte("# c\nlog " + lg.vkey + "\nlog " + lg.vkey + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseLogList(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if k.Key.Name == "" || seen[k.Key.Name] {
				t.Fatalf("origin %q empty or listed twice: %+v", k.Key.Name, keys)
			}
			seen[k.Key.Name] = true
		}
	})
}
