package daemon

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestLoggerEscapes: whatever a record carries (message, strings, errors,
// groups, attributes added with With), text and JSON logs hold no
// terminal escape, bidirectional override or invalid UTF-8.
func TestLoggerEscapes(t *testing.T) {
	const hostile = "evil\x1b[2J\x1b]0;pwned\x07\u202etxt.exe\xff"
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := (&Common{LogLevel: "info", LogFormat: format}).Logger(&buf)
		if err != nil {
			t.Fatal(err)
		}
		log.With("source", hostile).WithGroup("g").Error("msg "+hostile, "s", hostile, "err", errors.New(hostile),
			"b", []byte(hostile), slog.Group("inner", "x", hostile))
		out := buf.String()
		for _, bad := range []string{"\x1b", "\x07", "\u202e", "\xff"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s log holds %q raw:\n%s", format, bad, out)
			}
		}
		if !strings.Contains(out, `\x1b[2J`) && !strings.Contains(out, `\\x1b[2J`) {
			t.Errorf("%s log lost the escaped text:\n%s", format, out)
		}
	}
}
