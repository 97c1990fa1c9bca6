package note_test

import (
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	xnote "golang.org/x/mod/sumdb/note"

	"treelog/note"
)

const cpText = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

// Ed25519 notes we sign verify with golang.org/x/mod/sumdb/note, and theirs
// with ours; keys in both directions.
func TestInteropXModNote(t *testing.T) {
	skey, vkey, err := note.GenerateKey(nil, "example.org/log", note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := note.NewSigner(skey)
	msg, err := note.Sign(cpText, ours)
	if err != nil {
		t.Fatal(err)
	}
	xv, err := xnote.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("x/mod cannot parse our vkey: %v", err)
	}
	if _, err := xnote.Open(msg, xnote.VerifierList(xv)); err != nil {
		t.Fatalf("x/mod rejects our note: %v", err)
	}
	xs, err := xnote.NewSigner(skey)
	if err != nil {
		t.Fatalf("x/mod cannot parse our skey: %v", err)
	}
	if xs.KeyHash() != ours.KeyHash() {
		t.Error("key IDs differ")
	}

	xsk, xvk, err := xnote.GenerateKey(nil, "example.org/x")
	if err != nil {
		t.Fatal(err)
	}
	xs2, _ := xnote.NewSigner(xsk)
	theirs, err := xnote.Sign(&xnote.Note{Text: cpText}, xs2)
	if err != nil {
		t.Fatal(err)
	}
	ov, err := note.NewVerifier(xvk)
	if err != nil {
		t.Fatalf("we cannot parse x/mod's vkey: %v", err)
	}
	n, err := note.Open(theirs, ov)
	if err != nil || n.Text != cpText {
		t.Fatalf("we reject x/mod's note: %v", err)
	}
	if _, err := note.NewSigner(xsk); err != nil {
		t.Errorf("we cannot parse x/mod's skey: %v", err)
	}
}

// cosignature/v1 signatures we make verify with transparency-dev/formats
// (NewVerifierForCosignatureV1, CoSigV1Timestamp), and theirs with ours.
func TestInteropFormatsCosignature(t *testing.T) {
	skey, vkey, err := note.GenerateKey(nil, "witness.example/w1", note.TypeCosignatureV1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	at := time.Unix(1_700_000_000, 0)
	sig, err := s.(*note.Cosigner).SignAt([]byte(cpText), at)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(cpText, fixedSigner{s, sig})
	if err != nil {
		t.Fatal(err)
	}
	fv, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatalf("formats cannot parse our witness vkey: %v", err)
	}
	n, err := xnote.Open(msg, xnote.VerifierList(fv))
	if err != nil {
		t.Fatalf("formats rejects our cosignature: %v", err)
	}
	ts, err := fnote.CoSigV1Timestamp(n.Sigs[0])
	if err != nil || !ts.Equal(at) {
		t.Errorf("formats reads timestamp %v (%v), want %v", ts, err, at)
	}

	// Theirs with ours: formats signs with our skey (type 0x04).
	fs, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatalf("formats cannot parse our witness skey: %v", err)
	}
	theirs, err := xnote.Sign(&xnote.Note{Text: cpText}, fs)
	if err != nil {
		t.Fatal(err)
	}
	ov, _ := note.NewCosignatureVerifier(vkey)
	on, err := note.Open(theirs, ov)
	if err != nil {
		t.Fatalf("we reject formats' cosignature: %v", err)
	}
	raw, _ := note.SignatureBytes(on.Sigs[0])
	if ts, err := note.CosignatureTime(raw); err != nil || time.Since(ts) > time.Minute {
		t.Errorf("timestamp of formats' cosignature: %v %v", ts, err)
	}
	// Their vkey conversion yields the same vkey we derive.
	_, plain, _ := note.GenerateKey(nil, "witness.example/w2", note.TypeEd25519)
	conv, err := fnote.VKeyToCosignatureV1(plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.NewCosignatureVerifier(conv); err != nil {
		t.Errorf("we reject formats' converted cosignature vkey: %v", err)
	}
}

// fixedSigner returns a precomputed signature, to sign with a set timestamp.
type fixedSigner struct {
	note.Signer
	sig []byte
}

func (f fixedSigner) Sign([]byte) ([]byte, error) { return f.sig, nil }
