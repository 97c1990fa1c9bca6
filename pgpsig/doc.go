// Package pgpsig checks the OpenPGP signatures that distributions already
// put on their top-level Manifests: GLEP 74 allows the top-level Manifest
// to be an OpenPGP cleartext-signed message (RFC 4880 section 7), and
// Gentoo signs its rsync tree's that way with gemato. treelog logs such a
// Manifest byte for byte; with a keyring, the publisher (or a transparency
// bridge) checks the signature before logging it, and a user checks it
// again when verifying.
//
// The OpenPGP work is github.com/ProtonMail/go-crypto's. What this package
// adds is the framing rule that keeps one verdict: the signed text must be
// the whole Manifest (nothing but whitespace around the signed message),
// and the entries the signature covers must be exactly the entries
// treelog's Manifest parser reads from the file.
package pgpsig
