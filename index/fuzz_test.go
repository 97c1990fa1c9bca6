package index_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"treelog/index"
)

// FuzzParseEntry: index entries come from the log (and, inside
// index/latest, from any mirror). One that parses marshals back to the
// same bytes.
func FuzzParseEntry(f *testing.F) {
	f.Add((&index.Entry{Root: index.EmptyRoot}).Marshal())
	f.Add((&index.Entry{Size: 9, Root: index.HashOf(nil), Origins: 3,
		Checkpoint: []byte(fmt.Sprintf("log.example\n7\n%s=\n\n— log.example AAAAAAAA\n", strings.Repeat("A", 43)))}).Marshal())
	f.Add([]byte(index.Header + "\nsize 1\nroot x\norigins 0\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := index.ParseEntry(data)
		if err != nil {
			return
		}
		if got := e.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("round trip: %q, want %q", got, data)
		}
	})
}

// FuzzParseChunk: chunks come from any mirror of the log. One that parses
// marshals back to the same bytes.
func FuzzParseChunk(f *testing.F) {
	c := &index.Chunk{Origin: "a.example/t", Previous: index.HashOf([]byte("p")), Records: []index.Record{
		{Seq: 2, Index: 10, Timestamp: start, LeafHash: index.HashOf([]byte("l"))},
		{Seq: 3, Index: 12, Timestamp: start, LeafHash: index.HashOf([]byte("m"))},
	}}
	f.Add(c.Marshal())
	c.Records = c.Records[:1]
	c.Records[0].Seq = 1
	f.Add(c.Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := index.ParseChunk(data)
		if err != nil {
			return
		}
		if got := c.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("round trip: %q, want %q", got, data)
		}
	})
}

// FuzzParseNode: trie nodes come from any mirror of the log. One that
// parses marshals back to the same bytes.
func FuzzParseNode(f *testing.F) {
	tr := index.NewTrie()
	for i := range 40 {
		tr.Set(index.KeyOf(fmt.Sprint(i)), index.HashOf([]byte{byte(i)}))
	}
	tr.Emit(func(_ index.Hash, data []byte) error { f.Add(data); return nil })
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := index.ParseNode(data)
		if err != nil {
			return
		}
		if got := n.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("round trip: %x, want %x", got, data)
		}
	})
}

// FuzzParsePath: request paths come from anyone. One that parses is
// canonical.
func FuzzParsePath(f *testing.F) {
	h := index.HashOf(nil)
	for _, s := range []string{index.LatestPath, index.NodePath(h), index.ChunkPath(h), "index/node/00/" + h.String(), "index/chunk/e3/E3B0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := index.ParsePath(p)
		if err != nil {
			return
		}
		if got := r.Path(); got != p {
			t.Fatalf("ParsePath(%q) = %+v, which prints as %q", p, r, got)
		}
	})
}
