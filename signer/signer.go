// Package signer is the seam between what a publisher wants signed, a
// MetaManifest describing one snapshot of a tree, and who signs it: keys
// held in this process (Keys), or the signing daemon over a Unix socket
// (Unix). A hardware token or a cloud KMS is one more implementation of
// Signer; publishing code never changes for it.
package signer

import (
	"context"

	"treelog/metamanifest"
	"treelog/note"
)

// A Signer signs MetaManifests.
type Signer interface {
	// Sign returns m as a signed note whose text is exactly m.Text(), or
	// an error that says why it was not signed. A signer may check m
	// against the tree it describes, and refuse.
	Sign(ctx context.Context, m *metamanifest.MetaManifest) ([]byte, error)
}

// Keys returns a Signer that signs with every one of keys, in this process.
// Anything with the three methods of note.Signer (a key in a file, a
// hardware token's or a KMS's key behind the same methods) can be one.
func Keys(keys ...note.Signer) Signer { return keySigner(keys) }

type keySigner []note.Signer

func (k keySigner) Sign(_ context.Context, m *metamanifest.MetaManifest) ([]byte, error) {
	return metamanifest.Sign(m, k...)
}
