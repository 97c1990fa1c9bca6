package trust

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
)

// Header is the first line of a trust-root document: the kind of the log
// entry.
const Header = "treelog-trustroot/v1"

// Limits of a trust-root document.
const (
	// MaxSize bounds a signed document: twice a MetaManifest's bound, far
	// below the log's 65,535-byte entry limit.
	MaxSize = 32 << 10
	// MaxNameLen bounds a root's name.
	MaxNameLen = 128
	// MaxRootKeys bounds the root key set (n of k-of-n).
	MaxRootKeys = 16
	// MaxScope bounds the scope lines.
	MaxScope = 64
)

// ErrMalformed is wrapped by every error about a document's syntax or
// about a rule a document breaks on its own.
var ErrMalformed = errors.New("malformed trust root")

// A Root is one version of a trust root: the keys that sign its next
// version, the origins it governs, and who may publish which of them.
type Root struct {
	// Name identifies the chain of versions, e.g. "gentoo.org/trust". One
	// log may hold several roots, one per distribution.
	Name string
	// Version is 1 for the first version, then one more for each.
	Version uint64
	// Previous is the SHA-256 of the previous version exactly as logged
	// (the signed note); zero for version 1.
	Previous [32]byte
	// Threshold is k of k-of-n: how many root keys must sign.
	Threshold int
	// Keys are the root keys (n).
	Keys []note.VerifierKey
	// Scope names the origins this root governs.
	Scope []Pattern
	// Delegations say which publisher keys may publish which origins, when.
	Delegations []Delegation
	// Revocations are keys that stopped counting, each from a time. A
	// revocation is never dropped by a later version.
	Revocations []Revocation
}

// A Delegation allows a publisher key to sign snapshots of the origins a
// pattern names, whose TIMESTAMP is at or after NotBefore and before
// Expires.
type Delegation struct {
	Pattern   Pattern
	Key       note.VerifierKey
	NotBefore time.Time
	Expires   time.Time
}

// A Revocation says a key stopped counting: for snapshots logged after the
// version that revoked it, and for any snapshot whose TIMESTAMP is at or
// after Time (the key was compromised from then on).
type Revocation struct {
	Key  note.VerifierKey
	Time time.Time
}

// ValidAt reports whether a snapshot with TIMESTAMP t is within the
// delegation's validity.
func (d Delegation) ValidAt(t time.Time) bool {
	return !t.Before(d.NotBefore) && t.Before(d.Expires)
}

func formatTime(t time.Time) string { return t.UTC().Format(manifest.TimeFormat) }

// Text returns the document's note text, in the order the grammar fixes.
func (r *Root) Text() string {
	var b strings.Builder
	b.WriteString(Header + "\n")
	b.WriteString("name " + r.Name + "\n")
	fmt.Fprintf(&b, "version %d\n", r.Version)
	if r.Version > 1 {
		b.WriteString("previous " + hex.EncodeToString(r.Previous[:]) + "\n")
	}
	fmt.Fprintf(&b, "threshold %d\n", r.Threshold)
	for _, k := range r.Keys {
		b.WriteString("root " + k.String() + "\n")
	}
	for _, s := range r.Scope {
		b.WriteString("scope " + string(s) + "\n")
	}
	for _, d := range r.Delegations {
		fmt.Fprintf(&b, "delegate %s %s %s %s\n", d.Pattern, d.Key, formatTime(d.NotBefore), formatTime(d.Expires))
	}
	for _, v := range r.Revocations {
		fmt.Fprintf(&b, "revoke %s %s\n", v.Key, formatTime(v.Time))
	}
	return b.String()
}

// Sort puts the keys, scope, delegations and revocations in a canonical
// order (the tools write documents so; the grammar does not require it).
func (r *Root) Sort() {
	slices.SortFunc(r.Keys, func(a, b note.VerifierKey) int { return strings.Compare(a.String(), b.String()) })
	slices.Sort(r.Scope)
	slices.SortFunc(r.Delegations, func(a, b Delegation) int {
		if c := strings.Compare(string(a.Pattern), string(b.Pattern)); c != 0 {
			return c
		}
		return strings.Compare(a.Key.String(), b.Key.String())
	})
	slices.SortFunc(r.Revocations, func(a, b Revocation) int { return strings.Compare(a.Key.String(), b.Key.String()) })
}

// Revoked returns the revocation of key k, if the root holds one.
func (r *Root) Revoked(k note.VerifierKey) (Revocation, bool) {
	for _, v := range r.Revocations {
		if sameKey(v.Key, k) {
			return v, true
		}
	}
	return Revocation{}, false
}

// IsRootKey reports whether k is one of the root keys.
func (r *Root) IsRootKey(k note.VerifierKey) bool {
	return slices.ContainsFunc(r.Keys, func(x note.VerifierKey) bool { return sameKey(x, k) })
}

// Governs reports whether the root's scope covers origin.
func (r *Root) Governs(origin string) bool {
	return slices.ContainsFunc(r.Scope, func(p Pattern) bool { return p.Match(origin) })
}

func sameKey(a, b note.VerifierKey) bool {
	return a.Name == b.Name && a.ID == b.ID && a.Type == b.Type && string(a.Public) == string(b.Public)
}

// CheckName checks a root's name: the origin rule, at most MaxNameLen bytes.
func CheckName(name string) error {
	if err := metamanifest.CheckOrigin(name); err != nil {
		return fmt.Errorf("name: %v", err)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("name is %d bytes, over the limit of %d", len(name), MaxNameLen)
	}
	return nil
}

// ParseText parses a document's text and checks the rules a document must
// keep on its own (see Check). Lines come in the grammar's order, fields
// separated by single spaces; anything else is refused with its line.
func ParseText(text string) (*Root, error) {
	if len(text) > MaxSize {
		return nil, untrusted.Malformed(ErrMalformed, "%d bytes, over the limit of %d", len(text), MaxSize)
	}
	if !strings.HasSuffix(text, "\n") {
		return nil, untrusted.Malformed(ErrMalformed, "text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	p := &textParser{lines: lines}
	r := &Root{}
	if l, _ := p.next(); l != Header {
		return nil, p.errf("want %q", Header)
	}
	f, err := p.fields("name", 1, "name <name>")
	if err != nil {
		return nil, err
	}
	if err := CheckName(f[0]); err != nil {
		return nil, p.errf("%v", err)
	}
	r.Name = f[0]
	if f, err = p.fields("version", 1, "version <n>"); err != nil {
		return nil, err
	}
	if r.Version, err = untrusted.ParseDecimal(f[0]); err != nil || r.Version == 0 {
		return nil, p.errf("version must be a decimal number from 1")
	}
	if r.Version > 1 {
		if f, err = p.fields("previous", 1, "previous <64 lowercase hex digits>"); err != nil {
			return nil, err
		}
		h, err := hex.DecodeString(f[0])
		if err != nil || len(h) != 32 || strings.ToLower(f[0]) != f[0] {
			return nil, p.errf("previous must be 64 lowercase hex digits (SHA-256 of the previous version as logged)")
		}
		copy(r.Previous[:], h)
	}
	if f, err = p.fields("threshold", 1, "threshold <k>"); err != nil {
		return nil, err
	}
	k, err := untrusted.ParseDecimal(f[0])
	if err != nil || k == 0 || k > MaxRootKeys {
		return nil, p.errf("threshold must be a decimal number from 1 to %d", MaxRootKeys)
	}
	r.Threshold = int(k)
	for p.peek("root") {
		f, err := p.fields("root", 1, "root <vkey>")
		if err != nil {
			return nil, err
		}
		key, err := parseKey(f[0], "root")
		if err != nil {
			return nil, p.errf("%v", err)
		}
		r.Keys = append(r.Keys, key)
	}
	for p.peek("scope") {
		f, err := p.fields("scope", 1, "scope <pattern>")
		if err != nil {
			return nil, err
		}
		pat, err := ParsePattern(f[0])
		if err != nil {
			return nil, p.errf("scope: %v", err)
		}
		r.Scope = append(r.Scope, pat)
	}
	for p.peek("delegate") {
		f, err := p.fields("delegate", 4, "delegate <pattern> <vkey> <not-before> <expires>")
		if err != nil {
			return nil, err
		}
		var d Delegation
		if d.Pattern, err = ParsePattern(f[0]); err != nil {
			return nil, p.errf("delegate: %v", err)
		}
		if d.Key, err = parseKey(f[1], "publisher"); err != nil {
			return nil, p.errf("delegate: %v", err)
		}
		if d.NotBefore, err = manifest.ParseTimestamp(f[2]); err != nil {
			return nil, p.errf("delegate: not-before: %v", err)
		}
		if d.Expires, err = manifest.ParseTimestamp(f[3]); err != nil {
			return nil, p.errf("delegate: expires: %v", err)
		}
		r.Delegations = append(r.Delegations, d)
	}
	for p.peek("revoke") {
		f, err := p.fields("revoke", 2, "revoke <vkey> <time>")
		if err != nil {
			return nil, err
		}
		var v Revocation
		if v.Key, err = parseKey(f[0], "revoked"); err != nil {
			return nil, p.errf("revoke: %v", err)
		}
		if v.Time, err = manifest.ParseTimestamp(f[1]); err != nil {
			return nil, p.errf("revoke: time: %v", err)
		}
		r.Revocations = append(r.Revocations, v)
	}
	if l, ok := p.next(); ok {
		word, _, _ := strings.Cut(l, " ")
		return nil, p.errf("unexpected %q line (lines are: name, version, previous, threshold, root, scope, delegate, revoke, in that order)", untrusted.Short(word, 40))
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return r, nil
}

// Check checks the rules a document keeps on its own: 1 to MaxRootKeys
// distinct root keys, a threshold of at most their number, 1 to MaxScope
// distinct scope patterns, every delegation inside the scope, starting
// before it expires, by a key that is neither a root key nor revoked, not
// listed twice; no key revoked twice; no root key revoked.
func (r *Root) Check() error {
	bad := func(format string, args ...any) error {
		return untrusted.Malformed(ErrMalformed, format, args...)
	}
	if err := CheckName(r.Name); err != nil {
		return bad("%v", err)
	}
	if r.Version == 0 {
		return bad("version must be 1 or more")
	}
	if len(r.Keys) == 0 || len(r.Keys) > MaxRootKeys {
		return bad("%d root keys; want 1 to %d", len(r.Keys), MaxRootKeys)
	}
	if r.Threshold < 1 || r.Threshold > len(r.Keys) {
		return bad("threshold %d of %d root keys; want 1 to %d", r.Threshold, len(r.Keys), len(r.Keys))
	}
	for i, k := range r.Keys {
		for _, o := range r.Keys[:i] {
			if string(o.Public) == string(k.Public) || (o.Name == k.Name && o.ID == k.ID) {
				return bad("root key %s+%08x is listed twice", k.Name, k.ID)
			}
		}
	}
	if len(r.Scope) == 0 || len(r.Scope) > MaxScope {
		return bad("%d scope lines; want 1 to %d", len(r.Scope), MaxScope)
	}
	for i, s := range r.Scope {
		if slices.Contains(r.Scope[:i], s) {
			return bad("scope %s is listed twice", s)
		}
	}
	for i, d := range r.Delegations {
		if !slices.ContainsFunc(r.Scope, func(s Pattern) bool { return s.Covers(d.Pattern) }) {
			return bad("delegation of %s to %s+%08x is outside the root's scope (%s)", d.Pattern, d.Key.Name, d.Key.ID, joinPatterns(r.Scope))
		}
		if !d.NotBefore.Before(d.Expires) {
			return bad("delegation of %s to %s+%08x expires (%s) before it starts (%s)", d.Pattern, d.Key.Name, d.Key.ID, formatTime(d.Expires), formatTime(d.NotBefore))
		}
		if r.IsRootKey(d.Key) {
			return bad("delegation of %s to %s+%08x: a root key signs roots, not snapshots", d.Pattern, d.Key.Name, d.Key.ID)
		}
		if _, revoked := r.Revoked(d.Key); revoked {
			return bad("delegation of %s to %s+%08x: the key is revoked", d.Pattern, d.Key.Name, d.Key.ID)
		}
		for _, o := range r.Delegations[:i] {
			if o.Pattern == d.Pattern && sameKey(o.Key, d.Key) {
				return bad("delegation of %s to %s+%08x is listed twice", d.Pattern, d.Key.Name, d.Key.ID)
			}
			if !sameKey(o.Key, d.Key) && o.Key.Name == d.Key.Name && o.Key.ID == d.Key.ID {
				return bad("two different keys are named %s+%08x", d.Key.Name, d.Key.ID)
			}
		}
	}
	for i, v := range r.Revocations {
		for _, o := range r.Revocations[:i] {
			if sameKey(o.Key, v.Key) {
				return bad("key %s+%08x is revoked twice", v.Key.Name, v.Key.ID)
			}
		}
		if r.IsRootKey(v.Key) {
			return bad("root key %s+%08x is revoked; rotate it out of the root keys", v.Key.Name, v.Key.ID)
		}
	}
	if n := len(r.Text()); n > MaxSize {
		return bad("text is %d bytes, over the limit of %d", n, MaxSize)
	}
	return nil
}

// parseKey parses an Ed25519 vkey written exactly as note writes it (a
// lowercase key ID), so that a document has one text.
func parseKey(vkey, role string) (note.VerifierKey, error) {
	k, err := policy.ParseKey(vkey, note.TypeEd25519, role)
	if err != nil {
		return k, err
	}
	if k.String() != vkey {
		return k, fmt.Errorf("%s key %q: write the key ID in lowercase hex, as %s", role, k.Name, k.String())
	}
	return k, nil
}

func joinPatterns(ps []Pattern) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// textParser walks a document's lines, naming the line in errors.
type textParser struct {
	lines []string
	no    int // lines consumed
}

func (p *textParser) next() (string, bool) {
	if p.no >= len(p.lines) {
		p.no++
		return "", false
	}
	p.no++
	return p.lines[p.no-1], true
}

func (p *textParser) peek(word string) bool {
	return p.no < len(p.lines) && strings.HasPrefix(p.lines[p.no], word+" ")
}

func (p *textParser) errf(format string, args ...any) error {
	return untrusted.Malformed(ErrMalformed, "line %d: %s", p.no, fmt.Sprintf(format, args...))
}

// fields reads the next line, which must be word and n fields separated
// by single spaces.
func (p *textParser) fields(word string, n int, form string) ([]string, error) {
	l, ok := p.next()
	if !ok {
		return nil, p.errf("missing; want %q", form)
	}
	f := strings.Split(l, " ")
	if f[0] != word || len(f) != n+1 || slices.Contains(f, "") {
		return nil, p.errf("want %q", form)
	}
	return f[1:], nil
}

// formatVersionCount is used in messages: "version 3".
func versionName(name string, v uint64) string {
	return name + " version " + strconv.FormatUint(v, 10)
}
