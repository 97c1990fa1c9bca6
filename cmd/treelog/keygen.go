package main

import (
	"fmt"
	"io"

	"treelog/internal/keyfile"
	"treelog/internal/passphrase"
	"treelog/note"
)

func init() {
	register("keygen", "generate a signing key (log, publisher or witness)", keygen)
}

func keygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("keygen", "", `Generates an Ed25519 signed-note key. Writes PREFIX.key (the secret key,
mode 0600; never overwritten) and PREFIX.pub (the vkey to give to others),
then checks that a note signed with the new key verifies with its vkey.
With --encrypt (publisher keys), writes PREFIX.key.age instead: the secret
key encrypted with a passphrase (age, scrypt), which the signing daemon
(signd) holds; the key is never written in the clear. The passphrase is
asked twice on the terminal, or read from --passphrase-file.`, stdout, stderr)
	name := fs.String("name", "", "key name: a log's origin, a witness's or publisher's name (required)")
	out := fs.String("out", "", "path prefix of the key files (required)")
	typ := fs.String("type", "", "key type (required): log, publisher or root (Ed25519, 0x01), witness (cosignature/v1, 0x04)")
	encrypt := fs.Bool("encrypt", false, "encrypt the secret key with a passphrase: PREFIX.key.age (publisher keys only)")
	passFile := fs.String("passphrase-file", "", "with --encrypt: read the passphrase from this file's first line (/dev/fd/N for a descriptor) instead of the terminal")
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	if *name == "" || *out == "" {
		return usageErr(stderr, "keygen", "--name and --out are required")
	}
	var t byte
	switch *typ {
	case "":
		return usageErr(stderr, "keygen", "--type is required: log, publisher, root or witness (a key made for the wrong role cannot be used in it)")
	case "log", "publisher", "root":
		t = note.TypeEd25519
	case "witness":
		t = note.TypeCosignatureV1
	default:
		return usageErr(stderr, "keygen", "--type %q: want log, publisher, root or witness", *typ)
	}
	if *encrypt && *typ != "publisher" {
		return usageErr(stderr, "keygen", "--encrypt is for publisher keys (the signing daemon holds them)")
	}
	if *passFile != "" && !*encrypt {
		return usageErr(stderr, "keygen", "--passphrase-file goes with --encrypt")
	}
	skey, vkey, err := note.GenerateKey(nil, *name, t)
	if err != nil {
		return usageErr(stderr, "keygen", "%v", err)
	}
	if !*encrypt {
		if err := keyfile.Write(*out, skey, vkey); err != nil {
			return fail(stderr, "keygen", err)
		}
		if err := roundTrip(*out, func() (note.Signer, error) { return keyfile.ReadSigner(*out + ".key") }); err != nil {
			return fail(stderr, "keygen", fmt.Errorf("round trip of the new key failed: %w", err))
		}
		fmt.Fprintf(stdout, "wrote %s.key and %s.pub\n%s\n", *out, *out, vkey)
		return exitOK
	}
	pass, err := newPassphrase(*passFile, *name)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	if err := keyfile.WriteEncrypted(*out, skey, vkey, pass); err != nil {
		return fail(stderr, "keygen", err)
	}
	if err := roundTrip(*out, func() (note.Signer, error) {
		data, err := keyfile.ReadEncrypted(*out + keyfile.EncryptedExt)
		if err != nil {
			return nil, err
		}
		return keyfile.DecryptSigner(data, pass)
	}); err != nil {
		return fail(stderr, "keygen", fmt.Errorf("round trip of the new key failed: %w", err))
	}
	fmt.Fprintf(stdout, "wrote %s%s (encrypted) and %s.pub\n%s\n", *out, keyfile.EncryptedExt, *out, vkey)
	return exitOK
}

// newPassphrase reads the first line of file, or asks twice on the terminal.
func newPassphrase(file, name string) (string, error) {
	if file == "" {
		return passphrase.PromptNew("key " + name)
	}
	ps, err := passphrase.FromFile(file)
	if err != nil {
		return "", err
	}
	return ps[0], nil
}

// roundTrip reads the secret key back with open and the vkey file, signs a
// note and verifies it.
func roundTrip(prefix string, open func() (note.Signer, error)) error {
	s, err := open()
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
