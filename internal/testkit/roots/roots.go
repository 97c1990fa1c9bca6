// Package roots makes trust roots for tests: keys, versions, signatures by
// chosen holders, and signed MetaManifests by chosen publisher keys.
package roots

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/trust"
)

// A Key is an Ed25519 signed-note key: a root key holder's or a
// publisher's.
type Key struct {
	Signer note.Signer
	Key    note.VerifierKey
	VKey   string
	SKey   string
}

// NewKey makes a key named name.
func NewKey(t testing.TB, name string) Key {
	t.Helper()
	sk, vk, err := note.GenerateKey(nil, name, note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(sk)
	if err != nil {
		t.Fatal(err)
	}
	k, err := note.ParseVerifierKey(vk)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Signer: s, Key: k, VKey: vk, SKey: sk}
}

// NewKeys makes n keys named prefix-1 ... prefix-n.
func NewKeys(t testing.TB, prefix string, n int) []Key {
	out := make([]Key, n)
	for i := range out {
		out[i] = NewKey(t, fmt.Sprintf("%s-%d", prefix, i+1))
	}
	return out
}

// First returns version 1 of a root: k of the holders' keys, the scope.
func First(name string, k int, holders []Key, scope ...string) *trust.Root {
	r := &trust.Root{Name: name, Version: 1, Threshold: k}
	for _, h := range holders {
		r.Keys = append(r.Keys, h.Key)
	}
	for _, s := range scope {
		r.Scope = append(r.Scope, trust.Pattern(s))
	}
	return r
}

// After returns the version after prev (a signed version as logged),
// changed by f.
func After(t testing.TB, prev []byte, f func(*trust.Root)) *trust.Root {
	t.Helper()
	p, err := trust.Parse(prev)
	if err != nil {
		t.Fatal(err)
	}
	r := *p.Root
	r.Keys = append([]note.VerifierKey(nil), p.Keys...)
	r.Scope = append([]trust.Pattern(nil), p.Scope...)
	r.Delegations = append([]trust.Delegation(nil), p.Delegations...)
	r.Revocations = append([]trust.Revocation(nil), p.Revocations...)
	r.Version++
	r.Previous = sha256.Sum256(prev)
	if f != nil {
		f(&r)
	}
	return &r
}

// Keys returns the verifier keys of holders.
func Keys(holders ...Key) []note.VerifierKey {
	var out []note.VerifierKey
	for _, h := range holders {
		out = append(out, h.Key)
	}
	return out
}

// Sign signs r's text with each holder (no rule is checked but the
// document's own: tests sign wrongly on purpose).
func Sign(t testing.TB, r *trust.Root, holders ...Key) []byte {
	t.Helper()
	var ss []note.Signer
	for _, h := range holders {
		ss = append(ss, h.Signer)
	}
	b, err := trust.Sign(r, ss...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Delegate returns a delegation of pattern to k from notBefore until expires.
func Delegate(pattern string, k Key, notBefore, expires time.Time) trust.Delegation {
	return trust.Delegation{Pattern: trust.Pattern(pattern), Key: k.Key, NotBefore: notBefore.UTC().Truncate(time.Second), Expires: expires.UTC().Truncate(time.Second)}
}

// MetaManifest returns a MetaManifest of origin at ts (to the second),
// signed by signers, describing a made-up Manifest.
func MetaManifest(t testing.TB, origin string, ts time.Time, signers ...Key) []byte {
	t.Helper()
	m := &metamanifest.MetaManifest{Origin: origin, Timestamp: ts.UTC().Truncate(time.Second), ManifestSize: 1,
		ManifestHashes: manifest.HashBytes([]byte(origin+ts.String()), metamanifest.Hashes)}
	var ss []note.Signer
	for _, s := range signers {
		ss = append(ss, s.Signer)
	}
	b, err := metamanifest.Sign(m, ss...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// HidingLog starts a server in front of the log at logURL that serves
// everything the log does, except that its trust-root versions listings
// leave out the versions hide selects: a log hiding a revocation.
func HidingLog(t testing.TB, logURL string, hide func(version uint64) bool) *httptest.Server {
	target, err := url.Parse(logURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasPrefix(resp.Request.URL.Path, "/trustroot/") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if v, err := trust.ParseVersions(b); err == nil {
			v.Entries = slices.DeleteFunc(v.Entries, func(e trust.LoggedVersion) bool { return hide(e.Version) })
			b = v.Marshal()
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv
}
