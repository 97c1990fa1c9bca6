package checkpoint

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestProofRoundTrip(t *testing.T) {
	s, _ := newLog(t, "example.com/fancylog")
	cp, err := Sign(Checkpoint{Origin: "example.com/fancylog", Size: 109482, Hash: Hash{7}}, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Proof{
		{Index: 73894, Inclusion: []Hash{{1}, {2}, {3}}, Checkpoint: cp},
		{Extra: []byte("age-v1.2.1-darwin-arm64.tar.gz"), Index: 0, Checkpoint: cp},
	} {
		b := p.Marshal()
		q, err := ParseProof(b)
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if !bytes.Equal(q.Marshal(), b) || q.Index != p.Index || !bytes.Equal(q.Extra, p.Extra) || len(q.Inclusion) != len(p.Inclusion) {
			t.Errorf("round trip changed the proof:\n%s\n%s", b, q.Marshal())
		}
	}
}

// The layout of the example in c2sp.org/tlog-proof, with its elided
// signatures replaced by well-formed ones (the spec gives no keys).
func TestProofSpecLayout(t *testing.T) {
	s, _ := newLog(t, "example.com/fancylog")
	cp, _ := Sign(Checkpoint{Origin: "example.com/fancylog", Size: 109482, Hash: mustHash("sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=")}, s)
	text := `c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

` + string(cp)
	p, err := ParseProof([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if p.Index != 73894 || len(p.Inclusion) != 5 || !strings.HasPrefix(string(p.Extra), "age-v1.2.1-darwin-arm64.tar.gz") {
		t.Errorf("parsed %+v", p)
	}
	if string(p.Marshal()) != text {
		t.Error("spec layout does not round trip")
	}
}

func mustHash(s string) Hash {
	h, err := ParseHash(s)
	if err != nil {
		panic(err)
	}
	return h
}

func TestProofRejections(t *testing.T) {
	s, _ := newLog(t, "o")
	cp, _ := Sign(Checkpoint{Origin: "o", Size: 2, Hash: Hash{7}}, s)
	h := "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
	for _, tc := range []struct{ text, want string }{
		{"", "line 1: want"},
		{"c2sp.org/tlog-proof@v2\nindex 1\n\n" + string(cp), "line 1: want"},
		{ProofHeader + "\n", "line 2: missing index"},
		{ProofHeader + "\nextra \nindex 1\n\n" + string(cp), "line 2: extra line with no data"},
		{ProofHeader + "\nextra !!\nindex 1\n\n" + string(cp), "line 2: extra data is not base64"},
		{ProofHeader + "\nindex 01\n\n" + string(cp), "line 2: index: \"01\" has a leading zero"},
		{ProofHeader + "\nindex -1\n\n" + string(cp), "not a decimal"},
		{ProofHeader + "\nidx 1\n\n" + string(cp), "line 2: want \"index <n>\""},
		{ProofHeader + "\nindex 1\nAAAA\n\n" + string(cp), "line 3: inclusion proof hash: 3 bytes"},
		{ProofHeader + "\nindex 1\n" + h, "line 4: missing blank line"},
		{ProofHeader + "\nindex 1\n" + strings.Repeat(h, MaxProofHashes+1) + "\n" + string(cp), "more than 64"},
		{ProofHeader + "\nindex 1\n\n", "line 4: missing checkpoint"},
		{ProofHeader + "\nindex 1\n\n" + strings.Repeat("x", MaxProofSize), "over the limit"},
	} {
		_, err := ParseProof([]byte(tc.text))
		if err == nil || !errors.Is(err, ErrMalformedProof) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseProof(%.50q) = %v, want error containing %q", tc.text, err, tc.want)
		}
	}
}
