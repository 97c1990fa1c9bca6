package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mustEscape reports whether GLEP 74 excludes r from a plain path field:
// the backslash, control characters (C0, DEL and C1) and whitespace.
func mustEscape(r rune) bool {
	return r == '\\' || r < 0x20 || (r >= 0x7f && r <= 0x9f) || unicode.IsSpace(r)
}

// EncodePath escapes a path for a Manifest field, using the shortest of
// \xHH, \uHHHH and \UHHHHHHHH for each excluded character (uppercase hex,
// as gemato writes it).
func EncodePath(p string) string {
	clean := true
	for _, r := range p {
		if mustEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return p
	}
	var b strings.Builder
	for _, r := range p {
		switch {
		case !mustEscape(r):
			b.WriteRune(r)
		case r <= 0x7f:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	return b.String()
}

// DecodePath undoes EncodePath. Any backslash not starting a valid escape
// is an error, as is \x above 7F, an escape that is not a Unicode scalar
// value, and an unescaped excluded character.
func DecodePath(s string) (string, error) {
	if plainASCII(s) {
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("path %q is not valid UTF-8", s)
	}
	if !strings.ContainsRune(s, '\\') {
		for _, r := range s {
			if mustEscape(r) {
				return "", fmt.Errorf("path %q contains U+%04X unescaped", s, r)
			}
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != '\\' {
			if mustEscape(r) {
				return "", fmt.Errorf("path %q contains U+%04X unescaped", s, r)
			}
			b.WriteRune(r)
			i += n
			continue
		}
		var digits int
		switch {
		case strings.HasPrefix(s[i:], `\x`):
			digits = 2
		case strings.HasPrefix(s[i:], `\u`):
			digits = 4
		case strings.HasPrefix(s[i:], `\U`):
			digits = 8
		default:
			return "", fmt.Errorf("path %q: backslash at byte %d does not start \\x, \\u or \\U", s, i)
		}
		hex := s[i+2 : min(len(s), i+2+digits)]
		v, err := strconv.ParseUint(hex, 16, 32)
		if len(hex) != digits || err != nil || !isHex(hex) {
			return "", fmt.Errorf("path %q: escape at byte %d needs %d hex digits", s, i, digits)
		}
		if digits == 2 && v > 0x7f {
			return "", fmt.Errorf("path %q: \\x escape above 7F at byte %d", s, i)
		}
		if v > unicode.MaxRune || (v >= 0xd800 && v <= 0xdfff) {
			return "", fmt.Errorf("path %q: escape at byte %d is not a Unicode character", s, i)
		}
		b.WriteRune(rune(v))
		i += 2 + digits
	}
	return b.String(), nil
}

// checkRelPath checks that a decoded path is relative, non-empty, and has no
// empty, "." or ".." components (GLEP 74 forbids referencing the parent).
func checkRelPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if p[0] == '/' {
		return fmt.Errorf("path %q is absolute", p)
	}
	for rest := p; ; {
		c, after, more := strings.Cut(rest, "/")
		switch c {
		case "":
			return fmt.Errorf("path %q has an empty component (a doubled or trailing slash)", p)
		case ".", "..":
			return fmt.Errorf("path %q has a %q component", p, c)
		}
		if strings.IndexByte(c, 0) >= 0 {
			return fmt.Errorf("path %q contains NUL", p)
		}
		if !more {
			return nil
		}
		rest = after
	}
}

// plainASCII reports whether s is printable ASCII without space or
// backslash: a path field that needs no decoding, as nearly all are.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
