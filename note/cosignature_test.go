package note

import (
	"crypto/ed25519"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

const cpText = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

func newCosigner(t *testing.T) (*Cosigner, string) {
	t.Helper()
	sk, vk, err := GenerateKey(nil, "witness.example/w1", TypeCosignatureV1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(sk)
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Cosigner), vk
}

func TestCosignatureMessage(t *testing.T) {
	// The signed message as c2sp.org/tlog-cosignature spells it out.
	want := "cosignature/v1\ntime 1679315147\n" + cpText
	if got := string(cosignedMessage(1679315147, []byte(cpText))); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCosignatureTimestamps(t *testing.T) {
	c, vk := newCosigner(t)
	at := time.Unix(1679315147, 0)
	sig, err := c.SignAt([]byte(cpText), at)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := CosignatureTime(sig); err != nil || !got.Equal(at) {
		t.Errorf("CosignatureTime = %v, %v", got, err)
	}
	v, _ := NewCosignatureVerifier(vk)
	if got, err := v.Check([]byte(cpText), sig); err != nil || !got.Equal(at) {
		t.Errorf("valid cosignature: %v, %v", got, err)
	}
	if _, err := v.Check([]byte(strings.Replace(cpText, "20852163", "20852164", 1)), sig); err == nil {
		t.Error("cosignature verified over another checkpoint")
	}
	// Timestamps 0 and over 2^63-1 are rejected even with a valid signature.
	for _, ts := range []uint64{0, 1 << 63, ^uint64(0)} {
		sk := c.priv
		forged := binary.BigEndian.AppendUint64(nil, ts)
		forged = append(forged, ed25519.Sign(sk, cosignedMessage(ts, []byte(cpText)))...)
		if _, err := v.Check([]byte(cpText), forged); err == nil {
			t.Errorf("timestamp %d accepted", ts)
		}
	}
	if _, err := CosignatureTime(sig[:10]); err == nil {
		t.Error("short cosignature accepted")
	}
	if _, err := c.SignAt([]byte(cpText), time.Unix(0, 0)); err == nil {
		t.Error("SignAt accepted timestamp 0")
	}
}

func TestCosignatureVerifierType(t *testing.T) {
	// A cosignature verifier refuses a plain Ed25519 vkey.
	_, plain, _ := GenerateKey(nil, "x", TypeEd25519)
	if _, err := NewCosignatureVerifier(plain); err == nil {
		t.Error("NewCosignatureVerifier accepted a 0x01 key")
	}
}

func TestCosignatureInNote(t *testing.T) {
	c, vk := newCosigner(t)
	msg, err := Sign(cpText, c)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewVerifier(vk)
	n, err := Open(msg, v)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := SignatureBytes(n.Sigs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CosignatureTime(raw); err != nil {
		t.Error(err)
	}
}
