// Package untrusted holds what every part does with bytes from outside
// (a mirror, a log, a witness, a file): read them with a bound, name their
// faults in errors, and show them without letting them drive a terminal.
package untrusted

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrTooLarge is wrapped when input is over its bound.
var ErrTooLarge = errors.New("over the limit")

// ReadAll reads r to the end, refusing more than limit bytes; what names
// the input in the error.
func ReadAll(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w of %d bytes; not reading further", what, ErrTooLarge, limit)
	}
	return b, nil
}

// ReadFile reads the file at path, refusing one over limit bytes before
// reading it (by its size) and while reading it (it may grow).
func ReadFile(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, fmt.Errorf("%s %s: %d bytes, %w of %d", what, path, fi.Size(), ErrTooLarge, limit)
	}
	return ReadAll(f, limit, what+" "+path)
}

// ParseDecimal parses an ASCII decimal with no leading zeros (but "0"),
// no sign and no spaces, as the C2SP formats write sizes and indexes.
func ParseDecimal(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", Short(s, 40))
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", Short(s, 40))
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q does not fit in 64 bits", Short(s, 40))
	}
	return n, nil
}

// Malformed returns an error wrapping kind (a package's sentinel, such as
// note.ErrMalformed) that says what is wrong.
func Malformed(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// Short shortens s for a message: at most n bytes (on a rune boundary),
// with "..." when cut. It does not escape; see Escape.
func Short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Escape makes s safe to show on a terminal or in a log: control
// characters (ESC among them), invalid UTF-8 and invisible format
// characters (bidirectional overrides) become Go escapes such as \x1b and
// \u202e; printable text, in any script, is left as it is.
func Escape(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !printable(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case printable(r):
			b.WriteString(s[i : i+size])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

func printable(r rune) bool {
	return r == ' ' || r == '\n' || r == '\t' || unicode.IsPrint(r)
}
