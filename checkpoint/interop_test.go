package checkpoint_test

import (
	"bytes"
	"testing"

	flog "github.com/transparency-dev/formats/log"
	xnote "golang.org/x/mod/sumdb/note"

	"treelog/checkpoint"
	"treelog/note"
)

// Checkpoints we sign parse and verify with transparency-dev/formats'
// log.ParseCheckpoint, and checkpoints it formats verify with ours.
func TestInteropFormatsCheckpoint(t *testing.T) {
	sk, vk, _ := note.GenerateKey(nil, "example.org/log", note.TypeEd25519)
	s, _ := note.NewSigner(sk)
	c := checkpoint.Checkpoint{Origin: "example.org/log", Size: 42, Hash: checkpoint.Hash{1, 2, 3}}
	msg, err := checkpoint.Sign(c, s)
	if err != nil {
		t.Fatal(err)
	}
	xv, _ := xnote.NewVerifier(vk)
	fc, _, _, err := flog.ParseCheckpoint(msg, "example.org/log", xv)
	if err != nil {
		t.Fatalf("formats rejects our checkpoint: %v", err)
	}
	if fc.Size != 42 || !bytes.Equal(fc.Hash, c.Hash[:]) {
		t.Errorf("formats read %+v", fc)
	}

	xs, _ := xnote.NewSigner(sk)
	theirs, err := xnote.Sign(&xnote.Note{Text: string(flog.Checkpoint{Origin: "example.org/log", Size: 7, Hash: make([]byte, 32)}.Marshal())}, xs)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(vk)
	oc, err := checkpoint.Open(theirs, v)
	if err != nil || oc.Size != 7 {
		t.Fatalf("we reject formats' checkpoint: %v", err)
	}
	if !bytes.Equal(oc.Bytes(), theirs) {
		t.Error("re-marshalled checkpoint differs")
	}
}
