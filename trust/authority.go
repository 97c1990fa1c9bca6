package trust

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"treelog/metamanifest"
	"treelog/note"
)

// NextIndex is the index to judge a submission at: after every entry the log
// holds, so the newest logged version of each root is in force.
const NextIndex uint64 = math.MaxUint64

// An Authority decides who may publish what: the trust roots a party
// pinned, each followed through the log, and the publishers file for the
// origins no root governs. The log (admitting an entry), the auditor
// (replaying the log) and the client (verifying a tree) judge by it, so
// that all reach one verdict on the same entry at the same position.
type Authority struct {
	// Chains are the pinned roots, as far as the party followed them.
	Chains []*Chain
	// Publishers is the publishers file (nil: none).
	Publishers *Publishers
}

// A Verdict is an authorized MetaManifest and what authorized it.
type Verdict struct {
	*metamanifest.Signed
	// Root is the version in force that allowed it; nil when the
	// publishers file did.
	Root *Version
	// Delegations are the root's delegations whose keys signed.
	Delegations []Delegation
}

// Governing returns the version that governs origin for an entry at
// index: the in-force version, among the chains', whose scope covers it.
// It returns nil if none does (the publishers file decides), and an error
// if two roots claim the origin (a log keeps that from happening).
func (a *Authority) Governing(origin string, index uint64) (*Version, error) {
	var found *Version
	for _, c := range a.Chains {
		v := c.InForce(index)
		if v == nil || !v.Governs(origin) {
			continue
		}
		if found != nil {
			return nil, rulef(RuleScopeOverlap, "origin %q is governed by both %s and %s", origin, found.Describe(), v.Describe())
		}
		found = v
	}
	return found, nil
}

// Chain returns the chain of the root named name, or nil.
func (a *Authority) Chain(name string) *Chain {
	for _, c := range a.Chains {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// Authorize judges a signed MetaManifest logged at index (NextIndex for a
// submission). If a root governs its origin there, a signature must be by
// a key the version in force delegates for the origin, valid at the
// TIMESTAMP, not revoked by that version (revoked before the snapshot
// entered the log), and not revoked by any version the chain knows as of a
// time at or before the TIMESTAMP (compromised then). Otherwise the
// publishers file decides. A refusal wraps metamanifest.ErrUnauthorized
// and names the rule; a bad signature by an allowed key is a
// *note.InvalidSignatureError; bad syntax wraps metamanifest.ErrMalformed.
func (a *Authority) Authorize(data []byte, index uint64) (*Verdict, error) {
	// The origin line picks the rule; the publishers file's path (the
	// common one) then parses the note once, in Verify.
	origin, err := metamanifest.OriginOf(data)
	if err != nil {
		return nil, err
	}
	v, err := a.Governing(origin, index)
	var re *RuleError
	if errors.As(err, &re) {
		return nil, &authError{re}
	}
	if v == nil {
		pubs := a.Publishers
		if pubs == nil {
			pubs = &Publishers{}
		}
		s, err := metamanifest.Verify(data, pubs)
		if err != nil {
			return nil, err
		}
		return &Verdict{Signed: s}, nil
	}
	m, n, err := metamanifest.Parse(data)
	if err != nil {
		return nil, err
	}
	c := a.Chain(v.Name)
	var allowed []Delegation
	for _, d := range v.Delegations {
		if d.Pattern.Match(m.Origin) && d.ValidAt(m.Timestamp) && !c.revokedFor(d.Key, v, m.Timestamp) {
			allowed = append(allowed, d)
		}
	}
	s, err := metamanifest.Verify(data, delegationKeys(allowed))
	if errors.Is(err, metamanifest.ErrUnauthorized) {
		return nil, &authError{c.explain(v, m, n, index)}
	}
	if err != nil {
		return nil, err
	}
	var used []Delegation
	for _, d := range allowed {
		if signedBy(s.Note, d.Key) {
			used = append(used, d)
		}
	}
	return &Verdict{Signed: s, Root: v, Delegations: used}, nil
}

// revokedFor reports whether key k does not count for a snapshot with
// TIMESTAMP ts judged by version v: v revokes it (so it was revoked
// before the snapshot entered the log), or a later version revokes it as
// of ts or earlier.
func (c *Chain) revokedFor(k note.VerifierKey, v *Version, ts time.Time) bool {
	if _, ok := v.Revoked(k); ok {
		return true
	}
	if r, ok := c.Latest().Revoked(k); ok && !ts.Before(r.Time) {
		return true // revocations are kept, so the latest version has them all
	}
	return false
}

// authError is an authorization refusal: a *RuleError that is also
// metamanifest.ErrUnauthorized.
type authError struct{ *RuleError }

func (e *authError) Unwrap() []error { return []error{e.RuleError, metamanifest.ErrUnauthorized} }

type delegationKeys []Delegation

func (ds delegationKeys) Verifiers(string) []note.Verifier {
	var out []note.Verifier
	for _, d := range ds {
		out = append(out, d.Key.Verifier())
	}
	return out
}

// explain says why no signature of a MetaManifest counts under v, signer
// by signer, naming the rule: revoked, then validity, then delegated, the
// first that applies to any signer.
func (c *Chain) explain(v *Version, m *metamanifest.MetaManifest, n *note.Note, index uint64) *RuleError {
	at := fmt.Sprintf("at index %d", index)
	if index == NextIndex {
		at = "for a submission now"
	}
	rule := RuleDelegated
	rank := map[string]int{RuleDelegated: 0, RuleValidity: 1, RuleRevoked: 2}
	var reasons []string
	for _, sig := range append(append([]note.Signature(nil), n.Sigs...), n.UnverifiedSigs...) {
		r, why := c.whyNot(v, m, sig, at)
		if rank[r] > rank[rule] {
			rule = r
		}
		reasons = append(reasons, why)
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "it has no signature")
	}
	return rulef(rule, "%s, in force for %s %s, allows no signer of this snapshot (TIMESTAMP %s): %s",
		v.Describe(), m.Origin, at, formatTime(m.Timestamp), strings.Join(reasons, "; "))
}

func (c *Chain) whyNot(v *Version, m *metamanifest.MetaManifest, sig note.Signature, at string) (string, string) {
	name := fmt.Sprintf("%s+%08x", sig.Name, sig.Hash)
	var forOrigin []Delegation
	var key *note.VerifierKey
	for _, d := range v.Delegations {
		if d.Key.Name == sig.Name && d.Key.ID == sig.Hash {
			key = &d.Key
			if d.Pattern.Match(m.Origin) {
				forOrigin = append(forOrigin, d)
			}
		}
	}
	for _, r := range c.Latest().Revocations {
		if r.Key.Name != sig.Name || r.Key.ID != sig.Hash {
			continue
		}
		by := c.revokedBy(r)
		if _, inV := v.Revoked(r.Key); inV {
			return RuleRevoked, fmt.Sprintf("%s was revoked (as of %s) by %s, logged at index %d, before this snapshot entered the log (%s)", name, formatTime(r.Time), by.Describe(), by.Index, at)
		}
		if !m.Timestamp.Before(r.Time) {
			return RuleRevoked, fmt.Sprintf("%s was revoked by %s (index %d) as of %s: the key was no longer trusted at this snapshot's TIMESTAMP", name, by.Describe(), by.Index, formatTime(r.Time))
		}
	}
	switch {
	case key == nil:
		return RuleDelegated, fmt.Sprintf("%s is not a key %s delegates", name, v.Describe())
	case len(forOrigin) == 0:
		return RuleDelegated, fmt.Sprintf("%s is not delegated for %s", name, m.Origin)
	}
	var spans []string
	for _, d := range forOrigin {
		if !d.ValidAt(m.Timestamp) {
			spans = append(spans, fmt.Sprintf("from %s until %s (%s)", formatTime(d.NotBefore), formatTime(d.Expires), d.Pattern))
		}
	}
	if len(spans) == len(forOrigin) {
		return RuleValidity, fmt.Sprintf("%s's delegation is valid %s, not at this snapshot's TIMESTAMP", name, strings.Join(spans, ", "))
	}
	return RuleDelegated, fmt.Sprintf("%s's signature does not count", name)
}
