package untrusted

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcödé, 日本語":     "plain text, ünïcödé, 日本語",
		"a\x1b[31mred\x1b[0m":          `a\x1b[31mred\x1b[0m`,
		"bell\x07 del\x7f nul\x00":     `bell\x07 del\x7f nul\x00`,
		"bad \xff utf8":                `bad \xff utf8`,
		"rtl \u202eevil":               `rtl \u202eevil`,
		"c1 \u009b31m":                 `c1 \u009b31m`,
		"lines\nand\ttabs stay":        "lines\nand\ttabs stay",
		"\r carriage return overwrite": `\x0d carriage return overwrite`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("a\x1b[2Jb")
	f.Add("\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		for _, r := range e {
			if !printable(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, e, r)
			}
		}
	})
}

func TestReadBounded(t *testing.T) {
	if _, err := ReadAll(strings.NewReader("12345"), 4, "the thing"); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "the thing") {
		t.Errorf("5 bytes with limit 4: %v", err)
	}
	if b, err := ReadAll(strings.NewReader("1234"), 4, "x"); err != nil || string(b) != "1234" {
		t.Errorf("4 bytes with limit 4: %q %v", b, err)
	}
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, make([]byte, 100), 0o600)
	if _, err := ReadFile(p, 99, "file"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile over the limit: %v", err)
	}
}

func TestShort(t *testing.T) {
	if got := Short("ééé", 3); got != "é..." {
		t.Errorf("Short cut inside a rune: %q", got)
	}
	if got := Short("abc", 3); got != "abc" {
		t.Errorf("Short(abc, 3) = %q", got)
	}
}
