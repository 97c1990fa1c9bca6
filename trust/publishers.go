package trust

import (
	"fmt"
	"sort"

	"treelog/internal/untrusted"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
)

// MaxPublishers bounds the publisher lines of a publishers file.
const MaxPublishers = 4096

// Publishers says which keys may publish which tree: it is parsed from lines
// "publisher <origin> <vkey>", with the tlog-policy file syntax (comments,
// blank lines, spaces and tabs).
type Publishers struct {
	byOrigin map[string][]note.Verifier
	keys     map[string][]note.VerifierKey
}

// ParsePublishers parses a publishers file. A key listed twice for the same
// origin is an error; one key may publish several origins.
func ParsePublishers(data []byte) (*Publishers, error) {
	lines, err := policy.SplitLines(data, "publishers")
	if err != nil {
		return nil, err
	}
	p := &Publishers{byOrigin: map[string][]note.Verifier{}, keys: map[string][]note.VerifierKey{}}
	seen := map[string]int{}
	n := 0
	for _, l := range lines {
		errf := func(format string, args ...any) error {
			return fmt.Errorf("publishers: line %d: %s", l.No, fmt.Sprintf(format, args...))
		}
		f := l.Fields
		if f[0] != "publisher" {
			return nil, errf("unknown keyword %q (want publisher)", untrusted.Short(f[0], 40))
		}
		if len(f) != 3 {
			return nil, errf("want \"publisher <origin> <vkey>\"")
		}
		origin := f[1]
		if err := metamanifest.CheckOrigin(origin); err != nil {
			return nil, errf("%v", err)
		}
		k, err := policy.ParseKey(f[2], note.TypeEd25519, "publisher")
		if err != nil {
			return nil, errf("%v", err)
		}
		id := origin + "\x00" + string(k.Public)
		if prev, dup := seen[id]; dup {
			return nil, errf("duplicate publisher: the same key for origin %q is on line %d", origin, prev)
		}
		seen[id] = l.No
		if n++; n > MaxPublishers {
			return nil, errf("more than %d publisher lines", MaxPublishers)
		}
		v, _ := note.NewVerifier(f[2])
		p.byOrigin[origin] = append(p.byOrigin[origin], v)
		p.keys[origin] = append(p.keys[origin], k)
	}
	return p, nil
}

// Verifiers returns the keys allowed to publish origin (nil if none). A
// nil *Publishers (no publishers file) allows none.
func (p *Publishers) Verifiers(origin string) []note.Verifier {
	if p == nil {
		return nil
	}
	return p.byOrigin[origin]
}

// Keys returns the parsed keys allowed to publish origin.
func (p *Publishers) Keys(origin string) []note.VerifierKey {
	return p.keys[origin]
}

// Origins returns every origin with a publisher, sorted.
func (p *Publishers) Origins() []string {
	out := make([]string, 0, len(p.byOrigin))
	for o := range p.byOrigin {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// OriginsOf reports which origins a key (by name and ID) may publish.
func (p *Publishers) OriginsOf(name string, id uint32) []string {
	var out []string
	for _, o := range p.Origins() {
		for _, k := range p.keys[o] {
			if k.Name == name && k.ID == id {
				out = append(out, o)
			}
		}
	}
	return out
}
