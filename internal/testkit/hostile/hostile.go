// Package hostile holds what tests put in every field an attacker
// controls, and the check that output shows none of it raw: every
// program prints outside bytes through untrusted.Escape.
package hostile

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Bytes clears the screen, sets the terminal's title, rings its bell,
// reverses the text direction, starts a C1 control sequence and is not
// valid UTF-8.
const Bytes = "\x1b[2J\x1b]0;pwned\x07\u202egnp.exe\xc2\x9b31m\xff"

// Find returns a description of the first byte sequence in out that a
// terminal would obey or misrender (a control character other than
// newline and tab, an invisible format character such as a bidi override,
// invalid UTF-8), or "" if there is none.
func Find(out string) string {
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRuneInString(out[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("invalid UTF-8 %q at byte %d", out[i], i)
		case r == '\n' || r == '\t' || r == ' ' || unicode.IsPrint(r):
		default:
			return fmt.Sprintf("%U at byte %d in ...%q...", r, i, out[max(0, i-40):min(len(out), i+10)])
		}
		i += size
	}
	return ""
}

// RawHTTP serves, on a loopback port until the test ends, the raw bytes
// of resp to every request: an HTTP answer (a reason phrase full of
// escapes, say) that no well-behaved server library would write. It
// returns the base URL.
func RawHTTP(t testing.TB, resp string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				fmt.Fprint(c, resp)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}
