package trust_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"treelog/internal/testkit/roots"
	"treelog/trust"
)

func wantRule(t *testing.T, err error, rule string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want a refusal by rule %s", rule)
	}
	if got := trust.RuleOf(err); got != rule {
		t.Fatalf("refused by rule %q, want %q: %v", got, rule, err)
	}
	if !strings.Contains(err.Error(), rule) {
		t.Fatalf("the error does not name rule %s: %v", rule, err)
	}
}

// A 3-of-5 root is a root only with 3 signatures of its keys.
func TestThreshold(t *testing.T) {
	h := roots.NewKeys(t, "root", 5)
	r := roots.First("example.org/trust", 3, h, "example.org/*")
	_, err := trust.Open(roots.Sign(t, r, h[0], h[1]))
	wantRule(t, err, trust.RuleSignedByOwn)
	outsider := roots.NewKey(t, "root-6")
	_, err = trust.Open(roots.Sign(t, r, h[0], h[1], outsider))
	wantRule(t, err, trust.RuleSignedByOwn)
	if _, err := trust.Open(roots.Sign(t, r, h[4], h[2], h[0])); err != nil {
		t.Fatal(err)
	}
	// Separately signed copies, merged, count together.
	a, b := roots.Sign(t, r, h[0]), roots.Sign(t, r, h[1], h[2])
	merged, err := trust.MergeSignatures(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trust.Open(merged); err != nil {
		t.Fatal(err)
	}
	// A bad signature by a root key rejects the document.
	bad := []byte(strings.Replace(string(merged), "\n— root-1 ", "\n— root-1 A", 1))
	if _, err := trust.Open(bad); err == nil {
		t.Fatal("a corrupted signature by a root key was accepted")
	}
}

// Rotation: version N+1 needs k of version N's keys and k of its own.
func TestRotation(t *testing.T) {
	old := roots.NewKeys(t, "old", 3)
	nu := roots.NewKeys(t, "new", 3)
	v1 := roots.Sign(t, roots.First("example.org/trust", 2, old, "example.org/*"), old[0], old[1])
	p1, err := trust.Open(v1)
	if err != nil {
		t.Fatal(err)
	}
	r2 := roots.After(t, v1, func(r *trust.Root) { r.Keys = roots.Keys(nu...) })
	_, err = trust.Next(p1, roots.Sign(t, r2, old[0], old[1], old[2]))
	wantRule(t, err, trust.RuleSignedByOwn)
	_, err = trust.Next(p1, roots.Sign(t, r2, nu[0], nu[1], nu[2]))
	wantRule(t, err, trust.RuleSignedByPrevious)
	_, err = trust.Next(p1, roots.Sign(t, r2, old[0], nu[0], nu[1]))
	wantRule(t, err, trust.RuleSignedByPrevious)
	if _, err := trust.Next(p1, roots.Sign(t, r2, old[2], old[0], nu[1], nu[2])); err != nil {
		t.Fatal(err)
	}

	// The step's other rules.
	wrongPrev := roots.After(t, v1, nil)
	wrongPrev.Previous[0] ^= 1
	_, err = trust.Next(p1, roots.Sign(t, wrongPrev, old[0], old[1]))
	wantRule(t, err, trust.RulePreviousHash)
	skip := roots.After(t, v1, func(r *trust.Root) { r.Version = 3 })
	_, err = trust.Next(p1, roots.Sign(t, skip, old[0], old[1]))
	wantRule(t, err, trust.RuleNextVersion)
	other := roots.After(t, v1, func(r *trust.Root) { r.Name = "example.org/other" })
	_, err = trust.Next(p1, roots.Sign(t, other, old[0], old[1]))
	wantRule(t, err, trust.RuleSameName)
}

func TestRevocationsAreKept(t *testing.T) {
	h := roots.NewKeys(t, "root", 2)
	pub := roots.NewKey(t, "pub")
	when := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	v1r := roots.First("example.org/trust", 2, h, "example.org/*")
	v1r.Revocations = []trust.Revocation{{Key: pub.Key, Time: when}}
	v1 := roots.Sign(t, v1r, h...)
	p1, err := trust.Open(v1)
	if err != nil {
		t.Fatal(err)
	}
	dropped := roots.After(t, v1, func(r *trust.Root) { r.Revocations = nil })
	_, err = trust.Next(p1, roots.Sign(t, dropped, h...))
	wantRule(t, err, trust.RuleKeepsRevocations)
	later := roots.After(t, v1, func(r *trust.Root) { r.Revocations[0].Time = when.Add(time.Hour) })
	_, err = trust.Next(p1, roots.Sign(t, later, h...))
	wantRule(t, err, trust.RuleKeepsRevocations)
	earlier := roots.After(t, v1, func(r *trust.Root) { r.Revocations[0].Time = when.Add(-time.Hour) })
	if _, err := trust.Next(p1, roots.Sign(t, earlier, h...)); err != nil {
		t.Fatal(err)
	}
	// A revoked key cannot come back as a delegate.
	back := roots.After(t, v1, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("example.org/a", pub, when, when.Add(time.Hour))}
	})
	if _, err := trust.Sign(back, h[0].Signer); !errors.Is(err, trust.ErrMalformed) || !strings.Contains(err.Error(), "the key is revoked") {
		t.Fatalf("a revoked key delegated again: %v", err)
	}
}

// A chain starts at the pinned version, then takes each next version; a
// second version N is a fork.
func TestChain(t *testing.T) {
	h := roots.NewKeys(t, "root", 3)
	v1 := roots.Sign(t, roots.First("example.org/trust", 2, h, "example.org/*"), h[0], h[1])
	pin, err := trust.Open(v1)
	if err != nil {
		t.Fatal(err)
	}
	c := trust.NewChain(pin)
	v2 := roots.Sign(t, roots.After(t, v1, nil), h[0], h[1])
	_, err = c.Append(v2, 3)
	wantRule(t, err, trust.RulePinned)
	if _, err := c.Append(v1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(v2, 5); err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Logged(roots.Sign(t, roots.After(t, v1, nil), h[2], h[1])); !ok || v.Index != 5 {
		t.Fatalf("the same version with other signatures is not recognized as logged: %v %v", v, ok)
	}
	fork := roots.Sign(t, roots.After(t, v1, func(r *trust.Root) { r.Threshold = 3 }), h...)
	_, err = c.Check(fork)
	var fe *trust.ForkError
	if !errors.As(err, &fe) || fe.Logged.Index != 5 {
		t.Fatalf("fork: %v", err)
	}
	wantRule(t, err, trust.RuleChainsFromLatest)
	v3 := roots.Sign(t, roots.After(t, v2, nil), h[0], h[1])
	v4 := roots.Sign(t, roots.After(t, v3, nil), h[0], h[1])
	_, err = c.Check(v4)
	wantRule(t, err, trust.RuleChainsFromLatest)
	if _, err := c.Append(v3, 4); err == nil {
		t.Fatal("a version at an index before its predecessor's was taken")
	}
	if _, err := c.Append(v3, 9); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		index uint64
		want  uint64
	}{{0, 0}, {1, 1}, {5, 1}, {6, 2}, {9, 2}, {10, 3}, {trust.NextIndex, 3}} {
		v := c.InForce(tc.index)
		got := uint64(0)
		if v != nil {
			got = v.Version
		}
		if got != tc.want {
			t.Errorf("in force at %d: version %d, want %d", tc.index, got, tc.want)
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	h := roots.NewKeys(t, "root", 2)
	good := roots.First("example.org/trust", 2, h, "example.org/*").Text()
	for _, tc := range []struct{ text, want string }{
		{strings.Replace(good, "treelog-trustroot/v1", "treelog-trustroot/v2", 1), "line 1: want"},
		{strings.Replace(good, "version 1", "version 01", 1), "line 3: version must be"},
		{strings.Replace(good, "version 1", "version 0", 1), "line 3"},
		{strings.Replace(good, "threshold 2", "threshold 3", 1), "threshold 3 of 2 root keys"},
		{strings.Replace(good, "threshold 2", "threshold  2", 1), "line 4: want"},
		{strings.Replace(good, "scope example.org/*", "scope example.org/*/x", 1), "line 7: scope: pattern"},
		{strings.Replace(good, "scope example.org/*\n", "", 1), "0 scope lines"},
		{good + "scope example.org/*\n", "listed twice"},
		{good + "bogus x\n", "line 8: unexpected \"bogus\" line"},
		{strings.Replace(good, "version 1\n", "version 2\n", 1), "line 4: want \"previous"},
		{good + "delegate other.org/x " + h[0].VKey + " 2026-01-01T00:00:00Z 2027-01-01T00:00:00Z\n", "outside the root's scope"},
		{good + "delegate example.org/x " + h[0].VKey + " 2026-01-01T00:00:00Z 2027-01-01T00:00:00Z\n", "a root key signs roots"},
		{good + "revoke " + h[0].VKey + " 2026-01-01T00:00:00Z\n", "root key root-1"},
		{good + "delegate example.org/x k 2026-01-01T00:00:00Z 2027-01-01T00:00:00Z\n", "line 8: delegate"},
		{good + "delegate example.org/x " + roots.NewKey(t, "p").VKey + " 2027-01-01T00:00:00Z 2026-01-01T00:00:00Z\n", "expires"},
		{good + "delegate example.org/x " + roots.NewKey(t, "p").VKey + " 2027-01-01 2028-01-01T00:00:00Z\n", "not-before"},
		{strings.TrimSuffix(good, "\n"), "does not end in a newline"},
	} {
		_, err := trust.ParseText(tc.text)
		if err == nil || !errors.Is(err, trust.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseText(...%q) = %v, want %q", tc.text[max(0, len(tc.text)-60):], err, tc.want)
		}
	}
}
