package trust_test

import (
	"errors"
	"testing"
	"time"

	"treelog/internal/testkit/roots"
	"treelog/metamanifest"
	"treelog/trust"
)

type world struct {
	h          []roots.Key
	alice, bob roots.Key
	chain      *trust.Chain
	versions   [][]byte
	t0         time.Time
}

// newWorld: a 2-of-3 root for example.org/* (version 1 at index 0) that
// delegates overlays.example.org/* to alice for 2026 (version 2 at index 10).
func newWorld(t *testing.T) *world {
	w := &world{h: roots.NewKeys(t, "root", 3), alice: roots.NewKey(t, "alice"), bob: roots.NewKey(t, "bob"),
		t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	v1 := roots.Sign(t, roots.First("example.org/trust", 2, w.h, "example.org/*", "overlays.example.org/*"), w.h[0], w.h[1])
	pin, err := trust.Open(v1)
	if err != nil {
		t.Fatal(err)
	}
	w.chain = trust.NewChain(pin)
	w.add(t, v1, 0)
	w.next(t, 10, func(r *trust.Root) {
		r.Delegations = append(r.Delegations, roots.Delegate("overlays.example.org/*", w.alice, w.t0, w.t0.AddDate(1, 0, 0)))
	})
	return w
}

func (w *world) add(t *testing.T, v []byte, index uint64) {
	t.Helper()
	if _, err := w.chain.Append(v, index); err != nil {
		t.Fatal(err)
	}
	w.versions = append(w.versions, v)
}

func (w *world) next(t *testing.T, index uint64, f func(*trust.Root)) {
	t.Helper()
	w.add(t, roots.Sign(t, roots.After(t, w.versions[len(w.versions)-1], f), w.h[0], w.h[2]), index)
}

func (w *world) authority() *trust.Authority {
	return &trust.Authority{Chains: []*trust.Chain{w.chain}}
}

func TestAuthorize(t *testing.T) {
	w := newWorld(t)
	a := w.authority()
	in := w.t0.Add(24 * time.Hour)
	ok := roots.MetaManifest(t, "overlays.example.org/guru", in, w.alice)
	v, err := a.Authorize(ok, 11)
	if err != nil {
		t.Fatal(err)
	}
	if v.Root == nil || v.Root.Version != 2 || len(v.Delegations) != 1 {
		t.Fatalf("verdict: %+v", v)
	}
	// Before version 2 was logged, version 1 (no delegation) was in force.
	_, err = a.Authorize(ok, 5)
	wantRule(t, err, trust.RuleDelegated)
	if !errors.Is(err, metamanifest.ErrUnauthorized) {
		t.Fatalf("not ErrUnauthorized: %v", err)
	}
	// A key not delegated, an origin outside the pattern.
	_, err = a.Authorize(roots.MetaManifest(t, "overlays.example.org/guru", in, w.bob), 11)
	wantRule(t, err, trust.RuleDelegated)
	_, err = a.Authorize(roots.MetaManifest(t, "example.org/main", in, w.alice), 11)
	wantRule(t, err, trust.RuleDelegated)
	// An expired delegation, and one not yet valid.
	_, err = a.Authorize(roots.MetaManifest(t, "overlays.example.org/guru", w.t0.AddDate(1, 0, 0), w.alice), 11)
	wantRule(t, err, trust.RuleValidity)
	_, err = a.Authorize(roots.MetaManifest(t, "overlays.example.org/guru", w.t0.Add(-time.Second), w.alice), 11)
	wantRule(t, err, trust.RuleValidity)
	// An origin no root governs goes to the publishers file (none here).
	_, err = a.Authorize(roots.MetaManifest(t, "other.org/x", in, w.alice), 11)
	if !errors.Is(err, metamanifest.ErrUnauthorized) {
		t.Fatalf("ungoverned origin: %v", err)
	}
	pubs, err := trust.ParsePublishers([]byte("publisher other.org/x " + w.bob.VKey + "\npublisher overlays.example.org/guru " + w.bob.VKey + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	a.Publishers = pubs
	if v, err := a.Authorize(roots.MetaManifest(t, "other.org/x", in, w.bob), 11); err != nil || v.Root != nil {
		t.Fatalf("publishers file: %v %v", v, err)
	}
	// A root governs its scope from its first logged version on; the
	// publishers file cannot override it.
	_, err = a.Authorize(roots.MetaManifest(t, "overlays.example.org/guru", in, w.bob), 11)
	wantRule(t, err, trust.RuleDelegated)
	if _, err := a.Authorize(roots.MetaManifest(t, "overlays.example.org/guru", in, w.bob), 0); err != nil {
		t.Fatalf("before the root's first version, the publishers file: %v", err)
	}
}

// A revoked key stops counting for snapshots logged after the revoking
// version; snapshots logged before it stay valid unless their TIMESTAMP is
// at or after the revocation's time (the key was compromised by then).
func TestRevocation(t *testing.T) {
	w := newWorld(t)
	a := w.authority()
	early := roots.MetaManifest(t, "overlays.example.org/guru", w.t0.Add(24*time.Hour), w.alice)
	stolen := roots.MetaManifest(t, "overlays.example.org/guru", w.t0.Add(72*time.Hour), w.alice)
	later := roots.MetaManifest(t, "overlays.example.org/guru", w.t0.Add(96*time.Hour), w.alice)
	for _, idx := range []uint64{11, 12} {
		if _, err := a.Authorize(early, idx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Authorize(stolen, 13); err != nil {
		t.Fatal(err)
	}
	// Version 3 at index 20 revokes alice as of two days in.
	w.next(t, 20, func(r *trust.Root) {
		r.Delegations = nil
		r.Revocations = append(r.Revocations, trust.Revocation{Key: w.alice.Key, Time: w.t0.Add(48 * time.Hour)})
	})
	if _, err := a.Authorize(early, 11); err != nil {
		t.Fatalf("a snapshot logged before the revocation, made before the compromise: %v", err)
	}
	_, err := a.Authorize(stolen, 13)
	wantRule(t, err, trust.RuleRevoked)
	_, err = a.Authorize(later, 21)
	wantRule(t, err, trust.RuleRevoked)
	_, err = a.Authorize(later, trust.NextIndex)
	wantRule(t, err, trust.RuleRevoked)
	// Even a version that delegated the key again could not make a
	// snapshot logged after the revocation count (the document rule
	// forbids it; a key can only be given a new name).
}

// Offline, the pinned version is in force everywhere and knows only its
// own revocations.
func TestOffline(t *testing.T) {
	w := newWorld(t)
	pin, err := trust.Open(w.versions[1])
	if err != nil {
		t.Fatal(err)
	}
	a := &trust.Authority{Chains: []*trust.Chain{trust.Offline(pin)}}
	if _, err := a.Authorize(roots.MetaManifest(t, "overlays.example.org/guru", w.t0.Add(time.Hour), w.alice), 0); err != nil {
		t.Fatal(err)
	}
}

// Two roots may share a log but not an origin.
func TestTwoRoots(t *testing.T) {
	w := newWorld(t)
	h := roots.NewKeys(t, "other-root", 1)
	carol := roots.NewKey(t, "carol")
	ov1 := roots.First("other.org/trust", 1, h, "other.org/*")
	ov1.Delegations = []trust.Delegation{roots.Delegate("other.org/*", carol, w.t0, w.t0.AddDate(1, 0, 0))}
	v1 := roots.Sign(t, ov1, h...)
	pin, _ := trust.Open(v1)
	oc := trust.NewChain(pin)
	if _, err := oc.Append(v1, 3); err != nil {
		t.Fatal(err)
	}
	a := &trust.Authority{Chains: []*trust.Chain{w.chain, oc}}
	if v, err := a.Authorize(roots.MetaManifest(t, "other.org/x", w.t0.Add(time.Hour), carol), 11); err != nil || v.Root.Name != "other.org/trust" {
		t.Fatalf("other root: %v %v", v, err)
	}
	_, err := a.Authorize(roots.MetaManifest(t, "overlays.example.org/x", w.t0.Add(time.Hour), carol), 11)
	wantRule(t, err, trust.RuleDelegated)
	// Overlapping scopes are refused, whatever the signatures.
	ov2 := roots.After(t, v1, func(r *trust.Root) { r.Scope = append(r.Scope, "overlays.example.org/guru") })
	if _, err := oc.Append(roots.Sign(t, ov2, h...), 15); err != nil {
		t.Fatal(err)
	}
	_, err = a.Authorize(roots.MetaManifest(t, "overlays.example.org/guru", w.t0.Add(time.Hour), w.alice), 16)
	wantRule(t, err, trust.RuleScopeOverlap)
}
