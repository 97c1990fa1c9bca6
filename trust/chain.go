package trust

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
)

// Next parses data as the version that follows prev and checks every rule
// of one step: the same name; the next version number; prev's hash as
// logged; every revocation of prev kept (at the same time or earlier);
// signed by prev.Threshold of prev's root keys and by Threshold of its own
// (a rotation is certified by the old root, and accepted by the new).
func Next(prev *Signed, data []byte) (*Signed, error) {
	s, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if s.Name != prev.Name {
		return nil, rulef(RuleSameName, "%s does not follow %s: another root", s.Describe(), prev.Describe())
	}
	if s.Version != prev.Version+1 {
		return nil, rulef(RuleNextVersion, "%s cannot follow version %d; want version %d", s.Describe(), prev.Version, prev.Version+1)
	}
	if h := prev.Hash(); s.Previous != h {
		return nil, rulef(RulePreviousHash, "%s names %s as its previous version, but %s as logged has hash %s", s.Describe(), hex.EncodeToString(s.Previous[:]), prev.Describe(), hex.EncodeToString(h[:]))
	}
	for _, old := range prev.Revocations {
		v, ok := s.Revoked(old.Key)
		if !ok {
			return nil, rulef(RuleKeepsRevocations, "%s drops the revocation of %s+%08x: a revocation cannot be undone", s.Describe(), old.Key.Name, old.Key.ID)
		}
		if v.Time.After(old.Time) {
			return nil, rulef(RuleKeepsRevocations, "%s moves the revocation of %s+%08x from %s to the later %s", s.Describe(), old.Key.Name, old.Key.ID, formatTime(old.Time), formatTime(v.Time))
		}
	}
	if err := s.verify(prev); err != nil {
		return nil, err
	}
	return s, nil
}

// A Version is a version of a trust root at its place in the log.
type Version struct {
	*Signed
	// Index is the entry's index in the log.
	Index uint64
}

// A Chain is a trust root as a party follows it through the log: the
// version it pinned (delivered out of band), then every logged version
// from the pinned one on, each certified by the one before.
type Chain struct {
	Pin      *Signed
	Versions []Version
	// unpositioned: the pinned version is taken as in force at every
	// index (a party that cannot read the log; see Offline).
	unpositioned bool
}

// NewChain starts a chain at a pinned version, whose own root keys must
// have signed it (Open).
func NewChain(pin *Signed) *Chain { return &Chain{Pin: pin} }

// Offline returns a chain that takes the pinned version as in force at
// every position: what a party that cannot read the log (treelog verify
// --offline) judges by. It sees no later revocation.
func Offline(pin *Signed) *Chain {
	return &Chain{Pin: pin, Versions: []Version{{Signed: pin}}, unpositioned: true}
}

// Name returns the root's name.
func (c *Chain) Name() string { return c.Pin.Name }

// Latest returns the newest logged version, or nil.
func (c *Chain) Latest() *Version {
	if len(c.Versions) == 0 {
		return nil
	}
	return &c.Versions[len(c.Versions)-1]
}

// Version returns logged version n, or nil.
func (c *Chain) Version(n uint64) *Version {
	if len(c.Versions) == 0 || n < c.Versions[0].Version || n > c.Latest().Version {
		return nil
	}
	return &c.Versions[n-c.Versions[0].Version]
}

// InForce returns the version in force for an entry at index: the newest
// one logged before it, or nil.
func (c *Chain) InForce(index uint64) *Version {
	if c.unpositioned {
		return c.Latest()
	}
	i := sort.Search(len(c.Versions), func(i int) bool { return c.Versions[i].Index >= index })
	if i == 0 {
		return nil
	}
	return &c.Versions[i-1]
}

// revokedBy returns the first version that revoked k, and the revocation.
func (c *Chain) revokedBy(k Revocation) *Version {
	for i := range c.Versions {
		if _, ok := c.Versions[i].Revoked(k.Key); ok {
			return &c.Versions[i]
		}
	}
	return nil
}

// A ForkError is a version that conflicts with a logged one of the same
// number: the root keys (a threshold of them) signed two histories.
type ForkError struct {
	Logged *Version
	Other  *Signed
}

func (e *ForkError) msg() string {
	return fmt.Sprintf("%s is already logged at index %d with other content: two versions %d are a fork of the root's history",
		e.Logged.Describe(), e.Logged.Index, e.Logged.Version)
}

func (e *ForkError) Error() string { return "rule " + RuleChainsFromLatest + ": " + e.msg() }

// Unwrap makes a ForkError a *RuleError too.
func (e *ForkError) Unwrap() error { return &RuleError{Rule: RuleChainsFromLatest, Msg: e.msg()} }

// Logged returns the logged version with the same text as data, if any:
// the same version submitted again, perhaps with other signatures.
func (c *Chain) Logged(data []byte) (*Version, bool) {
	s, err := ParseDraft(data)
	if err != nil || s.Name != c.Name() {
		return nil, false
	}
	v := c.Version(s.Version)
	if v == nil || v.Note.Text != s.Note.Text {
		return nil, false
	}
	return v, true
}

// Check reports whether data may be logged next: the pinned version
// first (the same text, signed by its own root keys), then the version
// after the latest logged one. It returns the version, its signatures
// verified. A different version with a logged number is a *ForkError.
func (c *Chain) Check(data []byte) (*Signed, error) {
	last := c.Latest()
	if last == nil || c.unpositioned {
		s, err := Open(data)
		if err != nil {
			return nil, err
		}
		if s.Name != c.Name() {
			return nil, rulef(RuleSameName, "%s is not a version of %s", s.Describe(), c.Name())
		}
		if s.Version != c.Pin.Version || s.Note.Text != c.Pin.Note.Text {
			return nil, rulef(RulePinned, "the first logged version of %s must be the pinned version %d (got %s)", c.Name(), c.Pin.Version, s.Describe())
		}
		return s, nil
	}
	s, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if s.Name != c.Name() {
		return nil, rulef(RuleSameName, "%s is not a version of %s", s.Describe(), c.Name())
	}
	if s.Version <= last.Version {
		if v := c.Version(s.Version); v != nil && v.Note.Text != s.Note.Text {
			return nil, &ForkError{Logged: v, Other: s}
		}
		return nil, rulef(RuleChainsFromLatest, "%s is older than the latest logged version %d (index %d)", s.Describe(), last.Version, last.Index)
	}
	if s.Version > last.Version+1 {
		return nil, rulef(RuleChainsFromLatest, "%s does not follow the latest logged version %d (index %d); submit version %d first", s.Describe(), last.Version, last.Index, last.Version+1)
	}
	return Next(last.Signed, data)
}

// Append checks data as the next logged version (Check) and adds it at
// index, which must be after the latest version's.
func (c *Chain) Append(data []byte, index uint64) (*Version, error) {
	s, err := c.Check(data)
	if err != nil {
		return nil, err
	}
	return c.append(s, index)
}

func (c *Chain) append(s *Signed, index uint64) (*Version, error) {
	if last := c.Latest(); last != nil && !c.unpositioned && index <= last.Index {
		return nil, fmt.Errorf("%s at index %d is not after version %d at index %d", s.Describe(), index, last.Version, last.Index)
	}
	c.Versions = append(c.Versions, Version{Signed: s, Index: index})
	return c.Latest(), nil
}

// Clone returns a copy that can grow apart from c.
func (c *Chain) Clone() *Chain {
	d := *c
	d.Versions = append([]Version(nil), c.Versions...)
	return &d
}

// Follow adds the versions of a listing, verified against a checkpoint
// (Versions.Verify), to the chain. Versions the chain holds must be the
// same entries at the same indexes; a listing that starts before the
// pinned version is read from the pinned one on.
func (c *Chain) Follow(v *Versions) error {
	if v.Root != c.Name() {
		return fmt.Errorf("versions listing of %s, not %s", v.Root, c.Name())
	}
	for _, e := range v.Entries {
		if e.Version < c.Pin.Version {
			continue
		}
		if known := c.Version(e.Version); known != nil && !c.unpositioned {
			if known.Index != e.Index || !bytes.Equal(known.Raw, e.Entry) {
				other, err := ParseDraft(e.Entry)
				if err != nil {
					return err
				}
				return &ForkError{Logged: known, Other: other}
			}
			continue
		}
		if c.unpositioned {
			return fmt.Errorf("an offline chain follows no listing")
		}
		s, err := c.Check(e.Entry)
		if err != nil {
			return err
		}
		if s.Version != e.Version {
			return fmt.Errorf("versions listing: the entry at index %d is %s, not version %d", e.Index, s.Describe(), e.Version)
		}
		if _, err := c.append(s, e.Index); err != nil {
			return err
		}
	}
	return nil
}

// Restore rebuilds a chain from versions this party verified before and
// kept in its own state (entries and their indexes, in order). Their
// signatures are not verified again; their links are (name, version
// numbers, previous hashes, the pinned text first), so that damaged state
// is noticed.
func Restore(pin *Signed, entries [][]byte, indexes []uint64) (*Chain, error) {
	c := NewChain(pin)
	if len(entries) != len(indexes) {
		return nil, fmt.Errorf("%d entries, %d indexes", len(entries), len(indexes))
	}
	for i, e := range entries {
		s, err := Parse(e)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if s.Name != pin.Name || s.Version != pin.Version || s.Note.Text != pin.Note.Text {
				return nil, fmt.Errorf("the first version kept is %s, not the pinned %s", s.Describe(), pin.Describe())
			}
		} else {
			prev := c.Latest()
			if s.Name != prev.Name || s.Version != prev.Version+1 || s.Previous != prev.Hash() || indexes[i] <= prev.Index {
				return nil, fmt.Errorf("%s at index %d does not follow %s at index %d", s.Describe(), indexes[i], prev.Describe(), prev.Index)
			}
		}
		c.Versions = append(c.Versions, Version{Signed: s, Index: indexes[i]})
	}
	return c, nil
}
