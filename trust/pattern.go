package trust

import (
	"fmt"
	"strings"

	"treelog/metamanifest"
)

// A Pattern names the origins a scope or a delegation covers: either one
// origin exactly ("gentoo.org/repo/gentoo"), or every origin below a prefix
// ("overlays.gentoo.org/*": "overlays.gentoo.org/guru" and
// "overlays.gentoo.org/guru/extra", but neither "overlays.gentoo.org"
// itself, nor "overlays.gentoo.org.evil/x", nor "overlays.gentoo.orgx/y").
// Matching is byte for byte, case included. '*' is allowed only as a whole
// last path element, so that a pattern reads as what it matches.
type Pattern string

// wildcard ends a prefix pattern.
const wildcard = "/*"

// ParsePattern checks a pattern: an origin (metamanifest.CheckOrigin's
// rule) in which '*' appears only as the last path element.
func ParsePattern(s string) (Pattern, error) {
	if err := metamanifest.CheckOrigin(s); err != nil {
		return "", fmt.Errorf("pattern: %v", err)
	}
	prefix, isPrefix := strings.CutSuffix(s, wildcard)
	if strings.Contains(prefix, "*") || (!isPrefix && strings.Contains(s, "*")) {
		return "", fmt.Errorf("pattern %q: '*' is allowed only as the whole last path element (\"example.org/*\")", s)
	}
	if isPrefix && prefix == "" {
		return "", fmt.Errorf("pattern %q: a prefix pattern needs a prefix (\"example.org/*\")", s)
	}
	return Pattern(s), nil
}

// prefix returns the prefix a prefix pattern matches below, with its
// trailing '/', and whether p is a prefix pattern.
func (p Pattern) prefix() (string, bool) {
	pre, ok := strings.CutSuffix(string(p), wildcard)
	return pre + "/", ok
}

// Match reports whether origin is one the pattern names.
func (p Pattern) Match(origin string) bool {
	pre, ok := p.prefix()
	if !ok {
		return origin == string(p)
	}
	return len(origin) > len(pre) && strings.HasPrefix(origin, pre)
}

// Covers reports whether every origin q matches, p matches too.
func (p Pattern) Covers(q Pattern) bool {
	pp, pIsPrefix := p.prefix()
	qp, qIsPrefix := q.prefix()
	switch {
	case !pIsPrefix:
		return p == q
	case !qIsPrefix:
		return p.Match(string(q))
	}
	return strings.HasPrefix(qp, pp)
}

// Overlaps reports whether some origin matches both patterns.
func (p Pattern) Overlaps(q Pattern) bool {
	_, pIsPrefix := p.prefix()
	_, qIsPrefix := q.prefix()
	switch {
	case !pIsPrefix && !qIsPrefix:
		return p == q
	case !pIsPrefix:
		return q.Match(string(p))
	case !qIsPrefix:
		return p.Match(string(q))
	}
	return p.Covers(q) || q.Covers(p)
}
