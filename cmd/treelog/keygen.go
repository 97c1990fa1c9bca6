package main

import (
	"fmt"
	"io"

	"treelog/internal/keyfile"
	"treelog/note"
)

func init() {
	register("keygen", "generate a signing key (log, publisher or witness)", keygen)
}

func keygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("keygen", "", `Generates an Ed25519 signed-note key. Writes PREFIX.key (the secret key,
mode 0600; never overwritten) and PREFIX.pub (the vkey to give to others),
then checks that a note signed with the new key verifies with its vkey.`, stdout, stderr)
	name := fs.String("name", "", "key name: a log's origin, a witness's or publisher's name (required)")
	out := fs.String("out", "", "path prefix of the key files (required)")
	typ := fs.String("type", "log", "key type: log or publisher (Ed25519, 0x01), witness (cosignature/v1, 0x04)")
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	if *name == "" || *out == "" {
		return usageErr(stderr, "keygen", "--name and --out are required")
	}
	var t byte
	switch *typ {
	case "log", "publisher":
		t = note.TypeEd25519
	case "witness":
		t = note.TypeCosignatureV1
	default:
		return usageErr(stderr, "keygen", "--type %q: want log, publisher or witness", *typ)
	}
	skey, vkey, err := note.GenerateKey(nil, *name, t)
	if err != nil {
		return usageErr(stderr, "keygen", "%v", err)
	}
	if err := keyfile.Write(*out, skey, vkey); err != nil {
		return fail(stderr, "keygen", err)
	}
	if err := roundTrip(*out); err != nil {
		return fail(stderr, "keygen", fmt.Errorf("round trip of the new key failed: %w", err))
	}
	fmt.Fprintf(stdout, "wrote %s.key and %s.pub\n%s\n", *out, *out, vkey)
	return exitOK
}

// roundTrip reads both key files back, signs a note and verifies it.
func roundTrip(prefix string) error {
	s, err := keyfile.ReadSigner(prefix + ".key")
	if err != nil {
		return err
	}
	vkey, err := keyfile.ReadVerifierKey(prefix + ".pub")
	if err != nil {
		return err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	msg, err := note.Sign("treelog keygen round trip\n", s)
	if err != nil {
		return err
	}
	_, err = note.Open(msg, v)
	return err
}
