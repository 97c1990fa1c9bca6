// Package passphrase reads passphrases: from the terminal without echoing
// them, or from a file (or /dev/fd/N) for automation and tests.
package passphrase

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"treelog/internal/untrusted"

	"golang.org/x/term"
)

// MaxLen bounds a passphrase.
const MaxLen = 1024

// ErrNoTerminal is returned when there is no terminal to ask on.
var ErrNoTerminal = errors.New("no terminal to ask for a passphrase on (give a passphrase file instead)")

// FromFile reads the passphrases in path, one a line (a final newline, and
// a carriage return before it, are not part of a passphrase; empty lines
// are skipped). path may be /dev/fd/N to read an inherited file descriptor.
func FromFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase: %w", err)
	}
	defer f.Close()
	b, err := untrusted.ReadAll(f, 16*MaxLen, "the passphrase file "+path)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return Parse(b, path)
}

// Parse splits a passphrase file's contents as FromFile does; name names
// it in errors.
func Parse(b []byte, name string) ([]string, error) {
	if len(b) > 16*MaxLen {
		return nil, fmt.Errorf("%s: over %d bytes; not a passphrase file", name, 16*MaxLen)
	}
	var out []string
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if len(line) > MaxLen {
			return nil, fmt.Errorf("%s: a passphrase is over %d bytes", name, MaxLen)
		}
		out = append(out, string(line))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no passphrase", name)
	}
	return out, nil
}

// Prompt writes prompt to the terminal and reads a passphrase without echo.
func Prompt(prompt string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", ErrNoTerminal
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", ErrNoTerminal
	}
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("reading the passphrase: %w", err)
	}
	defer clear(b)
	if len(b) > MaxLen {
		return "", fmt.Errorf("the passphrase is over %d bytes", MaxLen)
	}
	return string(b), nil
}

// PromptNew asks for a new passphrase twice and checks that both match and
// that it is not empty.
func PromptNew(what string) (string, error) {
	p1, err := Prompt("New passphrase for " + what + ": ")
	if err != nil {
		return "", err
	}
	if p1 == "" {
		return "", errors.New("the passphrase is empty")
	}
	p2, err := Prompt("Repeat it: ")
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", errors.New("the two passphrases differ")
	}
	return p1, nil
}
